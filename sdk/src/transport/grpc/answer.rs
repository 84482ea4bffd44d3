//! Reading a gRPC or gRPC-web answer under guard: the head first (a proxy's page or a wrong
//! content type is refused before its body is read), then the body frame by frame under a byte
//! cap, then the status, and the message only when the status says success.

use bytes::{Bytes, BytesMut};
use http::Response;
use http_body_util::BodyExt;
use hyper::body::Incoming;

use super::frames::{Frames, MAX_TRAILER_BYTES, Mode};
use super::trailers::{read_status, web_trailers};
use crate::error::Error;
use crate::transport::MAX_RESPONSE_BYTES;
use crate::transport::status::{self, Reached, RpcStatus, Wire};

/// The bytes of the answer's message, or what the failure means.
pub(crate) async fn read(mode: Mode, response: Response<Incoming>) -> Result<Bytes, Error> {
    let (head, mut body) = response.into_parts();
    let header_status = read_status(&head.headers)?;
    let http_status = head.status.as_u16();
    if !status::zitadel_sends(
        Wire::Grpc,
        http_status,
        header_status.as_ref().map(|s| s.code),
    ) {
        return Err(status::proxy_answer(http_status));
    }
    if let Some(status) = header_status {
        // Trailers-only: the status came in the head and ends the answer, whatever follows; a
        // success there has no message (a message comes only before a status in trailers).
        return success(status, None);
    }
    let content_type = head
        .headers
        .get(http::header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()))
        .unwrap_or_default();
    if !is_content_type_of(mode, &content_type) {
        return Err(status::unexpected_content_type(&content_type));
    }

    let mut frames = Frames::new(mode);
    let mut collected = Collected::default();
    let mut trailers = None;
    // Read to the end, past gRPC-web's trailer frame too: that is how a message or a second
    // trailer frame after it is caught (and how hyper can reuse an HTTP/1.1 connection). A body
    // that never ends is cut by the call's deadline.
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|error| status::connection(Reached::MaybeServer, error))?;
        let frame = match frame.into_data() {
            Ok(data) => {
                // `Frames` refuses a frame declared too long; this bounds what is kept whatever
                // the framing: a message and a trailer frame, each behind its 5-byte header.
                if collected.len() + data.len()
                    > MAX_RESPONSE_BYTES + MAX_TRAILER_BYTES as usize + 10
                {
                    return Err(status::too_big());
                }
                frames.feed(&data)?;
                collected.push(data);
                continue;
            }
            Err(frame) => frame,
        };
        // HTTP trailers end a gRPC answer; gRPC-web's travel in the body, and trailers of a
        // chunked HTTP/1.1 body are none of its business.
        if let (Mode::Grpc, Ok(map)) = (mode, frame.into_trailers()) {
            trailers = Some(map);
        }
    }
    frames.finish()?;
    let body = collected.into_bytes();
    if let (Mode::GrpcWeb, Some(range)) = (mode, frames.trailers()) {
        trailers = Some(web_trailers(&body[range])?);
    }
    let status = match trailers {
        None => {
            return Err(status::truncated(
                "the response ended without a grpc-status",
            ));
        }
        Some(trailers) => read_status(&trailers)?
            .ok_or_else(|| status::truncated("the trailers have no grpc-status"))?,
    };
    success(status, frames.message().map(|range| body.slice(range)))
}

/// The message of a successful answer; ZITADEL's status when it refused.
fn success(status: RpcStatus, message: Option<Bytes>) -> Result<Bytes, Error> {
    match (status.code, message) {
        (0, Some(message)) => Ok(message),
        (0, None) => Err(status::missing_message()),
        _ => Err(status::rejected(status)),
    }
}

/// The body's bytes as they came: the one chunk they usually come in is kept as it is; once a
/// second comes, all are copied together.
#[derive(Default)]
enum Collected {
    #[default]
    Nothing,
    One(Bytes),
    Many(BytesMut),
}

impl Collected {
    fn len(&self) -> usize {
        match self {
            Collected::Nothing => 0,
            Collected::One(bytes) => bytes.len(),
            Collected::Many(bytes) => bytes.len(),
        }
    }

    fn push(&mut self, data: Bytes) {
        *self = match std::mem::take(self) {
            Collected::Nothing => Collected::One(data),
            Collected::One(first) => {
                let mut many = BytesMut::with_capacity(first.len() + data.len());
                many.extend_from_slice(&first);
                many.extend_from_slice(&data);
                Collected::Many(many)
            }
            Collected::Many(mut many) => {
                many.extend_from_slice(&data);
                Collected::Many(many)
            }
        }
    }

    fn into_bytes(self) -> Bytes {
        match self {
            Collected::Nothing => Bytes::new(),
            Collected::One(bytes) => bytes,
            Collected::Many(bytes) => bytes.freeze(),
        }
    }
}

/// `application/grpc` (or `+proto`, `;params`) for gRPC, `application/grpc-web...` for gRPC-web.
fn is_content_type_of(mode: Mode, content_type: &str) -> bool {
    let expected = match mode {
        Mode::Grpc => "application/grpc",
        Mode::GrpcWeb => "application/grpc-web",
    };
    let matches = content_type
        .strip_prefix(expected)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('+') || rest.starts_with(';'));
    matches && !(mode == Mode::Grpc && content_type.starts_with("application/grpc-web"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_of_each_wire() {
        assert!(is_content_type_of(Mode::Grpc, "application/grpc"));
        assert!(is_content_type_of(Mode::Grpc, "application/grpc+proto"));
        assert!(!is_content_type_of(Mode::Grpc, "application/grpc-web"));
        assert!(!is_content_type_of(Mode::Grpc, "text/html"));
        assert!(is_content_type_of(
            Mode::GrpcWeb,
            "application/grpc-web+proto"
        ));
        assert!(is_content_type_of(Mode::GrpcWeb, "application/grpc-web"));
        assert!(!is_content_type_of(Mode::GrpcWeb, "application/grpc"));
    }

    #[test]
    fn chunks_are_collected_in_order() {
        assert!(Collected::default().into_bytes().is_empty());
        let mut collected = Collected::default();
        collected.push(Bytes::from_static(b"ab"));
        assert_eq!(collected.len(), 2);
        collected.push(Bytes::from_static(b"cd"));
        collected.push(Bytes::from_static(b"e"));
        assert_eq!(collected.len(), 5);
        assert_eq!(collected.into_bytes(), "abcde");
    }
}
