//! gRPC (tonic over hyper's HTTP/2 client) and gRPC-web (tonic-web's client service over
//! hyper's HTTP/1.1 client), both driven by the generated `AuthServiceClient`.
//!
//! Between tonic and the network sit guards against a hostile or broken server, hand-written
//! because the libraries leave gaps: tonic 0.14 can panic on a `grpc-status-details-bin` that is
//! not valid base64, drains a second message of a unary response silently and accepts a body that
//! ends without any `grpc-status`; tonic-web reads a declared frame length far past the message
//! limit before failing, and loses the source of body errors. One job a file:
//!
//! | file | job |
//! |---|---|
//! | `connect.rs` | the hyper client, the connect timeout, whether a failed exchange sent anything |
//! | `head.rs` | [`HeadGuard`](head::HeadGuard): request headers of the wire, checks of the answer's head |
//! | `body.rs` | [`GuardBody`](body::GuardBody): byte cap, frames, trailers, end-of-body checks |
//! | `frames.rs` | following length-prefixed frames as bytes arrive |
//! | `trailers.rs` | reading `grpc-status` and the details; the guard above tonic-web |
//! | `slot.rs` | the per-call record the guards leave for the stub |
//!
//! What each failure means is decided in [`super::status`].

mod body;
mod connect;
mod frames;
mod head;
mod slot;
mod trailers;

use tonic::metadata::MetadataValue;

use self::connect::Http;
use self::frames::Mode;
use self::head::HeadGuard;
use self::slot::Slot;
use super::status::{self, RpcStatus};
use super::{MAX_RESPONSE_BYTES, Settings};
use crate::error::Error;
use crate::proto::zitadel::auth::v1::auth_service_client::AuthServiceClient;
use crate::proto::zitadel::auth::v1::{
    AddMyPasswordlessLinkRequest, AddMyPasswordlessLinkResponse, ListMyPasswordlessRequest,
    ListMyPasswordlessResponse, RemoveMyPasswordlessRequest, RemoveMyPasswordlessResponse,
    SendMyPasswordlessLinkRequest, SendMyPasswordlessLinkResponse,
};
use crate::stub::{BoxFuture, CallMetadata, Stub};
use crate::transport::Transport;

/// The gRPC or gRPC-web transport: one hyper client (one HTTP/2 connection, or an HTTP/1.1
/// keep-alive pool) shared by all calls.
#[derive(Debug, Clone)]
pub(crate) struct GrpcStub {
    http: Http,
    origin: http::Uri,
    mode: Mode,
}

impl GrpcStub {
    pub(crate) fn new(settings: &Settings, web: bool) -> Result<GrpcStub, Error> {
        let mode = if web { Mode::GrpcWeb } else { Mode::Grpc };
        let origin = http::Uri::try_from(settings.endpoint.as_str())
            .map_err(|e| Error::config(format!("invalid endpoint: {e}")))?;
        Ok(GrpcStub {
            http: connect::http_client(settings, mode),
            origin,
            mode,
        })
    }
}

/// One attempt of one method of the generated client, over the stub's wire: builds the
/// guarded service stack for a fresh [`Slot`], calls, and reads the outcome.
macro_rules! unary {
    ($stub:expr, $method:ident, $message:expr, $metadata:expr) => {{
        let stub: &GrpcStub = $stub;
        Box::pin(async move {
            let request = request($message, &$metadata)?;
            let slot = Slot::default();
            let head = HeadGuard::new(stub.http.clone(), stub.mode, slot.clone());
            let result = match stub.mode {
                Mode::Grpc => {
                    AuthServiceClient::with_origin(head, stub.origin.clone())
                        .max_decoding_message_size(MAX_RESPONSE_BYTES)
                        .$method(request)
                        .await
                }
                #[cfg(feature = "grpc-web")]
                Mode::GrpcWeb => {
                    let web = trailers::TrailerGuard::new(
                        tonic_web::GrpcWebClientService::new(head),
                        slot.clone(),
                    );
                    AuthServiceClient::with_origin(web, stub.origin.clone())
                        .max_decoding_message_size(MAX_RESPONSE_BYTES)
                        .$method(request)
                        .await
                }
                #[cfg(not(feature = "grpc-web"))]
                Mode::GrpcWeb => {
                    let _ = (head, request);
                    return Err(Error::config("the grpc-web transport is not compiled in"));
                }
            };
            outcome(&slot, result)
        })
    }};
}

