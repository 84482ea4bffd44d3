//! Failure classification, the one place that decides what a failed exchange means.
//!
//! Every transport hands over what it saw (the HTTP status, the gRPC status it read from headers,
//! trailers or a JSON body, a broken body, a connection error) and gets back the [`Error`] to
//! return; no transport builds a call's error itself. So the same answer reads the same over
//! gRPC, gRPC-web and REST: same code, id, message, kind and outcome (docs/wire-contract.md §3).
//!
//! The rules, in order:
//! 1. A gRPC status is ZITADEL's when ZITADEL's stack could have sent it with that HTTP status:
//!    grpc-go and the gRPC-web wrapper send every status with HTTP 200, the REST gateway with its
//!    own table's HTTP status. A 5xx or 408 carrying any other status, and an answer carrying
//!    none, came from something in front of ZITADEL (a proxy, a load balancer).
//! 2. Such a proxy's answer maps by gRPC's HTTP-to-status table ([`proxy_code`]) on every
//!    transport. After a 5xx or 408 the request may have been passed on and carried out, so the
//!    outcome is unknown (never retried, never refreshed-and-resent); a 4xx was refused on the way.
//! 3. ZITADEL's own status keeps its code, and its `zitadel.v1.ErrorDetail` gives the id and the
//!    message key.
//! 4. An answer that breaks the protocol is [`ErrorKind::Malformed`], with one message per kind
//!    of breakage whatever the wire, and the wire-specific detail as the error's source.

// A build with only some transports leaves the others' rules unused.
#![cfg_attr(
    not(all(any(feature = "grpc", feature = "grpc-web"), feature = "json")),
    allow(dead_code)
)]

use crate::error::{BoxError, Code, Error, ErrorKind};

/// Which of ZITADEL's front ends an answer came through; they pair a gRPC status with different
/// HTTP statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wire {
    /// gRPC and gRPC-web: every status travels with HTTP 200.
    Grpc,
    /// The REST gateway: each code has its HTTP status ([`Code::http_status`]).
    Rest,
}

/// A decoded `google.rpc.Status`, from `grpc-status`/`grpc-message`/`grpc-status-details-bin`
/// or from a REST error body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RpcStatus {
    pub(crate) code: i32,
    pub(crate) message: String,
    /// ZITADEL's `ErrorDetail` (id, message), when the status carried one that decoded.
    pub(crate) detail: Option<(String, String)>,
}

/// Whether a proxy that answered with this HTTP status may have passed the request on: a 5xx
/// (its upstream failed or timed out after receiving it) or a 408.
fn may_have_been_forwarded(http_status: u16) -> bool {
    http_status >= 500 || http_status == 408
}

/// Whether ZITADEL's own stack could have sent this HTTP status with this gRPC status code
/// (`None`: no status in the answer so far).
pub(crate) fn zitadel_sends(wire: Wire, http_status: u16, code: Option<i32>) -> bool {
    match (wire, code) {
        // A 4xx with a grpc-status is taken at its word (an auth proxy may answer that way and
        // has refused the request); a 5xx or 408 never comes from grpc-go.
        (Wire::Grpc, Some(_)) => !may_have_been_forwarded(http_status),
        // The status is still to come in the trailers: the head must be grpc-go's 200.
        (Wire::Grpc, None) => http_status == 200,
        (Wire::Rest, Some(code)) => {
            code != 0
                && (Code::from_i32(code).http_status() == http_status
                    || !may_have_been_forwarded(http_status))
        }
        (Wire::Rest, None) => (200..300).contains(&http_status),
    }
}

/// The gRPC code of an HTTP status that carries no gRPC status, by gRPC's own mapping table
/// (what gRPC clients report for a proxy's page).
pub(crate) fn proxy_code(http_status: u16) -> Code {
    match http_status {
        400 => Code::Internal,
        401 => Code::Unauthenticated,
        403 => Code::PermissionDenied,
        404 => Code::Unimplemented,
        429 | 502 | 503 | 504 => Code::Unavailable,
        _ => Code::Unknown,
    }
}

