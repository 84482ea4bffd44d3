//! gRPC (tonic over hyper's HTTP/2 client) and, with `web`, gRPC-web (tonic-web's client
//! service over hyper's HTTP/1.1 client). Both share the guards of [`super::guard`].

use std::time::Duration;

use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::metadata::MetadataValue;

use super::guard::{ConnectTimeout, HeadGuard, Http, Mode, Slot};
use super::{MAX_RESPONSE_BYTES, Settings};
use crate::error::{Code, Error, Kind, detail_from_status_bytes, from_rpc_status};
use crate::proto::http_rules::auth_service;
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
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(settings.connect_timeout));
        let tls = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config((*settings.tls).clone())
            .https_or_http();
        let connector = match mode {
            Mode::Grpc => tls.enable_http2().wrap_connector(tcp),
            Mode::GrpcWeb => tls.enable_http1().wrap_connector(tcp),
        };
        let mut builder = HyperClient::builder(TokioExecutor::new());
        builder
            // Headers and trailers are buffered too: keep them far below the body cap.
            .http1_max_buf_size(256 * 1024)
            .http2_max_header_list_size(256 * 1024)
            .timer(TokioTimer::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(90));
        if mode == Mode::Grpc {
            // HTTP/2 only: with prior knowledge (h2c) on http://, ALPN h2 on https://.
            builder
                .http2_only(true)
                .http2_keep_alive_interval(Duration::from_secs(30))
                .http2_keep_alive_timeout(Duration::from_secs(10));
        }
        let http = builder.build(ConnectTimeout::new(connector, settings.connect_timeout));
        let origin = http::Uri::try_from(settings.endpoint.as_str())
            .map_err(|e| Error::config(format!("invalid endpoint: {e}")))?;
        Ok(GrpcStub { http, origin, mode })
    }

    async fn unary<Req, Resp>(
        &self,
        path: &'static str,
        message: Req,
        metadata: CallMetadata,
    ) -> Result<Resp, Error>
    where
        Req: prost::Message + Send + Sync + 'static,
        Resp: prost::Message + Default + Send + Sync + 'static,
    {
        let request = request(message, &metadata)?;
        let slot = Slot::default();
        let path = PathAndQuery::from_static(path);
        let codec = tonic_prost::ProstCodec::<Req, Resp>::default();
        let head = HeadGuard::new(self.http.clone(), self.mode, slot.clone());
        let result = match self.mode {
            Mode::Grpc => {
                let mut grpc = tonic::client::Grpc::with_origin(head, self.origin.clone())
                    .max_decoding_message_size(MAX_RESPONSE_BYTES);
                match grpc.ready().await {
                    Ok(()) => grpc.unary(request, path, codec).await,
                    Err(e) => Err(tonic::Status::unavailable(e.to_string())),
                }
            }
            Mode::GrpcWeb => {
                #[cfg(feature = "grpc-web")]
                {
                    let service = super::guard::TrailerGuard::new(
                        tonic_web::GrpcWebClientService::new(head),
                        slot.clone(),
                    );
                    let mut grpc = tonic::client::Grpc::with_origin(service, self.origin.clone())
                        .max_decoding_message_size(MAX_RESPONSE_BYTES);
                    match grpc.ready().await {
                        Ok(()) => grpc.unary(request, path, codec).await,
                        Err(e) => Err(tonic::Status::unavailable(e.to_string())),
                    }
                }
                #[cfg(not(feature = "grpc-web"))]
                {
                    let _ = (head, request, path, codec);
                    return Err(Error::config("the grpc-web transport is not compiled in"));
                }
            }
        };
        match result {
            Ok(response) => match slot.take_failure() {
                Some(failure) => Err(failure),
                None => Ok(response.into_inner()),
            },
            Err(status) => Err(status_error(&slot, &status)),
        }
    }
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

/// The error of a failed tonic call: what a guard recorded, else the server's status, else a
/// failure tonic itself detected (a response it could not decode).
fn status_error(slot: &Slot, status: &tonic::Status) -> Error {
    if let Some(failure) = slot.take_failure() {
        return failure;
    }
    let code = status.code() as i32;
    if code != 0 && slot.server_status() == Some(code) {
        let detail = slot
            .details()
            .and_then(|bytes| detail_from_status_bytes(&bytes));
        return from_rpc_status(code, status.message(), detail);
    }
    let code = match Code::from_i32(code) {
        Code::Ok => Code::Internal,
        code => code,
    };
    Error::with_kind(
        Kind::Malformed,
        code,
        format!("invalid response: {}", status.message()),
    )
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
        Box::pin(self.unary(
            auth_service::ADD_MY_PASSWORDLESS_LINK.grpc_path,
            request,
            metadata,
        ))
    }

    fn send_my_passwordless_link(
        &self,
        request: SendMyPasswordlessLinkRequest,
        metadata: CallMetadata,
    ) -> BoxFuture<'_, Result<SendMyPasswordlessLinkResponse, Error>> {
        Box::pin(self.unary(
            auth_service::SEND_MY_PASSWORDLESS_LINK.grpc_path,
            request,
            metadata,
        ))
    }

    fn list_my_passwordless(
        &self,
        request: ListMyPasswordlessRequest,
        metadata: CallMetadata,
    ) -> BoxFuture<'_, Result<ListMyPasswordlessResponse, Error>> {
        Box::pin(self.unary(
            auth_service::LIST_MY_PASSWORDLESS.grpc_path,
            request,
            metadata,
        ))
    }

    fn remove_my_passwordless(
        &self,
        request: RemoveMyPasswordlessRequest,
        metadata: CallMetadata,
    ) -> BoxFuture<'_, Result<RemoveMyPasswordlessResponse, Error>> {
        Box::pin(self.unary(
            auth_service::REMOVE_MY_PASSWORDLESS.grpc_path,
            request,
            metadata,
        ))
    }
}
