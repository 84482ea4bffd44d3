//! OAuth error answers (RFC 6749 §5.2) and the JSON answers of the endpoints, all with
//! `Cache-Control: no-store`; and how an answer reads in the journal.

use std::borrow::Cow;

use axum::body::Body;
use axum::response::Response;
use http::{HeaderValue, StatusCode, header};
use zitadel_passkey::Code;

use crate::behaviour::Outcome;

/// An OAuth error: the `error` code and its `error_description`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OAuthError {
    error: Cow<'static, str>,
    description: Cow<'static, str>,
}

impl OAuthError {
    /// An error of the endpoints' own checks.
    pub(crate) const fn fixed(error: &'static str, description: &'static str) -> Self {
        Self {
            error: Cow::Borrowed(error),
            description: Cow::Borrowed(description),
        }
    }

    /// An error with a description made for the request (or a scripted fault).
    pub(crate) fn owned(error: impl Into<Cow<'static, str>>, description: String) -> Self {
        Self {
            error: error.into(),
            description: Cow::Owned(description),
        }
    }

    pub(crate) fn invalid_request(description: impl Into<String>) -> Self {
        Self::owned("invalid_request", description.into())
    }

    /// The `error` code.
    pub(crate) fn error(&self) -> &str {
        &self.error
    }

    /// 401 for a client that is not known, 500 and 503 for a server in trouble, 400 for the rest
    /// (RFC 6749 §5.2).
    pub(crate) fn status(&self) -> StatusCode {
        match self.error() {
            "invalid_client" => StatusCode::UNAUTHORIZED,
            "server_error" => StatusCode::INTERNAL_SERVER_ERROR,
            "temporarily_unavailable" => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    pub(crate) fn to_response(&self) -> Response {
        let body = serde_json::json!({
            "error": self.error,
            "error_description": self.description,
        });
        json_response(self.status(), &body)
    }
}

/// A JSON answer that no cache keeps (it holds codes or tokens, or says why there are none).
pub(crate) fn json_response(status: StatusCode, body: &serde_json::Value) -> Response {
    let mut response = no_store(status, Body::from(body.to_string()));
    set_json(&mut response);
    response
}

/// A JSON document that caches may keep (discovery).
pub(crate) fn json_document(body: &serde_json::Value) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    set_json(&mut response);
    response
}

fn set_json(response: &mut Response) {
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
}

/// An answer with `Cache-Control: no-store` and `Pragma: no-cache` (RFC 6749 §5.1).
pub(crate) fn no_store(status: StatusCode, body: Body) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// How an OAuth answer reads in the journal: code 0 for a 200, else the gRPC code whose HTTP
/// status it answered (docs/wire-contract.md §3's mapping, read backwards), and the OAuth error
/// as the error id.
pub(crate) fn outcome(result: Result<(), &OAuthError>) -> Outcome {
    match result {
        Ok(()) => Outcome {
            code: Code::Ok,
            error_id: None,
        },
        Err(error) => Outcome {
            code: match error.status() {
                StatusCode::UNAUTHORIZED => Code::Unauthenticated,
                StatusCode::INTERNAL_SERVER_ERROR => Code::Internal,
                StatusCode::SERVICE_UNAVAILABLE => Code::Unavailable,
                _ => Code::InvalidArgument,
            },
            error_id: Some(error.error().to_owned()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_journal_codes_agree() {
        for (error, status) in [
            ("invalid_client", 401),
            ("server_error", 500),
            ("temporarily_unavailable", 503),
            ("slow_down", 400),
            ("invalid_request", 400),
        ] {
            let error = OAuthError::fixed(error, "");
            assert_eq!(error.status().as_u16(), status);
            let code = outcome(Err(&error)).code;
            assert_eq!(crate::error::http_status(code).as_u16(), status);
        }
        assert_eq!(outcome(Ok(())).code, Code::Ok);
    }
}
