//! Guards between tonic (and tonic-web) and the network, against a hostile or broken server.
//!
//! Hand-written because the libraries leave gaps a hostile server can use (see DESIGN.md):
//! tonic 0.14 can panic on a `grpc-status-details-bin` that is not valid base64, silently
//! drains a second message of a unary response, and accepts a body that ends without any
//! `grpc-status`; tonic-web reads a declared frame length far past the message limit before
//! failing, and loses the source of body errors. The guards check the HTTP head, every frame
//! header and the trailers as bytes arrive, cap what is buffered, decode the status details
//! themselves, and record the first failure in a per-call [`Slot`] that the stub reads after
//! tonic returns, so the error keeps its kind (never sent, outcome unknown, malformed).

use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, ready};

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;

use super::{MAX_RESPONSE_BYTES, USER_AGENT};
use crate::error::{BoxError, Code, Error, Kind};

/// The request body the hyper client takes (tonic's and tonic-web's bodies fail with a
/// `Status`; a concrete error type keeps the futures `Send` without higher-ranked trouble).
pub(crate) type OutBody = UnsyncBoxBody<Bytes, tonic::Status>;

/// The hyper client under the guards.
pub(crate) type Http = hyper_util::client::legacy::Client<
    ConnectTimeout<
        hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    >,
    OutBody,
>;

/// Bounds the whole connect, DNS, TCP and TLS handshake, where hyper's `HttpConnector` bounds
/// only the TCP part. hyper-util reports a connector error as a connect error, so a timeout
/// here counts as "never sent".
#[derive(Debug, Clone)]
pub(crate) struct ConnectTimeout<C> {
    inner: C,
    timeout: std::time::Duration,
}

impl<C> ConnectTimeout<C> {
    pub(crate) fn new(inner: C, timeout: std::time::Duration) -> ConnectTimeout<C> {
        ConnectTimeout { inner, timeout }
    }
}

impl<C> tower::Service<http::Uri> for ConnectTimeout<C>
where
    C: tower::Service<http::Uri>,
    C::Error: Into<BoxError>,
    C::Future: Send + 'static,
{
    type Response = C::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<C::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        let (future, timeout) = (self.inner.call(uri), self.timeout);
        Box::pin(async move {
            match tokio::time::timeout(timeout, future).await {
                Ok(result) => result.map_err(Into::into),
                Err(_) => Err(format!("connecting took longer than {timeout:?}").into()),
            }
        })
    }
}

/// The most bytes of gRPC-web trailers accepted.
const MAX_TRAILER_BYTES: u32 = 64 * 1024;
const STATUS: &str = "grpc-status";
const DETAILS: &str = "grpc-status-details-bin";

/// Which framing a guard checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Grpc,
    GrpcWeb,
}

/// What the guards learned during one call.
#[derive(Debug, Clone, Default)]
pub(crate) struct Slot(Arc<Mutex<SlotState>>);

#[derive(Debug, Default)]
struct SlotState {
    failure: Option<Error>,
    /// The decoded `google.rpc.Status` of `grpc-status-details-bin`.
    details: Option<Vec<u8>>,
    /// The `grpc-status` the server sent, if numeric.
    server_status: Option<i32>,
}

impl Slot {
    fn with<T>(&self, f: impl FnOnce(&mut SlotState) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Records a failure; the first one wins (later ones are its consequences).
    fn fail(&self, error: Error) -> GuardError {
        let message = error.message().to_owned();
        self.with(|state| {
            state.failure.get_or_insert(error);
        });
        GuardError(message)
    }

    pub(crate) fn take_failure(&self) -> Option<Error> {
        self.with(|state| state.failure.take())
    }

    pub(crate) fn details(&self) -> Option<Vec<u8>> {
        self.with(|state| state.details.clone())
    }

    pub(crate) fn server_status(&self) -> Option<i32> {
        self.with(|state| state.server_status)
    }

    /// Reads `grpc-status` and takes `grpc-status-details-bin` out of headers or trailers.
    /// Returns whether a status was there.
    fn read_status(&self, headers: &mut HeaderMap) -> Result<bool, Error> {
        if let Some(details) = headers.remove(DETAILS) {
            match decode_details(&details) {
                Some(bytes) => self.with(|state| state.details = Some(bytes)),
                None => tracing::debug!("ignoring a grpc-status-details-bin that is not base64"),
            }
        }
        let Some(status) = headers.get(STATUS) else {
            return Ok(false);
        };
        let code = status
            .to_str()
            .ok()
            .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|s| s.parse::<i32>().ok())
            .ok_or_else(|| Error::malformed("the server sent a non-numeric grpc-status"))?;
        self.with(|state| state.server_status = Some(code));
        Ok(true)
    }
}

