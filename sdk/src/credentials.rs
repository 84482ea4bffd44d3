//! Bearer tokens: a static one, or an async [`TokenProvider`] the app implements.

use std::fmt;
use std::sync::Arc;

use tokio::sync::Mutex;

use crate::error::{BoxError, Code, Error, ErrorKind};
use crate::stub::BoxFuture;

/// A secret string (a token) whose `Debug` and `Display` never show it.
///
/// ```
/// use zitadel_passkey::Secret;
/// let token = Secret::new("pat-123");
/// assert_eq!(format!("{token} {token:?}"), "*** Secret(***)");
/// assert_eq!(token.expose(), "pat-123");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<str>);

impl Secret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Secret {
        Secret(Arc::from(secret.into()))
    }

    /// The secret itself. Do not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Secret {
        Secret::new(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Secret {
        Secret::new(s)
    }
}

/// Gives the client a bearer token (an access token or a personal access token) before each call.
///
/// `refresh` is `true` when the server has just rejected the token with `UNAUTHENTICATED`: fetch
/// a new one rather than returning a cached one. Concurrent calls that are rejected together
/// share a single refresh.
///
/// ```
/// use zitadel_passkey::{BoxFuture, Secret, TokenProvider};
///
/// #[derive(Debug)]
/// struct FromEnv;
///
/// impl TokenProvider for FromEnv {
///     fn token(&self, _refresh: bool) -> BoxFuture<'_, Result<Secret, Box<dyn std::error::Error + Send + Sync>>> {
///         Box::pin(async { Ok(Secret::new(std::env::var("ZITADEL_TOKEN")?)) })
///     }
/// }
/// # let _ = zitadel_passkey::Client::builder("https://example.zitadel.cloud").token_provider(FromEnv);
/// ```
pub trait TokenProvider: Send + Sync + fmt::Debug {
    /// Returns the token to send as `authorization: Bearer <token>`.
    fn token(&self, refresh: bool) -> BoxFuture<'_, Result<Secret, BoxError>>;
}

impl<T: TokenProvider + ?Sized> TokenProvider for Arc<T> {
    fn token(&self, refresh: bool) -> BoxFuture<'_, Result<Secret, BoxError>> {
        (**self).token(refresh)
    }
}

impl<T: TokenProvider + ?Sized> TokenProvider for Box<T> {
    fn token(&self, refresh: bool) -> BoxFuture<'_, Result<Secret, BoxError>> {
        (**self).token(refresh)
    }
}

/// The credentials a client was built with.
#[derive(Clone, Debug)]
pub(crate) enum Credentials {
    None,
    Static(Secret),
    Provider(Arc<ProviderState>),
}

#[derive(Debug)]
pub(crate) struct ProviderState {
    provider: Box<dyn TokenProvider>,
    /// The last refreshed token; the lock makes concurrent refreshes wait for one another.
    refreshed: Mutex<Option<Secret>>,
}

impl Credentials {
    pub(crate) fn provider(provider: impl TokenProvider + 'static) -> Credentials {
        Credentials::Provider(Arc::new(ProviderState {
            provider: Box::new(provider),
            refreshed: Mutex::new(None),
        }))
    }

    /// The token for the next call.
    pub(crate) async fn token(&self) -> Result<Option<Secret>, Error> {
        match self {
            Credentials::None => Ok(None),
            Credentials::Static(secret) => Ok(Some(secret.clone())),
            Credentials::Provider(state) => {
                // Wait for a refresh in flight, so that a call started during it uses its result.
                let in_flight = state.refreshed.lock().await;
                drop(in_flight);
                state
                    .provider
                    .token(false)
                    .await
                    .map(Some)
                    .map_err(token_error)
            }
        }
    }

    /// Whether a rejected token can be replaced.
    pub(crate) fn can_refresh(&self) -> bool {
        matches!(self, Credentials::Provider(_))
    }

    /// A new token after the server rejected `stale`. Concurrent callers that saw the same stale
    /// token get the one refreshed token.
    pub(crate) async fn refresh(&self, stale: Option<&Secret>) -> Result<Option<Secret>, Error> {
        let Credentials::Provider(state) = self else {
            return self.token().await;
        };
        let mut last = state.refreshed.lock().await;
        if let (Some(last), Some(stale)) = (last.as_ref(), stale)
            && last != stale
        {
            return Ok(Some(last.clone()));
        }
        let fresh = state.provider.token(true).await.map_err(token_error)?;
        *last = Some(fresh.clone());
        Ok(Some(fresh))
    }
}

fn token_error(source: BoxError) -> Error {
    Error::with_kind(
        ErrorKind::Credentials,
        Code::Unauthenticated,
        format!("the token provider failed: {source}"),
    )
    .with_source(source)
}
