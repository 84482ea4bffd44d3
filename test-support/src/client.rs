//! A plain HTTP client on a raw connection: one request per fresh connection, HTTP/1.1 or h2
//! with prior knowledge (hyper's connection API: no pool, no retries, no redirects), the whole
//! answer read with its trailers.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode, Version};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// How long [`send_request`] waits for a body before it gives up.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// A complete HTTP answer.
#[derive(Debug)]
pub struct Reply {
    /// The HTTP status.
    pub status: StatusCode,
    /// The HTTP version the server answered with.
    pub version: Version,
    /// The response headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
    /// HTTP/2 trailers, if any.
    pub trailers: Option<HeaderMap>,
}

impl Reply {
    /// A header as text (`None` when missing or not visible ASCII).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as JSON; panics (showing the body) when it is not.
    pub fn json(&self) -> serde_json::Value {
        self.try_json().unwrap_or_else(|e| panic!("{e}"))
    }

    /// The body as JSON, or an error that shows the body.
    pub fn try_json(&self) -> Result<serde_json::Value, NotJson> {
        serde_json::from_slice(&self.body).map_err(|error| NotJson {
            error,
            body: String::from_utf8_lossy(&self.body).into_owned(),
        })
    }
}

/// A body that is not JSON.
#[derive(Debug)]
pub struct NotJson {
    error: serde_json::Error,
    body: String,
}

impl fmt::Display for NotJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "body is not JSON ({}): {:?}", self.error, self.body)
    }
}

impl std::error::Error for NotJson {}

/// Why [`send_request`] or [`get`] got no answer.
#[derive(Debug)]
pub enum SendError {
    /// The request could not be made (a bad URL, an unsupported scheme).
    Request(String),
    /// No connection to this address.
    Connect(String, std::io::Error),
    /// The HTTP exchange failed (e.g. the server closed the connection).
    Http(hyper::Error),
    /// The body did not end within the time allowed.
    Timeout,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Request(why) => write!(f, "bad request: {why}"),
            SendError::Connect(addr, error) => write!(f, "connecting to {addr}: {error}"),
            SendError::Http(error) => write!(f, "HTTP exchange failed: {error}"),
            SendError::Timeout => write!(f, "reading the body timed out"),
        }
    }
}

impl std::error::Error for SendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SendError::Connect(_, error) => Some(error),
            SendError::Http(error) => Some(error),
            SendError::Request(_) | SendError::Timeout => None,
        }
    }
}

impl From<hyper::Error> for SendError {
    fn from(error: hyper::Error) -> Self {
        SendError::Http(error)
    }
}

/// Sends `request` over `io` and reads the answer, HTTP/1.1 unless `version` is HTTP/2.
///
/// The request goes out as given: HTTP/1.1 needs its own `host` header, HTTP/2 an absolute URI.
async fn exchange<I>(
    io: I,
    version: Version,
    request: Request<Bytes>,
) -> Result<Reply, hyper::Error>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let io = TokioIo::new(io);
    let (parts, body) = request.into_parts();
    let request = Request::from_parts(parts, Full::new(body));
    let response = if version == Version::HTTP_2 {
        let (mut sender, connection) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), io).await?;
        tokio::spawn(connection);
        sender.send_request(request).await?
    } else {
        let (mut sender, connection) = hyper::client::conn::http1::handshake(io).await?;
        tokio::spawn(connection);
        sender.send_request(request).await?
    };
    let (parts, body) = response.into_parts();
    let collected = body.collect().await?;
    let trailers = collected.trailers().cloned();
    Ok(Reply {
        status: parts.status,
        version: parts.version,
        headers: parts.headers,
        body: collected.to_bytes(),
        trailers,
    })
}

/// Sends one request on a fresh connection to `addr`; panics when nothing listens there.
///
/// HTTP/1.1 gets a `host` header naming `addr` unless `headers` has one; HTTP/2 an
/// `http://addr` URI.
pub async fn send(
    addr: SocketAddr,
    version: Version,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Result<Reply, hyper::Error> {
    let stream = TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("connecting to {addr}: {e}"));
    // Without it, Nagle's algorithm and the peer's delayed ACK add about 40 ms to an h2 exchange.
    let _ = stream.set_nodelay(true);
    send_io(
        stream,
        &addr.to_string(),
        "http",
        version,
        method,
        path,
        headers,
        body,
    )
    .await
}

/// Like [`send`] over an established stream (e.g. TLS); `authority` and `scheme` name the server.
#[allow(clippy::too_many_arguments)]
pub async fn send_io<I>(
    stream: I,
    authority: &str,
    scheme: &str,
    version: Version,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Result<Reply, hyper::Error>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut request = Request::builder().method(method);
    if version == Version::HTTP_2 {
        request = request.uri(format!("{scheme}://{authority}{path}"));
    } else {
        request = request.uri(path);
        if !headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("host"))
        {
            request = request.header("host", authority);
        }
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    exchange(stream, version, request.body(body.into()).unwrap()).await
}

/// Sends a ready-made request on a fresh connection to `addr` (`host:port`), failing instead of
/// panicking, and giving up when the body takes longer than 10 s.
pub async fn send_request(
    addr: &str,
    version: Version,
    request: Request<Bytes>,
) -> Result<Reply, SendError> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| SendError::Connect(addr.to_owned(), e))?;
    let _ = stream.set_nodelay(true);
    tokio::time::timeout(BODY_TIMEOUT, exchange(stream, version, request))
        .await
        .map_err(|_| SendError::Timeout)?
        .map_err(SendError::Http)
}

/// `GET url` over HTTP/1.1 (plain `http://` only).
pub async fn get(url: &str) -> Result<Reply, SendError> {
    let parsed = url::Url::parse(url).map_err(|e| SendError::Request(format!("{url}: {e}")))?;
    if parsed.scheme() != "http" {
        return Err(SendError::Request(format!("only http:// URLs: {url}")));
    }
    let addr = format!(
        "{}:{}",
        parsed.host_str().unwrap_or("127.0.0.1"),
        parsed.port_or_known_default().unwrap_or(80)
    );
    let path = match parsed.query() {
        Some(query) => format!("{}?{query}", parsed.path()),
        None => parsed.path().to_owned(),
    };
    let request = Request::get(path)
        .header("host", addr.as_str())
        .body(Bytes::new())
        .map_err(|e| SendError::Request(e.to_string()))?;
    send_request(&addr, Version::HTTP_11, request).await
}
