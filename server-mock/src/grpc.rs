//! The tonic service: gRPC, and gRPC-web through tonic-web's layer.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tonic::metadata::{Ascii, MetadataKey};
use tonic::{Request, Response, Status};
use zitadel_passkey::proto::zitadel::auth::v1::{
    AddMyPasswordlessLinkRequest, AddMyPasswordlessLinkResponse, ListMyPasswordlessRequest,
    ListMyPasswordlessResponse, RemoveMyPasswordlessRequest, RemoveMyPasswordlessResponse,
    SendMyPasswordlessLinkRequest, SendMyPasswordlessLinkResponse,
};

use crate::behaviour::{CallInfo, Caller, GRPC_TIMEOUT};
use crate::proto::zitadel::auth::v1::auth_service_server::{AuthService, AuthServiceServer};
use crate::state::Shared;

/// The largest request message accepted (bigger ones get RESOURCE_EXHAUSTED).
pub(crate) const MAX_MESSAGE_SIZE: usize = 64 * 1024;

/// Adapts the behaviour module to the generated tonic trait.
#[derive(Debug, Clone)]
pub(crate) struct GrpcService {
    shared: Arc<Shared>,
    /// `authorization` and `x-zitadel-orgid`.
    keys: (MetadataKey<Ascii>, MetadataKey<Ascii>),
}

/// The tonic server with our message-size limit and deadlines.
pub(crate) fn server(shared: Arc<Shared>) -> Deadline<AuthServiceServer<GrpcService>> {
    Deadline(
        AuthServiceServer::new(GrpcService {
            shared,
            keys: (
                MetadataKey::from_static("authorization"),
                MetadataKey::from_static("x-zitadel-orgid"),
            ),
        })
        .max_decoding_message_size(MAX_MESSAGE_SIZE)
        .max_encoding_message_size(4 * 1024 * 1024),
    )
}

impl GrpcService {
    fn caller<'a, T>(&self, request: &'a Request<T>) -> Caller<'a> {
        // Keys made once: looking metadata up by `&str` parses the name on every call.
        let metadata = request.metadata();
        Caller {
            authorization: metadata.get(&self.keys.0).map(|v| v.as_bytes()),
            org_id: metadata.get(&self.keys.1).map(|v| v.as_bytes()),
        }
    }
}

fn info<T>(request: &Request<T>) -> Option<&CallInfo> {
    request.extensions().get::<CallInfo>()
}

/// Waits out a scripted delay, if any.
async fn delay<T>(request: &Request<T>) {
    if let Some(delay) = info(request).and_then(|info| info.delay) {
        tokio::time::sleep(delay).await;
    }
}

