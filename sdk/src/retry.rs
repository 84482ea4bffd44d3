//! When and how long to wait before trying a call again.
//!
//! Only attempts whose request provably never reached the server are retried (see
//! [`Error::is_not_sent`](crate::Error::is_not_sent)); the policy decides how often and how long
//! to wait between them.

use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::Duration;

use crate::stub::BoxFuture;

/// Waits for a while. Injected into [`RetryPolicy`] so tests do not really wait.
pub trait Sleep: Send + Sync + fmt::Debug {
    /// A future that completes after `duration`.
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()>;
}

/// [`Sleep`] on the tokio timer.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioSleep;

impl Sleep for TokioSleep {
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// A bounded retry policy with exponential backoff and full jitter.
///
/// The default makes at most 3 attempts, waiting a random time up to 100 ms, then up to 200 ms
/// (capped at 2 s), and never waits past the call's deadline.
///
/// ```
/// use std::time::Duration;
/// use zitadel_passkey::RetryPolicy;
///
/// let policy = RetryPolicy::default()
///     .with_max_attempts(5)
///     .with_backoff(Duration::from_millis(50), Duration::from_secs(1));
/// assert_eq!(policy.max_attempts(), 5);
/// assert_eq!(RetryPolicy::none().max_attempts(), 1);
/// ```
#[derive(Clone)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    jitter: bool,
    sleep: Arc<dyn Sleep>,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
            jitter: true,
            sleep: Arc::new(TokioSleep),
        }
    }
}

impl fmt::Debug for RetryPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryPolicy")
            .field("max_attempts", &self.max_attempts)
            .field("initial_backoff", &self.initial_backoff)
            .field("max_backoff", &self.max_backoff)
            .field("jitter", &self.jitter)
            .field("sleep", &self.sleep)
            .finish()
    }
}

impl RetryPolicy {
    /// Never retry.
    pub fn none() -> RetryPolicy {
        RetryPolicy::default().with_max_attempts(1)
    }

    /// At most `attempts` attempts in all (at least 1).
    pub fn with_max_attempts(mut self, attempts: u32) -> RetryPolicy {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The backoff before the second attempt, doubling up to `max`.
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> RetryPolicy {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }

    /// Whether to wait a random time up to the backoff (the default) rather than all of it.
    pub fn with_jitter(mut self, jitter: bool) -> RetryPolicy {
        self.jitter = jitter;
        self
    }

    /// How to wait; tests inject a sleep that returns at once and records the durations.
    pub fn with_sleep(mut self, sleep: impl Sleep + 'static) -> RetryPolicy {
        self.sleep = Arc::new(sleep);
        self
    }

    /// The most attempts a call makes.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// How long to wait after failed attempt number `attempt` (1-based).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        let ceiling = self
            .initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff);
        if self.jitter {
            ceiling.mul_f64(random_unit())
        } else {
            ceiling
        }
    }

    pub(crate) fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        self.sleep.sleep(duration)
    }
}

/// A random number in `[0, 1)`. Jitter needs no strong randomness, so the std hasher's random
/// keys are enough and spare a dependency on `rand`.
fn random_unit() -> f64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(0x5eed);
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_and_jitters_below_it() {
        let policy = RetryPolicy::default()
            .with_backoff(Duration::from_millis(100), Duration::from_millis(300))
            .with_jitter(false);
        assert_eq!(policy.backoff(1), Duration::from_millis(100));
        assert_eq!(policy.backoff(2), Duration::from_millis(200));
        assert_eq!(policy.backoff(3), Duration::from_millis(300));
        assert_eq!(policy.backoff(40), Duration::from_millis(300));
        let jittered = policy.with_jitter(true);
        for attempt in 1..10 {
            assert!(jittered.backoff(attempt) <= Duration::from_millis(300));
        }
        // Full jitter really spreads the waits (64 equal draws would be a broken jitter).
        let draws: std::collections::HashSet<Duration> =
            (0..64).map(|_| jittered.backoff(3)).collect();
        assert!(draws.len() > 1, "{draws:?}");
        assert!(draws.iter().any(|d| *d < Duration::from_millis(300)));
    }
}
