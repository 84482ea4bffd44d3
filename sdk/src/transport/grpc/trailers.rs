//! The status of a gRPC or gRPC-web answer: `grpc-status`, `grpc-message` and
//! `grpc-status-details-bin` out of its headers, its trailers or gRPC-web's trailer frame.

use base64::Engine as _;
use http::header::HeaderName;
use http::{HeaderMap, HeaderValue};

use crate::error::Error;
use crate::transport::status::{self, RpcStatus};

// Named once: a name given as a `&str` is parsed again on every lookup.
static STATUS: HeaderName = HeaderName::from_static("grpc-status");
static MESSAGE: HeaderName = HeaderName::from_static("grpc-message");
static DETAILS: HeaderName = HeaderName::from_static("grpc-status-details-bin");

/// The status in `headers`, if there is one. `grpc-message` is percent-decoded (invalid UTF-8
/// replaced); details that are not base64 or hold no readable `ErrorDetail` are ignored, the
/// status kept. A `grpc-status` that is not a number, or more than one, breaks the protocol.
pub(crate) fn read_status(headers: &HeaderMap) -> Result<Option<RpcStatus>, Error> {
    let mut values = headers.get_all(&STATUS).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        // Which one to believe is a guess: `0` then `7` must not read as a success.
        return Err(status::protocol("more than one grpc-status"));
    }
    let code = std::str::from_utf8(value.as_bytes())
        .ok()
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|s| s.parse::<i32>().ok())
        .ok_or_else(|| status::protocol("a non-numeric grpc-status"))?;
    if code == 0 {
        // A success: its message and details are not read.
        return Ok(Some(RpcStatus {
            code,
            message: String::new(),
            detail: None,
        }));
    }
    let message = headers
        .get(&MESSAGE)
        .map(|value| {
            percent_encoding::percent_decode(value.as_bytes())
                .decode_utf8_lossy()
                .into_owned()
        })
        .unwrap_or_default();
    let detail = headers.get(&DETAILS).and_then(|details| {
        let detail = decode_details(details).and_then(|bytes| detail_from_status_bytes(&bytes));
        if detail.is_none() {
            tracing::debug!("ignoring a grpc-status-details-bin without a readable ErrorDetail");
        }
        detail
    });
    Ok(Some(RpcStatus {
        code,
        message,
        detail,
    }))
}

/// The trailers in the payload of a gRPC-web trailer frame: lines of `name: value`, each ended
/// by CRLF, as HTTP/1.1 writes headers (a last line without its CRLF is read too). By hand
/// because it is a few lines, where an HTTP parser wants a whole header block.
pub(crate) fn web_trailers(payload: &[u8]) -> Result<HeaderMap, Error> {
    let mut trailers = HeaderMap::new();
    for line in payload.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        let colon = memchr::memchr(b':', line)
            .ok_or_else(|| status::protocol("a gRPC-web trailer without a colon"))?;
        let name = HeaderName::from_bytes(line[..colon].trim_ascii())
            .map_err(|_| status::protocol("a gRPC-web trailer with an invalid name"))?;
        let value = HeaderValue::from_bytes(line[colon + 1..].trim_ascii())
            .map_err(|_| status::protocol("a gRPC-web trailer with an invalid value"))?;
        trailers.append(name, value);
    }
    Ok(trailers)
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

/// ZITADEL's `ErrorDetail` (id, message) out of a binary `google.rpc.Status`, if it has one
/// that decodes.
fn detail_from_status_bytes(bytes: &[u8]) -> Option<(String, String)> {
    use prost::Message;
    let status = crate::proto::google::rpc::Status::decode(bytes).ok()?;
    status.details.iter().find_map(|any| {
        if any.type_url.rsplit('/').next() != Some("zitadel.v1.ErrorDetail") {
            return None;
        }
        let detail = crate::proto::zitadel::v1::ErrorDetail::decode(any.value.as_slice()).ok()?;
        Some((detail.id, detail.message))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn a_non_numeric_status_breaks_the_protocol() {
        for bad in ["sixteen", "", "-1", "1 6"] {
            let mut headers = HeaderMap::new();
            headers.insert(STATUS.clone(), HeaderValue::from_static(bad));
            let error = read_status(&headers).unwrap_err();
            assert_eq!(error.kind(), crate::ErrorKind::Malformed, "{bad:?}");
        }
    }

    #[test]
    fn two_statuses_break_the_protocol() {
        let mut headers = HeaderMap::new();
        headers.append(STATUS.clone(), HeaderValue::from_static("0"));
        headers.append(STATUS.clone(), HeaderValue::from_static("7"));
        let error = read_status(&headers).unwrap_err();
        assert_eq!(error.kind(), crate::ErrorKind::Malformed);
        let trailers = web_trailers(b"grpc-status: 0\r\ngrpc-status: 7\r\n").unwrap();
        assert!(read_status(&trailers).is_err());
    }

    #[test]
    fn the_message_is_percent_decoded() {
        let mut headers = HeaderMap::new();
        headers.insert(STATUS.clone(), HeaderValue::from_static("5"));
        headers.insert(
            MESSAGE.clone(),
            HeaderValue::from_static("not%20found%3A%20%E2%9C%93%FF"),
        );
        let status = read_status(&headers).unwrap().unwrap();
        assert_eq!(status.code, 5);
        assert_eq!(status.message, "not found: \u{2713}\u{fffd}");
    }

    #[test]
    fn web_trailer_lines() {
        let trailers =
            web_trailers(b"grpc-status:5\r\nGrpc-Message: not found \r\nx-a: 1\r\nx-a: 2").unwrap();
        assert_eq!(trailers["grpc-status"], "5");
        assert_eq!(trailers["grpc-message"], "not found");
        assert_eq!(trailers.get_all("x-a").iter().count(), 2);
        assert!(web_trailers(b"").unwrap().is_empty());
        for bad in [&b"no colon\r\n"[..], b": empty name\r\n", b"x: a\x01b\r\n"] {
            let error = web_trailers(bad).unwrap_err();
            assert_eq!(error.kind(), crate::ErrorKind::Malformed);
        }
    }
}