/// The tonic request with the call's metadata and deadline.
fn request<T>(message: T, metadata: &CallMetadata) -> Result<tonic::Request<T>, Error> {
    let mut request = tonic::Request::new(message);
    let headers = request.metadata_mut();
    if let Some(authorization) = metadata.authorization() {
        let mut value = MetadataValue::try_from(authorization)
            .map_err(|_| Error::config("the token contains characters not allowed in a header"))?;
        value.set_sensitive(true);
        headers.insert("authorization", value);
    }
    if let Some(org_id) = &metadata.org_id {
        let value = MetadataValue::try_from(org_id.as_str())
            .map_err(|_| Error::config("the org ID contains characters not allowed in a header"))?;
        headers.insert("x-zitadel-orgid", value);
    }
    if let Some(language) = &metadata.accept_language {
        let value = MetadataValue::try_from(language.as_str()).map_err(|_| {
            Error::config("the language contains characters not allowed in a header")
        })?;
        headers.insert("accept-language", value);
    }
    if let Some(timeout) = metadata.timeout {
        request.set_timeout(timeout);
    }
    Ok(request)
}

/// The result of a tonic call: what a guard recorded wins, then the server's own status; any
/// other `Status` is one tonic made up after the guards let the answer through, which (with the
/// framing checked) leaves a missing or undecodable message.
fn outcome<T>(slot: &Slot, result: Result<tonic::Response<T>, tonic::Status>) -> Result<T, Error> {
    if let Some(failure) = slot.take_failure() {
        return Err(failure);
    }
    let tonic_status = match result {
        Ok(response) => return Ok(response.into_inner()),
        Err(tonic_status) => tonic_status,
    };
    let code = tonic_status.code() as i32;
    if code != 0 && slot.server_status() == Some(code) {
        return Err(status::rejected(RpcStatus {
            code,
            message: tonic_status.message().to_owned(),
            detail: slot.detail(),
        }));
    }
    if !slot.saw_message() {
        return Err(status::missing_message());
    }
    Err(status::undecodable(tonic_status.message().to_owned()))
}

impl Stub for GrpcStub {
    fn transport(&self) -> Transport {
        match self.mode {
            Mode::Grpc => Transport::Grpc,
            Mode::GrpcWeb => Transport::GrpcWeb,
        }
    }

    fn add_my_passwordless_link(
        &self,
        request: AddMyPasswordlessLinkRequest,
        metadata: CallMetadata,
    ) -> BoxFuture<'_, Result<AddMyPasswordlessLinkResponse, Error>> {
        unary!(self, add_my_passwordless_link, request, metadata)
    }

    fn send_my_passwordless_link(
        &self,
        request: SendMyPasswordlessLinkRequest,
        metadata: CallMetadata,
    ) -> BoxFuture<'_, Result<SendMyPasswordlessLinkResponse, Error>> {
        unary!(self, send_my_passwordless_link, request, metadata)
    }

    fn list_my_passwordless(
        &self,
        request: ListMyPasswordlessRequest,
        metadata: CallMetadata,
    ) -> BoxFuture<'_, Result<ListMyPasswordlessResponse, Error>> {
        unary!(self, list_my_passwordless, request, metadata)
    }

    fn remove_my_passwordless(
        &self,
        request: RemoveMyPasswordlessRequest,
        metadata: CallMetadata,
    ) -> BoxFuture<'_, Result<RemoveMyPasswordlessResponse, Error>> {
        unary!(self, remove_my_passwordless, request, metadata)
    }
}