/// Standard base64, padded or not (both are valid for binary metadata).
fn decode_details(value: &HeaderValue) -> Option<Vec<u8>> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const ENGINE: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    ENGINE.decode(value.as_bytes().trim_ascii()).ok()
}

/// The error a guard hands to tonic; the real one is in the [`Slot`].
#[derive(Debug)]
pub(crate) struct GuardError(String);

impl std::fmt::Display for GuardError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for GuardError {}

/// Sits right above the hyper client: sets the headers of the wire format, checks the HTTP
/// head and every frame, classifies connection failures.
#[derive(Debug, Clone)]
pub(crate) struct HeadGuard {
    inner: Http,
    mode: Mode,
    slot: Slot,
}

impl HeadGuard {
    pub(crate) fn new(inner: Http, mode: Mode, slot: Slot) -> HeadGuard {
        HeadGuard { inner, mode, slot }
    }
}

impl<B> tower::Service<Request<B>> for HeadGuard
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<tonic::Status>,
{
    type Response = Response<GuardBody<hyper::body::Incoming>>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        tower::Service::<Request<OutBody>>::poll_ready(&mut self.inner, cx).map_err(Into::into)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let mut request = request.map(|body| body.map_err(Into::into).boxed_unsync());
        let headers = request.headers_mut();
        headers.insert(
            http::header::USER_AGENT,
            HeaderValue::from_static(USER_AGENT),
        );
        if self.mode == Mode::GrpcWeb {
            // tonic-web's client says `application/grpc-web`; ZITADEL's contract says `+proto`.
            let content_type = HeaderValue::from_static("application/grpc-web+proto");
            headers.insert(http::header::CONTENT_TYPE, content_type.clone());
            headers.insert(http::header::ACCEPT, content_type);
            headers.insert("x-grpc-web", HeaderValue::from_static("1"));
            headers.remove(http::header::TE);
        }
        let (mode, slot) = (self.mode, self.slot.clone());
        let future = self.inner.call(request);
        Box::pin(async move {
            let response = match future.await {
                Ok(response) => response,
                Err(error) => {
                    let kind = classify(&error);
                    let message = match kind {
                        Kind::NotSent => "the request was not sent",
                        _ => "the connection failed during the call",
                    };
                    let text = format!("{message}: {}", chain(&error));
                    return Err(slot
                        .fail(Error::with_kind(kind, Code::Unavailable, text).with_source(error))
                        .into());
                }
            };
            check_head(mode, &slot, response).map_err(Into::into)
        })
    }
}

