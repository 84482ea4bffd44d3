//! [`CancellationToken`]: an explicit way to cancel calls (Swift's async calls do not stop when
//! their task is cancelled, so Swift apps pass one of these).

use std::sync::Arc;

use tokio::sync::watch;

/// Cancels the calls it was passed to (in `CallOptions`), at once or
/// later. A call given a token that is already cancelled fails at once with
/// a `Cancelled` error. One token can serve many calls.
#[derive(Debug, uniffi::Object)]
pub struct CancellationToken {
    cancelled: watch::Sender<bool>,
}

#[uniffi::export]
impl CancellationToken {
    /// A token that is not cancelled yet.
    #[uniffi::constructor]
    pub fn new() -> Arc<CancellationToken> {
        Arc::new(CancellationToken {
            cancelled: watch::Sender::new(false),
        })
    }

    /// Cancels every call running with this token, and every later one. A cancelled
    /// `add_passkey_link` may or may not have created a link.
    pub fn cancel(&self) {
        self.cancelled.send_replace(true);
    }

    /// Whether `cancel` was called.
    pub fn is_cancelled(&self) -> bool {
        *self.cancelled.borrow()
    }
}

impl CancellationToken {
    /// Resolves once the token is cancelled.
    pub(crate) async fn cancelled(&self) {
        let mut receiver = self.cancelled.subscribe();
        // The sender lives in `self`, so this only ends by cancellation.
        let _ = receiver.wait_for(|cancelled| *cancelled).await;
    }
}
