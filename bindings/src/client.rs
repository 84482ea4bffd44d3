//! [`PasskeyClient`]: the SDK's client, with async calls on the bindings' own tokio runtime.

use std::future::Future;
use std::sync::{Arc, OnceLock};

use zitadel_passkey::Code;

use crate::config::{CallOptions, ClientConfig, Transport};
use crate::link::{ObjectDetails, Passkey, PasskeyLink};
use tokio::sync::mpsc;

use crate::token::{CALLER, Foreign, TokenProvider, serve};
use crate::{CancellationToken, PasskeyError};

/// A client of ZITADEL's passkey-link API. Build one per endpoint and share it: calls may
/// run concurrently and reuse its connections. Its string form shows the config, never the
/// token.
#[derive(uniffi::Object)]
#[uniffi::export(Debug, Display)]
pub struct PasskeyClient {
    inner: zitadel_passkey::Client,
    /// The app's token provider, asked on the caller's side during calls (see `token.rs`).
    provider: Option<Arc<dyn TokenProvider>>,
}

/// The SDK client's `Debug`, which shows a static token as `***`.
impl std::fmt::Debug for PasskeyClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasskeyClient")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Display for PasskeyClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.inner)
    }
}

impl PasskeyClient {
    fn build(
        config: ClientConfig,
        provider: Option<Arc<dyn TokenProvider>>,
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
        Ok(Arc::new(PasskeyClient { inner, provider }))
    }
}

/// The runtime every call of the bindings runs on: two worker threads, started on first use.
///
/// Why not uniffi's `async_runtime = "tokio"`: that polls the SDK's future on the foreign
/// language's event loop, so every wake-up inside a call (connection ready, headers, body,
/// trailers) is a round trip through Python's or Kotlin's scheduler, about 130 µs a call from
/// Python (BENCHMARKS.md). Spawned here, a call wakes the foreign side once, when it is done.
fn runtime() -> Result<&'static tokio::runtime::Runtime, PasskeyError> {
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    let runtime = RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("zitadel-passkey")
            .enable_all()
            .build()
            .map_err(|e| e.to_string())
    });
    runtime.as_ref().map_err(|e| PasskeyError::Other {
        grpc_code: Code::Internal.as_i32(),
        error_id: None,
        description: format!("could not start the runtime for calls: {e}"),
    })
}

/// Runs a call on [`runtime`], ending it early when `cancel` is cancelled; dropping the
/// returned future (the Kotlin coroutine's or Python task's cancellation) drops the call too.
/// Meanwhile it asks `provider`, here on the caller's side, for the tokens the call needs.
async fn run<T: Send + 'static>(
    provider: Option<&Arc<dyn TokenProvider>>,
    cancel: Option<Arc<CancellationToken>>,
    call: impl Future<Output = Result<T, zitadel_passkey::Error>> + Send + 'static,
) -> Result<T, PasskeyError> {
    let call = async move {
        match cancel {
            None => call.await.map_err(PasskeyError::from),
            Some(cancel) => tokio::select! {
                biased;
                () = cancel.cancelled() => Err(PasskeyError::cancelled()),
                result = call => result.map_err(PasskeyError::from),
            },
        }
    };
    let (requests, mut pending) = mpsc::unbounded_channel();
    let mut task = runtime()?.spawn(CALLER.scope(requests, call));
    let _abort_when_dropped = AbortOnDrop(task.abort_handle());
    let outcome = loop {
        tokio::select! {
            biased;
            outcome = &mut task => break outcome,
            Some(request) = pending.recv(), if provider.is_some() => {
                if let Some(provider) = provider {
                    tokio::select! {
                        biased;
                        outcome = &mut task => break outcome,
                        () = serve(&**provider, request) => {}
                    }
                }
            }
        }
    };
    match outcome {
        Ok(result) => result,
        Err(error) if error.is_panic() => Err(PasskeyError::Other {
            grpc_code: Code::Internal.as_i32(),
            error_id: None,
            description: "the call panicked (a bug: please report it)".to_owned(),
        }),
        Err(_) => Err(PasskeyError::cancelled()),
    }
}

/// Aborts the spawned call when the foreign side drops its future.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[uniffi::export]
impl PasskeyClient {
    /// A client sending a fixed bearer token (a personal access token or the user's access
    /// token). Fails with `InvalidArgument` on an invalid endpoint. Connects lazily.
    #[uniffi::constructor]
    pub fn with_token(config: ClientConfig, token: String) -> Result<Arc<Self>, PasskeyError> {
        PasskeyClient::build(config, None, |builder| builder.token(token))
    }

    /// A client asking `provider` for a token before each call (and for a fresh one after
    /// `UNAUTHENTICATED`, retrying that call once).
    #[uniffi::constructor]
    pub fn with_token_provider(
        config: ClientConfig,
        provider: Arc<dyn TokenProvider>,
    ) -> Result<Arc<Self>, PasskeyError> {
        PasskeyClient::build(config, Some(provider.clone()), |builder| {
            builder.token_provider(Foreign(provider))
        })
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
        let client = self.inner.clone();
        let link = run(self.provider.as_ref(), cancel, async move {
            client.add_passkey_link_with(options).await
        })
        .await?;
        Ok(Arc::new(PasskeyLink::from(link)))
    }

    /// E-mails a new passkey link to the token's user.
    #[uniffi::method(default(options = None))]
    pub async fn send_passkey_link(
        &self,
        options: Option<CallOptions>,
    ) -> Result<ObjectDetails, PasskeyError> {
        let (options, cancel) = CallOptions::split(options);
        let client = self.inner.clone();
        let details = run(self.provider.as_ref(), cancel, async move {
            client.send_passkey_link_with(options).await
        })
        .await?;
        Ok(details.into())
    }

    /// The token's user's registered passkeys.
    #[uniffi::method(default(options = None))]
    pub async fn list_passkeys(
        &self,
        options: Option<CallOptions>,
    ) -> Result<Vec<Passkey>, PasskeyError> {
        let (options, cancel) = CallOptions::split(options);
        let client = self.inner.clone();
        let passkeys = run(self.provider.as_ref(), cancel, async move {
            client.list_passkeys_with(options).await
        })
        .await?;
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
        let client = self.inner.clone();
        let details = run(self.provider.as_ref(), cancel, async move {
            client.remove_passkey_with(&id, options).await
        })
        .await?;
        Ok(details.into())
    }
}
