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

    /// The code an HTTP status stands for in ZITADEL's gateway table, read backwards. Where the
    /// table maps several codes to one status the most general is chosen: 400
    /// `INVALID_ARGUMENT`, 409 `ALREADY_EXISTS`, 500 `INTERNAL`. Other 2xx give `OK`; other
    /// statuses `UNKNOWN`. (An answer that carries no status at all, a proxy's page, is read by
    /// gRPC's own HTTP table instead, on every transport: see [`ErrorKind`].)
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

/// What kind of failure an [`Error`] is: who answered, and whether the request may have
/// reached ZITADEL. Decide on this, never on the message text.
///
/// ```
/// use zitadel_passkey::{Code, Error, ErrorKind};
/// let error = Error::new(Code::NotFound, "Errors.User.WebAuthN.NotFound");
/// assert_eq!(error.kind(), ErrorKind::Rejected);
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// ZITADEL, or a proxy in front of it that did not pass the request on (an HTTP 4xx page),
    /// answered with an error status: the call did nothing (but for `DEADLINE_EXCEEDED`, see
    /// [`Error::is_outcome_unknown`]).
    Rejected,
    /// The request provably never reached the server (DNS, TCP connect, a refused HTTP/2 stream,
    /// a GOAWAY that did not cover it). Retried per the [`RetryPolicy`](crate::RetryPolicy).
    NotSent,
    /// The TLS handshake failed (an untrusted certificate, a name mismatch): nothing was sent.
    /// A private CA can be trusted with
    /// [`add_root_certificate`](crate::ClientBuilder::add_root_certificate).
    Tls,
    /// The request may have reached the server and the answer was lost: the connection broke
    /// during the call, or a proxy answered 5xx or 408 (it may have passed the request on).
    OutcomeUnknown,
    /// The client's deadline passed ([`Error::is_outcome_unknown`] tells whether the request
    /// had been sent).
    Timeout,
    /// The server answered with something that breaks the protocol (a wrong content type, a
    /// truncated or undecodable message, more than 4 MiB); it may have acted.
    Malformed,
    /// The client's settings or the call's values are invalid (an endpoint that does not parse,
    /// a token that cannot be a header value): nothing was sent.
    Config,
    /// The client refused to send the token unencrypted: plain `http://` to a host that is not
    /// loopback, without [`allow_insecure_http`](crate::ClientBuilder::allow_insecure_http).
    Insecure,
    /// The [`TokenProvider`](crate::TokenProvider) failed: nothing was sent.
    Credentials,
}

impl ErrorKind {
    /// A short name, e.g. `"outcome unknown"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Rejected => "rejected",
            ErrorKind::NotSent => "not sent",
            ErrorKind::Tls => "tls",
            ErrorKind::OutcomeUnknown => "outcome unknown",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Malformed => "malformed",
            ErrorKind::Config => "config",
            ErrorKind::Insecure => "insecure",
            ErrorKind::Credentials => "credentials",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error from a call or from building a [`Client`](crate::Client).
///
/// Opaque: read it through its accessors, and decide on [`kind`](Error::kind), never on the
/// message. Two errors are equal (`==`) when their code, message, ZITADEL error id, kind and
/// outcome are equal, whatever transport carried them, so the same answer compares equal over
/// gRPC, gRPC-web and REST.
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
    kind: ErrorKind,
    /// For [`ErrorKind::Timeout`]: the deadline passed before the request was sent.
    before_sending: bool,
    transport: Option<Transport>,
    source: Option<std::sync::Arc<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    /// An error as a server would send it: a code and a message. Meant for fakes behind
    /// [`Client::from_stub`](crate::Client::from_stub).
    pub fn new(code: Code, message: impl Into<String>) -> Error {
        Error::with_kind(ErrorKind::Rejected, code, message)
    }

    pub(crate) fn with_kind(kind: ErrorKind, code: Code, message: impl Into<String>) -> Error {
        Error {
            inner: Box::new(Inner {
                code,
                message: message.into(),
                error_id: None,
                http_status: None,
                kind,
                before_sending: false,
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
        self.inner.kind = ErrorKind::OutcomeUnknown;
        self
    }

    /// Marks the error as one where the request provably never reached the server, so a retry
    /// is safe (for fakes that simulate a refused connection).
    pub fn not_sent(mut self) -> Error {
        self.inner.kind = ErrorKind::NotSent;
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

    /// The client's deadline passed before the request was sent (so nothing reached the server).
    pub(crate) fn deadline_before_sending(mut self) -> Error {
        self.inner.before_sending = true;
        self
    }

    /// What kind of failure this is; see [`ErrorKind`].
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// A configuration error (nothing was sent).
    pub(crate) fn config(message: impl Into<String>) -> Error {
        Error::with_kind(ErrorKind::Config, Code::InvalidArgument, message)
    }

    /// The server's answer broke the protocol.
    pub(crate) fn malformed(message: impl Into<String>) -> Error {
        Error::with_kind(ErrorKind::Malformed, Code::Internal, message)
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
        self.inner.kind == ErrorKind::Timeout
            || (self.inner.kind == ErrorKind::Rejected && self.inner.code == Code::DeadlineExceeded)
    }

    /// Whether the request may have reached the server without the client learning what it did:
    /// a timeout after sending, a connection lost mid-call, a proxy's 502/503/504, an answer
    /// that broke the protocol, or a `DEADLINE_EXCEEDED` from the server (gRPC defines it as
    /// possibly sent after the operation completed). Such calls are never retried, because
    /// adding a passkey link is not idempotent; check the server's state before trying again.
    pub fn is_outcome_unknown(&self) -> bool {
        match self.inner.kind {
            ErrorKind::OutcomeUnknown | ErrorKind::Malformed => true,
            ErrorKind::Timeout => !self.inner.before_sending,
            ErrorKind::Rejected => self.inner.code == Code::DeadlineExceeded,
            ErrorKind::NotSent
            | ErrorKind::Tls
            | ErrorKind::Config
            | ErrorKind::Insecure
            | ErrorKind::Credentials => false,
        }
    }

    /// Whether the request provably never reached the server. Only [`ErrorKind::NotSent`] is
    /// retried by the client; the other kinds sent nothing either, but would fail the same way.
    pub fn is_not_sent(&self) -> bool {
        match self.inner.kind {
            ErrorKind::NotSent
            | ErrorKind::Tls
            | ErrorKind::Config
            | ErrorKind::Insecure
            | ErrorKind::Credentials => true,
            ErrorKind::Timeout => self.inner.before_sending,
            ErrorKind::Rejected | ErrorKind::OutcomeUnknown | ErrorKind::Malformed => false,
        }
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
            && self.inner.kind == other.inner.kind
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
}
