//! Signing a person in with OAuth device authorization ([`DeviceAuthorization`]), for apps on
//! a TV, a kiosk or a terminal: show the URL and the code, `wait_for_tokens`, then build a
//! [`PasskeyClient`](crate::PasskeyClient) with
//! [`with_sign_in`](crate::PasskeyClient::with_sign_in), which refreshes the tokens.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use zitadel_passkey::{Secret, SignInErrorKind};

use crate::CancellationToken;

/// Where and as which app to sign in.
#[derive(Debug, Clone, uniffi::Record)]
pub struct SignInConfig {
    /// The instance, e.g. `https://my-instance.zitadel.cloud`.
    pub issuer: String,
    /// The client ID of a Native application with the Device Code grant.
    pub client_id: String,
    /// The scopes (default: `openid`, `urn:zitadel:iam:org:project:id:zitadel:aud`,
    /// `offline_access`).
    #[uniffi(default = None)]
    pub scopes: Option<Vec<String>>,
    /// How long each request may take (default: 30 seconds).
    #[uniffi(default = None)]
    pub timeout: Option<Duration>,
    /// Allow `http://` to hosts that are not loopback (tokens would travel in the clear).
    #[uniffi(default = false)]
    pub allow_insecure_http: bool,
}

/// Why a sign-in, refresh or revocation failed. `oauth_error` is the server's OAuth error
/// code where it sent one (e.g. `invalid_client`). Never holds a token or a device code.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Error)]
pub enum SignInError {
    /// The person pressed Deny.
    Denied {
        /// The OAuth error code.
        oauth_error: Option<String>,
        /// What went wrong.
        description: String,
    },
    /// The code expired before it was allowed, or the sign-in ended (no refresh token).
    Expired {
        /// The OAuth error code.
        oauth_error: Option<String>,
        /// What went wrong.
        description: String,
    },
    /// The server refused (e.g. `invalid_client`, `invalid_grant`).
    Rejected {
        /// The OAuth error code.
        oauth_error: Option<String>,
        /// What went wrong.
        description: String,
    },
    /// The server could not be reached, or did not answer in time.
    Unavailable {
        /// The OAuth error code.
        oauth_error: Option<String>,
        /// What went wrong.
        description: String,
    },
    /// The server's answer was not OAuth.
    Malformed {
        /// The OAuth error code.
        oauth_error: Option<String>,
        /// What went wrong.
        description: String,
    },
    /// The config is invalid (issuer, client ID, scopes, plain http to another host).
    InvalidArgument {
        /// The OAuth error code.
        oauth_error: Option<String>,
        /// What went wrong.
        description: String,
    },
    /// `wait_for_tokens` was cancelled with its `CancellationToken`.
    Cancelled {
        /// The OAuth error code.
        oauth_error: Option<String>,
        /// What went wrong.
        description: String,
    },
}

impl From<zitadel_passkey::SignInError> for SignInError {
    fn from(error: zitadel_passkey::SignInError) -> SignInError {
        let oauth_error = error.oauth_error().map(str::to_owned);
        let description = error.message().to_owned();
        match error.kind() {
            SignInErrorKind::Denied => SignInError::Denied {
                oauth_error,
                description,
            },
            SignInErrorKind::Expired => SignInError::Expired {
                oauth_error,
                description,
            },
            SignInErrorKind::Unreachable | SignInErrorKind::Timeout => SignInError::Unavailable {
                oauth_error,
                description,
            },
            SignInErrorKind::Malformed => SignInError::Malformed {
                oauth_error,
                description,
            },
            SignInErrorKind::Config | SignInErrorKind::Insecure => SignInError::InvalidArgument {
                oauth_error,
                description,
            },
            _ => SignInError::Rejected {
                oauth_error,
                description,
            },
        }
    }
}

impl fmt::Display for SignInError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kind, description) = match self {
            SignInError::Denied { description, .. } => ("denied", description),
            SignInError::Expired { description, .. } => ("expired", description),
            SignInError::Rejected { description, .. } => ("rejected", description),
            SignInError::Unavailable { description, .. } => ("unavailable", description),
            SignInError::Malformed { description, .. } => ("malformed", description),
            SignInError::InvalidArgument { description, .. } => ("invalid argument", description),
            SignInError::Cancelled { description, .. } => ("cancelled", description),
        };
        write!(f, "{kind}: {description}")
    }
}

impl std::error::Error for SignInError {}

/// A device authorization flow for one instance and app.
#[derive(Debug, uniffi::Object)]
pub struct DeviceAuthorization {
    pub(crate) inner: zitadel_passkey::DeviceAuthorization,
}

#[uniffi::export(async_runtime = "tokio")]
impl DeviceAuthorization {
    /// Checks the config; no request is made yet.
    #[uniffi::constructor]
    pub fn new(config: SignInConfig) -> Result<Arc<DeviceAuthorization>, SignInError> {
        let mut builder =
            zitadel_passkey::DeviceAuthorization::builder(&config.issuer, config.client_id)
                .allow_insecure_http(config.allow_insecure_http);
        if let Some(scopes) = config.scopes {
            builder = builder.scopes(scopes);
        }
        if let Some(timeout) = config.timeout {
            builder = builder.timeout(timeout);
        }
        Ok(Arc::new(DeviceAuthorization {
            inner: builder.build()?,
        }))
    }

