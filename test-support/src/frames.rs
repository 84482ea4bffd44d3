//! gRPC's length-prefixed frames, made and taken apart: message frames (flag 0), gRPC-web
//! trailer frames (flag 0x80, `name: value\r\n` lines), and a whole gRPC-web answer.

use std::collections::BTreeMap;
use std::fmt;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use prost::Message;

use crate::client::Reply;

/// A frame with this flag byte around `payload`.
pub fn frame(flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + payload.len());
    out.push(flags);
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// One uncompressed message frame.
pub fn message_frame(message: &impl Message) -> Vec<u8> {
    frame(0, &message.encode_to_vec())
}

/// A gRPC-web trailer frame carrying these trailers.
pub fn trailer_frame(trailers: &[(&str, String)]) -> Vec<u8> {
    let text: String = trailers
        .iter()
        .map(|(name, value)| format!("{name}: {value}\r\n"))
        .collect();
    frame(0x80, text.as_bytes())
}

/// A body that does not split into whole frames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError(String);

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FrameError {}

/// Splits a body into `(flag, payload)` frames; fails on a truncated header or payload.
pub fn frames(mut body: &[u8]) -> Result<Vec<(u8, Vec<u8>)>, FrameError> {
    let mut out = Vec::new();
    while !body.is_empty() {
        let Some((head, rest)) = body.split_first_chunk::<5>() else {
            return Err(FrameError(format!(
                "truncated frame header ({} bytes)",
                body.len()
            )));
        };
        let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
        if rest.len() < len {
            return Err(FrameError(format!(
                "truncated frame: {len} declared, {} left",
                rest.len()
            )));
        }
        let (payload, rest) = rest.split_at(len);
        out.push((head[0], payload.to_vec()));
        body = rest;
    }
    Ok(out)
}

/// A trailer frame's payload (`name: value\r\n` lines) as a map with lower-case names.
pub fn trailer_block(payload: &[u8]) -> BTreeMap<String, String> {
    String::from_utf8_lossy(payload)
        .split("\r\n")
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect()
}

/// A gRPC-web answer taken apart: its message frames, and the status from the trailer frame
/// (or from the headers when it came trailers-only).
#[derive(Debug)]
pub struct GrpcWebReply {
    /// The payloads of the message frames, in order.
    pub messages: Vec<Bytes>,
    /// The trailer frame's trailers, or the response headers when there was none.
    pub trailers: HeaderMap,
    /// Whether there was no trailer frame.
    pub trailers_only: bool,
}

/// Takes apart a gRPC-web answer (`-text` bodies are base64-decoded first); panics unless it is
/// HTTP 200 made of whole frames.
pub fn parse_grpc_web(reply: &Reply) -> GrpcWebReply {
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "gRPC-web answers HTTP 200: {reply:?}"
    );
    let text = reply
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/grpc-web-text"));
    let body = if text {
        use base64::Engine as _;
        // Padded, as every gRPC-web-text writer pads.
        base64::engine::general_purpose::STANDARD
            .decode(&reply.body)
            .expect("a grpc-web-text body is base64")
    } else {
        reply.body.to_vec()
    };
    let mut messages = Vec::new();
    let mut trailers = HeaderMap::new();
    let mut saw_trailer_frame = false;
    for (flag, payload) in frames(&body).unwrap() {
        if flag & 0x80 != 0 {
            saw_trailer_frame = true;
            for (name, value) in trailer_block(&payload) {
                trailers.insert(
                    HeaderName::from_bytes(name.as_bytes()).unwrap(),
                    HeaderValue::from_str(&value).unwrap(),
                );
            }
        } else {
            messages.push(Bytes::from(payload));
        }
    }
    if !saw_trailer_frame {
        trailers = reply.headers.clone();
    }
    GrpcWebReply {
        messages,
        trailers,
        trailers_only: !saw_trailer_frame,
    }
}
