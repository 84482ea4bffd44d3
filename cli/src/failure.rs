//! What went wrong, as one line on stderr (plus a hint where one helps), and the exit code.

use zitadel_passkey::{Code, Error, ErrorKind, SignInError, SignInErrorKind};

/// The exit codes documented in `--help` ([`crate::args`]) and the README.
pub(crate) mod exit {
    /// Success.
    pub(crate) const OK: u8 = 0;
    /// A local failure: a file could not be written, the embedded mock did not start.
    pub(crate) const LOCAL: u8 = 1;
    /// Bad flags or arguments, an invalid endpoint (clap uses 2 as well).
    pub(crate) const USAGE: u8 = 2;
    /// UNAUTHENTICATED or PERMISSION_DENIED.
    pub(crate) const AUTH: u8 = 3;
    /// Any other status the server answered with.
    pub(crate) const API: u8 = 4;
    /// The network failed (nothing reached the server) or the call timed out.
    pub(crate) const NETWORK: u8 = 5;
    /// The request may have reached the server and the answer was lost or broken.
    pub(crate) const OUTCOME_UNKNOWN: u8 = 6;
}

/// The longest server message shown (a hostile server could send megabytes).
const MAX_MESSAGE_CHARS: usize = 300;

/// Which call failed, for the hints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Call {
    /// AddMyPasswordlessLink.
    Link,
    /// SendMyPasswordlessLink.
    Send,
    /// ListMyPasswordless.
    List,
    /// RemoveMyPasswordless.
    Remove,
}

impl Call {
    /// Whether the call creates something each time it runs (so a lost answer matters).
    fn creates(self) -> bool {
        matches!(self, Call::Link | Call::Send)
    }
}

/// What the command knew when the call failed, for the hints.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Context {
    /// The call.
    pub call: Call,
    /// Whether a token was sent.
    pub had_token: bool,
    /// Whether the token came from the stored login of `zitadel-passkey login`.
    pub signed_in: bool,
    /// Whether `--org-id` was given.
    pub had_org_id: bool,
}

/// A failure: the lines for stderr and the exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    /// The exit code.
    pub exit_code: u8,
    /// `error: ...`, then possibly `hint: ...`.
    pub lines: Vec<String>,
}

impl Failure {
    fn new(exit_code: u8, error: String, hint: Option<String>) -> Failure {
        let mut lines = vec![format!("error: {error}")];
        lines.extend(hint.map(|h| format!("hint: {h}")));
        Failure { exit_code, lines }
    }

    /// A usage error (exit 2).
    pub(crate) fn usage(error: impl Into<String>, hint: Option<&str>) -> Failure {
        Failure::new(exit::USAGE, error.into(), hint.map(str::to_owned))
    }

    /// A local failure (exit 1).
    pub(crate) fn local(error: impl Into<String>) -> Failure {
        Failure::new(exit::LOCAL, error.into(), None)
    }

    /// A failed call.
    pub(crate) fn call(error: &Error, context: Context) -> Failure {
        let exit_code = exit_code(error);
        let mut line = error.code().as_str().to_owned();
        if let Some(id) = error.error_id() {
            line.push_str(" (");
            line.push_str(&sanitize(id));
            line.push(')');
        }
        line.push_str(": ");
        line.push_str(&explain(error, context));
        Failure::new(exit_code, line, hint(error, exit_code, context))
    }
}

impl Failure {
    /// A failed sign-in (`login`, `logout`, or refreshing a stored login).
    pub(crate) fn sign_in(error: &SignInError) -> Failure {
        let (exit_code, hint) = match error.kind() {
            SignInErrorKind::Denied => (
                exit::AUTH,
                Some("run `zitadel-passkey login` again and allow it"),
            ),
            SignInErrorKind::Expired => (
                exit::AUTH,
                Some("the code was not confirmed in time; run `zitadel-passkey login` again"),
            ),
            SignInErrorKind::Rejected if error.oauth_error() == Some("invalid_client") => (
                exit::AUTH,
                Some("check --client-id: a Native application with the Device Code grant"),
            ),
            SignInErrorKind::Rejected if error.oauth_error() == Some("invalid_grant") => (
                exit::AUTH,
                Some("the stored sign-in is no longer valid; run `zitadel-passkey login` again"),
            ),
            SignInErrorKind::Rejected | SignInErrorKind::Malformed => (exit::API, None),
            SignInErrorKind::Unreachable | SignInErrorKind::Timeout => (exit::NETWORK, None),
            SignInErrorKind::Config | SignInErrorKind::Insecure => (exit::USAGE, None),
            _ => (exit::API, None),
        };
        Failure::new(
            exit_code,
            format!("sign-in failed: {}", sanitize(&error.to_string())),
            hint.map(str::to_owned),
        )
    }
}

