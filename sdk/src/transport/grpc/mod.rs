//! gRPC (tonic over hyper's HTTP/2 client) and gRPC-web (tonic-web's client service over
//! hyper's HTTP/1.1 client), both through tonic's unary client with the method paths of the
//! generated HTTP rule table. Each method encodes its request and decodes its answer with prost
//! around one shared exchange of bytes (`GrpcStub::exchange`), so the whole stack below is
//! compiled once, not once per method as the generated `AuthServiceClient` would have it.
//!
//! Between tonic and the network sit guards against a hostile or broken server, hand-written
//! because the libraries leave gaps: tonic 0.14 can panic on a `grpc-status-details-bin` that is
//! not valid base64, drains a second message of a unary response silently and accepts a body that
//! ends without any `grpc-status`; tonic-web reads a declared frame length far past the message
//! limit before failing, and loses the source of body errors. One job a file:
//!
//! | file | job |
//! |---|---|
//! | `head.rs` | [`HeadGuard`](head::HeadGuard): request headers of the wire, checks of the answer's head |
//! | `body.rs` | [`GuardBody`](body::GuardBody): byte cap, frames, trailers, end-of-body checks |
//! | `frames.rs` | following length-prefixed frames as bytes arrive |
//! | `trailers.rs` | reading `grpc-status` and the details; the guard above tonic-web |
//! | `slot.rs` | the per-call record the guards leave for the stub |
//!
//! What each failure means is decided in [`super::status`].

mod body;
mod frames;
mod head;
mod slot;
mod trailers;

use bytes::{Buf, BufMut, Bytes};
use http::uri::PathAndQuery;
use tonic::client::Grpc;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::metadata::MetadataMap;

use self::frames::Mode;
use self::head::HeadGuard;
use self::slot::Slot;
use super::http_stack::{self, Http, Protocol};
use super::status::{self, RpcStatus};
use super::{MAX_RESPONSE_BYTES, Settings};
use crate::error::{BoxError, Error};
use crate::proto::http_rules::{HttpRule, auth_service};
use crate::proto::zitadel::auth::v1::{
    AddMyPasswordlessLinkRequest, AddMyPasswordlessLinkResponse, ListMyPasswordlessRequest,
    ListMyPasswordlessResponse, RemoveMyPasswordlessRequest, RemoveMyPasswordlessResponse,
    SendMyPasswordlessLinkRequest, SendMyPasswordlessLinkResponse,
};
use crate::stub::{BoxFuture, CallMetadata, Stub};
use crate::transport::{self, Transport};

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
        let (mode, protocol) = match web {
            false => (Mode::Grpc, Protocol::Http2),
            true => (Mode::GrpcWeb, Protocol::Http1),
        };
        let origin = http::Uri::try_from(settings.endpoint.as_str())
            .map_err(|e| Error::config(format!("invalid endpoint: {e}")))?;
        Ok(GrpcStub {
            http: http_stack::http_client(&settings.tls, settings.connect_timeout, protocol),
            origin,
            mode,
        })
    }
}

impl GrpcStub {
    /// One attempt of one method: the request encoded, the exchange, the answer decoded. Generic
    /// only around [`exchange`](Self::exchange), so each method adds its prost code and no more.
    async fn unary<Req, Resp>(
        &self,
        rule: &HttpRule,
        message: Req,
        metadata: CallMetadata,
    ) -> Result<Resp, Error>
    where
        Req: prost::Message,
        Resp: prost::Message + Default,
    {
        let answer = self
            .exchange(rule.grpc_path, message.encode_to_vec().into(), &metadata)
            .await?;
        Resp::decode(answer).map_err(status::undecodable)
    }

    /// The exchange of one encoded message for one encoded answer over the stub's wire, the same
    /// for every method: builds the guarded service stack for a fresh [`Slot`], calls through
    /// tonic, and reads the outcome.
    async fn exchange(
        &self,
        path: &'static str,
        message: Bytes,
        metadata: &CallMetadata,
    ) -> Result<Bytes, Error> {
        let request = request(message, metadata)?;
        let path = PathAndQuery::from_static(path);
        let slot = Slot::default();
        let head = HeadGuard::new(self.http.clone(), self.mode, slot.clone());
        let result = match self.mode {
            Mode::Grpc => {
                raw_unary(Grpc::with_origin(head, self.origin.clone()), request, path).await
            }
            #[cfg(feature = "grpc-web")]
            Mode::GrpcWeb => {
                let web = trailers::TrailerGuard::new(
                    tonic_web::GrpcWebClientService::new(head),
                    slot.clone(),
                );
                raw_unary(Grpc::with_origin(web, self.origin.clone()), request, path).await
            }
            #[cfg(not(feature = "grpc-web"))]
            Mode::GrpcWeb => {
                let _ = (head, request, path);
                return Err(Error::config("the grpc-web transport is not compiled in"));
            }
        };
        outcome(&slot, result)
    }
}

/// One unary call through tonic's client, as the generated client makes it, with messages the
/// stub encodes and decodes itself.
async fn raw_unary<T>(
    grpc: Grpc<T>,
    request: tonic::Request<Bytes>,
    path: PathAndQuery,
) -> Result<tonic::Response<Bytes>, tonic::Status>
where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::Error: Into<BoxError>,
    T::ResponseBody: http_body::Body<Data = Bytes> + Send + 'static,
    <T::ResponseBody as http_body::Body>::Error: Into<BoxError>,
{
    let mut grpc = grpc.max_decoding_message_size(MAX_RESPONSE_BYTES);
    grpc.ready()
        .await
        .map_err(|e| tonic::Status::unknown(format!("Service was not ready: {}", e.into())))?;
    grpc.unary(request, path, RawCodec).await
}

