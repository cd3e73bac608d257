//! The full-text index: a segmented inverted index (a small log-structured merge tree on sled).
//!
//! Why segments: keying postings by `term, docid` scatters every message's ~30 postings over
//! the whole tree, and sled then rewrites ~30 pages per message (measured: 900 messages/s and
//! ~15 KB of disk per message; with segments stored as pages: ~11,000 messages/s, ~2.2 KB per
//! message including the message itself). Instead each append transaction writes one *segment*: the posting
//! lists of its messages' terms, packed into a few pages under contiguous keys, so a write is
//! sequential and touches few keys. Small segments are merged (8 of one level into
//! one of the next; levels by document count: <8, <64, <512, <4096, top) so a query reads a
//! bounded number of segments: about `8 * 4 + docs / 4096` at worst, typically far fewer.
//!
//! Layout: `fts_seg` holds each segment's posting lists in pages (see `pages.rs`); `fts_segs` maps `seg` to [`SegMeta`];
//! `fts_docs` maps a docid to `(session, seq)`, and a docid missing there is deleted; meta holds
//! the document count and total length for BM25. Docids come from sled's monotonic id generator
//! (newer message, larger docid). Segments are written in the same transaction as the messages,
//! so a message is never unindexed and a posting never dangles after a crash.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde::{Deserialize, Serialize};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionalTree};

use crate::error::{Result, StoreError};
use crate::varint::{get_varint, put_varint};
use crate::{Inner, Trees, keys, meta, pages, text};

pub(crate) type TxResult<T> = Result<T, ConflictableTransactionError<StoreError>>;

/// Lifts a store error into a transaction abort.
pub(crate) fn ab<T>(r: Result<T, StoreError>) -> TxResult<T> {
    r.map_err(ConflictableTransactionError::Abort)
}

/// Adds `delta` to a big-endian counter in `tree`.
pub(crate) fn bump(tree: &TransactionalTree, key: &[u8], delta: i64) -> TxResult<()> {
    if delta == 0 {
        return Ok(());
    }
    let old = keys::be_u64(tree.get(key)?.as_deref());
    let new = if delta >= 0 {
        old.saturating_add(delta.unsigned_abs())
    } else {
        old.saturating_sub(delta.unsigned_abs())
    };
    tree.insert(key, &new.to_be_bytes()[..])?;
    Ok(())
}

/// Segments of at least this many documents are never merged.
const TOP_LEVEL: u8 = 4;
/// Segments of one level merged at once.
const FANOUT: usize = 8;

fn level_of(docs: u64) -> u8 {
    match docs {
        0..8 => 0,
        8..64 => 1,
        64..512 => 2,
        512..4096 => 3,
        _ => TOP_LEVEL,
    }
}

/// What a segment holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SegMeta {
    pub level: u8,
    pub docs: u64,
    pub min_docid: u64,
    pub max_docid: u64,
}

/// One posting: a document, the term's count in it, its length in words, its time (seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Posting {
    pub docid: u64,
    pub tf: u32,
    pub len: u32,
    pub at: u32,
}

/// Encodes a list sorted by docid: count, then per posting docid delta, tf, len, time delta
/// (zig-zag), all varints: about 5 bytes a posting.
pub(crate) fn encode_list(list: &[Posting]) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + list.len() * 6);
    put_varint(&mut out, list.len() as u64);
    let (mut prev_doc, mut prev_at) = (0u64, 0i64);
    for p in list {
        put_varint(&mut out, p.docid.wrapping_sub(prev_doc));
        put_varint(&mut out, u64::from(p.tf));
        put_varint(&mut out, u64::from(p.len));
        let d = i64::from(p.at) - prev_at;
        put_varint(&mut out, ((d << 1) ^ (d >> 63)) as u64);
        prev_doc = p.docid;
        prev_at = i64::from(p.at);
    }
    out
}

/// The number of postings in an encoded list (its header).
pub(crate) fn list_count(b: &[u8]) -> u64 {
    get_varint(b, &mut 0).unwrap_or(0)
}

