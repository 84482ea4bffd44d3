//! [`Tokens`]: what a sign-in yields, to keep (it is `serde`) and to refresh.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::Secret;

/// An access token, the refresh token that renews it (with the `offline_access` scope), when
/// the access token expires, and the scopes granted.
///
/// `Debug` shows neither token. It serializes (with `serde`) to
/// `{"access_token", "refresh_token", "expires_at" (Unix seconds), "scope"}` so that an app can
/// store it; the stored form holds the tokens in clear, so keep it where only the user can read
/// it (a keyring, a file with mode 0600).
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use zitadel_passkey::{Secret, Tokens};
/// let in_a_minute = SystemTime::now() + Duration::from_secs(60);
/// let tokens = Tokens::new(Secret::new("secret-a"), Some(Secret::new("secret-r")), Some(in_a_minute), None);
/// assert!(!format!("{tokens:?}").contains("secret-"));
/// assert_eq!(tokens.access_token().expose(), "secret-a");
/// assert!(tokens.expires_within(Duration::from_secs(120)));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Tokens {
    access_token: Secret,
    refresh_token: Option<Secret>,
    expires_at: Option<SystemTime>,
    scope: Option<String>,
}

impl Tokens {
    /// Tokens from their parts (e.g. read back from an app's own store).
    pub fn new(
        access_token: Secret,
        refresh_token: Option<Secret>,
        expires_at: Option<SystemTime>,
        scope: Option<String>,
    ) -> Tokens {
        Tokens {
            access_token,
            refresh_token,
            expires_at,
            scope,
        }
    }

    /// The access token, sent as `authorization: Bearer`.
    pub fn access_token(&self) -> &Secret {
        &self.access_token
    }

    /// The refresh token, if the server issued one (it does for `offline_access`).
    pub fn refresh_token(&self) -> Option<&Secret> {
        self.refresh_token.as_ref()
    }

    /// When the access token expires, if the server said.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expires_at
    }

    /// The scopes granted, space-separated, if the server said.
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// Whether the access token expires within `margin` (never, if no expiry is known).
    pub fn expires_within(&self, margin: Duration) -> bool {
        self.expires_at
            .is_some_and(|at| at <= SystemTime::now() + margin)
    }

    /// The same sign-in after a refresh: a server that does not rotate refresh tokens sends
    /// none back, and the old one stays valid.
    pub(crate) fn keep_refresh_token(mut self, old: Option<&Secret>) -> Tokens {
        if self.refresh_token.is_none() {
            self.refresh_token = old.cloned();
        }
        self
    }
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokens")
            .field("access_token", &self.access_token)
            .field("refresh_token", &self.refresh_token)
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .finish()
    }
}

/// The stored form (see [`Tokens`]).
#[derive(Serialize, Deserialize)]
struct Stored {
    access_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
}

impl Serialize for Tokens {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Stored {
            access_token: self.access_token.expose().to_owned(),
            refresh_token: self.refresh_token.as_ref().map(|t| t.expose().to_owned()),
            expires_at: self
                .expires_at
                .and_then(|at| at.duration_since(UNIX_EPOCH).ok())
                .map(|d| d.as_secs()),
            scope: self.scope.clone(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Tokens {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Tokens, D::Error> {
        let stored = Stored::deserialize(deserializer)?;
        Ok(Tokens {
            access_token: Secret::new(stored.access_token),
            refresh_token: stored.refresh_token.map(Secret::new),
            expires_at: stored
                .expires_at
                .and_then(|s| UNIX_EPOCH.checked_add(Duration::from_secs(s))),
            scope: stored.scope,
        })
    }
}
