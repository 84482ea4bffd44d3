//! Small wire helpers shared by the scenarios and the peers: a plain HTTP client on a raw
//! connection, gRPC length-prefixed frames, link parsing.
//!
//! Hand-written on purpose: the peers must not share code with the SDK's transports.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use bytes::{Buf, Bytes};
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;

/// Which HTTP version a raw request uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// HTTP/1.1.
    Http1,
    /// HTTP/2 cleartext with prior knowledge (h2c).
    Http2,
}

/// A response read in full.
#[derive(Debug)]
pub struct Reply {
    /// The HTTP status.
    pub status: StatusCode,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
    /// HTTP/2 trailers, if any.
    pub trailers: Option<HeaderMap>,
}

impl Reply {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as JSON.
    pub fn json(&self) -> Result<serde_json::Value> {
        serde_json::from_slice(&self.body).with_context(|| {
            format!(
                "body is not JSON: {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// Sends one request on a fresh connection to `addr` (`host:port`) and reads the whole answer.
pub async fn send(addr: &str, version: Version, request: Request<Bytes>) -> Result<Reply> {
    let stream = TcpStream::connect(addr)
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    let io = TokioIo::new(stream);
    let (parts, body) = request.into_parts();
    let request = Request::from_parts(parts, Full::new(body));
    let response = match version {
        Version::Http1 => {
            let (mut sender, connection) = hyper::client::conn::http1::handshake(io).await?;
            tokio::spawn(connection);
            sender.send_request(request).await?
        }
        Version::Http2 => {
            let (mut sender, connection) =
                hyper::client::conn::http2::handshake(TokioExecutor::new(), io).await?;
            tokio::spawn(connection);
            sender.send_request(request).await?
        }
    };
    let (parts, body) = response.into_parts();
    let collected = tokio::time::timeout(std::time::Duration::from_secs(10), body.collect())
        .await
        .context("reading the body timed out")??;
    let trailers = collected.trailers().cloned();
    Ok(Reply {
        status: parts.status,
        headers: parts.headers,
        body: collected.to_bytes(),
        trailers,
    })
}

/// `GET url` over HTTP/1.1 (plain http only).
pub async fn get(url: &str) -> Result<Reply> {
    let parsed = url::Url::parse(url)?;
    if parsed.scheme() != "http" {
        bail!("only http:// URLs: {url}");
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
        .body(Bytes::new())?;
    send(&addr, Version::Http1, request).await
}

/// One gRPC length-prefixed message frame (flag 0, uncompressed).
pub fn frame(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + message.len());
    out.push(0);
    out.extend_from_slice(&(message.len() as u32).to_be_bytes());
    out.extend_from_slice(message);
    out
}

/// Splits a body into (flag, payload) frames; fails on a truncated frame.
pub fn frames(mut body: &[u8]) -> Result<Vec<(u8, Vec<u8>)>> {
    let mut out = Vec::new();
    while !body.is_empty() {
        if body.len() < 5 {
            bail!("truncated frame header ({} bytes)", body.len());
        }
        let flag = body[0];
        let len = u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize;
        body.advance(5);
        if body.len() < len {
            bail!("truncated frame: {len} declared, {} left", body.len());
        }
        out.push((flag, body[..len].to_vec()));
        body.advance(len);
    }
    Ok(out)
}

/// Parses a gRPC-web trailer frame's payload (`name: value\r\n` lines) into a map.
pub fn trailer_block(payload: &[u8]) -> BTreeMap<String, String> {
    String::from_utf8_lossy(payload)
        .split("\r\n")
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect()
}

/// The query parameters of a link.
pub fn query(link: &str) -> Result<BTreeMap<String, String>> {
    let url = url::Url::parse(link).with_context(|| format!("not a URL: {link}"))?;
    Ok(url.query_pairs().into_owned().collect())
}

/// Whether `s` is a decimal ID (digits only, not empty).
pub fn is_decimal_id(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Whether `s` is a one-time code as ZITADEL makes them: 12 of `a-z A-Z 0-9`.
pub fn is_code(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_alphanumeric())
}