/// The exit code of a failed call, from the SDK's [`ErrorKind`].
pub(crate) fn exit_code(error: &Error) -> u8 {
    match error.kind() {
        // The server's own DEADLINE_EXCEEDED reads as a timeout too.
        _ if error.is_timeout() => exit::NETWORK,
        ErrorKind::Config | ErrorKind::Insecure => exit::USAGE,
        ErrorKind::OutcomeUnknown | ErrorKind::Malformed => exit::OUTCOME_UNKNOWN,
        ErrorKind::NotSent | ErrorKind::Tls => exit::NETWORK,
        ErrorKind::Credentials => exit::AUTH,
        _ if matches!(error.code(), Code::Unauthenticated | Code::PermissionDenied) => exit::AUTH,
        _ => exit::API,
    }
}

/// The error in words: ZITADEL's known errors explained, others as the server said them.
fn explain(error: &Error, context: Context) -> String {
    let known = match (error.error_id(), error.code()) {
        (Some("AUTH-7fs1e"), _) => Some("the token is invalid or expired"),
        // Decided by what the command sent, never by the server's words.
        (None, Code::Unauthenticated) if !context.had_token => Some("no token was sent"),
        (Some("AUTH-Bs7Ds"), _) if context.had_org_id => {
            Some("the organisation given with --org-id does not exist")
        }
        (Some("AUTH-Bs7Ds"), _) => Some("the organisation does not exist"),
        (Some("COMMAND-GVfg3"), _) => Some("the token carries no user ID"),
        _ => None,
    };
    match known {
        Some(text) => text.to_owned(),
        None => sanitize(error.message()),
    }
}

/// A hint for the failures where one helps.
fn hint(error: &Error, exit_code: u8, context: Context) -> Option<String> {
    let creates = context.call.creates();
    let text = match exit_code {
        exit::NETWORK if error.is_timeout() && creates => {
            "the server may still have acted on the request (an unused link expires on its own); \
             try a longer --timeout"
        }
        exit::NETWORK if error.is_timeout() => "try a longer --timeout",
        exit::NETWORK if error.kind() == ErrorKind::Tls => {
            "the server's TLS certificate is not trusted: if the instance uses a private CA, pass \
             it with --ca-cert FILE"
        }
        exit::NETWORK => "check --endpoint (or ZITADEL_URL): is the instance up and reachable?",
        exit::OUTCOME_UNKNOWN if creates => {
            "the server may have created a link anyway; it was not retried because every call \
             creates a new one (an unused link expires on its own)"
        }
        exit::OUTCOME_UNKNOWN => "check the server's state before trying again",
        exit::USAGE => {
            "check the values of --token (or ZITADEL_TOKEN) and --org-id: they are sent as \
             HTTP headers"
        }
        exit::AUTH if error.code() == Code::Unauthenticated && !context.had_token => {
            "sign in with `zitadel-passkey login --client-id ID`, or pass a token with --token or the ZITADEL_TOKEN environment variable"
        }
        exit::AUTH if error.code() == Code::Unauthenticated && context.signed_in => {
            "the stored sign-in was refused; run `zitadel-passkey login` again (or pass a token)"
        }
        exit::AUTH if error.code() == Code::Unauthenticated => {
            "get a new access token (or personal access token) for the user and pass it with \
             --token or ZITADEL_TOKEN"
        }
        exit::AUTH if error.error_id() == Some("AUTH-Bs7Ds") => {
            "leave out --org-id to use the organisation of the token's user"
        }
        exit::API if error.code() == Code::NotFound && context.call == Call::Remove => {
            "`zitadel-passkey list` shows the IDs of the user's passkeys"
        }
        exit::API if error.code() == Code::Unimplemented => {
            "is the endpoint a ZITADEL instance? A proxy in front of it may not pass this \
             transport: try another --transport"
        }
        _ => return None,
    };
    Some(text.to_owned())
}