/// Checks the head of a gRPC or gRPC-web response and wraps its body.
fn check_head<RB>(
    mode: Mode,
    slot: &Slot,
    response: Response<RB>,
) -> Result<Response<GuardBody<RB>>, GuardError> {
    let (mut parts, body) = response.into_parts();
    let header_status = slot
        .read_status(&mut parts.headers)
        .map_err(|e| slot.fail(e))?;
    let status = parts.status.as_u16();
    if status >= 500 || status == 408 {
        // gRPC and gRPC-web servers send every status with HTTP 200: a 5xx came from a proxy that
        // may have forwarded the request, whatever `grpc-status` it wrote (a 503 saying
        // UNAUTHENTICATED must not pass for a rejection, which would be sent again).
        return Err(slot.fail(http_status_error(status)));
    }
    if !header_status {
        if status != 200 {
            return Err(slot.fail(http_status_error(status)));
        }
        let content_type = parts
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let expected = match mode {
            Mode::Grpc => "application/grpc",
            Mode::GrpcWeb => "application/grpc-web",
        };
        let ok = content_type
            .strip_prefix(expected)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('+') || rest.starts_with(';'));
        let ok = ok && !(mode == Mode::Grpc && content_type.starts_with("application/grpc-web"));
        if !ok {
            return Err(slot.fail(
                Error::malformed(format!(
                    "unexpected content-type {content_type:?} in a {} response",
                    match mode {
                        Mode::Grpc => "gRPC",
                        Mode::GrpcWeb => "gRPC-web",
                    }
                ))
                .with_http_status(status),
            ));
        }
    }
    let body = GuardBody {
        inner: body,
        frames: Some(Frames::new(mode)),
        check_trailers: mode == Mode::Grpc,
        header_status,
        saw_trailers: false,
        seen: 0,
        inner_error_kind: Kind::OutcomeUnknown,
        slot: slot.clone(),
        finished: false,
    };
    Ok(Response::from_parts(parts, body))
}

/// A non-200 answer without a gRPC status, or a 5xx whatever it carries: from a proxy in front
/// of the server.
fn http_status_error(status: u16) -> Error {
    let (kind, code) = if status >= 500 || status == 408 {
        // The proxy may have forwarded the request before failing.
        let code = match Code::from_http_status(status) {
            Code::Unknown | Code::Internal => Code::Unavailable,
            code => code,
        };
        (Kind::OutcomeUnknown, code)
    } else {
        (Kind::Status, Code::from_http_status(status))
    };
    Error::with_kind(
        kind,
        code,
        format!("HTTP {status}, not a gRPC answer (from a proxy?)"),
    )
    .with_http_status(status)
}

/// Sits above tonic-web's client service: checks the trailers it decoded from the trailer frame.
#[cfg_attr(not(feature = "grpc-web"), allow(dead_code))]
#[derive(Debug, Clone)]
pub(crate) struct TrailerGuard<S> {
    inner: S,
    slot: Slot,
}

impl<S> TrailerGuard<S> {
    #[cfg_attr(not(feature = "grpc-web"), allow(dead_code))]
    pub(crate) fn new(inner: S, slot: Slot) -> TrailerGuard<S> {
        TrailerGuard { inner, slot }
    }
}

impl<S, B, RB> tower::Service<Request<B>> for TrailerGuard<S>
where
    S: tower::Service<Request<B>, Response = Response<RB>>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
{
    type Response = Response<GuardBody<RB>>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let slot = self.slot.clone();
        let future = self.inner.call(request);
        Box::pin(async move {
            let response = future.await.map_err(Into::into)?;
            let (mut parts, body) = response.into_parts();
            let header_status = slot
                .read_status(&mut parts.headers)
                .map_err(|e| slot.fail(e))?;
            let body = GuardBody {
                inner: body,
                frames: None,
                check_trailers: true,
                header_status,
                saw_trailers: false,
                seen: 0,
                inner_error_kind: Kind::Malformed,
                slot,
                finished: false,
            };
            Ok(Response::from_parts(parts, body))
        })
    }
}

/// A response body under guard.
#[derive(Debug)]
pub(crate) struct GuardBody<B> {
    inner: B,
    frames: Option<Frames>,
    check_trailers: bool,
    header_status: bool,
    saw_trailers: bool,
    seen: usize,
    /// What an error of the inner body means.
    inner_error_kind: Kind,
    slot: Slot,
    finished: bool,
}

impl<B> GuardBody<B> {
    fn fail(&mut self, error: Error) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.finished = true;
        Poll::Ready(Some(Err(self.slot.fail(error).into())))
    }
}

