//! gRPC (HTTP/2) and gRPC-web (HTTP/1.1) over the SDK's hyper client: one length-prefixed
//! message out, one answer read under guard, the same exchange for every method
//! ([`GrpcStub::exchange`]; each method adds only its prost code around it).
//!
//! Hand-written rather than through tonic's and tonic-web's clients. A unary call without
//! compression is a 5-byte prefix, a few headers and a status at the end, and those clients leave
//! gaps a hostile server can use (tonic 0.14 can panic on a `grpc-status-details-bin` that is not
//! base64, drains a second message of a unary response silently and accepts a body that ends
//! without any `grpc-status`; tonic-web reads a declared frame length far past the message limit
//! before failing). The SDK checked every answer itself anyway, and going through those clients as
//! well cost more than the exchange: 10% of a gRPC call's instructions and a quarter of a gRPC-web
//! call's, and the calls/s of BENCHMARKS.md. One job a file:
//!
//! | file | job |
//! |---|---|
//! | `mod.rs` | the request: path, headers, the framed message |
//! | `answer.rs` | reading the answer: its head, its body's frames under a cap, its status |
//! | `frames.rs` | following length-prefixed frames as bytes arrive |
//! | `trailers.rs` | `grpc-status`, `grpc-message` and the details; gRPC-web's trailer frame |
//!
//! What each failure means is decided in [`super::status`].

mod answer;
mod frames;
mod trailers;

use bytes::{BufMut, Bytes, BytesMut};
use http::header::{CONTENT_TYPE, TE};
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderMap, HeaderName, HeaderValue};

use self::frames::Mode;
use super::http_stack::{self, Http, Protocol, reached};
use super::status;
use super::{Settings, USER_AGENT};
use crate::error::Error;
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
    scheme: Scheme,
    authority: Authority,
    /// The endpoint's path without a trailing slash, put before each method's path (empty for
    /// an endpoint at the root, as ZITADEL's is).
    prefix: String,
    mode: Mode,
}

impl GrpcStub {
    pub(crate) fn new(settings: &Settings, web: bool) -> Result<GrpcStub, Error> {
        let (mode, protocol) = match web {
            false => (Mode::Grpc, Protocol::Http2),
            true => (Mode::GrpcWeb, Protocol::Http1),
        };
        let invalid = |e: &dyn std::fmt::Display| Error::config(format!("invalid endpoint: {e}"));
        let origin = http::Uri::try_from(settings.endpoint.as_str()).map_err(|e| invalid(&e))?;
        let (Some(scheme), Some(authority)) = (origin.scheme(), origin.authority()) else {
            return Err(invalid(&"no scheme or host"));
        };
        Ok(GrpcStub {
            http: http_stack::http_client(&settings.tls, settings.connect_timeout, protocol),
            scheme: scheme.clone(),
            authority: authority.clone(),
            prefix: origin.path().trim_end_matches('/').to_owned(),
            mode,
        })
    }

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
            .exchange(rule.grpc_path, framed(&message), &metadata)
            .await?;
        Resp::decode(answer).map_err(status::undecodable)
    }

    /// The exchange of one framed message for the bytes of one answer message, the same for
    /// every method.
    async fn exchange(
        &self,
        path: &'static str,
        body: Bytes,
        metadata: &CallMetadata,
    ) -> Result<Bytes, Error> {
        let request = self.request(path, body, metadata)?;
        let response = self
            .http
            .request(request)
            .await
            .map_err(|error| status::connection(reached(&error), error))?;
        answer::read(self.mode, response).await
    }

    /// The HTTP request of one call: `POST` to the method's path with the wire's headers and
    /// the call's metadata, the framed message as a body of known length, so hyper sends a
    /// `content-length` (for gRPC-web as browsers' clients do, so ZITADEL's wrapper reads one
    /// complete request; on HTTP/2 it is allowed and grpc-go does not need it).
    fn request(
        &self,
        path: &'static str,
        body: Bytes,
        metadata: &CallMetadata,
    ) -> Result<http::Request<http_stack::OutBody>, Error> {
        let path = match self.prefix.is_empty() {
            true => PathAndQuery::from_static(path),
            false => PathAndQuery::try_from(format!("{}{path}", self.prefix))
                .map_err(|e| Error::config(format!("invalid endpoint path: {e}")))?,
        };
        let uri = http::Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(path)
            .build()
            .map_err(|e| Error::config(format!("invalid endpoint: {e}")))?;
        let mut headers = transport::metadata_headers(metadata)?;
        wire_headers(self.mode, &mut headers);
        if let Some(timeout) = metadata.timeout {
            headers.insert(GRPC_TIMEOUT.clone(), grpc_timeout(timeout));
        }
        let mut request = http::Request::new(http_stack::OutBody::new(body));
        *request.method_mut() = http::Method::POST;
        *request.uri_mut() = uri;
        *request.version_mut() = match self.mode {
            Mode::Grpc => http::Version::HTTP_2,
            Mode::GrpcWeb => http::Version::HTTP_11,
        };
        *request.headers_mut() = headers;
        Ok(request)
    }
}

// Named once: a name given as a `&str` is parsed again on every call.
static GRPC_TIMEOUT: HeaderName = HeaderName::from_static("grpc-timeout");
static X_GRPC_WEB: HeaderName = HeaderName::from_static("x-grpc-web");

/// The headers of the wire (docs/wire-contract.md §4): gRPC's content type and `te: trailers`
/// as grpc-go's clients send them; for gRPC-web `application/grpc-web+proto`, which ZITADEL's
/// wrapper is spoken to with, and `x-grpc-web: 1`, as grpc-web's browser client sends them.
fn wire_headers(mode: Mode, headers: &mut HeaderMap) {
    headers.insert(
        http::header::USER_AGENT,
        HeaderValue::from_static(USER_AGENT),
    );
    match mode {
        Mode::Grpc => {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
            headers.insert(TE, HeaderValue::from_static("trailers"));
        }
        Mode::GrpcWeb => {
            let content_type = HeaderValue::from_static("application/grpc-web+proto");
            headers.insert(CONTENT_TYPE, content_type.clone());
            headers.insert(http::header::ACCEPT, content_type);
            headers.insert(X_GRPC_WEB.clone(), HeaderValue::from_static("1"));
        }
    }
}

/// A message as one uncompressed gRPC frame: flag 0, its length (big-endian), its bytes.
fn framed(message: &impl prost::Message) -> Bytes {
    let length = message.encoded_len();
    let mut frame = BytesMut::with_capacity(5 + length);
    frame.put_u8(0);
    // A message past 4 GiB cannot be framed; none of this API's requests comes near it.
    frame.put_u32(u32::try_from(length).unwrap_or(u32::MAX));
    // Cannot fail: the buffer has room for `encoded_len` bytes.
    let _ = message.encode(&mut frame);
    frame.freeze()
}

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