/// Makes text from a server safe for one terminal line: control characters (escape sequences,
/// newlines) and invisible reordering characters become `?`, and it is cut to a sensible length.
pub(crate) fn sanitize(text: &str) -> String {
    let mut out: String = text
        .chars()
        .take(MAX_MESSAGE_CHARS)
        .map(|c| if is_unsafe_char(c) { '?' } else { c })
        .collect();
    if text.chars().nth(MAX_MESSAGE_CHARS).is_some() {
        out.push('…');
    }
    out
}

/// Characters a server's text must not put on a terminal: control characters (escape sequences,
/// newlines, carriage returns) and the invisible ones that reorder or hide text (bidi overrides
/// and isolates, zero-width characters), which could make a link or message read as something
/// else ("Trojan Source"). Hand-written: std has no test for Unicode's format category.
pub(crate) fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(call: Call) -> Context {
        Context {
            call,
            had_token: true,
            signed_in: false,
            had_org_id: false,
        }
    }

    #[test]
    fn zitadel_errors_read_well_and_map_to_exit_codes() {
        let error =
            Error::new(Code::Unauthenticated, "Errors.Token.Invalid").with_error_id("AUTH-7fs1e");
        let failure = Failure::call(&error, context(Call::Link));
        assert_eq!(failure.exit_code, exit::AUTH);
        assert_eq!(
            failure.lines[0],
            "error: UNAUTHENTICATED (AUTH-7fs1e): the token is invalid or expired"
        );
        assert!(failure.lines[1].starts_with("hint: "));

        let error = Error::new(Code::NotFound, "Errors.User.WebAuthN.NotFound");
        let failure = Failure::call(&error, context(Call::Remove));
        assert_eq!(failure.exit_code, exit::API);
        assert_eq!(
            failure.lines[0],
            "error: NOT_FOUND: Errors.User.WebAuthN.NotFound"
        );

        let error = Error::new(Code::Unavailable, "connection refused").not_sent();
        assert_eq!(exit_code(&error), exit::NETWORK);
        let error = Error::new(Code::Unavailable, "connection reset").outcome_unknown();
        assert_eq!(exit_code(&error), exit::OUTCOME_UNKNOWN);
        let error = Error::new(Code::DeadlineExceeded, "too slow");
        assert_eq!(exit_code(&error), exit::NETWORK);
        let error = zitadel_passkey::Client::builder("not a url")
            .build()
            .unwrap_err();
        assert_eq!(exit_code(&error), exit::USAGE);
        let error = zitadel_passkey::Client::builder("http://example.com")
            .build()
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Insecure);
        assert_eq!(exit_code(&error), exit::USAGE);
        let error = Error::new(Code::PermissionDenied, "no").with_error_id("AUTH-Bs7Ds");
        assert_eq!(exit_code(&error), exit::AUTH);
    }

    #[test]
    fn invisible_reordering_characters_are_shown_as_question_marks() {
        assert_eq!(sanitize("evil\u{202E}lmth.exe"), "evil?lmth.exe");
        assert_eq!(sanitize("a\u{2066}b\u{200B}c\u{FEFF}d"), "a?b?c?d");
        assert_eq!(
            sanitize("Organisation doesn't exist é"),
            "Organisation doesn't exist é"
        );
    }

    #[test]
    fn hostile_messages_stay_on_one_short_line() {
        let error = Error::new(Code::Internal, format!("a\nb\x1b[31mc{}", "x".repeat(5000)));
        let failure = Failure::call(&error, context(Call::List));
        assert_eq!(failure.lines.len(), 1);
        let line = &failure.lines[0];
        assert!(!line.chars().any(char::is_control));
        assert!(line.chars().count() < MAX_MESSAGE_CHARS + 40);
    }
}
