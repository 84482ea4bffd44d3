//! A tap: a small HTTP/1.1 + h2c reverse proxy in front of the mock that records request headers
//! and can rewrite a request header or the answers (unknown fields, base64 padding), to check
//! what the SDK sends and that it accepts what a newer or different server may answer.
//!
//! Hand-written (on hyper) because no library does "forward and rewrite gRPC frames and
//! trailers"; it only ever talks to a local plain-HTTP mock.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, Version};
use http_body::Frame;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use zitadel_passkey_test_support::{b64, b64_decode, b64_unpadded, frame, frames};

/// What the tap changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rewrite {
    /// Nothing: it only records request headers.
    None,
    /// `authorization: Bearer X` becomes `authorization: Basic X`.
    AuthScheme,
    /// Unknown fields in every answer: protobuf field 99 in messages and `google.rpc.Status`,
    /// extra keys in JSON objects.
    UnknownFields,
    /// `grpc-status-details-bin` re-encoded without `=` padding.
    Base64Unpadded,
    /// `grpc-status-details-bin` re-encoded with `=` padding.
    Base64Padded,
}

/// An unknown protobuf field: number 99, length-delimited, "abcd".
const UNKNOWN_FIELD: [u8; 7] = [0x9a, 0x06, 0x04, b'a', b'b', b'c', b'd'];
/// An unknown 2-byte protobuf field (number 15, varint 0): changes a length modulo 3.
const UNKNOWN_SHORT: [u8; 2] = [0x78, 0x00];

type Body = StreamBody<futures::stream::Iter<std::vec::IntoIter<Result<Frame<Bytes>, Infallible>>>>;

struct State {
    upstream: String,
    rewrite: Rewrite,
    requests: Mutex<Vec<HeaderMap>>,
    rewrites: AtomicUsize,
    http1: Client<HttpConnector, Full<Bytes>>,
    http2: Client<HttpConnector, Full<Bytes>>,
}

