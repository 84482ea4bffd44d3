//! [`SignInError`]: every failure of the device authorization flow, with a [`SignInErrorKind`]
//! to decide on and the OAuth `error` code when the server sent one.

use std::fmt;

use crate::error::BoxError;

/// What kind of failure a [`SignInError`] is. Decide on this (and on
/// [`SignInError::oauth_error`]), never on the message text.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignInErrorKind {
    /// The person pressed Deny (`access_denied`).
    Denied,
    /// The code expired before the person allowed it (`expired_token`, or the flow's own
    /// deadline passed), or a stored sign-in ended and cannot be refreshed.
    Expired,
    /// The server refused the request with another OAuth error, e.g. `invalid_client` (a wrong
    /// client ID or an app without the Device Code grant) or `invalid_grant` (a refresh token
    /// that was revoked or rotated).
    Rejected,
    /// The server could not be reached (DNS, connection, TLS).
    Unreachable,
    /// A request took longer than the configured timeout.
    Timeout,
    /// The server answered something that is not OAuth (an HTML page, broken JSON, a field out
    /// of range).
    Malformed,
    /// The flow is misconfigured (an invalid issuer URL, an empty client ID, a bad certificate).
    Config,
    /// Plain `http://` to a host that is not loopback, without `allow_insecure_http(true)`.
    Insecure,
}

impl SignInErrorKind {
    /// A short stable name, e.g. `"denied"`.
    pub fn as_str(self) -> &'static str {
        match self {
            SignInErrorKind::Denied => "denied",
            SignInErrorKind::Expired => "expired",
            SignInErrorKind::Rejected => "rejected",
            SignInErrorKind::Unreachable => "unreachable",
            SignInErrorKind::Timeout => "timeout",
            SignInErrorKind::Malformed => "malformed",
            SignInErrorKind::Config => "config",
            SignInErrorKind::Insecure => "insecure",
        }
    }
}

impl fmt::Display for SignInErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed sign-in, refresh or revocation. Its message never holds a device code or a token.
pub struct SignInError {
    kind: SignInErrorKind,
    oauth_error: Option<String>,
    message: String,
    source: Option<BoxError>,
}

impl SignInError {
    pub(crate) fn new(kind: SignInErrorKind, message: impl Into<String>) -> SignInError {
        SignInError {
            kind,
            oauth_error: None,
            message: message.into(),
            source: None,
        }
    }

    /// An OAuth error answer: `error` and its `error_description`, kind from the code.
    pub(crate) fn oauth(error: &str, description: Option<&str>) -> SignInError {
        let kind = match error {
            "access_denied" => SignInErrorKind::Denied,
            "expired_token" => SignInErrorKind::Expired,
            _ => SignInErrorKind::Rejected,
        };
        // The server's text, cut short and stripped of control characters: it ends up on
        // terminals.
        let description: String = description
            .unwrap_or("")
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect();
        let message = if description.is_empty() {
            format!("the server answered {error}")
        } else {
            format!("the server answered {error}: {description}")
        };
        SignInError {
            kind,
            oauth_error: Some(error.to_owned()),
            message,
            source: None,
        }
    }

    pub(crate) fn with_source(mut self, source: impl Into<BoxError>) -> SignInError {
        self.source = Some(source.into());
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> SignInErrorKind {
        self.kind
    }

    /// The OAuth `error` code the server answered with (e.g. `"invalid_client"`), if any.
    pub fn oauth_error(&self) -> Option<&str> {
        self.oauth_error.as_deref()
    }

    /// The message, without the kind.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for SignInError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for SignInError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignInError")
            .field("kind", &self.kind)
            .field("oauth_error", &self.oauth_error)
            .field("message", &self.message)
            .finish_non_exhaustive()
    }
}

impl std::error::Error for SignInError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oauth_codes_pick_the_kind_and_descriptions_are_tamed() {
        assert_eq!(
            SignInError::oauth("access_denied", None).kind(),
            SignInErrorKind::Denied
        );
        assert_eq!(
            SignInError::oauth("expired_token", None).kind(),
            SignInErrorKind::Expired
        );
        let e = SignInError::oauth("invalid_client", Some("no such\u{1b}[2J client"));
        assert_eq!(e.kind(), SignInErrorKind::Rejected);
        assert_eq!(e.oauth_error(), Some("invalid_client"));
        assert_eq!(
            e.to_string(),
            "the server answered invalid_client: no such[2J client"
        );
    }
}