    /// Starts a sign-in: show its `verification_uri` and `user_code` (or a QR code of
    /// `verification_uri_complete`), then `wait_for_tokens`.
    pub async fn start(&self) -> Result<Arc<PendingSignIn>, SignInError> {
        Ok(Arc::new(PendingSignIn {
            inner: self.inner.start().await?,
        }))
    }

    /// New tokens for a refresh token (the old refresh token stops working at ZITADEL).
    pub async fn refresh(&self, refresh_token: String) -> Result<Arc<SignInTokens>, SignInError> {
        let tokens = self.inner.refresh(&Secret::new(refresh_token)).await?;
        Ok(Arc::new(SignInTokens { inner: tokens }))
    }

    /// Revokes a token (a refresh token ends the sign-in).
    pub async fn revoke(&self, token: String) -> Result<(), SignInError> {
        Ok(self.inner.revoke(&Secret::new(token)).await?)
    }
}

/// A started sign-in. Its string form shows neither the device code nor the user code.
#[derive(Debug, uniffi::Object)]
#[uniffi::export(Debug)]
pub struct PendingSignIn {
    inner: zitadel_passkey::PendingSignIn,
}

#[uniffi::export(async_runtime = "tokio")]
impl PendingSignIn {
    /// The code the person enters, e.g. `GQWC-FWFK`.
    pub fn user_code(&self) -> String {
        self.inner.user_code().to_owned()
    }

    /// Where the person enters it.
    pub fn verification_uri(&self) -> String {
        self.inner.verification_uri().to_owned()
    }

    /// The same page with the code filled in (for a QR code), if the server gave one.
    pub fn verification_uri_complete(&self) -> Option<String> {
        self.inner.verification_uri_complete().map(str::to_owned)
    }

    /// How long the code is valid from the start.
    pub fn expires_in(&self) -> Duration {
        self.inner.expires_in()
    }

    /// The wait between polls at first.
    pub fn interval(&self) -> Duration {
        self.inner.interval()
    }

    /// Waits until the person allowed it (the tokens), denied it, or the code expired.
    #[uniffi::method(default(cancel = None))]
    pub async fn wait_for_tokens(
        &self,
        cancel: Option<Arc<CancellationToken>>,
    ) -> Result<Arc<SignInTokens>, SignInError> {
        let wait = self.inner.wait();
        let tokens = match cancel {
            None => wait.await?,
            Some(cancel) => tokio::select! {
                biased;
                () = cancel.cancelled() => return Err(SignInError::Cancelled {
                    oauth_error: None,
                    description: "the sign-in was cancelled".to_owned(),
                }),
                tokens = wait => tokens?,
            },
        };
        Ok(Arc::new(SignInTokens { inner: tokens }))
    }
}

/// A signed-in person's tokens. Keep them where only the user can read them (the platform's
/// keystore) to skip the sign-in next time; rebuild them with the constructor. Their string
/// form shows neither token.
#[derive(Debug, uniffi::Object)]
#[uniffi::export(Debug)]
pub struct SignInTokens {
    pub(crate) inner: zitadel_passkey::Tokens,
}

#[uniffi::export]
impl SignInTokens {
    /// Tokens read back from the app's store.
    #[uniffi::constructor(default(refresh_token = None, expires_at = None, scope = None))]
    pub fn new(
        access_token: String,
        refresh_token: Option<String>,
        expires_at: Option<SystemTime>,
        scope: Option<String>,
    ) -> Arc<SignInTokens> {
        Arc::new(SignInTokens {
            inner: zitadel_passkey::Tokens::new(
                Secret::new(access_token),
                refresh_token.map(Secret::new),
                expires_at,
                scope,
            ),
        })
    }

    /// The access token. Do not log it.
    pub fn access_token(&self) -> String {
        self.inner.access_token().expose().to_owned()
    }

    /// The refresh token, if one was issued (`offline_access`). Do not log it.
    pub fn refresh_token(&self) -> Option<String> {
        self.inner.refresh_token().map(|t| t.expose().to_owned())
    }

    /// When the access token expires.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.inner.expires_at()
    }

    /// The scopes granted, space-separated.
    pub fn scope(&self) -> Option<String> {
        self.inner.scope().map(str::to_owned)
    }
}

/// Told about each refresh, e.g. to store the new tokens (ZITADEL rotates refresh tokens, so
/// the stored ones stop working). Kotlin: `fun refreshed(tokens: SignInTokens)`; Python:
/// `def refreshed(self, tokens)`. Called on the SDK's thread: keep it short.
#[uniffi::export(foreign)]
pub trait TokensRefreshed: Send + Sync {
    /// The new tokens.
    fn refreshed(&self, tokens: Arc<SignInTokens>);
}

/// The SDK's refreshing provider for the client.
pub(crate) fn provider(
    flow: &DeviceAuthorization,
    tokens: &SignInTokens,
    listener: Option<Arc<dyn TokensRefreshed>>,
) -> zitadel_passkey::DeviceTokenProvider {
    let provider = flow.inner.token_provider(tokens.inner.clone());
    match listener {
        Some(listener) => provider.on_refresh(move |tokens| {
            listener.refreshed(Arc::new(SignInTokens {
                inner: tokens.clone(),
            }));
        }),
        None => provider,
    }
}