/// A running tap; dropped, it stops.
pub struct Tap {
    addr: SocketAddr,
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for Tap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tap")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for Tap {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Tap {
    /// Starts a tap on a free loopback port forwarding to `upstream` (`http://host:port`).
    pub async fn start(upstream: &str, rewrite: Rewrite) -> Result<Tap> {
        let url = url::Url::parse(upstream)?;
        anyhow::ensure!(
            url.scheme() == "http",
            "the tap forwards to plain http:// only"
        );
        let upstream = format!(
            "{}:{}",
            url.host_str().context("no host")?,
            url.port_or_known_default().context("no port")?
        );
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State {
            upstream,
            rewrite,
            requests: Mutex::new(Vec::new()),
            rewrites: AtomicUsize::new(0),
            http1: Client::builder(TokioExecutor::new()).build_http(),
            http2: Client::builder(TokioExecutor::new())
                .http2_only(true)
                .build_http(),
        });
        let serving = state.clone();
        let task = tokio::spawn(async move {
            // Dropping the set (when the tap is dropped) ends every connection.
            let mut connections = JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                let state = serving.clone();
                connections.spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        let state = state.clone();
                        async move { Ok::<_, Infallible>(handle(&state, request).await) }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Tap { addr, state, task })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The headers of every request so far, as the client sent them.
    pub fn requests(&self) -> Vec<HeaderMap> {
        self.state
            .requests
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    /// How many answer parts the tap changed (to tell a vacuous run).
    pub fn rewrites(&self) -> usize {
        self.state.rewrites.load(Ordering::SeqCst)
    }
}

fn reply(status: StatusCode, text: &str) -> Response<Body> {
    let mut response = Response::new(body(Bytes::from(text.to_owned()), None));
    *response.status_mut() = status;
    response
}

fn body(data: Bytes, trailers: Option<HeaderMap>) -> Body {
    let mut frames = vec![Ok(Frame::data(data))];
    if let Some(trailers) = trailers {
        frames.push(Ok(Frame::trailers(trailers)));
    }
    StreamBody::new(futures::stream::iter(frames))
}

async fn handle(state: &State, request: Request<Incoming>) -> Response<Body> {
    if let Ok(mut requests) = state.requests.lock() {
        requests.push(request.headers().clone());
    }
    match forward(state, request).await {
        Ok(response) => response,
        Err(error) => reply(StatusCode::BAD_GATEWAY, &format!("tap: {error:#}")),
    }
}

async fn forward(state: &State, request: Request<Incoming>) -> Result<Response<Body>> {
    let (mut parts, incoming) = request.into_parts();
    let data = incoming.collect().await?.to_bytes();
    if state.rewrite == Rewrite::AuthScheme
        && let Some(value) = parts.headers.get("authorization")
        && let Some(rest) = value.as_bytes().strip_prefix(b"Bearer ")
    {
        let mut changed = b"Basic ".to_vec();
        changed.extend_from_slice(rest);
        parts
            .headers
            .insert("authorization", HeaderValue::from_bytes(&changed)?);
    }
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    parts.uri = format!("http://{}{path}", state.upstream).parse()?;
    for hop in ["connection", "keep-alive", "transfer-encoding", "upgrade"] {
        parts.headers.remove(hop);
    }
    let http2 = parts.version == Version::HTTP_2;
    let upstream = Request::from_parts(parts, Full::new(data));
    let response = if http2 {
        state.http2.request(upstream).await?
    } else {
        state.http1.request(upstream).await?
    };
    let (mut parts, incoming) = response.into_parts();
    let collected = incoming.collect().await?;
    let mut trailers = collected.trailers().cloned();
    let mut data = collected.to_bytes();
    let content_type = parts
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let before = data.clone();
    if content_type.starts_with("application/grpc-web") {
        data = rewrite_grpc_web(state, &data)?;
        details_header(state, &mut parts.headers);
    } else if content_type.starts_with("application/grpc") {
        data = rewrite_frames(state, &data)?;
        details_header(state, &mut parts.headers);
        if let Some(trailers) = trailers.as_mut() {
            details_header(state, trailers);
        }
    } else if content_type.starts_with("application/json")
        && state.rewrite == Rewrite::UnknownFields
    {
        data = rewrite_json(&data)?;
    }
    if data != before {
        state.rewrites.fetch_add(1, Ordering::SeqCst);
        parts.headers.remove("content-length");
    }
    parts.headers.remove("transfer-encoding");
    parts.headers.remove("connection");
    Ok(Response::from_parts(parts, body(data, trailers)))
}

/// Appends an unknown field to every message frame (gRPC).
fn rewrite_frames(state: &State, data: &[u8]) -> Result<Bytes> {
    if state.rewrite != Rewrite::UnknownFields {
        return Ok(Bytes::copy_from_slice(data));
    }
    let mut out = Vec::new();
    for (flag, mut payload) in frames(data)? {
        if flag == 0 {
            payload.extend_from_slice(&UNKNOWN_FIELD);
        }
        out.extend(frame(flag, &payload));
    }
    Ok(out.into())
}

/// Message frames as in gRPC; the trailer frame's `grpc-status-details-bin` rewritten.
fn rewrite_grpc_web(state: &State, data: &[u8]) -> Result<Bytes> {
    let mut out = Vec::new();
    for (flag, mut payload) in frames(data)? {
        if flag == 0 && state.rewrite == Rewrite::UnknownFields {
            payload.extend_from_slice(&UNKNOWN_FIELD);
        }
        if flag & 0x80 != 0 {
            let text = String::from_utf8_lossy(&payload).into_owned();
            let mut lines = Vec::new();
            for line in text.split("\r\n").filter(|l| !l.is_empty()) {
                match line.split_once(':') {
                    Some((name, value))
                        if name.trim().eq_ignore_ascii_case("grpc-status-details-bin") =>
                    {
                        let value = match details(state, value.trim()) {
                            Some(new) => {
                                state.rewrites.fetch_add(1, Ordering::SeqCst);
                                new
                            }
                            None => value.trim().to_owned(),
                        };
                        lines.push(format!("{}: {value}", name.trim()));
                    }
                    _ => lines.push(line.to_owned()),
                }
            }
            payload = lines
                .iter()
                .map(|l| format!("{l}\r\n"))
                .collect::<String>()
                .into_bytes();
        }
        out.extend(frame(flag, &payload));
    }
    Ok(out.into())
}

fn details_header(state: &State, headers: &mut HeaderMap) {
    let Some(value) = headers
        .get("grpc-status-details-bin")
        .and_then(|v| v.to_str().ok())
    else {
        return;
    };
    let old = value.to_owned();
    if let Some(new) = details(state, &old) {
        state.rewrites.fetch_add(1, Ordering::SeqCst);
        if let Ok(new) = HeaderValue::from_str(&new) {
            headers.insert("grpc-status-details-bin", new);
        }
    }
}

/// A `grpc-status-details-bin` value rewritten per the mode; `None` to leave it.
fn details(state: &State, value: &str) -> Option<String> {
    let mut status = b64_decode(value).ok()?;
    match state.rewrite {
        Rewrite::UnknownFields => {
            status.extend_from_slice(&UNKNOWN_FIELD);
            Some(b64(&status))
        }
        Rewrite::Base64Unpadded | Rewrite::Base64Padded => {
            // Make sure the encoding needs padding, so that dropping or adding it shows.
            if status.len() % 3 == 0 {
                status.extend_from_slice(&UNKNOWN_SHORT);
            }
            Some(if state.rewrite == Rewrite::Base64Unpadded {
                b64_unpadded(&status)
            } else {
                b64(&status)
            })
        }
        Rewrite::None | Rewrite::AuthScheme => None,
    }
}

/// Extra keys at the top level, in `details` and in each error detail.
fn rewrite_json(data: &[u8]) -> Result<Bytes> {
    let mut value: serde_json::Value = serde_json::from_slice(data)?;
    if let Some(object) = value.as_object_mut() {
        object.insert(
            "contractUnknownField".into(),
            serde_json::json!({"nested": [1, "two", null], "deeper": {"x": true}}),
        );
        match object.get_mut("details") {
            Some(serde_json::Value::Object(details)) => {
                details.insert(
                    "futureField".into(),
                    serde_json::json!("2099-01-01T00:00:00Z"),
                );
            }
            Some(serde_json::Value::Array(details)) => {
                for detail in details.iter_mut().filter_map(|d| d.as_object_mut()) {
                    detail.insert("future_field".into(), serde_json::json!(42));
                }
            }
            _ => {}
        }
    }
    Ok(serde_json::to_vec(&value)?.into())
}
