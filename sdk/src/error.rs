//! One opaque [`Error`] for every failure, with the gRPC [`Code`] it maps to.

use std::fmt;

use crate::Transport;

/// The boxed source of an error.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A gRPC status code. REST answers are mapped to these per the HTTP table of ZITADEL's gateway.
///
/// ```
/// use zitadel_passkey::Code;
/// assert_eq!(Code::from_i32(16), Code::Unauthenticated);
/// assert_eq!(Code::Unauthenticated.as_str(), "UNAUTHENTICATED");
/// assert_eq!(Code::from_http_status(404), Code::NotFound);
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    /// 0: not an error.
    Ok,
    /// 1: the caller cancelled the call.
    Cancelled,
    /// 2: an unknown error.
    Unknown,
    /// 3: the request is invalid.
    InvalidArgument,
    /// 4: the deadline passed before the call completed.
    DeadlineExceeded,
    /// 5: something was not found.
    NotFound,
    /// 6: something already exists.
    AlreadyExists,
    /// 7: the caller may not do this.
    PermissionDenied,
    /// 8: a quota or size limit was hit.
    ResourceExhausted,
    /// 9: the system is not in a state the call needs.
    FailedPrecondition,
    /// 10: the call was aborted (e.g. a concurrency conflict).
    Aborted,
    /// 11: a value is out of range.
    OutOfRange,
    /// 12: the method is not implemented.
    Unimplemented,
    /// 13: an internal error (also: a response that broke the protocol).
    Internal,
    /// 14: the service is unavailable (also: the network failed).
    Unavailable,
    /// 15: data was lost.
    DataLoss,
    /// 16: the caller is not authenticated (missing, malformed or invalid token).
    Unauthenticated,
}

impl Code {
    const ALL: [Code; 17] = [
        Code::Ok,
        Code::Cancelled,
        Code::Unknown,
        Code::InvalidArgument,
        Code::DeadlineExceeded,
        Code::NotFound,
        Code::AlreadyExists,
        Code::PermissionDenied,
        Code::ResourceExhausted,
        Code::FailedPrecondition,
        Code::Aborted,
        Code::OutOfRange,
        Code::Unimplemented,
        Code::Internal,
        Code::Unavailable,
        Code::DataLoss,
        Code::Unauthenticated,
    ];

    /// The code of a numeric gRPC status; numbers outside `0..=16` give [`Code::Unknown`].
    pub fn from_i32(code: i32) -> Code {
        usize::try_from(code)
            .ok()
            .and_then(|i| Self::ALL.get(i).copied())
            .unwrap_or(Code::Unknown)
    }

    /// The numeric value sent on the wire.
    pub fn as_i32(self) -> i32 {
        Self::ALL.iter().position(|c| *c == self).unwrap_or(2) as i32
    }