/// Decodes [`encode_list`]; a damaged tail is dropped.
pub(crate) fn decode_list(b: &[u8]) -> Vec<Posting> {
    let mut pos = 0;
    let n = get_varint(b, &mut pos).unwrap_or(0);
    let mut out = Vec::with_capacity(usize::try_from(n.min(1 << 20)).unwrap_or(0));
    let (mut doc, mut at) = (0u64, 0i64);
    for _ in 0..n {
        let (Some(dd), Some(tf), Some(len), Some(z)) = (
            get_varint(b, &mut pos),
            get_varint(b, &mut pos),
            get_varint(b, &mut pos),
            get_varint(b, &mut pos),
        ) else {
            break;
        };
        doc = doc.wrapping_add(dd);
        at += ((z >> 1) as i64) ^ -((z & 1) as i64);
        out.push(Posting {
            docid: doc,
            tf: u32::try_from(tf).unwrap_or(u32::MAX),
            len: u32::try_from(len).unwrap_or(u32::MAX),
            at: u32::try_from(at).unwrap_or(0),
        });
    }
    out
}

fn encode_meta(m: &SegMeta) -> Vec<u8> {
    serde_json::to_vec(m).unwrap_or_default()
}

/// Every segment, newest documents first.
pub(crate) fn segments(t: &Trees) -> Result<Vec<(u64, SegMeta)>> {
    let mut out = Vec::new();
    for kv in t.segs.iter() {
        let (k, v) = kv?;
        let meta: SegMeta = serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt {
            tree: "fts_segs",
            detail: e.to_string(),
        })?;
        out.push((keys::tail_u64(&k).unwrap_or(0), meta));
    }
    out.sort_by_key(|(_, m)| std::cmp::Reverse(m.max_docid));
    Ok(out)
}

/// A document to index.
pub(crate) struct NewDoc<'a> {
    pub docid: u64,
    pub session: &'a str,
    pub seq: u64,
    pub text: &'a str,
    pub at_ms: u64,
}

/// The transactional views an indexing write needs.
pub(crate) struct IndexTx<'a> {
    pub seg: &'a TransactionalTree,
    pub segs: &'a TransactionalTree,
    pub docs: &'a TransactionalTree,
    pub meta: &'a TransactionalTree,
}

impl IndexTx<'_> {
    /// Writes one new segment holding `docs` (in docid order).
    pub fn write_segment(&self, docs: &[NewDoc<'_>]) -> TxResult<()> {
        if docs.is_empty() {
            return Ok(());
        }
        let mut lists: BTreeMap<String, Vec<Posting>> = BTreeMap::new();
        let mut total_len = 0i64;
        for d in docs {
            let (counts, len) = text::term_counts(d.text);
            let at = u32::try_from(d.at_ms / 1000).unwrap_or(u32::MAX);
            for (term, tf) in counts {
                lists.entry(term).or_default().push(Posting {
                    docid: d.docid,
                    tf,
                    len,
                    at,
                });
            }
            self.docs
                .insert(&d.docid.to_be_bytes()[..], keys::sess_u64(d.session, d.seq))?;
            total_len += i64::from(len);
        }
        let seg = self.segs.generate_id()?;
        let encoded: Vec<(&str, Vec<u8>)> = lists
            .iter()
            .map(|(term, list)| (term.as_str(), encode_list(list)))
            .collect();
        let built = pages::build(seg, encoded.iter().map(|(t, l)| (*t, l.as_slice())));
        pages::write(self.seg, &built)?;
        let m = SegMeta {
            level: level_of(docs.len() as u64),
            docs: docs.len() as u64,
            min_docid: docs.iter().map(|d| d.docid).min().unwrap_or(0),
            max_docid: docs.iter().map(|d| d.docid).max().unwrap_or(0),
        };
        self.segs.insert(&seg.to_be_bytes()[..], encode_meta(&m))?;
        bump(self.meta, meta::DOCS, docs.len() as i64)?;
        bump(self.meta, meta::DOC_LEN, total_len)
    }
}

/// Merges full levels until none is full. Serialised with deletions by the merge lock.
pub(crate) fn maybe_merge(inner: &Inner) -> Result<()> {
    let _guard = inner.merge_lock.lock().map_err(|_| StoreError::Corrupt {
        tree: "fts_segs",
        detail: "a merge panicked".into(),
    })?;
    loop {
        let segs = segments(&inner.t)?;
        let full = (0..TOP_LEVEL).find_map(|lvl| {
            let of: Vec<(u64, SegMeta)> = segs
                .iter()
                .filter(|(_, m)| m.level == lvl)
                .copied()
                .collect();
            (of.len() >= FANOUT).then_some(of)
        });
        let Some(group) = full else {
            return Ok(());
        };
        merge(&inner.t, &group)?;
    }
}

