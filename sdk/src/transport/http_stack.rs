//! The one HTTP client stack of every transport and of signing in: hyper-util's client over
//! rustls, the bound on connecting, reading a capped body, and what a failed exchange of hyper or
//! h2 says about whether the request left.
//!
//! REST and the sign-in flow use it directly rather than through reqwest: reqwest is the same
//! hyper-util client with layers these few fixed requests do not need (URL parsing, redirect and
//! proxy handling, its own body and error types). Those layers cost REST calls 30k instructions
//! each, and reqwest with its second copy of the client made the shipped library 310 KB larger.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::error::BoxError;
use crate::transport::status::Reached;

/// The request body of every transport: each request is complete bytes before it is sent.
pub(crate) type OutBody = http_body_util::Full<Bytes>;

/// The hyper client of every transport.
pub(crate) type Http =
    HyperClient<ConnectTimeout<hyper_rustls::HttpsConnector<HttpConnector>>, OutBody>;

/// Which HTTP a client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// HTTP/2 only: h2c with prior knowledge on `http://`, ALPN `h2` on `https://` (gRPC).
    #[cfg_attr(not(feature = "grpc"), allow(dead_code))]
    Http2,
    /// An HTTP/1.1 keep-alive pool, ALPN `http/1.1` (gRPC-web, REST, signing in).
    Http1,
}

/// One hyper client for the wire, with rustls configured as `tls` and the ALPN of `protocol`.
pub(crate) fn http_client(
    tls: &rustls::ClientConfig,
    connect_timeout: Duration,
    protocol: Protocol,
) -> Http {
    let mut tcp = HttpConnector::new();
    tcp.enforce_http(false);
    tcp.set_nodelay(true);
    tcp.set_connect_timeout(Some(connect_timeout));
    // ALPN set here rather than by hyper-rustls's builder, which offers none for HTTP/1.1 only
    // (a server or load balancer may route by it) and panics on a config that has one.
    let mut tls = tls.clone();
    tls.alpn_protocols = match protocol {
        Protocol::Http2 => vec![b"h2".to_vec()],
        Protocol::Http1 => vec![b"http/1.1".to_vec()],
    };
    // `https_or_http`: plain `http://` too (refused earlier unless it is loopback or allowed).
    let connector = hyper_rustls::HttpsConnector::from((tcp, tls));
    let mut builder = HyperClient::builder(TokioExecutor::new());
    builder
        // Headers and trailers are buffered too: keep them far below the body cap.
        .http1_max_buf_size(256 * 1024)
        .http2_max_header_list_size(256 * 1024)
        .timer(TokioTimer::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(Duration::from_secs(90));
    if protocol == Protocol::Http2 {
        // Keep-alive: while a call is open, a PING once the connection has read nothing for
        // 30 s, and the connection closed if 10 s pass without its answer. That ends a call on a
        // connection whose peer vanished (possibly before its deadline) and drops the
        // connection, so the next call connects anew; without it every later call would take
        // its deadline until TCP gave up (minutes). Its bookkeeping (a lock taken for each
        // frame read) costs about 5% calls/s at 32 in flight on 2 cores (bench/findings.md).
        builder
            .http2_only(true)
            .http2_keep_alive_interval(Duration::from_secs(30))
            .http2_keep_alive_timeout(Duration::from_secs(10));
    }
    builder.build(ConnectTimeout::new(connector, connect_timeout))
}

/// A request that asks for JSON, as REST and the sign-in flow send them: `headers`, then
/// `accept`, the SDK's `user-agent`, and the complete `body` with its content type. A `POST`
/// without a body says `content-length: 0` (RFC 9110 §8.6: some proxies refuse a `POST` without a
/// length).
#[cfg(any(feature = "json", feature = "device-authorization"))]
pub(crate) fn json_request(
    method: http::Method,
    uri: http::Uri,
    body: Option<(Bytes, &'static str)>,
    headers: http::HeaderMap,
) -> http::Request<OutBody> {
    use http::HeaderValue;
    use http::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, USER_AGENT};

    let (bytes, content_type) = match body {
        Some((bytes, content_type)) => (bytes, Some(content_type)),
        None => (Bytes::new(), None),
    };
    let mut request = http::Request::new(OutBody::new(bytes));
    *request.headers_mut() = headers;
    let headers = request.headers_mut();
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    headers.insert(
        USER_AGENT,
        HeaderValue::from_static(crate::transport::USER_AGENT),
    );
    match content_type {
        Some(content_type) => {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        }
        None if method == http::Method::POST => {
            headers.insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
        }
        None => {}
    }
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    request
}

/// Why a body could not be read whole.
#[cfg(any(feature = "json", feature = "device-authorization"))]
#[derive(Debug)]
pub(crate) enum ReadError {
    /// It declared or reached more than the cap (the rest is left unread).
    TooBig,
    /// The connection failed mid-body.
    Failed(hyper::Error),
}

/// Reads a body whole, failing as soon as it passes `cap` bytes (or declares more).
#[cfg(any(feature = "json", feature = "device-authorization"))]
pub(crate) async fn read_capped(
    mut body: hyper::body::Incoming,
    cap: usize,
) -> Result<Vec<u8>, ReadError> {
    use http_body::Body;
    use http_body_util::BodyExt;
    if body.size_hint().lower() > cap as u64 {
        return Err(ReadError::TooBig);
    }
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(ReadError::Failed)?;
        if let Some(data) = frame.data_ref() {
            if bytes.len() + data.len() > cap {
                return Err(ReadError::TooBig);
            }
            bytes.extend_from_slice(data);
        }
    }
    Ok(bytes)
}