    /// The canonical name, e.g. `"UNAUTHENTICATED"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Ok => "OK",
            Code::Cancelled => "CANCELLED",
            Code::Unknown => "UNKNOWN",
            Code::InvalidArgument => "INVALID_ARGUMENT",
            Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
            Code::NotFound => "NOT_FOUND",
            Code::AlreadyExists => "ALREADY_EXISTS",
            Code::PermissionDenied => "PERMISSION_DENIED",
            Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
            Code::FailedPrecondition => "FAILED_PRECONDITION",
            Code::Aborted => "ABORTED",
            Code::OutOfRange => "OUT_OF_RANGE",
            Code::Unimplemented => "UNIMPLEMENTED",
            Code::Internal => "INTERNAL",
            Code::Unavailable => "UNAVAILABLE",
            Code::DataLoss => "DATA_LOSS",
            Code::Unauthenticated => "UNAUTHENTICATED",
        }
    }

    /// The code an HTTP status stands for, by ZITADEL's gateway table read backwards (used only
    /// when a REST answer carries no `google.rpc.Status` body). Where the table maps several codes
    /// to one status the most general is chosen: 400 `INVALID_ARGUMENT`, 409 `ALREADY_EXISTS`,
    /// 500 `INTERNAL`. Other 2xx give `OK`; other statuses `UNKNOWN`.
    pub fn from_http_status(status: u16) -> Code {
        match status {
            200..=299 => Code::Ok,
            400 => Code::InvalidArgument,
            401 => Code::Unauthenticated,
            403 => Code::PermissionDenied,
            404 => Code::NotFound,
            409 => Code::AlreadyExists,
            429 => Code::ResourceExhausted,
            499 => Code::Cancelled,
            500 => Code::Internal,
            501 => Code::Unimplemented,
            503 => Code::Unavailable,
            504 => Code::DeadlineExceeded,
            _ => Code::Unknown,
        }
    }

    /// The HTTP status ZITADEL's gateway answers this code with.
    pub fn http_status(self) -> u16 {
        match self {
            Code::Ok => 200,
            Code::Cancelled => 499,
            Code::Unknown | Code::Internal | Code::DataLoss => 500,
            Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => 400,
            Code::DeadlineExceeded => 504,
            Code::NotFound => 404,
            Code::AlreadyExists | Code::Aborted => 409,
            Code::PermissionDenied => 403,
            Code::ResourceExhausted => 429,
            Code::Unimplemented => 501,
            Code::Unavailable => 503,
            Code::Unauthenticated => 401,
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an error came from; decides `is_outcome_unknown()` and whether a retry is safe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The server answered with a status: the call failed (and, but for `DEADLINE_EXCEEDED`, did nothing).
    Status,
    /// The request provably never reached the server (connect failed, stream refused).
    NotSent,
    /// The request may have reached the server; we do not know what it did.
    OutcomeUnknown,
    /// The client's deadline passed (the request may have been sent).
    Timeout,
    /// The server answered, but with something that breaks the protocol.
    Malformed,
    /// The client was misconfigured or could not get a token; nothing was sent.
    Local,
}

/// An error from a call or from building a [`Client`](crate::Client).
///
/// Opaque: read it through its accessors. Two errors are equal (`==`) when their code, message,
/// ZITADEL error id and outcome are equal, whatever transport carried them, so the same server
/// failure compares equal over gRPC, gRPC-web and REST.
///
/// ```
/// use zitadel_passkey::{Code, Error};
/// let error = Error::new(Code::Unauthenticated, "Errors.Token.Invalid").with_error_id("AUTH-7fs1e");
/// assert_eq!(error.to_string(), "UNAUTHENTICATED (AUTH-7fs1e): Errors.Token.Invalid");
/// assert!(!error.is_outcome_unknown());
/// ```
#[derive(Clone)]
pub struct Error {
    inner: Box<Inner>,
}

#[derive(Clone)]
struct Inner {
    code: Code,
    message: String,
    error_id: Option<String>,
    http_status: Option<u16>,
    kind: Kind,
    transport: Option<Transport>,
    source: Option<std::sync::Arc<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    /// An error as a server would send it: a code and a message. Meant for fakes behind
    /// [`Client::from_stub`](crate::Client::from_stub).
    pub fn new(code: Code, message: impl Into<String>) -> Error {
        Error::with_kind(Kind::Status, code, message)
    }

    pub(crate) fn with_kind(kind: Kind, code: Code, message: impl Into<String>) -> Error {
        Error {
            inner: Box::new(Inner {
                code,
                message: message.into(),
                error_id: None,
                http_status: None,
                kind,
                transport: None,
                source: None,
            }),
        }
    }

    /// Sets ZITADEL's error id (from `zitadel.v1.ErrorDetail`), e.g. `AUTH-7fs1e`.
    pub fn with_error_id(mut self, id: impl Into<String>) -> Error {
        let id = id.into();
        self.inner.error_id = (!id.is_empty()).then_some(id);
        self
    }

    /// Marks the error as one where the request may have reached the server and its effect is
    /// unknown (for fakes that simulate a broken connection).
    pub fn outcome_unknown(mut self) -> Error {
        self.inner.kind = Kind::OutcomeUnknown;
        self
    }

    /// Marks the error as one where the request provably never reached the server, so a retry
    /// is safe (for fakes that simulate a refused connection).
    pub fn not_sent(mut self) -> Error {
        self.inner.kind = Kind::NotSent;
        self
    }

    pub(crate) fn with_http_status(mut self, status: u16) -> Error {
        self.inner.http_status = Some(status);
        self
    }

    pub(crate) fn with_transport(mut self, transport: Transport) -> Error {
        self.inner.transport.get_or_insert(transport);
        self
    }

    pub(crate) fn with_source(mut self, source: impl Into<BoxError>) -> Error {
        self.inner.source = Some(std::sync::Arc::from(source.into()));
        self
    }

    /// Replaces `secret` (the call's token) wherever the peer echoed it back into the message or
    /// error id, say a proxy quoting the token it rejected. Short strings are left alone: they
    /// are not real tokens, and replacing them could mangle an ordinary message.
    pub(crate) fn redact(mut self, secret: &str) -> Error {
        const SHORTEST: usize = 8;
        let secret = secret.trim_ascii();
        if secret.len() < SHORTEST {
            return self;
        }
        if self.inner.message.contains(secret) {
            self.inner.message = self.inner.message.replace(secret, "***");
        }
        if let Some(id) = &mut self.inner.error_id
            && id.contains(secret)
        {
            *id = id.replace(secret, "***");
        }
        self
    }

    pub(crate) fn kind(&self) -> Kind {
        self.inner.kind
    }

    /// A configuration error (nothing was sent).
    pub(crate) fn config(message: impl Into<String>) -> Error {
        Error::with_kind(Kind::Local, Code::InvalidArgument, message)
    }

    /// The server's answer broke the protocol.
    pub(crate) fn malformed(message: impl Into<String>) -> Error {
        Error::with_kind(Kind::Malformed, Code::Internal, message)
    }

    /// The gRPC status code (REST statuses mapped per ZITADEL's table).
    pub fn code(&self) -> Code {
        self.inner.code
    }

    /// The message: ZITADEL's message key when the error carried an `ErrorDetail`
    /// (e.g. `Errors.Token.Invalid`), otherwise the status message as sent.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// ZITADEL's error id from the `zitadel.v1.ErrorDetail`, e.g. `AUTH-7fs1e`.
    pub fn error_id(&self) -> Option<&str> {
        self.inner.error_id.as_deref()
    }

    /// The HTTP status of the response, where the error came with one that is not plain 200.
    pub fn http_status(&self) -> Option<u16> {
        self.inner.http_status
    }

    /// Whether the call ran out of time: the client's deadline passed or the server said
    /// `DEADLINE_EXCEEDED`.
    pub fn is_timeout(&self) -> bool {
        self.inner.kind == Kind::Timeout || self.inner.code == Code::DeadlineExceeded
    }

    /// Whether the request may have reached the server without the client learning what it did:
    /// a timeout after sending, a connection lost mid-call, a proxy's 502/503/504, an answer
    /// that broke the protocol, or a `DEADLINE_EXCEEDED` from the server (gRPC defines it as
    /// possibly sent after the operation completed). Such calls are never retried, because
    /// adding a passkey link is not idempotent; check the server's state before trying again.
    pub fn is_outcome_unknown(&self) -> bool {
        match self.inner.kind {
            Kind::OutcomeUnknown | Kind::Timeout | Kind::Malformed => true,
            Kind::Status => self.inner.code == Code::DeadlineExceeded,
            _ => false,
        }
    }

    /// Whether the request provably never reached the server (so retrying is safe).
    pub fn is_not_sent(&self) -> bool {
        matches!(self.inner.kind, Kind::NotSent | Kind::Local)
    }

    /// The transport the call went over, if it went over one.
    pub fn transport(&self) -> Option<Transport> {
        self.inner.transport
    }
}

impl PartialEq for Error {
    fn eq(&self, other: &Error) -> bool {
        self.inner.code == other.inner.code
            && self.inner.message == other.inner.message
            && self.inner.error_id == other.inner.error_id
            && self.is_outcome_unknown() == other.is_outcome_unknown()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.inner.code.as_str())?;
        if let Some(id) = &self.inner.error_id {
            write!(f, " ({id})")?;
        }
        write!(f, ": {}", self.inner.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Error");
        s.field("code", &self.inner.code)
            .field("message", &self.inner.message)
            .field("error_id", &self.inner.error_id)
            .field("http_status", &self.inner.http_status)
            .field("kind", &self.inner.kind)
            .field("transport", &self.inner.transport);
        if let Some(source) = &self.inner.source {
            // Display, not Debug: library errors' Debug can hold request parts.
            s.field("source", &source.to_string());
        }
        s.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// A decoded `google.rpc.Status`: code, message and ZITADEL's `ErrorDetail`, the same on every
/// transport.
pub(crate) fn from_rpc_status(code: i32, message: &str, detail: Option<(String, String)>) -> Error {
    let code = Code::from_i32(code);
    match detail {
        Some((id, detail_message)) => {
            let message = if detail_message.is_empty() {
                message.to_owned()
            } else {
                detail_message
            };
            Error::new(code, message).with_error_id(id)
        }
        None => Error::new(code, message),
    }
}

/// Reads ZITADEL's `ErrorDetail` out of a binary `google.rpc.Status` (from
/// `grpc-status-details-bin`). Returns `None` if there is none or it does not decode.
#[cfg(any(feature = "grpc", feature = "grpc-web"))]
pub(crate) fn detail_from_status_bytes(bytes: &[u8]) -> Option<(String, String)> {
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
    fn codes_round_trip_and_map_http_statuses() {
        for (i, code) in Code::ALL.iter().enumerate() {
            assert_eq!(Code::from_i32(i as i32), *code);
            assert_eq!(code.as_i32(), i as i32);
        }
        assert_eq!(Code::from_i32(17), Code::Unknown);
        assert_eq!(Code::from_i32(-1), Code::Unknown);
        for code in Code::ALL {
            let back = Code::from_http_status(code.http_status());
            assert_eq!(back.http_status(), code.http_status(), "{code}");
        }
        assert_eq!(Code::from_http_status(502), Code::Unknown);
    }

    #[test]
    fn display_has_code_id_and_message() {
        let e = from_rpc_status(
            16,
            "Errors.Token.Invalid (AUTH-7fs1e)",
            Some(("AUTH-7fs1e".into(), "Errors.Token.Invalid".into())),
        );
        assert_eq!(
            e.to_string(),
            "UNAUTHENTICATED (AUTH-7fs1e): Errors.Token.Invalid"
        );
        let e = from_rpc_status(16, "auth header missing", None);
        assert_eq!(e.to_string(), "UNAUTHENTICATED: auth header missing");
        assert_eq!(e.error_id(), None);
    }
}