/// tonic's codec for messages already encoded: the bytes pass through. Hand-written because
/// tonic ships none; it keeps tonic's client to one instantiation for all methods (one per
/// message type cost about 10 KB each in the shipped library).
#[derive(Debug, Clone, Copy, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> RawCodec {
        RawCodec
    }

    fn decoder(&mut self) -> RawCodec {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = tonic::Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Bytes;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, tonic::Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

/// The tonic request with the call's metadata and deadline.
fn request<T>(message: T, metadata: &CallMetadata) -> Result<tonic::Request<T>, Error> {
    let mut headers = transport::metadata_headers(metadata)?;
    if let Some(timeout) = metadata.timeout {
        headers.insert(GRPC_TIMEOUT.clone(), grpc_timeout(timeout));
    }
    let mut request = tonic::Request::new(message);
    *request.metadata_mut() = MetadataMap::from_headers(headers);
    Ok(request)
}

static GRPC_TIMEOUT: http::HeaderName = http::HeaderName::from_static("grpc-timeout");

/// `grpc-timeout` as tonic's `Request::set_timeout` writes it: the finest unit whose value fits
/// the protocol's eight digits. Written here because tonic's goes through `format!` (a tenth of
/// the SDK's own work on a call) and panics past 11,400 years, where this sends the largest value
/// there is.
fn grpc_timeout(timeout: std::time::Duration) -> http::HeaderValue {
    const MAX: u128 = 99_999_999;
    const UNITS: [(u128, u8); 6] = [
        (1, b'n'),
        (1_000, b'u'),
        (1_000_000, b'm'),
        (1_000_000_000, b'S'),
        (60_000_000_000, b'M'),
        (3_600_000_000_000, b'H'),
    ];
    let nanos = timeout.as_nanos();
    let (value, unit) = UNITS
        .iter()
        .map(|&(nanos_per_unit, unit)| (nanos / nanos_per_unit, unit))
        .find(|&(value, _)| value <= MAX)
        .unwrap_or((MAX, b'H'));
    // At most eight digits and a unit letter.
    let mut text = [0u8; 9];
    let mut start = text.len() - 1;
    text[start] = unit;
    let mut rest = value;
    loop {
        start -= 1;
        text[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    http::HeaderValue::from_bytes(&text[start..])
        .unwrap_or(http::HeaderValue::from_static("99999999H"))
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
        Box::pin(self.unary(&auth_service::ADD_MY_PASSWORDLESS_LINK, request, metadata))
    }

    fn send_my_passwordless_link(
        &self,
        request: SendMyPasswordlessLinkRequest,
        metadata: CallMetadata,
    ) -> BoxFuture<'_, Result<SendMyPasswordlessLinkResponse, Error>> {
        Box::pin(self.unary(&auth_service::SEND_MY_PASSWORDLESS_LINK, request, metadata))
    }

    fn list_my_passwordless(
        &self,
        request: ListMyPasswordlessRequest,
        metadata: CallMetadata,
    ) -> BoxFuture<'_, Result<ListMyPasswordlessResponse, Error>> {
        Box::pin(self.unary(&auth_service::LIST_MY_PASSWORDLESS, request, metadata))
    }

    fn remove_my_passwordless(
        &self,
        request: RemoveMyPasswordlessRequest,
        metadata: CallMetadata,
    ) -> BoxFuture<'_, Result<RemoveMyPasswordlessResponse, Error>> {
        Box::pin(self.unary(&auth_service::REMOVE_MY_PASSWORDLESS, request, metadata))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::grpc_timeout;

    /// The same text as tonic's `set_timeout`, at every unit's edges.
    #[test]
    fn grpc_timeout_is_written_as_tonic_writes_it() {
        let mut durations = vec![Duration::ZERO, Duration::from_nanos(1)];
        for nanos_per_unit in [1u64, 1_000, 1_000_000, 1_000_000_000, 60_000_000_000] {
            for value in [99_999_999u64, 100_000_000, 123_456_789] {
                let nanos = u128::from(value) * u128::from(nanos_per_unit);
                let duration = Duration::new(
                    u64::try_from(nanos / 1_000_000_000).unwrap_or(u64::MAX),
                    (nanos % 1_000_000_000) as u32,
                );
                durations.extend([duration, duration + Duration::from_nanos(1)]);
            }
        }
        durations.extend([
            Duration::from_millis(1_500),
            Duration::from_secs(30 * 86_400),
        ]);
        for duration in durations {
            let mut request = tonic::Request::new(());
            request.set_timeout(duration);
            let tonic = request.metadata().get("grpc-timeout").cloned();
            let ours = grpc_timeout(duration);
            assert_eq!(
                Some(ours.to_str().unwrap_or_default()),
                tonic.as_ref().and_then(|v| v.to_str().ok()),
                "{duration:?}"
            );
        }
    }

    /// tonic panics on these; the SDK sends the largest timeout there is.
    #[test]
    fn a_timeout_of_millennia_is_the_largest_there_is() {
        assert_eq!(
            grpc_timeout(Duration::from_secs(400_000_000_000)),
            "99999999H"
        );
        assert_eq!(grpc_timeout(Duration::MAX), "99999999H");
    }
}
