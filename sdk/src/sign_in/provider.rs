//! [`DeviceTokenProvider`]: a signed-in person's tokens as a [`TokenProvider`], refreshed
//! before they expire and when the API rejects them.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::error::{SignInError, SignInErrorKind};
use super::{DeviceAuthorization, Tokens};
use crate::error::BoxError;
use crate::stub::BoxFuture;
use crate::{Secret, TokenProvider};

/// Refresh this long before the access token expires, so that no call goes out with a token
/// that expires on the way.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(60);

type RefreshHook = Arc<dyn Fn(&Tokens) + Send + Sync>;

/// The token provider of a signed-in person, from [`DeviceAuthorization::token_provider`].
///
/// It hands out the access token, and refreshes it (with the refresh token, one refresh at a
/// time) when it expires within [`REFRESH_MARGIN`] or when the client asks after an
/// `UNAUTHENTICATED` answer. Without a refresh token (no `offline_access`) an expired sign-in
/// fails with [`SignInErrorKind::Expired`]. Register [`on_refresh`](Self::on_refresh) to store
/// the new tokens: ZITADEL rotates refresh tokens, so the old one stops working.
pub struct DeviceTokenProvider {
    flow: DeviceAuthorization,
    tokens: Mutex<Tokens>,
    /// One refresh at a time; callers that waited use its result.
    refreshing: tokio::sync::Mutex<()>,
    on_refresh: Option<RefreshHook>,
}

impl DeviceTokenProvider {
    pub(super) fn new(flow: DeviceAuthorization, tokens: Tokens) -> DeviceTokenProvider {
        DeviceTokenProvider {
            flow,
            tokens: Mutex::new(tokens),
            refreshing: tokio::sync::Mutex::new(()),
            on_refresh: None,
        }
    }

    /// Called with the new tokens after each refresh (e.g. to store them).
    #[must_use]
    pub fn on_refresh(mut self, hook: impl Fn(&Tokens) + Send + Sync + 'static) -> Self {
        self.on_refresh = Some(Arc::new(hook));
        self
    }

    /// The current tokens (after any refresh).
    pub fn tokens(&self) -> Tokens {
        self.tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    async fn access_token(&self, rejected: bool) -> Result<Secret, SignInError> {
        let seen = self.tokens();
        if !rejected && !seen.expires_within(REFRESH_MARGIN) {
            return Ok(seen.access_token().clone());
        }
        let _one_at_a_time = self.refreshing.lock().await;
        let current = self.tokens();
        if current.access_token() != seen.access_token() {
            // Refreshed while this caller waited.
            return Ok(current.access_token().clone());
        }
        let Some(refresh_token) = current.refresh_token() else {
            if rejected || current.expires_within(Duration::ZERO) {
                return Err(SignInError::new(
                    SignInErrorKind::Expired,
                    "the sign-in has expired and has no refresh token (ask for offline_access); sign in again",
                ));
            }
            return Ok(current.access_token().clone());
        };
        let fresh = self.flow.refresh(refresh_token).await?;
        *self.tokens.lock().unwrap_or_else(PoisonError::into_inner) = fresh.clone();
        if let Some(hook) = &self.on_refresh {
            hook(&fresh);
        }
        Ok(fresh.access_token().clone())
    }
}

impl TokenProvider for DeviceTokenProvider {
    fn token(&self, refresh: bool) -> BoxFuture<'_, Result<Secret, BoxError>> {
        Box::pin(async move { self.access_token(refresh).await.map_err(BoxError::from) })
    }
}

impl fmt::Debug for DeviceTokenProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceTokenProvider")
            .field("flow", &self.flow)
            .field("tokens", &self.tokens())
            .finish_non_exhaustive()
    }
}
