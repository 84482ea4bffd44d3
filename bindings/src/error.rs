//! [`PasskeyError`], the one error of every call, and [`TokenProviderError`].

use std::fmt;

use zitadel_passkey::Code;

/// Why a call failed. Every kind carries the gRPC status code (`grpc_code`, e.g. 16 for
/// `UNAUTHENTICATED`), ZITADEL's error id when the server sent one (e.g. `AUTH-7fs1e`) and a
/// description (ZITADEL's message key, e.g. `Errors.Token.Invalid`, or what went wrong
/// locally). None of them ever holds the token or a one-time code.
///
/// Kotlin: `PasskeyException` with one subclass per kind; Python: `PasskeyError` with
/// subclasses `PasskeyError.Unauthenticated` ...; Swift: `enum PasskeyError: Error`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Error)]
pub enum PasskeyError {
    /// The token is missing, malformed or invalid (or the token provider failed).
    Unauthenticated {
        /// The gRPC status code.
        grpc_code: i32,
        /// ZITADEL's error id, e.g. `AUTH-7fs1e`.
        error_id: Option<String>,
        /// What went wrong.
        description: String,
    },
    /// The token's user may not do this, or `org_id` names an organisation that does not exist.
    PermissionDenied {
        /// The gRPC status code.
        grpc_code: i32,
        /// ZITADEL's error id, e.g. `AUTH-Bs7Ds`.
        error_id: Option<String>,
        /// What went wrong.
        description: String,
    },
    /// Something was not found (e.g. the passkey to remove).
    NotFound {
        /// The gRPC status code.
        grpc_code: i32,
        /// ZITADEL's error id.
        error_id: Option<String>,
        /// What went wrong.
        description: String,
    },
    /// The request or the client's config is invalid (e.g. a malformed endpoint).
    InvalidArgument {
        /// The gRPC status code.
        grpc_code: i32,
        /// ZITADEL's error id.
        error_id: Option<String>,
        /// What went wrong.
        description: String,
    },
    /// ZITADEL could not be reached or is unavailable; the request did not take effect, so
    /// trying again later is safe.
    Unavailable {
        /// The gRPC status code.
        grpc_code: i32,
        /// ZITADEL's error id.
        error_id: Option<String>,
        /// What went wrong.
        description: String,
    },
    /// The deadline passed. The request may have reached the server: check before adding
    /// another link.
    Timeout {
        /// The gRPC status code (4, `DEADLINE_EXCEEDED`).
        grpc_code: i32,
        /// ZITADEL's error id.
        error_id: Option<String>,
        /// What went wrong.
        description: String,
    },
    /// The request may have reached the server and the client does not know what it did (the
    /// connection broke mid-call, a proxy answered 502/503/504, or the answer was malformed).
    /// Check before adding another link.
    OutcomeUnknown {
        /// The gRPC status code.
        grpc_code: i32,
        /// ZITADEL's error id.
        error_id: Option<String>,
        /// What went wrong.
        description: String,
    },
    /// The call was cancelled with its `CancellationToken`. A
    /// cancelled add may or may not have created a link.
    Cancelled {
        /// The gRPC status code (1, `CANCELLED`).
        grpc_code: i32,
        /// ZITADEL's error id.
        error_id: Option<String>,
        /// What went wrong.
        description: String,
    },
    /// Any other failure (e.g. `FAILED_PRECONDITION`, `RESOURCE_EXHAUSTED`, `INTERNAL`).
    Other {
        /// The gRPC status code.
        grpc_code: i32,
        /// ZITADEL's error id.
        error_id: Option<String>,
        /// What went wrong.
        description: String,
    },
}

impl PasskeyError {
    /// The error of a call cancelled by its token.
    pub(crate) fn cancelled() -> PasskeyError {
        PasskeyError::Cancelled {
            grpc_code: Code::Cancelled.as_i32(),
            error_id: None,
            description: "the call was cancelled".to_owned(),
        }
    }

    /// The kind's name, the gRPC code, the error id and the description.
    fn parts(&self) -> (&'static str, i32, Option<&str>, &str) {
        let (kind, grpc_code, error_id, description) = match self {
            PasskeyError::Unauthenticated {
                grpc_code,
                error_id,
                description,
            } => ("unauthenticated", grpc_code, error_id, description),
            PasskeyError::PermissionDenied {
                grpc_code,
                error_id,
                description,
            } => ("permission denied", grpc_code, error_id, description),
            PasskeyError::NotFound {
                grpc_code,
                error_id,
                description,
            } => ("not found", grpc_code, error_id, description),
            PasskeyError::InvalidArgument {
                grpc_code,
                error_id,
                description,
            } => ("invalid argument", grpc_code, error_id, description),
            PasskeyError::Unavailable {
                grpc_code,
                error_id,
                description,
            } => ("unavailable", grpc_code, error_id, description),
            PasskeyError::Timeout {
                grpc_code,
                error_id,
                description,
            } => ("timeout", grpc_code, error_id, description),
            PasskeyError::OutcomeUnknown {
                grpc_code,
                error_id,
                description,
            } => ("outcome unknown", grpc_code, error_id, description),
            PasskeyError::Cancelled {
                grpc_code,
                error_id,
                description,
            } => ("cancelled", grpc_code, error_id, description),
            PasskeyError::Other {
                grpc_code,
                error_id,
                description,
            } => ("other", grpc_code, error_id, description),
        };
        (kind, *grpc_code, error_id.as_deref(), description)
    }
}

