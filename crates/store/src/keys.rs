//! Key layouts. Every key is built so that a range or prefix scan answers a common question:
//! big-endian integers sort numerically, and a session id (never containing NUL) followed by a
//! NUL byte is a prefix that cannot match a longer id.

use crate::error::{Result, StoreError};

/// Rejects ids that would break the key layout.
pub(crate) fn check_id(id: &str) -> Result<()> {
    if id.is_empty() || id.len() > 128 || id.as_bytes().contains(&0) {
        return Err(StoreError::InvalidId(id.to_string()));
    }
    Ok(())
}

/// `id NUL`: the prefix of every per-session key.
pub(crate) fn sess_prefix(id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(id.len() + 9);
    k.extend_from_slice(id.as_bytes());
    k.push(0);
    k
}

/// `id NUL n(be64)`: messages by seq, turns by ordinal, usage-by-session by ordinal.
pub(crate) fn sess_u64(id: &str, n: u64) -> Vec<u8> {
    let mut k = sess_prefix(id);
    k.extend_from_slice(&n.to_be_bytes());
    k
}

/// `id NUL call_id`: tool runs.
pub(crate) fn sess_str(id: &str, s: &str) -> Vec<u8> {
    let mut k = sess_prefix(id);
    k.extend_from_slice(s.as_bytes());
    k
}

/// `updated_ms(be64) id`: sessions by updated time.
pub(crate) fn updated(updated_ms: u64, id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(8 + id.len());
    k.extend_from_slice(&updated_ms.to_be_bytes());
    k.extend_from_slice(id.as_bytes());
    k
}

/// The id part of a [`updated`] key.
pub(crate) fn updated_id(key: &[u8]) -> Option<String> {
    key.get(8..)
        .and_then(|b| std::str::from_utf8(b).ok())
        .map(str::to_string)
}

/// `day(be32) id NUL ord(be64)`: usage records by day and session.
pub(crate) fn usage(day: u32, id: &str, ord: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(4 + id.len() + 9);
    k.extend_from_slice(&day.to_be_bytes());
    k.extend_from_slice(&sess_u64(id, ord));
    k
}

/// `at_ms(be64) ord(be64)`: audit entries in time order.
pub(crate) fn audit(at_ms: u64, ord: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(16);
    k.extend_from_slice(&at_ms.to_be_bytes());
    k.extend_from_slice(&ord.to_be_bytes());
    k
}

/// The trailing big-endian u64 of a key.
pub(crate) fn tail_u64(key: &[u8]) -> Option<u64> {
    let n = key.len().checked_sub(8)?;
    let b: [u8; 8] = key.get(n..)?.try_into().ok()?;
    Some(u64::from_be_bytes(b))
}

/// A big-endian u64 value (counters).
pub(crate) fn be_u64(v: Option<&[u8]>) -> u64 {
    v.and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map(u64::from_be_bytes)
        .unwrap_or(0)
}

/// Splits a `id NUL rest` key into its id and rest.
pub(crate) fn split_sess(key: &[u8]) -> Option<(String, &[u8])> {
    let nul = key.iter().position(|b| *b == 0)?;
    let id = std::str::from_utf8(key.get(..nul)?).ok()?.to_string();
    Some((id, key.get(nul + 1..)?))
}
