//! [`TokenProvider`]: tokens from the app (Kotlin, Swift or Python), asked for before each call.

use std::fmt;
use std::sync::Arc;

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
pub(crate) struct Foreign(pub(crate) Arc<dyn TokenProvider>);

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
            match self.0.token(refresh).await {
                Ok(token) => Ok(Secret::new(token)),
                Err(error) => Err(Box::new(error) as Box<dyn std::error::Error + Send + Sync>),
            }
        })
    }
}
