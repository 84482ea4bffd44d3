//! [`TokenProvider`]: tokens from the app (Kotlin, Swift or Python), asked for before each call.

use std::fmt;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use zitadel_passkey::{BoxFuture, Secret};

use crate::TokenProviderError;

/// Implemented by the app to hand out bearer tokens, so it can refresh them its own way.
///
/// `token(refresh)` is called before each call; `refresh` is `true` when ZITADEL has just
/// rejected the previous token (`UNAUTHENTICATED`): return a new one then, not a cached one.
/// The call is retried once with it. Throw `TokenProviderError.Failed` when there is no
/// token; the call then fails with an `Unauthenticated` error and sends nothing.
///
/// Kotlin: `suspend fun token(refresh: Boolean): String`; Swift:
/// `func token(refresh: Bool) async throws -> String`; Python: `async def token(self, refresh)`.
#[uniffi::export(foreign)]
#[async_trait::async_trait]
pub trait TokenProvider: Send + Sync {
    /// The bearer token to send (without the `Bearer ` prefix).
    async fn token(&self, refresh: bool) -> Result<String, TokenProviderError>;
}

/// Adapts a foreign [`TokenProvider`] to the SDK's.
///
/// Calls run on the bindings' own runtime (see `client.rs`), but a foreign async function must
/// be called from its own side: Python's looks up the running event loop of the calling
/// thread. So during a call the SDK's request for a token goes, through [`CALLER`], to the
/// future the app awaits, which asks the provider on the app's thread ([`serve`]). Outside a
/// call of the bindings (the SDK used straight from Rust) the provider is asked directly.
pub(crate) struct Foreign(pub(crate) Arc<dyn TokenProvider>);

/// A token the SDK needs, to be asked of the provider on the caller's side.
pub(crate) struct TokenRequest {
    refresh: bool,
    reply: oneshot::Sender<Result<String, TokenProviderError>>,
}

tokio::task_local! {
    /// Where the running call sends its [`TokenRequest`]s: to the future the app awaits.
    pub(crate) static CALLER: mpsc::UnboundedSender<TokenRequest>;
}

/// Answers one request with the provider, on the caller's side.
pub(crate) async fn serve(provider: &dyn TokenProvider, request: TokenRequest) {
    let answer = provider.token(request.refresh).await;
    // The call may have ended meanwhile (cancelled): nobody is left to tell.
    let _ = request.reply.send(answer);
}

impl fmt::Debug for Foreign {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ForeignTokenProvider")
    }
}

impl zitadel_passkey::TokenProvider for Foreign {
    fn token(
        &self,
        refresh: bool,
    ) -> BoxFuture<'_, Result<Secret, Box<dyn std::error::Error + Send + Sync>>> {
        Box::pin(async move {
            let answer = match CALLER.try_with(mpsc::UnboundedSender::clone) {
                Ok(caller) => {
                    let (reply, answer) = oneshot::channel();
                    let gone = || TokenProviderError::Failed {
                        description: "the caller stopped waiting for the call".to_owned(),
                    };
                    match caller.send(TokenRequest { refresh, reply }) {
                        Ok(()) => answer.await.unwrap_or_else(|_| Err(gone())),
                        Err(_) => Err(gone()),
                    }
                }
                Err(_) => self.0.token(refresh).await,
            };
            match answer {
                Ok(token) => Ok(Secret::new(token)),
                Err(error) => Err(Box::new(error) as Box<dyn std::error::Error + Send + Sync>),
            }
        })
    }
}
