//! [`PasskeyClient`]: the SDK's client, with async calls on the tokio runtime.

use std::future::Future;
use std::sync::Arc;

use crate::config::{CallOptions, ClientConfig, Transport};
use crate::link::{ObjectDetails, Passkey, PasskeyLink};
use crate::sign_in::{DeviceAuthorization, SignInTokens, TokensRefreshed};
use crate::token::{Foreign, TokenProvider};
use crate::{CancellationToken, PasskeyError};

/// A client of ZITADEL's passkey-link API. Build one per endpoint and share it: calls may
/// run concurrently and reuse its connections. Its string form shows the config, never the
/// token.
#[derive(Debug, uniffi::Object)]
#[uniffi::export(Debug, Display)]
pub struct PasskeyClient {
    inner: zitadel_passkey::Client,
}

/// The SDK client's `Debug`, which shows a static token as `***`.
impl std::fmt::Display for PasskeyClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.inner)
    }
}

impl PasskeyClient {
    fn build(
        config: ClientConfig,
        credentials: impl FnOnce(zitadel_passkey::ClientBuilder) -> zitadel_passkey::ClientBuilder,
    ) -> Result<Arc<PasskeyClient>, PasskeyError> {
        let mut builder = zitadel_passkey::Client::builder(&config.endpoint)
            .transport(config.transport.into())
            .allow_insecure_http(config.allow_insecure_http);
        if let Some(org_id) = config.org_id {
            builder = builder.org_id(org_id);
        }
        if let Some(timeout) = config.timeout {
            builder = builder.timeout(timeout);
        }
        if let Some(timeout) = config.connect_timeout {
            builder = builder.connect_timeout(timeout);
        }
        if let Some(language) = config.accept_language {
            builder = builder.accept_language(language);
        }
        let inner = credentials(builder).build()?;
        Ok(Arc::new(PasskeyClient { inner }))
    }
}

/// Runs a call, ending it early when `cancel` is cancelled (dropping the call, as the Kotlin
/// coroutine's or Python task's cancellation does).
async fn run<T>(
    cancel: Option<Arc<CancellationToken>>,
    call: impl Future<Output = Result<T, zitadel_passkey::Error>>,
) -> Result<T, PasskeyError> {
    match cancel {
        None => call.await.map_err(PasskeyError::from),
        Some(cancel) => tokio::select! {
            biased;
            () = cancel.cancelled() => Err(PasskeyError::cancelled()),
            result = call => result.map_err(PasskeyError::from),
        },
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl PasskeyClient {
    /// A client sending a fixed bearer token (a personal access token or the user's access
    /// token). Fails with `InvalidArgument` on an invalid endpoint. Connects lazily.
    #[uniffi::constructor]
    pub fn with_token(config: ClientConfig, token: String) -> Result<Arc<Self>, PasskeyError> {
        PasskeyClient::build(config, |builder| builder.token(token))
    }

    /// A client asking `provider` for a token before each call (and for a fresh one after
    /// `UNAUTHENTICATED`, retrying that call once).
    #[uniffi::constructor]
    pub fn with_token_provider(
        config: ClientConfig,
        provider: Arc<dyn TokenProvider>,
    ) -> Result<Arc<Self>, PasskeyError> {
        PasskeyClient::build(config, |builder| builder.token_provider(Foreign(provider)))
    }

    /// A client for a person signed in with `DeviceAuthorization`: it sends the access token
    /// of `tokens` and refreshes it before it expires and after `UNAUTHENTICATED`, telling
    /// `listener` the new tokens.
    #[uniffi::constructor(default(listener = None))]
    pub fn with_sign_in(
        config: ClientConfig,
        flow: Arc<DeviceAuthorization>,
        tokens: Arc<SignInTokens>,
        listener: Option<Arc<dyn TokensRefreshed>>,
    ) -> Result<Arc<Self>, PasskeyError> {
        let provider = crate::sign_in::provider(&flow, &tokens, listener);
        PasskeyClient::build(config, |builder| builder.token_provider(provider))
    }

    /// The transport this client speaks.
    pub fn transport(&self) -> Transport {
        self.inner.transport().into()
    }

    /// Creates a one-time passkey registration link for the token's user. Not idempotent: on
    /// `Timeout`, `OutcomeUnknown` or `Cancelled` a link may have been created.
    #[uniffi::method(default(options = None))]
    pub async fn add_passkey_link(
        &self,
        options: Option<CallOptions>,
    ) -> Result<Arc<PasskeyLink>, PasskeyError> {
        let (options, cancel) = CallOptions::split(options);
        let link = run(cancel, self.inner.add_passkey_link_with(options)).await?;
        Ok(Arc::new(PasskeyLink::from(link)))
    }

    /// E-mails a new passkey link to the token's user.
    #[uniffi::method(default(options = None))]
    pub async fn send_passkey_link(
        &self,
        options: Option<CallOptions>,
    ) -> Result<ObjectDetails, PasskeyError> {
        let (options, cancel) = CallOptions::split(options);
        let details = run(cancel, self.inner.send_passkey_link_with(options)).await?;
        Ok(details.into())
    }

    /// The token's user's registered passkeys.
    #[uniffi::method(default(options = None))]
    pub async fn list_passkeys(
        &self,
        options: Option<CallOptions>,
    ) -> Result<Vec<Passkey>, PasskeyError> {
        let (options, cancel) = CallOptions::split(options);
        let passkeys = run(cancel, self.inner.list_passkeys_with(options)).await?;
        Ok(passkeys.into_iter().map(Passkey::from).collect())
    }

    /// Removes one of the token's user's passkeys by its ID.
    #[uniffi::method(default(options = None))]
    pub async fn remove_passkey(
        &self,
        id: String,
        options: Option<CallOptions>,
    ) -> Result<ObjectDetails, PasskeyError> {
        let (options, cancel) = CallOptions::split(options);
        let details = run(cancel, self.inner.remove_passkey_with(&id, options)).await?;
        Ok(details.into())
    }
}
