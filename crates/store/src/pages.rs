//! Segment pages: how one index segment's posting lists are laid out in sled.
//!
//! sled copies a leaf node on every insert, so its cost is per key, not per byte: a key per
//! (segment, term) made indexing cost ~50 key writes per message. A segment is therefore stored
//! as *pages* of about [`PAGE_BYTES`], each holding the lists of consecutive terms, keyed by
//! `seg(be64) first_term`. A term is found by reading the last page whose first term is not
//! after it (one range lookup); a prefix by reading pages forward from there.
//!
//! Page format: repeated `varint term_len, term, varint list_len, list` in term order.

use sled::IVec;
use sled::transaction::TransactionalTree;

use crate::error::Result;
use crate::index::TxResult;
use crate::varint::{get_varint, put_varint};

/// A page is closed once it holds this many bytes.
pub(crate) const PAGE_BYTES: usize = 8 * 1024;

/// `seg(be64) term`.
pub(crate) fn page_key(seg: u64, first_term: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(8 + first_term.len());
    k.extend_from_slice(&seg.to_be_bytes());
    k.extend_from_slice(first_term.as_bytes());
    k
}

/// The (term, list) entries of a page; a damaged tail is dropped.
pub(crate) fn parse(page: &[u8]) -> Vec<(&str, &[u8])> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < page.len() {
        let Some(tl) = get_varint(page, &mut pos).and_then(|n| usize::try_from(n).ok()) else {
            break;
        };
        let Some(term) = page
            .get(pos..pos + tl)
            .and_then(|b| std::str::from_utf8(b).ok())
        else {
            break;
        };
        pos += tl;
        let Some(ll) = get_varint(page, &mut pos).and_then(|n| usize::try_from(n).ok()) else {
            break;
        };
        let Some(list) = page.get(pos..pos + ll) else {
            break;
        };
        pos += ll;
        out.push((term, list));
    }
    out
}

/// Packs sorted (term, list) entries into pages: (key, value) pairs in key order.
pub(crate) fn build<'a>(
    seg: u64,
    entries: impl IntoIterator<Item = (&'a str, &'a [u8])>,
) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    let mut page: Vec<u8> = Vec::new();
    let mut first: Option<&str> = None;
    for (term, list) in entries {
        if first.is_none() {
            first = Some(term);
        }
        put_varint(&mut page, term.len() as u64);
        page.extend_from_slice(term.as_bytes());
        put_varint(&mut page, list.len() as u64);
        page.extend_from_slice(list);
        if page.len() >= PAGE_BYTES {
            out.push((
                page_key(seg, first.take().unwrap_or_default()),
                std::mem::take(&mut page),
            ));
        }
    }
    if let Some(f) = first {
        out.push((page_key(seg, f), page));
    }
    out
}

/// Writes pages inside a transaction.
pub(crate) fn write(tx: &TransactionalTree, pages: &[(Vec<u8>, Vec<u8>)]) -> TxResult<()> {
    for (k, v) in pages {
        tx.insert(k.as_slice(), v.as_slice())?;
    }
    Ok(())
}

/// The key and content of the page that would hold `term` in `seg`.
fn page_for(tree: &sled::Tree, seg: u64, term: &str) -> Result<Option<(IVec, IVec)>> {
    let lo = seg.to_be_bytes();
    Ok(tree
        .range(lo.to_vec()..=page_key(seg, term))
        .next_back()
        .transpose()?)
}

/// The encoded posting list of `term` in `seg`.
pub(crate) fn get(tree: &sled::Tree, seg: u64, term: &str) -> Result<Option<Vec<u8>>> {
    let Some((_, page)) = page_for(tree, seg, term)? else {
        return Ok(None);
    };
    Ok(parse(&page)
        .into_iter()
        .find(|(t, _)| *t == term)
        .map(|(_, l)| l.to_vec()))
}

/// Up to `limit` (term, list) of `seg` whose term starts with `prefix`, in term order.
pub(crate) fn with_prefix(
    tree: &sled::Tree,
    seg: u64,
    prefix: &str,
    limit: usize,
) -> Result<Vec<(String, Vec<u8>)>> {
    let start = match page_for(tree, seg, prefix)? {
        Some((k, _)) => k.to_vec(),
        None => seg.to_be_bytes().to_vec(),
    };
    let mut out = Vec::new();
    for kv in tree.range(start..) {
        let (k, page) = kv?;
        if !k.starts_with(&seg.to_be_bytes()) {
            break;
        }
        for (term, list) in parse(&page) {
            if term.starts_with(prefix) {
                out.push((term.to_string(), list.to_vec()));
                if out.len() >= limit {
                    return Ok(out);
                }
            } else if term > prefix {
                return Ok(out);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_find_terms_and_prefixes() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::Config::new().path(dir.path()).open().unwrap();
        let tree = db.open_tree("t").unwrap();
        let terms: Vec<String> = (0..3000).map(|i| format!("w{i:05}")).collect();
        let lists: Vec<Vec<u8>> = (0..3000).map(|i| vec![7u8; 1 + i % 9]).collect();
        let pages = build(
            5,
            terms
                .iter()
                .map(String::as_str)
                .zip(lists.iter().map(Vec::as_slice)),
        );
        assert!(pages.len() > 3, "several pages");
        for (k, v) in &pages {
            tree.insert(k, v.as_slice()).unwrap();
        }
        // A neighbouring segment must not leak in.
        tree.insert(
            page_key(6, "a"),
            build(6, [("w00001", &[1u8][..])])[0].1.as_slice(),
        )
        .unwrap();
        for i in [0, 1, 1234, 2999] {
            assert_eq!(get(&tree, 5, &terms[i]).unwrap().unwrap(), lists[i]);
        }
        assert!(get(&tree, 5, "a").unwrap().is_none());
        assert!(get(&tree, 5, "w99999").unwrap().is_none());
        assert!(get(&tree, 4, "w00001").unwrap().is_none());
        let p = with_prefix(&tree, 5, "w012", 1000).unwrap();
        assert_eq!(p.len(), 100);
        assert_eq!(p[0].0, "w01200");
        assert_eq!(with_prefix(&tree, 5, "w", 10).unwrap().len(), 10);
        assert!(with_prefix(&tree, 5, "x", 10).unwrap().is_empty());
    }
}
