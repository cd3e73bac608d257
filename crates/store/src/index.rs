//! Keeping the full-text index in step with the messages, inside the same sled transaction as
//! the message write (so a crash can never leave a message unindexed or a posting dangling).
//!
//! Layout: `fts_postings` maps `term NUL docid` to (tf, doc length, time) so ranking needs no
//! further reads; `fts_terms` maps a term to its document frequency; `fts_docs` maps a docid to
//! `(session, seq)`; meta holds the document count and total length for BM25's averages.
//! Docids come from sled's monotonic id generator, so a reverse scan of a term's postings yields
//! the newest documents first.

use std::collections::HashMap;

use sled::transaction::{ConflictableTransactionError, TransactionalTree};

use crate::error::StoreError;
use crate::keys;
use crate::meta;
use crate::text;

pub(crate) type TxResult<T> = Result<T, ConflictableTransactionError<StoreError>>;

/// Lifts a store error into a transaction abort.
pub(crate) fn ab<T>(r: Result<T, StoreError>) -> TxResult<T> {
    r.map_err(ConflictableTransactionError::Abort)
}

/// The transactional views of the index trees.
pub(crate) struct IndexTx<'a> {
    pub postings: &'a TransactionalTree,
    pub terms: &'a TransactionalTree,
    pub docs: &'a TransactionalTree,
    pub meta: &'a TransactionalTree,
}

/// Per-transaction changes to counters, applied once at the end.
#[derive(Default)]
pub(crate) struct Deltas {
    df: HashMap<String, i64>,
    docs: i64,
    len: i64,
}

/// A posting's value: term frequency, document length (words), time (seconds since the epoch).
pub(crate) fn posting_value(tf: u32, len: u32, at_ms: u64) -> [u8; 8] {
    let tf = u16::try_from(tf).unwrap_or(u16::MAX);
    let len = u16::try_from(len).unwrap_or(u16::MAX);
    let secs = u32::try_from(at_ms / 1000).unwrap_or(u32::MAX);
    let mut v = [0u8; 8];
    v[..2].copy_from_slice(&tf.to_be_bytes());
    v[2..4].copy_from_slice(&len.to_be_bytes());
    v[4..].copy_from_slice(&secs.to_be_bytes());
    v
}

/// Decodes [`posting_value`]: (tf, len, seconds).
pub(crate) fn parse_posting(v: &[u8]) -> (u32, u32, u32) {
    let g = |a: usize, b: usize| v.get(a..b).unwrap_or(&[]);
    let tf = <[u8; 2]>::try_from(g(0, 2)).map_or(1, u16::from_be_bytes);
    let len = <[u8; 2]>::try_from(g(2, 4)).map_or(1, u16::from_be_bytes);
    let secs = <[u8; 4]>::try_from(g(4, 8)).map_or(0, u32::from_be_bytes);
    (u32::from(tf), u32::from(len), secs)
}

impl IndexTx<'_> {
    /// Indexes one message's text as document `docid` of (session, seq).
    pub fn add(
        &self,
        d: &mut Deltas,
        docid: u64,
        session: &str,
        seq: u64,
        text: &str,
        at_ms: u64,
    ) -> TxResult<()> {
        let (counts, len) = text::term_counts(text);
        for (term, tf) in &counts {
            self.postings.insert(
                keys::posting(term, docid),
                &posting_value(*tf, len, at_ms)[..],
            )?;
            *d.df.entry(term.clone()).or_default() += 1;
        }
        self.docs
            .insert(&docid.to_be_bytes()[..], keys::sess_u64(session, seq))?;
        d.docs += 1;
        d.len += i64::from(len);
        Ok(())
    }

    /// Removes document `docid` whose text was `text`.
    pub fn remove(&self, d: &mut Deltas, docid: u64, text: &str) -> TxResult<()> {
        if self.docs.remove(&docid.to_be_bytes()[..])?.is_none() {
            return Ok(());
        }
        let (counts, len) = text::term_counts(text);
        for term in counts.keys() {
            if self.postings.remove(keys::posting(term, docid))?.is_some() {
                *d.df.entry(term.clone()).or_default() -= 1;
            }
        }
        d.docs -= 1;
        d.len -= i64::from(len);
        Ok(())
    }

    /// Writes the accumulated counter changes.
    pub fn apply(&self, d: &Deltas) -> TxResult<()> {
        for (term, delta) in &d.df {
            if *delta == 0 {
                continue;
            }
            let old = keys::be_u64(self.terms.get(term.as_bytes())?.as_deref());
            let new = add_signed(old, *delta);
            if new == 0 {
                self.terms.remove(term.as_bytes())?;
            } else {
                self.terms.insert(term.as_bytes(), &new.to_be_bytes()[..])?;
            }
        }
        bump(self.meta, meta::DOCS, d.docs)?;
        bump(self.meta, meta::DOC_LEN, d.len)?;
        Ok(())
    }
}

fn add_signed(old: u64, delta: i64) -> u64 {
    if delta >= 0 {
        old.saturating_add(delta.unsigned_abs())
    } else {
        old.saturating_sub(delta.unsigned_abs())
    }
}

/// Adds `delta` to a big-endian counter in `tree`.
pub(crate) fn bump(tree: &TransactionalTree, key: &[u8], delta: i64) -> TxResult<()> {
    if delta == 0 {
        return Ok(());
    }
    let old = keys::be_u64(tree.get(key)?.as_deref());
    tree.insert(key, &add_signed(old, delta).to_be_bytes()[..])?;
    Ok(())
}