impl<B> Body for GuardBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if this.finished {
            return Poll::Ready(None);
        }
        match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
            Some(Ok(frame)) => {
                let frame = match frame.into_data() {
                    Ok(data) => {
                        this.seen = this.seen.saturating_add(data.len());
                        if this.seen > MAX_RESPONSE_BYTES + 5 + MAX_TRAILER_BYTES as usize {
                            return this.fail(too_big(this.seen as u64));
                        }
                        if let Some(frames) = &mut this.frames
                            && let Err(error) = frames.feed(&data)
                        {
                            return this.fail(error);
                        }
                        Frame::data(data)
                    }
                    Err(frame) => frame,
                };
                let frame = match frame.into_trailers() {
                    Ok(mut trailers) => {
                        if this.check_trailers {
                            this.saw_trailers = true;
                            match this.slot.read_status(&mut trailers) {
                                Ok(true) => {}
                                Ok(false) if this.header_status => {}
                                Ok(false) => {
                                    return this.fail(Error::malformed(
                                        "the server's trailers have no grpc-status",
                                    ));
                                }
                                Err(error) => return this.fail(error),
                            }
                        }
                        Frame::trailers(trailers)
                    }
                    Err(frame) => frame,
                };
                Poll::Ready(Some(Ok(frame)))
            }
            Some(Err(error)) => {
                let error: BoxError = error.into();
                let text = match this.inner_error_kind {
                    Kind::OutcomeUnknown => {
                        format!(
                            "the connection failed during the response: {}",
                            chain(&*error)
                        )
                    }
                    _ => format!("invalid response: {}", chain(&*error)),
                };
                let code = match this.inner_error_kind {
                    Kind::OutcomeUnknown => Code::Unavailable,
                    _ => Code::Internal,
                };
                let failure =
                    Error::with_kind(this.inner_error_kind, code, text).with_source(error);
                this.fail(failure)
            }
            None => {
                if let Some(Err(error)) = this.frames.as_ref().map(Frames::finish) {
                    return this.fail(error);
                }
                if this.check_trailers && !this.saw_trailers && !this.header_status {
                    return this.fail(Error::malformed("the response ended without a grpc-status"));
                }
                this.finished = true;
                Poll::Ready(None)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        // Never claim the end early: the end-of-stream checks run when `None` is polled.
        self.finished
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

fn too_big(length: u64) -> Error {
    Error::with_kind(
        Kind::Malformed,
        Code::ResourceExhausted,
        format!(
            "the response is larger than the limit of {MAX_RESPONSE_BYTES} bytes ({length} bytes)"
        ),
    )
}

/// Follows the length-prefixed frames of a unary gRPC or gRPC-web response as bytes arrive.
#[derive(Debug)]
struct Frames {
    mode: Mode,
    header: [u8; 5],
    /// Bytes of the current frame header seen so far.
    have: usize,
    /// Bytes of the current frame's payload still to come.
    remaining: u64,
    messages: u32,
    trailer_frames: u32,
}

impl Frames {
    fn new(mode: Mode) -> Frames {
        Frames {
            mode,
            header: [0; 5],
            have: 0,
            remaining: 0,
            messages: 0,
            trailer_frames: 0,
        }
    }

    fn feed(&mut self, mut data: &[u8]) -> Result<(), Error> {
        while !data.is_empty() {
            if self.remaining > 0 {
                let take = data
                    .len()
                    .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
                self.remaining -= take as u64;
                data = &data[take..];
                continue;
            }
            let take = data.len().min(5 - self.have);
            self.header[self.have..self.have + take].copy_from_slice(&data[..take]);
            self.have += take;
            data = &data[take..];
            if self.have == 5 {
                self.have = 0;
                self.start_frame()?;
            }
        }
        Ok(())
    }

    fn start_frame(&mut self) -> Result<(), Error> {
        let flags = self.header[0];
        let length = u32::from_be_bytes([
            self.header[1],
            self.header[2],
            self.header[3],
            self.header[4],
        ]);
        if flags & 0x80 != 0 {
            if self.mode != Mode::GrpcWeb {
                return Err(Error::malformed(
                    "a gRPC-web trailer frame in a gRPC response",
                ));
            }
            self.trailer_frames += 1;
            if self.trailer_frames > 1 {
                return Err(Error::malformed("more than one trailer frame"));
            }
            if length > MAX_TRAILER_BYTES {
                return Err(too_big(u64::from(length)));
            }
        } else {
            if self.trailer_frames > 0 {
                return Err(Error::malformed("a message after the trailers"));
            }
            self.messages += 1;
            if self.messages > 1 {
                return Err(Error::malformed(
                    "more than one message in a unary response",
                ));
            }
            if length as usize > MAX_RESPONSE_BYTES {
                return Err(too_big(u64::from(length)));
            }
            if flags & 0x01 != 0 {
                return Err(Error::malformed(
                    "a compressed message, but no compression was negotiated",
                ));
            }
            if flags & 0x7e != 0 {
                return Err(Error::malformed(format!(
                    "unknown frame flags {flags:#04x}"
                )));
            }
        }
        self.remaining = u64::from(length);
        Ok(())
    }

    fn finish(&self) -> Result<(), Error> {
        if self.have > 0 || self.remaining > 0 {
            return Err(Error::malformed(
                "the response ended inside a frame (truncated)",
            ));
        }
        Ok(())
    }
}

/// Whether a failed exchange provably never reached the server.
fn classify(error: &(dyn std::error::Error + 'static)) -> Kind {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(error) = error.downcast_ref::<hyper_util::client::legacy::Error>()
            && error.is_connect()
        {
            // DNS, TCP or TLS failed: not a byte of the request left.
            return Kind::NotSent;
        }
        if let Some(error) = error.downcast_ref::<h2::Error>() {
            if error.reason() == Some(h2::Reason::REFUSED_STREAM) {
                // RFC 9113 §8.7: the server did no processing of a refused stream.
                return Kind::NotSent;
            }
            if error.is_go_away() && error.is_remote() {
                // h2 fails a stream with the GOAWAY only when its id is above the GOAWAY's
                // last-stream-id, i.e. the server promises it never processed it (§6.8).
                return Kind::NotSent;
            }
        }
        if let Some(error) = error.downcast_ref::<hyper::Error>()
            && error.is_canceled()
        {
            // hyper cancels a request it never wrote when the connection closes first.
            return Kind::NotSent;
        }
        current = error.source();
    }
    Kind::OutcomeUnknown
}

/// An error and its sources on one line.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(flags: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![flags];
        out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn one_message_then_trailers_in_any_chunking() {
        let mut bytes = frame(0, b"hello");
        bytes.extend(frame(0x80, b"grpc-status: 0\r\n"));
        for split in 0..bytes.len() {
            let mut frames = Frames::new(Mode::GrpcWeb);
            frames.feed(&bytes[..split]).unwrap();
            frames.feed(&bytes[split..]).unwrap();
            frames.finish().unwrap();
        }
    }

    #[test]
    fn hostile_framing_is_an_error() {
        let mut two = frame(0, b"a");
        two.extend(frame(0, b"b"));
        assert!(Frames::new(Mode::Grpc).feed(&two).is_err());
        let huge = [0u8, 0xff, 0xff, 0xff, 0xff];
        assert!(Frames::new(Mode::Grpc).feed(&huge).is_err());
        let mut frames = Frames::new(Mode::Grpc);
        frames.feed(&frame(0, b"abc")[..6]).unwrap();
        assert!(frames.finish().is_err());
        assert!(Frames::new(Mode::Grpc).feed(&frame(0x80, b"")).is_err());
        assert!(Frames::new(Mode::Grpc).feed(&frame(0x01, b"x")).is_err());
    }

    #[test]
    fn details_accept_padded_and_unpadded_base64_only() {
        assert_eq!(
            decode_details(&HeaderValue::from_static("YWI=")).unwrap(),
            b"ab"
        );
        assert_eq!(
            decode_details(&HeaderValue::from_static("YWI")).unwrap(),
            b"ab"
        );
        assert!(decode_details(&HeaderValue::from_static("!!!")).is_none());
        assert!(decode_details(&HeaderValue::from_static("YWJj=")).is_none());
    }
}