/// Bounds the whole connect, DNS, TCP and TLS handshake, where hyper's `HttpConnector` bounds
/// only the TCP part. hyper-util reports a connector error as a connect error, so a timeout
/// here counts as "never sent". Hand-written rather than `tower::timeout::Timeout`: hyper-util
/// wants a connector future that is `Unpin`, and tower's holds a tokio `Sleep`, which is not.
#[derive(Debug, Clone)]
pub(crate) struct ConnectTimeout<C> {
    inner: C,
    timeout: Duration,
}

impl<C> ConnectTimeout<C> {
    pub(crate) fn new(inner: C, timeout: Duration) -> ConnectTimeout<C> {
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
                Err(_) => Err(ConnectTimedOut(timeout).into()),
            }
        })
    }
}

/// Connecting (DNS, TCP and TLS) took longer than the bound.
#[derive(Debug)]
pub(crate) struct ConnectTimedOut(Duration);

impl std::fmt::Display for ConnectTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "connecting took longer than {:?}", self.0)
    }
}

impl std::error::Error for ConnectTimedOut {}

/// How far a failed exchange got: nothing left only when hyper or h2 say so for certain.
pub(crate) fn reached(error: &(dyn std::error::Error + 'static)) -> Reached {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(error) = error.downcast_ref::<hyper_util::client::legacy::Error>()
            && error.is_connect()
        {
            // DNS, TCP or TLS failed: not a byte of the request left.
            return Reached::Nothing;
        }
        if let Some(error) = error.downcast_ref::<h2::Error>() {
            if error.reason() == Some(h2::Reason::REFUSED_STREAM) {
                // RFC 9113 §8.7: the server did no processing of a refused stream.
                return Reached::Nothing;
            }
            if error.is_go_away() && error.is_remote() {
                // h2 fails a stream with the GOAWAY only when its id is above the GOAWAY's
                // last-stream-id, i.e. the server promises it never processed it (§6.8).
                return Reached::Nothing;
            }
        }
        if let Some(error) = error.downcast_ref::<hyper::Error>()
            && error.is_canceled()
        {
            // hyper cancels a request it never wrote when the connection closes first.
            return Reached::Nothing;
        }
        current = error.source();
    }
    Reached::MaybeServer
}