/// The error of an answer: ZITADEL's status when rule 1 says it is ZITADEL's, else a proxy's.
pub(crate) fn answer(wire: Wire, http_status: u16, status: Option<RpcStatus>) -> Error {
    match status {
        Some(status) if status.code != 0 && zitadel_sends(wire, http_status, Some(status.code)) => {
            let error = rejected(status);
            if http_status == 200 {
                error
            } else {
                error.with_http_status(http_status)
            }
        }
        _ => proxy_answer(http_status),
    }
}

/// ZITADEL's status as an error: the detail's message key and id when there is a detail.
pub(crate) fn rejected(status: RpcStatus) -> Error {
    let code = Code::from_i32(status.code);
    match status.detail {
        Some((id, detail_message)) => {
            let message = if detail_message.is_empty() {
                status.message
            } else {
                detail_message
            };
            Error::new(code, message).with_error_id(id)
        }
        None => Error::new(code, status.message),
    }
}

/// An answer from something in front of ZITADEL: an HTTP status and no (believable) gRPC status.
pub(crate) fn proxy_answer(http_status: u16) -> Error {
    let kind = if may_have_been_forwarded(http_status) {
        ErrorKind::OutcomeUnknown
    } else {
        ErrorKind::Rejected
    };
    let reason = http::StatusCode::from_u16(http_status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .map(|r| format!(" {r}"))
        .unwrap_or_default();
    Error::with_kind(
        kind,
        proxy_code(http_status),
        format!("HTTP {http_status}{reason}: not an answer of ZITADEL (from a proxy?)"),
    )
    .with_http_status(http_status)
}

/// A head whose content type is not the wire's: a 200 from something that is not ZITADEL's
/// gRPC server or gateway (a web server, a captive portal).
pub(crate) fn unexpected_content_type(content_type: &str) -> Error {
    Error::malformed(format!(
        "unexpected content-type {content_type:?}: not an answer of ZITADEL"
    ))
}

/// A success without a message (an empty body).
pub(crate) fn missing_message() -> Error {
    Error::malformed("the response has no message")
}

/// A message that does not decode as the expected response.
pub(crate) fn undecodable(source: impl Into<BoxError>) -> Error {
    Error::malformed("the response message does not decode").with_source(source)
}

/// A response that ended before it was complete.
pub(crate) fn truncated(what: impl Into<BoxError>) -> Error {
    Error::malformed("the response ended early (truncated)").with_source(what)
}

/// Any other break of the wire protocol (gRPC framing, a non-numeric status).
pub(crate) fn protocol(what: impl Into<String>) -> Error {
    Error::malformed(format!("the response breaks the protocol: {}", what.into()))
}

/// A response larger than [`MAX_RESPONSE_BYTES`](super::MAX_RESPONSE_BYTES).
pub(crate) fn too_big() -> Error {
    Error::with_kind(
        ErrorKind::Malformed,
        Code::ResourceExhausted,
        format!(
            "the response is larger than the limit of {} bytes",
            super::MAX_RESPONSE_BYTES
        ),
    )
}

/// How far a failed exchange got, as the transport's library reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reached {
    /// No byte of the request left (connect failed, stream refused).
    Nothing,
    /// The request may have been sent.
    MaybeServer,
}

/// A failed exchange: nothing came back. A TLS failure anywhere in the chain is
/// [`ErrorKind::Tls`] (nothing was sent, and retrying would fail the same way).
pub(crate) fn connection(reached: Reached, source: impl Into<BoxError>) -> Error {
    let source = source.into();
    let (kind, text) = match reached {
        Reached::Nothing if is_tls(&*source) => (ErrorKind::Tls, "the TLS handshake failed"),
        Reached::Nothing => (ErrorKind::NotSent, "could not connect"),
        Reached::MaybeServer => (
            ErrorKind::OutcomeUnknown,
            "the connection failed during the call",
        ),
    };
    Error::with_kind(
        kind,
        Code::Unavailable,
        format!("{text}: {}", chain(&*source)),
    )
    .with_source(source)
}