fn merge(t: &Trees, group: &[(u64, SegMeta)]) -> Result<()> {
    let mut lists: BTreeMap<String, Vec<Posting>> = BTreeMap::new();
    let mut old_keys = Vec::new();
    for (seg, _) in group {
        for kv in t.seg.scan_prefix(seg.to_be_bytes()) {
            let (k, page) = kv?;
            for (term, list) in pages::parse(&page) {
                lists
                    .entry(term.to_string())
                    .or_default()
                    .extend(decode_list(list));
            }
            old_keys.push(k);
        }
    }
    let docs = group.iter().map(|(_, m)| m.docs).sum();
    let m = SegMeta {
        level: level_of(docs).max(group.first().map_or(0, |(_, g)| g.level + 1)),
        docs,
        min_docid: group.iter().map(|(_, m)| m.min_docid).min().unwrap_or(0),
        max_docid: group.iter().map(|(_, m)| m.max_docid).max().unwrap_or(0),
    };
    let encoded: Vec<(String, Vec<u8>)> = lists
        .into_iter()
        .map(|(term, mut list)| {
            list.sort_unstable_by_key(|p| p.docid);
            (term, encode_list(&list))
        })
        .collect();
    (&t.seg, &t.segs).transaction(|(seg_t, segs_t)| {
        let new = segs_t.generate_id()?;
        for k in &old_keys {
            seg_t.remove(k)?;
        }
        for (seg, _) in group {
            segs_t.remove(&seg.to_be_bytes()[..])?;
        }
        let built = pages::build(new, encoded.iter().map(|(t, l)| (t.as_str(), l.as_slice())));
        pages::write(seg_t, &built)?;
        segs_t.insert(&new.to_be_bytes()[..], encode_meta(&m))?;
        Ok(())
    })?;
    Ok(())
}