impl From<zitadel_passkey::Error> for PasskeyError {
    fn from(error: zitadel_passkey::Error) -> PasskeyError {
        use zitadel_passkey::ErrorKind;
        let grpc_code = error.code().as_i32();
        let error_id = error.error_id().map(str::to_owned);
        let description = error.message().to_owned();
        macro_rules! kind {
            ($variant:ident) => {
                PasskeyError::$variant {
                    grpc_code,
                    error_id,
                    description,
                }
            };
        }
        // Timeouts and unknown outcomes first: whatever the code, they tell the app not to
        // retry blindly (adding a link is not idempotent).
        if error.is_timeout() {
            return kind!(Timeout);
        }
        match error.kind() {
            ErrorKind::OutcomeUnknown | ErrorKind::Malformed => kind!(OutcomeUnknown),
            ErrorKind::NotSent | ErrorKind::Tls => kind!(Unavailable),
            ErrorKind::Config | ErrorKind::Insecure => kind!(InvalidArgument),
            ErrorKind::Credentials => kind!(Unauthenticated),
            // Rejected by the server (and any kind added later): by its code.
            _ => match error.code() {
                Code::Unauthenticated => kind!(Unauthenticated),
                Code::PermissionDenied => kind!(PermissionDenied),
                Code::NotFound => kind!(NotFound),
                Code::InvalidArgument => kind!(InvalidArgument),
                Code::Unavailable => kind!(Unavailable),
                Code::Cancelled => kind!(Cancelled),
                _ => kind!(Other),
            },
        }
    }
}

/// "unauthenticated (16 UNAUTHENTICATED, AUTH-7fs1e): Errors.Token.Invalid"
impl fmt::Display for PasskeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kind, grpc_code, error_id, description) = self.parts();
        write!(f, "{kind} ({grpc_code} {}", Code::from_i32(grpc_code))?;
        if let Some(id) = error_id {
            write!(f, ", {id}")?;
        }
        write!(f, "): {description}")
    }
}

impl std::error::Error for PasskeyError {}

/// What a `TokenProvider` implementation throws when it has no token.
/// The call then fails with an `Unauthenticated` error without sending anything.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Error)]
pub enum TokenProviderError {
    /// No token could be had.
    Failed {
        /// Why (shown in the call's error; never put a token here).
        description: String,
    },
}

impl fmt::Display for TokenProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenProviderError::Failed { description } => f.write_str(description),
        }
    }
}

impl std::error::Error for TokenProviderError {}

/// An exception the foreign implementation did not declare (e.g. a Kotlin `IllegalStateException`).
impl From<uniffi::UnexpectedUniFFICallbackError> for TokenProviderError {
    fn from(error: uniffi::UnexpectedUniFFICallbackError) -> TokenProviderError {
        TokenProviderError::Failed {
            description: format!("the token provider threw: {}", error.reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zitadel_passkey::Error;

    #[test]
    fn kinds_follow_codes_and_outcomes() {
        let e = PasskeyError::from(
            Error::new(Code::Unauthenticated, "Errors.Token.Invalid").with_error_id("AUTH-7fs1e"),
        );
        assert_eq!(
            e,
            PasskeyError::Unauthenticated {
                grpc_code: 16,
                error_id: Some("AUTH-7fs1e".into()),
                description: "Errors.Token.Invalid".into()
            }
        );
        assert_eq!(
            e.to_string(),
            "unauthenticated (16 UNAUTHENTICATED, AUTH-7fs1e): Errors.Token.Invalid"
        );
        let kind = |e: Error| PasskeyError::from(e).parts().0;
        assert_eq!(
            kind(Error::new(Code::PermissionDenied, "")),
            "permission denied"
        );
        assert_eq!(kind(Error::new(Code::NotFound, "")), "not found");
        assert_eq!(
            kind(Error::new(Code::InvalidArgument, "")),
            "invalid argument"
        );
        assert_eq!(kind(Error::new(Code::Unavailable, "")), "unavailable");
        assert_eq!(kind(Error::new(Code::DeadlineExceeded, "")), "timeout");
        assert_eq!(
            kind(Error::new(Code::Unavailable, "").outcome_unknown()),
            "outcome unknown"
        );
        assert_eq!(kind(Error::new(Code::Cancelled, "")), "cancelled");
        assert_eq!(kind(Error::new(Code::FailedPrecondition, "")), "other");
    }
}
