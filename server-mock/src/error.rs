//! ZITADEL-shaped errors and how each transport renders them.
//!
//! A [`MockError`] is one gRPC code, an optional ZITADEL error id and a message. gRPC and gRPC-web
//! carry it as `grpc-status`, `grpc-message` (`"<message> (<id>)"`) and `grpc-status-details-bin`
//! (a `google.rpc.Status` holding one `Any` of `zitadel.v1.ErrorDetail`); REST carries the same
//! `google.rpc.Status` as JSON with the HTTP status of docs/wire-contract.md §3.

use std::borrow::Cow;

use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use prost::Message;
use zitadel_passkey::Code;
use zitadel_passkey::proto::google::rpc::Status as RpcStatus;
use zitadel_passkey::proto::zitadel::v1::ErrorDetail;

/// The `Any` type URL of ZITADEL's error detail.
pub const ERROR_DETAIL_TYPE_URL: &str = "type.googleapis.com/zitadel.v1.ErrorDetail";

/// An error the mock answers with: a gRPC code, ZITADEL's error id (if any) and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockError {
    code: Code,
    id: Option<Cow<'static, str>>,
    message: Cow<'static, str>,
}

impl MockError {
    /// An error from a table entry (no allocation).
    pub(crate) const fn fixed(code: Code, id: Option<&'static str>, message: &'static str) -> Self {
        let id = match id {
            Some(id) => Some(Cow::Borrowed(id)),
            None => None,
        };
        Self {
            code,
            id,
            message: Cow::Borrowed(message),
        }
    }

    /// An error with owned parts (scripted faults). An empty id means "no details".
    pub(crate) fn owned(code: Code, id: impl Into<String>, message: impl Into<String>) -> Self {
        let id: String = id.into();
        Self {
            code,
            id: (!id.is_empty()).then_some(Cow::Owned(id)),
            message: Cow::Owned(message.into()),
        }
    }

    /// The gRPC status code.
    pub fn code(&self) -> Code {
        self.code
    }

    /// ZITADEL's error id (`AUTH-7fs1e`), if the error carries details.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The untranslated message (`Errors.Token.Invalid`).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The message as ZITADEL sends it in `grpc-message` and `Status.message`: `"<message> (<id>)"`.
    pub fn full_message(&self) -> String {
        match &self.id {
            Some(id) => format!("{} ({id})", self.message),
            None => self.message.to_string(),
        }
    }

    /// The `google.rpc.Status` of this error.
    pub fn rpc_status(&self) -> RpcStatus {
        let details = match &self.id {
            Some(id) => vec![prost_types::Any {
                type_url: ERROR_DETAIL_TYPE_URL.to_owned(),
                value: ErrorDetail {
                    id: id.to_string(),
                    message: self.message.to_string(),
                }
                .encode_to_vec(),
            }],
            None => Vec::new(),
        };
        RpcStatus {
            code: self.code.as_i32(),
            message: self.full_message(),
            details,
        }
    }

    /// The error as a tonic status (used for gRPC and, through tonic-web, gRPC-web).
    pub(crate) fn to_status(&self) -> tonic::Status {
        let code = tonic::Code::from_i32(self.code.as_i32());
        if self.id.is_some() {
            let details = Bytes::from(self.rpc_status().encode_to_vec());
            tonic::Status::with_details(code, self.full_message(), details)
        } else {
            tonic::Status::new(code, self.full_message())
        }
    }

    /// The REST error body: `google.rpc.Status` in JSON (`code`, `message`, `details`).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self.json_body()).unwrap_or_default()
    }

    fn json_body(&self) -> JsonStatus<'_> {
        JsonStatus {
            code: self.code.as_i32(),
            message: self.full_message(),
            details: self
                .id
                .as_deref()
                .map(|id| {
                    vec![JsonDetail {
                        type_url: ERROR_DETAIL_TYPE_URL,
                        id,
                        message: &self.message,
                    }]
                })
                .unwrap_or_default(),
        }
    }

    /// The REST error response: mapped HTTP status, JSON body, and on UNAUTHENTICATED a
    /// `WWW-Authenticate` holding the status message, as grpc-gateway v2 writes it.
    pub(crate) fn to_rest_response(&self) -> http::Response<axum::body::Body> {
        self.to_rest_response_with_status(http_status(self.code))
    }

    /// Like [`Self::to_rest_response`] with an explicit HTTP status (413 for oversized bodies).
    pub(crate) fn to_rest_response_with_status(
        &self,
        status: StatusCode,
    ) -> http::Response<axum::body::Body> {
        let body = serde_json::to_vec(&self.json_body()).unwrap_or_default();
        let mut response = http::Response::new(axum::body::Body::from(body));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if self.code == Code::Unauthenticated {
            // grpc-gateway v2's default error handler sets the status message here, e.g.
            // `Errors.Token.Invalid (AUTH-7fs1e)`: not a `Bearer` challenge (§3).
            if let Ok(value) = HeaderValue::from_str(&self.full_message()) {
                headers.insert(header::WWW_AUTHENTICATE, value);
            }
        }
        response
    }
}