/// Removes the postings of `docids` (whose texts had `terms`) from every segment that may hold
/// them. Idempotent. Counters and `fts_docs` are the caller's business.
pub(crate) fn remove_postings(
    inner: &Inner,
    docids: &HashSet<u64>,
    terms: &BTreeSet<String>,
) -> Result<()> {
    let (Some(lo), Some(hi)) = (docids.iter().min(), docids.iter().max()) else {
        return Ok(());
    };
    let _guard = inner.merge_lock.lock().map_err(|_| StoreError::Corrupt {
        tree: "fts_segs",
        detail: "a merge panicked".into(),
    })?;
    let t = &inner.t;
    for (seg, m) in segments(t)? {
        if m.max_docid < *lo || m.min_docid > *hi {
            continue;
        }
        let mut batch = sled::Batch::default();
        for kv in t.seg.scan_prefix(seg.to_be_bytes()) {
            let (k, page) = kv?;
            let entries = pages::parse(&page);
            if !entries.iter().any(|(term, _)| terms.contains(*term)) {
                continue;
            }
            let mut changed = false;
            let mut kept: Vec<(&str, Vec<u8>)> = Vec::with_capacity(entries.len());
            for (term, list) in entries {
                if !terms.contains(term) {
                    kept.push((term, list.to_vec()));
                    continue;
                }
                let all = decode_list(list);
                let left: Vec<Posting> = all
                    .iter()
                    .filter(|p| !docids.contains(&p.docid))
                    .copied()
                    .collect();
                changed |= left.len() != all.len();
                if !left.is_empty() {
                    kept.push((term, encode_list(&left)));
                }
            }
            if changed {
                batch.remove(k);
                for (nk, nv) in pages::build(seg, kept.iter().map(|(t, l)| (*t, l.as_slice()))) {
                    batch.insert(nk, nv);
                }
            }
        }
        t.seg.apply_batch(batch)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posting_lists_round_trip() {
        let list = vec![
            Posting {
                docid: 5,
                tf: 1,
                len: 10,
                at: 1_700_000_000,
            },
            Posting {
                docid: 300,
                tf: 70_000,
                len: 3,
                at: 1_600_000_000,
            },
            Posting {
                docid: u64::MAX,
                tf: 2,
                len: 0,
                at: u32::MAX,
            },
        ];
        let b = encode_list(&list);
        assert_eq!(list_count(&b), 3);
        assert_eq!(decode_list(&b), list);
        assert_eq!(decode_list(&b[..b.len() - 1]).len(), 2);
    }

    #[test]
    fn merges_keep_every_posting_and_deletes_remove_them() {
        use llm_repl_protocol::{Message, SessionInfo};
        let dir = tempfile::tempdir().unwrap();
        let store = crate::Store::open(dir.path()).unwrap();
        store.set_sync_writes(false);
        for id in ["a", "b"] {
            store
                .create_session(&SessionInfo {
                    id: id.into(),
                    title: id.into(),
                    provider: "p".into(),
                    model: "m".into(),
                    mock: true,
                    context_window: None,
                })
                .unwrap();
        }
        for i in 0..300 {
            let id = if i % 3 == 0 { "b" } else { "a" };
            let text = format!("common word{i} only{id}");
            store.append_message(id, &Message::user(text)).unwrap();
        }
        let t = &store.inner.t;
        let segs = segments(t).unwrap();
        // 300 one-message segments merged: at most 7 per level below the top.
        assert!(segs.len() <= 4 * 7, "{} segments", segs.len());
        assert_eq!(segs.iter().map(|(_, m)| m.docs).sum::<u64>(), 300);
        assert_eq!(store.search("common", 1000).unwrap().len(), 300);
        assert_eq!(store.search("word17", 10).unwrap().len(), 1);
        assert_eq!(store.search_incremental("onl", 1000).unwrap().len(), 300);
        store.delete_session("b").unwrap();
        assert_eq!(store.search("common", 1000).unwrap().len(), 200);
        assert!(store.search("onlyb", 10).unwrap().is_empty());
        let mut left = 0;
        for kv in t.seg.iter() {
            let (_, page) = kv.unwrap();
            for (term, list) in pages::parse(&page) {
                assert_ne!(
                    term, "onlyb",
                    "a posting list of the deleted session is left"
                );
                left += list_count(list);
            }
        }
        // 200 messages of 3 words each remain indexed.
        assert_eq!(left, 600);
        assert_eq!(
            keys::be_u64(t.meta.get(meta::DOCS).unwrap().as_deref()),
            200
        );
    }

    #[test]
    fn deleting_from_multi_page_segments_keeps_the_neighbours() {
        use llm_repl_protocol::{Message, SessionInfo};
        let dir = tempfile::tempdir().unwrap();
        let store = crate::Store::open(dir.path()).unwrap();
        for id in ["a", "b"] {
            let info = SessionInfo {
                id: id.into(),
                title: id.into(),
                provider: "p".into(),
                model: "m".into(),
                mock: true,
                context_window: None,
            };
            store.create_session(&info).unwrap();
        }
        let words = |p: &str| {
            (0..1500)
                .map(|i| format!("{p}{i:04}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        // One segment of two documents, spanning several pages.
        let both = [
            Message::user(words("shared")),
            Message::user(words("bonly")),
        ];
        store
            .append_messages_at("b", &both, crate::now_ms())
            .unwrap();
        store
            .append_message("a", &Message::user(words("shared")))
            .unwrap();
        let t = &store.inner.t;
        assert!(t.seg.len() > 3, "multi-page segments");
        store.delete_session("b").unwrap();
        assert!(store.search("bonly0700", 5).unwrap().is_empty());
        for w in ["shared0000", "shared0777", "shared1499"] {
            let hits = store.search(w, 5).unwrap();
            assert_eq!(hits.len(), 1, "{w}");
            assert_eq!(hits[0].session_id, "a");
        }
        assert_eq!(store.search_incremental("shared149", 50).unwrap().len(), 1);
    }

    #[test]
    fn levels_by_document_count() {
        assert_eq!(level_of(1), 0);
        assert_eq!(level_of(8), 1);
        assert_eq!(level_of(511), 2);
        assert_eq!(level_of(100_000), TOP_LEVEL);
    }
}
