//! Session ids and titles.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A new session id: 12 hex digits of milliseconds (so ids sort by creation time) and 4 of
/// per-process randomness, e.g. `019a1f3c2b7e-4f2a`.
pub fn new_session_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()));
    let mixed = (nanos ^ (u64::from(std::process::id()) << 16) ^ n.wrapping_mul(0x9E37_79B9))
        .wrapping_mul(0x2545_F491_4F6C_DD1D);
    format!("{:012x}-{:04x}", now_ms(), (mixed >> 48) & 0xffff)
}

/// A session title from its first prompt: the first line, whitespace folded, at most 60 chars.
pub fn title_from_prompt(prompt: &str) -> String {
    let line = prompt.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let folded = line.split_whitespace().collect::<Vec<_>>().join(" ");
    if folded.chars().count() <= 60 {
        return folded;
    }
    let mut title: String = folded.chars().take(59).collect();
    title.push('…');
    title
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_by_time_and_differ() {
        let a = new_session_id();
        let b = new_session_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 17);
        assert!(a[..12] <= b[..12]);
    }

    #[test]
    fn titles_are_short_first_lines() {
        assert_eq!(
            title_from_prompt("\n  compute   2**64\nwith python"),
            "compute 2**64"
        );
        let long = "x".repeat(100);
        assert_eq!(title_from_prompt(&long).chars().count(), 60);
    }
}