/// Bytes grpc-go escapes in `grpc-message`: everything outside printable ASCII (non-ASCII
/// bytes always are), and `%`.
const GRPC_MESSAGE_ESCAPES: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS.add(b'%');

/// Rewrites a `grpc-message` header as grpc-go, and so ZITADEL, encodes it: tonic also escapes
/// spaces, quotes and a few more (`Errors.Token.Invalid%20(AUTH-7fs1e)`), where ZITADEL sends
/// `Errors.Token.Invalid (AUTH-7fs1e)`. Both decode to the same text; a client must cope with
/// ZITADEL's. Hand-written because tonic's encoding is not configurable.
pub(crate) fn grpc_go_message(headers: &mut http::HeaderMap) {
    const GRPC_MESSAGE: http::HeaderName = http::HeaderName::from_static("grpc-message");
    let Some(value) = headers.get(GRPC_MESSAGE) else {
        return;
    };
    let decoded: Vec<u8> = percent_encoding::percent_decode(value.as_bytes()).collect();
    let encoded = percent_encoding::percent_encode(&decoded, GRPC_MESSAGE_ESCAPES).to_string();
    if let Ok(value) = HeaderValue::from_str(&encoded) {
        headers.insert(GRPC_MESSAGE, value);
    }
}

/// `google.rpc.Status` in JSON, fields in proto order.
#[derive(serde::Serialize)]
struct JsonStatus<'a> {
    code: i32,
    message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    details: Vec<JsonDetail<'a>>,
}

#[derive(serde::Serialize)]
struct JsonDetail<'a> {
    #[serde(rename = "@type")]
    type_url: &'static str,
    id: &'a str,
    message: &'a str,
}

impl std::fmt::Display for MockError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (code {})", self.full_message(), self.code.as_i32())
    }
}

impl std::error::Error for MockError {}

/// The HTTP status the REST gateway maps a gRPC code to (docs/wire-contract.md §3; the SDK's table,
/// [`Code::http_status`]).
pub fn http_status(code: Code) -> StatusCode {
    StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_mapping_follows_the_contract() {
        let table = [
            (0, 200),
            (1, 499),
            (2, 500),
            (3, 400),
            (4, 504),
            (5, 404),
            (6, 409),
            (7, 403),
            (8, 429),
            (9, 400),
            (10, 409),
            (11, 400),
            (12, 501),
            (13, 500),
            (14, 503),
            (15, 500),
            (16, 401),
        ];
        for (code, status) in table {
            assert_eq!(
                http_status(Code::from_i32(code)).as_u16(),
                status,
                "code {code}"
            );
        }
    }

    #[test]
    fn grpc_message_as_grpc_go_writes_it() {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            "grpc-message",
            HeaderValue::from_static("100%25%20sure%3F%20%C3%BC%0A"),
        );
        grpc_go_message(&mut headers);
        assert_eq!(headers["grpc-message"], "100%25 sure? %C3%BC%0A");
        let mut none = http::HeaderMap::new();
        grpc_go_message(&mut none);
        assert!(none.is_empty());
    }

    #[test]
    fn full_message_and_details() {
        let error = MockError::fixed(
            Code::Unauthenticated,
            Some("AUTH-7fs1e"),
            "Errors.Token.Invalid",
        );
        assert_eq!(error.full_message(), "Errors.Token.Invalid (AUTH-7fs1e)");
        let status = error.rpc_status();
        assert_eq!(status.details.len(), 1);
        assert_eq!(status.details[0].type_url, ERROR_DETAIL_TYPE_URL);
        let detail = ErrorDetail::decode(status.details[0].value.as_slice()).expect("detail");
        assert_eq!(detail.id, "AUTH-7fs1e");
        assert_eq!(detail.message, "Errors.Token.Invalid");
        let json = error.to_json();
        assert_eq!(
            json,
            serde_json::json!({"code":16,"message":"Errors.Token.Invalid (AUTH-7fs1e)","details":[{"@type":"type.googleapis.com/zitadel.v1.ErrorDetail","id":"AUTH-7fs1e","message":"Errors.Token.Invalid"}]})
        );
        let bare = MockError::fixed(Code::Unauthenticated, None, "auth header missing");
        assert!(bare.rpc_status().details.is_empty());
        assert_eq!(
            bare.to_json(),
            serde_json::json!({"code":16,"message":"auth header missing"})
        );
    }
}
