//! Timing calls: sequential latency samples and calls per second at a number in flight, and
//! the order statistics the report uses.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::clients::Caller;

/// `calls` sequential calls on the warm connection: each one's duration in nanoseconds.
pub async fn latency(caller: &Caller, calls: usize) -> Result<Vec<u64>> {
    let mut samples = Vec::with_capacity(calls);
    for _ in 0..calls {
        let started = Instant::now();
        caller.call().await?;
        samples.push(nanos(started.elapsed()));
    }
    Ok(samples)
}

/// `calls` calls with `in_flight` of them running at any time: calls per second.
pub async fn throughput(caller: &Arc<Caller>, in_flight: usize, calls: usize) -> Result<f64> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..in_flight {
        let (caller, next) = (caller.clone(), next.clone());
        workers.spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < calls {
                caller.call().await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(worker) = workers.join_next().await {
        worker??;
    }
    Ok(calls as f64 / started.elapsed().as_secs_f64())
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// The `q`-quantile (0..=1) of sorted samples, nearest rank.
pub fn quantile(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The median of a few figures (one per round).
pub fn median(values: &[f64]) -> f64 {
    let mut values = values.to_vec();
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// The order the contenders of round `round` run in: as listed in even rounds, reversed in odd
/// ones (A B C, C B A, …), so that no client always runs first after another transport's, or
/// right after the same neighbour; a machine that slows down within a round then weighs on
/// each client alike.
pub fn counterbalanced(round: usize, contenders: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..contenders).collect();
    if round % 2 == 1 {
        order.reverse();
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_other_round_runs_the_contenders_in_reverse() {
        assert_eq!(counterbalanced(0, 3), [0, 1, 2]);
        assert_eq!(counterbalanced(1, 3), [2, 1, 0]);
        assert_eq!(counterbalanced(2, 3), [0, 1, 2]);
        assert!(counterbalanced(1, 0).is_empty());
    }

    #[test]
    fn quantiles_and_medians() {
        let sorted: Vec<u64> = (1..=100).collect();
        assert_eq!(quantile(&sorted, 0.5), 50);
        assert_eq!(quantile(&sorted, 0.99), 99);
        assert_eq!(quantile(&sorted, 1.0), 100);
        assert_eq!(quantile(&[7], 0.99), 7);
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
    }
}