/// Parses `grpc-timeout` (`1..=8` digits and a unit of `H M S m u n`).
pub(crate) fn parse_grpc_timeout(value: &[u8]) -> Option<Duration> {
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some(match unit {
        b"H" => Duration::from_secs(n * 3600),
        b"M" => Duration::from_secs(n * 60),
        b"S" => Duration::from_secs(n),
        b"m" => Duration::from_millis(n),
        b"u" => Duration::from_micros(n),
        b"n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// Honours the caller's `grpc-timeout` as a gRPC server does: past the deadline the call is
/// abandoned and answered DEADLINE_EXCEEDED. Sits under tonic-web's layer so gRPC-web gets the
/// same. (tonic does this only inside its own `Server`, which the mock does not use.)
#[derive(Debug, Clone)]
pub(crate) struct Deadline<S>(pub S);

impl<S, B> tower::Service<http::Request<B>> for Deadline<S>
where
    S: tower::Service<
            http::Request<MessageLimit<B>>,
            Response = http::Response<tonic::body::Body>,
            Error = Infallible,
        >,
    S::Future: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future =
        Pin<Box<dyn Future<Output = Result<http::Response<tonic::body::Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let timeout = request
            .headers()
            .get(GRPC_TIMEOUT)
            .and_then(|v| parse_grpc_timeout(v.as_bytes()));
        let future = self.0.call(request.map(MessageLimit::new));
        Box::pin(async move {
            match timeout {
                None => future.await,
                Some(timeout) => match tokio::time::timeout(timeout, future).await {
                    Ok(result) => result,
                    Err(_) => Ok(Status::deadline_exceeded("Deadline Exceeded").into_http()),
                },
            }
        })
    }
}

#[tonic::async_trait]
impl AuthService for GrpcService {
    async fn list_my_passwordless(
        &self,
        request: Request<ListMyPasswordlessRequest>,
    ) -> Result<Response<ListMyPasswordlessResponse>, Status> {
        delay(&request).await;
        self.shared
            .list_my_passwordless(info(&request), self.caller(&request))
            .map(Response::new)
            .map_err(|e| e.to_status())
    }

    async fn add_my_passwordless_link(
        &self,
        request: Request<AddMyPasswordlessLinkRequest>,
    ) -> Result<Response<AddMyPasswordlessLinkResponse>, Status> {
        delay(&request).await;
        self.shared
            .add_my_passwordless_link(info(&request), self.caller(&request))
            .map(Response::new)
            .map_err(|e| e.to_status())
    }

    async fn send_my_passwordless_link(
        &self,
        request: Request<SendMyPasswordlessLinkRequest>,
    ) -> Result<Response<SendMyPasswordlessLinkResponse>, Status> {
        delay(&request).await;
        self.shared
            .send_my_passwordless_link(info(&request), self.caller(&request))
            .map(Response::new)
            .map_err(|e| e.to_status())
    }

    async fn remove_my_passwordless(
        &self,
        request: Request<RemoveMyPasswordlessRequest>,
    ) -> Result<Response<RemoveMyPasswordlessResponse>, Status> {
        delay(&request).await;
        self.shared
            .remove_my_passwordless(
                info(&request),
                self.caller(&request),
                &request.get_ref().token_id,
            )
            .map(Response::new)
            .map_err(|e| e.to_status())
    }
}

/// Checks the length prefix of each gRPC message as it streams by, and that a unary call sends
/// one message, as grpc-go does: RESOURCE_EXHAUSTED for a message over [`MAX_MESSAGE_SIZE`]
/// before its bytes are read (tonic itself would answer OUT_OF_RANGE), INTERNAL for a second
/// message. Hand-written because no library offers it; it only counts bytes, it never buffers.
#[derive(Debug)]
pub(crate) struct MessageLimit<B> {
    inner: B,
    /// Bytes of the current 5-byte message header seen so far.
    header: [u8; 5],
    header_len: usize,
    /// Bytes of the current message still to come.
    remaining: usize,
    messages: usize,
}

impl<B> MessageLimit<B> {
    fn new(inner: B) -> Self {
        Self {
            inner,
            header: [0; 5],
            header_len: 0,
            remaining: 0,
            messages: 0,
        }
    }

    fn check(&mut self, mut data: &[u8]) -> Result<(), Status> {
        while !data.is_empty() {
            if self.remaining > 0 {
                let skip = self.remaining.min(data.len());
                self.remaining -= skip;
                data = &data[skip..];
                continue;
            }
            let take = (5 - self.header_len).min(data.len());
            self.header[self.header_len..self.header_len + take].copy_from_slice(&data[..take]);
            self.header_len += take;
            data = &data[take..];
            if self.header_len == 5 {
                self.header_len = 0;
                self.messages += 1;
                if self.messages > 1 {
                    return Err(Status::internal(
                        "grpc: client streaming protocol violation: more than one message in a unary call",
                    ));
                }
                let len = u32::from_be_bytes([
                    self.header[1],
                    self.header[2],
                    self.header[3],
                    self.header[4],
                ]) as usize;
                if len > MAX_MESSAGE_SIZE {
                    return Err(Status::resource_exhausted(format!(
                        "grpc: received message larger than max ({len} vs. {MAX_MESSAGE_SIZE})"
                    )));
                }
                self.remaining = len;
            }
        }
        Ok(())
    }
}

impl<B> http_body::Body for MessageLimit<B>
where
    B: http_body::Body<Data = bytes::Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = bytes::Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<bytes::Bytes>, Status>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.check(data)?;
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(error))) => {
                Poll::Ready(Some(Err(Status::from_error(error.into()))))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// The status entries, in the order grpc-go's http2 handler writes them (sorted by name).
const STATUS_ENTRIES: [http::HeaderName; 3] = [
    http::HeaderName::from_static("grpc-message"),
    http::HeaderName::from_static("grpc-status"),
    http::HeaderName::from_static("grpc-status-details-bin"),
];

/// What grpc-go's `ServeHTTP` path (ZITADEL's) announces in the first HEADERS block.
const TRAILER_ANNOUNCEMENTS: [&str; 3] = ["Grpc-Status", "Grpc-Message", "Grpc-Status-Details-Bin"];

/// Turns tonic's answer into the one grpc-go's http2 handler transport sends
/// (docs/wire-contract.md §4, gRPC framing): the response's HEADERS carry the request's content
/// type and the `trailer` announcements but never the status; the status always follows in a
/// separate trailers block, also for an error that tonic answers trailers-only. `grpc-message`
/// is spelled as grpc-go spells it, in either place.
pub(crate) fn as_grpc_go(
    mut response: http::Response<tonic::body::Body>,
    content_type: Option<http::HeaderValue>,
) -> http::Response<tonic::body::Body> {
    let headers = response.headers_mut();
    // A trailers-only answer: its status moves to the trailers block.
    let mut status = http::HeaderMap::new();
    for name in &STATUS_ENTRIES {
        if let Some(value) = headers.remove(name) {
            status.insert(name.clone(), value);
        }
    }
    if let Some(content_type) = content_type {
        headers.insert(http::header::CONTENT_TYPE, content_type);
    }
    for name in TRAILER_ANNOUNCEMENTS {
        headers.append(http::header::TRAILER, http::HeaderValue::from_static(name));
    }
    let pending = (!status.is_empty()).then(|| grpc_go_trailers(status));
    response.map(|inner| tonic::body::Body::new(GrpcGoBody { inner, pending }))
}

/// A trailers block as grpc-go writes it: status entries first, sorted, message re-spelled.
fn grpc_go_trailers(mut trailers: http::HeaderMap) -> http::HeaderMap {
    crate::error::grpc_go_message(&mut trailers);
    let mut ordered = http::HeaderMap::with_capacity(trailers.len());
    for name in &STATUS_ENTRIES {
        if let Some(value) = trailers.remove(name) {
            ordered.insert(name.clone(), value);
        }
    }
    for (name, value) in trailers {
        if let Some(name) = name {
            ordered.append(name, value);
        }
    }
    ordered
}

/// tonic's body with its trailers re-spelled, plus the trailers of a trailers-only answer
/// after its (empty) body, so that the answer never ends with its first HEADERS block.
struct GrpcGoBody {
    inner: tonic::body::Body,
    pending: Option<http::HeaderMap>,
}

impl http_body::Body for GrpcGoBody {
    type Data = bytes::Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<bytes::Bytes>, Status>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => match frame.into_trailers() {
                Ok(trailers) => {
                    let mut trailers = grpc_go_trailers(trailers);
                    // tonic never sends both; if it did, its own trailers would win.
                    if let Some(pending) = this.pending.take() {
                        for (name, value) in pending {
                            if let Some(name) = name {
                                trailers.entry(name).or_insert(value);
                            }
                        }
                    }
                    Poll::Ready(Some(Ok(http_body::Frame::trailers(trailers))))
                }
                Err(frame) => Poll::Ready(Some(Ok(frame))),
            },
            Poll::Ready(Some(Err(error))) => Poll::Ready(Some(Err(error))),
            Poll::Ready(None) => Poll::Ready(
                this.pending
                    .take()
                    .map(|trailers| Ok(http_body::Frame::trailers(trailers))),
            ),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.pending.is_none() && self.inner.is_end_stream()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeout_values() {
        assert_eq!(
            parse_grpc_timeout(b"100m"),
            Some(Duration::from_millis(100))
        );
        assert_eq!(parse_grpc_timeout(b"2S"), Some(Duration::from_secs(2)));
        assert_eq!(parse_grpc_timeout(b"1H"), Some(Duration::from_secs(3600)));
        assert_eq!(
            parse_grpc_timeout(b"99999999n"),
            Some(Duration::from_nanos(99_999_999))
        );
        for bad in [&b""[..], b"m", b"123456789m", b"10x", b"-1S", b"1.5S"] {
            assert_eq!(parse_grpc_timeout(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn message_limit_counts_across_chunks() {
        let mut limit = MessageLimit::new(());
        // A 3-byte message split over chunks, header included.
        limit.check(&[0, 0]).expect("partial header");
        limit.check(&[0, 0, 3, 1]).expect("header and one byte");
        limit.check(&[2, 3]).expect("rest of the message");
        let error = limit.check(&[0, 0, 0, 0, 0]).expect_err("second message");
        assert_eq!(error.code(), tonic::Code::Internal);
        let mut limit = MessageLimit::new(());
        let error = limit.check(&[0, 0, 1, 0, 1]).expect_err("65537 bytes");
        assert_eq!(error.code(), tonic::Code::ResourceExhausted);
        let mut limit = MessageLimit::new(());
        limit
            .check(&[0, 0, 1, 0, 0])
            .expect("exactly 64 KiB is fine");
    }
}
