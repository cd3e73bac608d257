//! Exponential backoff with jitter, honouring a server's Retry-After. No random-number crate:
//! a splitmix64 generator is plenty for spreading retries, and a fixed seed makes tests exact.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The delays between attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffSettings {
    /// The delay before the first retry (before jitter).
    pub base: Duration,
    /// The largest computed delay.
    pub max: Duration,
    /// A Retry-After longer than this is not waited for: the provider counts as exhausted and
    /// the call fails over (or fails).
    pub max_retry_after: Duration,
}

impl Default for BackoffSettings {
    fn default() -> Self {
        Self {
            base: Duration::from_millis(500),
            max: Duration::from_secs(20),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

/// A shared jitter source.
#[derive(Debug)]
pub struct Jitter(AtomicU64);

impl Jitter {
    pub fn new(seed: u64) -> Self {
        Self(AtomicU64::new(seed))
    }

    /// Seeded from the clock (different processes spread differently).
    pub fn from_clock() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9E37_79B9_7F4A_7C15);
        Self::new(nanos ^ u64::from(std::process::id()))
    }

    /// A uniform value in [0, 1).
    pub fn next_unit(&self) -> f64 {
        let mut z = self
            .0
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The delay before retry number `retry` (0-based): Retry-After when the server sent one,
/// else `base * 2^retry` capped at `max`, with "equal jitter" (half fixed, half random).
/// `None` when the server asks for a wait longer than `max_retry_after`.
pub fn delay(
    settings: &BackoffSettings,
    retry: u32,
    retry_after: Option<Duration>,
    jitter: &Jitter,
) -> Option<Duration> {
    if let Some(after) = retry_after {
        return (after <= settings.max_retry_after).then_some(after);
    }
    let exp = settings
        .base
        .saturating_mul(2u32.saturating_pow(retry.min(31)))
        .min(settings.max);
    let half = exp / 2;
    Some(half + half.mul_f64(jitter.next_unit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_exponentially_within_jitter_bounds_and_caps() {
        let s = BackoffSettings {
            base: Duration::from_millis(100),
            max: Duration::from_secs(1),
            max_retry_after: Duration::from_secs(5),
        };
        let j = Jitter::new(7);
        for (retry, full) in [
            (0, 100),
            (1, 200),
            (2, 400),
            (3, 800),
            (4, 1000),
            (30, 1000),
        ] {
            let d = delay(&s, retry, None, &j).expect("delay");
            let full = Duration::from_millis(full);
            assert!(d >= full / 2 && d <= full, "retry {retry}: {d:?}");
        }
    }

    #[test]
    fn retry_after_wins_unless_too_long() {
        let s = BackoffSettings::default();
        let j = Jitter::new(1);
        assert_eq!(
            delay(&s, 3, Some(Duration::from_secs(2)), &j),
            Some(Duration::from_secs(2))
        );
        assert_eq!(delay(&s, 0, Some(Duration::from_secs(3600)), &j), None);
    }

    #[test]
    fn jitter_is_uniform_enough_and_seeded() {
        let a = Jitter::new(42);
        let b = Jitter::new(42);
        let xs: Vec<f64> = (0..1000).map(|_| a.next_unit()).collect();
        let ys: Vec<f64> = (0..1000).map(|_| b.next_unit()).collect();
        assert_eq!(xs, ys);
        assert!(xs.iter().all(|x| (0.0..1.0).contains(x)));
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        assert!((0.45..0.55).contains(&mean), "{mean}");
    }
}
