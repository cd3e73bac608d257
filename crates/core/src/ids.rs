//! Session ids and titles.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use llm_repl_protocol::calendar::now_ms;

/// A new session id: 8 random hex digits, a dash, then 12 hex digits of milliseconds, e.g.
/// `7c1e9a42-019ad3f1c2b7`.
///
/// The random part comes first so that, as with git's short hashes, the first 6-8 characters
/// tell sessions apart in practice (ids used to start with the time, so sessions of one day
/// shared their first 8-9 characters and a unique prefix needed about 12). The time part keeps
/// ids unique even if two random parts collide. Older ids (`019a1f3c2b7e-4f2a`, or 21 hex
/// digits) stay valid: an id is an opaque string everywhere, and lists sort by the updated-time
/// index, never by id.
pub fn new_session_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    // RandomState is seeded from the OS's randomness once per process (then incremented per
    // instance); the counter, the time and the pid make each call's input distinct.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u32(std::process::id());
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    h.write_u128(nanos);
    format!("{:08x}-{:012x}", h.finish() as u32, now_ms())
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
    fn ids_differ_in_their_first_characters() {
        let a = new_session_id();
        assert_eq!(a.len(), 21);
        assert_eq!(&a[8..9], "-");
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-'));
        // 2,000 sessions made in the same instant: their 8-character prefixes are all distinct
        // (a collision among 2,000 random 32-bit values has odds of about 1 in 2,000), and
        // 7 characters nearly always are.
        let ids: Vec<String> = (0..2000).map(|_| new_session_id()).collect();
        let unique = |n: usize| {
            ids.iter()
                .map(|id| &id[..n])
                .collect::<std::collections::HashSet<_>>()
                .len()
        };
        assert!(unique(8) >= 1999, "{}", unique(8));
        assert!(unique(6) >= 1900, "{}", unique(6));
        let full: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(full.len(), ids.len());
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
