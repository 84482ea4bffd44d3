//! The mock's clock (real or fixed, moved forward by tests) and how its times are written.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use serde::Serializer;

/// A clock that is real or fixed, and can be moved forward (to expire codes in tests).
#[derive(Debug)]
pub(crate) struct Clock {
    fixed: Option<SystemTime>,
    offset_nanos: AtomicU64,
}

impl Clock {
    pub(crate) fn new(fixed: Option<SystemTime>) -> Self {
        Self {
            fixed,
            offset_nanos: AtomicU64::new(0),
        }
    }

    pub(crate) fn now(&self) -> SystemTime {
        let base = self.fixed.unwrap_or_else(SystemTime::now);
        base + Duration::from_nanos(self.offset_nanos.load(Ordering::Relaxed))
    }

    pub(crate) fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        // Saturating: a wrapped offset would move the clock back (`fetch_add` wraps).
        let _ = self
            .offset_nanos
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |offset| {
                Some(offset.saturating_add(nanos))
            });
    }

    /// Undoes every [`Clock::advance`].
    pub(crate) fn reset(&self) {
        self.offset_nanos.store(0, Ordering::Relaxed);
    }
}

/// Serialises a time as canonical RFC 3339 UTC (`...Z`).
pub(crate) fn serialize_time<S: Serializer>(time: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339(*time))
}

/// Canonical RFC 3339 in UTC, or an empty string for a time out of range.
pub(crate) fn rfc3339(time: SystemTime) -> String {
    zitadel_passkey::wkt::Timestamp::try_from(time)
        .and_then(|t| t.to_rfc3339())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_only_moves_forward() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let clock = Clock::new(Some(start));
        clock.advance(Duration::from_secs(60));
        assert_eq!(clock.now(), start + Duration::from_secs(60));
        // Far past what the offset can hold, twice: it stays at the furthest, never wraps back.
        clock.advance(Duration::from_secs(u64::MAX));
        let far = clock.now();
        assert!(far > start + Duration::from_secs(500 * 365 * 86_400));
        clock.advance(Duration::from_secs(u64::MAX));
        assert_eq!(clock.now(), far);
        clock.reset();
        assert_eq!(clock.now(), start);
    }
}