/// Whether a rustls error is in the chain. `io::Error::source` skips the error it wraps, so the
/// wrapped one is looked at too.
fn is_tls(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(error) = current {
        if error.is::<rustls::Error>() {
            return true;
        }
        if let Some(io) = error.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
            && is_tls(inner)
        {
            return true;
        }
        current = error.source();
    }
    false
}

/// An error and its sources on one line, without repeating a cause its parent already quoted.
pub(crate) fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_pages_map_by_grpcs_table() {
        let expect = [
            (400, Code::Internal),
            (401, Code::Unauthenticated),
            (403, Code::PermissionDenied),
            (404, Code::Unimplemented),
            (429, Code::Unavailable),
            (502, Code::Unavailable),
            (503, Code::Unavailable),
            (504, Code::Unavailable),
            (500, Code::Unknown),
            (408, Code::Unknown),
            (418, Code::Unknown),
        ];
        for (status, code) in expect {
            assert_eq!(proxy_code(status), code, "{status}");
        }
        assert!(proxy_answer(502).is_outcome_unknown());
        assert!(proxy_answer(408).is_outcome_unknown());
        assert_eq!(proxy_answer(401).kind(), ErrorKind::Rejected);
        assert_eq!(
            proxy_answer(502).to_string(),
            "UNAVAILABLE: HTTP 502 Bad Gateway: not an answer of ZITADEL (from a proxy?)"
        );
    }

    #[test]
    fn a_status_with_a_5xx_is_zitadels_only_from_the_gateways_table() {
        let unauthenticated = || RpcStatus {
            code: 16,
            message: "m".into(),
            detail: None,
        };
        // A 503 saying UNAUTHENTICATED must not pass for a rejection (it would be resent).
        assert!(answer(Wire::Grpc, 503, Some(unauthenticated())).is_outcome_unknown());
        assert!(answer(Wire::Rest, 503, Some(unauthenticated())).is_outcome_unknown());
        assert_eq!(
            answer(Wire::Rest, 401, Some(unauthenticated())).kind(),
            ErrorKind::Rejected
        );
        let unavailable = RpcStatus {
            code: 14,
            message: "down".into(),
            detail: None,
        };
        assert_eq!(
            answer(Wire::Rest, 503, Some(unavailable)).kind(),
            ErrorKind::Rejected
        );
        // OK is never an error code.
        let ok = RpcStatus {
            code: 0,
            message: String::new(),
            detail: None,
        };
        assert_eq!(answer(Wire::Rest, 400, Some(ok)).code(), Code::Internal);
    }

    #[test]
    fn the_detail_gives_id_and_message_key() {
        let e = rejected(RpcStatus {
            code: 16,
            message: "Errors.Token.Invalid (AUTH-7fs1e)".into(),
            detail: Some(("AUTH-7fs1e".into(), "Errors.Token.Invalid".into())),
        });
        assert_eq!(
            e.to_string(),
            "UNAUTHENTICATED (AUTH-7fs1e): Errors.Token.Invalid"
        );
        let e = rejected(RpcStatus {
            code: 16,
            message: "auth header missing".into(),
            detail: None,
        });
        assert_eq!(e.to_string(), "UNAUTHENTICATED: auth header missing");
    }

    #[test]
    fn a_tls_failure_inside_an_io_error_is_tls() {
        let io = std::io::Error::other(rustls::Error::InvalidCertificate(
            rustls::CertificateError::UnknownIssuer,
        ));
        assert_eq!(connection(Reached::Nothing, io).kind(), ErrorKind::Tls);
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(
            connection(Reached::Nothing, refused).kind(),
            ErrorKind::NotSent
        );
    }
}
