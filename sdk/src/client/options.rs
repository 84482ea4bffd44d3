//! [`CallOptions`]: per-call overrides of the client's settings.

use std::time::Duration;

use crate::retry::RetryPolicy;

/// Options for one call, overriding the client's defaults.
///
/// ```
/// use std::time::Duration;
/// use zitadel_passkey::CallOptions;
/// let options = CallOptions::new().timeout(Duration::from_secs(5));
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct CallOptions {
    pub(super) timeout: Option<Duration>,
    pub(super) org_id: Option<String>,
    pub(super) accept_language: Option<String>,
    pub(super) retry: Option<RetryPolicy>,
}

impl CallOptions {
    /// No overrides.
    pub fn new() -> CallOptions {
        CallOptions::default()
    }

    /// The deadline of this call (all attempts together).
    pub fn timeout(mut self, timeout: Duration) -> CallOptions {
        self.timeout = Some(timeout);
        self
    }

    /// `x-zitadel-orgid` for this call.
    pub fn org_id(mut self, id: impl Into<String>) -> CallOptions {
        self.org_id = Some(id.into());
        self
    }

    /// `accept-language` for this call.
    pub fn accept_language(mut self, language: impl Into<String>) -> CallOptions {
        self.accept_language = Some(language.into());
        self
    }

    /// The retry policy of this call.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> CallOptions {
        self.retry = Some(policy);
        self
    }
}
