//! gRPC status as ZITADEL sends it: `grpc-status`, a percent-encoded `grpc-message` and a
//! `google.rpc.Status` with one `zitadel.v1.ErrorDetail` in `grpc-status-details-bin`; made for
//! fakes and read back for checks. Also the `grpc-timeout` header.

use std::time::Duration;

use http::HeaderMap;
use prost::Message;
use zitadel_passkey::proto::google::rpc::Status;
use zitadel_passkey::proto::zitadel::v1::ErrorDetail;

use crate::b64::b64;

/// The type URL of ZITADEL's error detail.
const ERROR_DETAIL: &str = "type.googleapis.com/zitadel.v1.ErrorDetail";

/// ZITADEL's `google.rpc.Status` with one `ErrorDetail`, encoded.
pub fn status_bytes(code: i32, message: &str, id: &str, detail_message: &str) -> Vec<u8> {
    let detail = ErrorDetail {
        id: id.into(),
        message: detail_message.into(),
    };
    Status {
        code,
        message: message.into(),
        details: vec![prost_types::Any {
            type_url: ERROR_DETAIL.into(),
            value: detail.encode_to_vec(),
        }],
    }
    .encode_to_vec()
}

/// The status headers of a ZITADEL error: the message percent-encoded (controls and spaces),
/// the details (padded base64) when `id` gives the detail's id and message.
pub fn error_headers(
    code: i32,
    id: Option<(&str, &str)>,
    message: &str,
) -> Vec<(&'static str, String)> {
    let mut headers = vec![
        ("grpc-status", code.to_string()),
        (
            "grpc-message",
            percent_encoding::utf8_percent_encode(message, percent_encoding::CONTROLS)
                .to_string()
                .replace(' ', "%20"),
        ),
    ];
    if let Some((id, detail)) = id {
        headers.push((
            "grpc-status-details-bin",
            b64(&status_bytes(code, message, id, detail)),
        ));
    }
    headers
}

/// A status read from trailers (or trailers-only headers).
#[derive(Debug, PartialEq)]
pub struct GrpcStatus {
    /// `grpc-status`.
    pub code: i32,
    /// `grpc-message`, percent-decoded.
    pub message: String,
    /// The first detail of `grpc-status-details-bin`, which must be a ZITADEL `ErrorDetail`.
    pub detail: Option<ErrorDetail>,
    /// How many details there were.
    pub details_count: usize,
}

/// Reads the status from `trailers`; panics when `grpc-status` is missing or the details
/// disagree with the code and message or are not ZITADEL's.
pub fn grpc_status(trailers: &HeaderMap) -> GrpcStatus {
    let code = trailers
        .get("grpc-status")
        .expect("grpc-status")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let message = trailers
        .get("grpc-message")
        .map(|m| {
            percent_encoding::percent_decode(m.as_bytes())
                .decode_utf8()
                .unwrap()
                .into_owned()
        })
        .unwrap_or_default();
    let (detail, details_count) = match trailers.get("grpc-status-details-bin") {
        Some(bin) => {
            let bytes = crate::b64::b64_decode(bin.as_bytes()).unwrap();
            let status = Status::decode(bytes.as_slice()).unwrap();
            assert_eq!(status.code, code);
            assert_eq!(status.message, message);
            let detail = status.details.first().map(|any| {
                assert_eq!(any.type_url, ERROR_DETAIL);
                ErrorDetail::decode(any.value.as_slice()).unwrap()
            });
            (detail, status.details.len())
        }
        None => (None, 0),
    };
    GrpcStatus {
        code,
        message,
        detail,
        details_count,
    }
}

/// Parses a `grpc-timeout` value (`<digits><H|M|S|m|u|n>`, e.g. `299996u`); `None` when it is
/// not one.
pub fn grpc_timeout(value: &str) -> Option<Duration> {
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    // At most 8 digits, and digits only (`u64::from_str` would take a `+`).
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n * 3600),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}
