//! Session metadata: create, rename, tag, list newest-first through the updated-time index,
//! delete (everything of a session, resumable after a crash).

use std::collections::{BTreeSet, HashSet};
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use llm_repl_protocol::{SessionId, SessionInfo, SessionSummary};
use sled::Transactional;
use sled::transaction::{TransactionalTree, abort};

use crate::error::{Result, StoreError};
use crate::index::{self, TxResult, ab, bump};
use crate::records::{self, MessageRecord, SessionRecord};
use crate::{Inner, Store, keys, meta, text};

/// A new session id: 13 hex digits of milliseconds (sorts by creation time) and 8 random ones.
pub fn new_session_id() -> SessionId {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u32(std::process::id());
    format!("{:013x}{:08x}", crate::now_ms(), h.finish() as u32)
}

/// A session title from its first prompt: the first non-empty line, whitespace collapsed, cut at
/// a word boundary to at most 60 characters (with `…` when cut).
pub fn title_from_prompt(prompt: &str) -> String {
    const MAX: usize = 60;
    let line = prompt.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let words: Vec<&str> = line.split_whitespace().collect();
    let full = words.join(" ");
    if full.chars().count() <= MAX {
        return if full.is_empty() {
            "Untitled".to_string()
        } else {
            full
        };
    }
    let mut out = String::new();
    for w in words {
        let add = if out.is_empty() {
            w.chars().count()
        } else {
            w.chars().count() + 1
        };
        if out.chars().count() + add > MAX - 1 {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    if out.is_empty() {
        out = full.chars().take(MAX - 1).collect();
    }
    out.push('…');
    out
}

/// Writes a session record and keeps the updated-time index in step.
pub(crate) fn put_session(
    sessions: &TransactionalTree,
    by_updated: &TransactionalTree,
    old: Option<&SessionRecord>,
    new: &SessionRecord,
) -> TxResult<()> {
    if let Some(old) = old
        && old.updated_ms != new.updated_ms
    {
        by_updated.remove(keys::updated(old.updated_ms, &old.id))?;
    }
    by_updated.insert(keys::updated(new.updated_ms, &new.id), &[][..])?;
    sessions.insert(new.id.as_bytes(), ab(records::encode("sessions", new))?)?;
    Ok(())
}

pub(crate) fn get_in(tx: &TransactionalTree, id: &str) -> TxResult<SessionRecord> {
    match tx.get(id.as_bytes())? {
        Some(b) => ab(records::decode("sessions", &b)),
        None => abort(StoreError::NoSession(id.to_string())),
    }
}

impl Store {
    /// Creates a session from `info` (its id must be new), created and updated now.
    pub fn create_session(&self, info: &SessionInfo) -> Result<SessionRecord> {
        let rec = SessionRecord::empty(info, crate::now_ms(), None);
        self.insert_session(&rec)?;
        self.sync()?;
        Ok(rec)
    }

    /// Inserts a full session record (create and import).
    pub(crate) fn insert_session(&self, rec: &SessionRecord) -> Result<()> {
        self.writable()?;
        keys::check_id(&rec.id)?;
        let t = self.t();
        (&t.meta, &t.sessions, &t.by_updated).transaction(|(meta_t, s, u)| {
            if s.get(rec.id.as_bytes())?.is_some() {
                return abort(StoreError::SessionExists(rec.id.clone()));
            }
            put_session(s, u, None, rec)?;
            bump(meta_t, meta::SESSIONS, 1)
        })?;
        Ok(())
    }

    /// A session's metadata, if it exists.
    pub fn get_session(&self, id: &str) -> Result<Option<SessionRecord>> {
        self.t()
            .sessions
            .get(id.as_bytes())?
            .map(|b| records::decode("sessions", &b))
            .transpose()
    }

    /// Changes a session's record with `f` (which must not touch `id` or `messages`).
    fn update_session(&self, id: &str, f: impl Fn(&mut SessionRecord)) -> Result<SessionRecord> {
        self.writable()?;
        let t = self.t();
        let rec = (&t.sessions, &t.by_updated).transaction(|(s, u)| {
            let old = get_in(s, id)?;
            let mut new = old.clone();
            f(&mut new);
            new.updated_ms = new.updated_ms.max(crate::now_ms());
            put_session(s, u, Some(&old), &new)?;
            Ok(new)
        })?;
        self.sync()?;
        Ok(rec)
    }

    pub fn rename_session(&self, id: &str, title: &str) -> Result<SessionRecord> {
        self.update_session(id, |r| r.title = title.to_string())
    }

    pub fn set_tags(&self, id: &str, tags: &[String]) -> Result<SessionRecord> {
        self.update_session(id, |r| r.tags = tags.to_vec())
    }

    /// Records that the session continues with another provider or model.
    pub fn set_session_model(
        &self,
        id: &str,
        provider: &str,
        model: &str,
    ) -> Result<SessionRecord> {
        self.update_session(id, |r| {
            r.provider = provider.to_string();
            r.model = model.to_string();
        })
    }

    /// Number of sessions (a counter: no scan).
    pub fn session_count(&self) -> Result<usize> {
        let n = keys::be_u64(self.t().meta.get(meta::SESSIONS)?.as_deref());
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    /// One page of sessions, most recently updated first, and the total number of sessions.
    /// Walks the updated-time index from whichever end is nearer the page: cost grows with the
    /// distance of the page from an end, never with a scan of session records.
    pub fn list_sessions(
        &self,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<SessionSummary>, usize)> {
        let total = self.session_count()?;
        let tree = &self.t().by_updated;
        let page: Vec<sled::IVec> = if offset > total / 2 {
            // Near the oldest end: walk forward from there, then reverse.
            let end = total.saturating_sub(offset);
            let start = end.saturating_sub(limit);
            let mut v = tree
                .iter()
                .keys()
                .skip(start)
                .take(end - start)
                .collect::<Result<Vec<_>, _>>()?;
            v.reverse();
            v
        } else {
            tree.iter()
                .keys()
                .rev()
                .skip(offset)
                .take(limit)
                .collect::<Result<Vec<_>, _>>()?
        };
        let mut out = Vec::with_capacity(page.len());
        for k in page {
            let Some(id) = keys::updated_id(&k) else {
                continue;
            };
            if let Some(r) = self.get_session(&id)? {
                out.push(r.summary());
            }
        }
        Ok((out, total))
    }

    /// The most recently updated session (for `--continue`).
    pub fn last_session(&self) -> Result<Option<SessionRecord>> {
        let Some((k, _)) = self.t().by_updated.last()? else {
            return Ok(None);
        };
        match keys::updated_id(&k) {
            Some(id) => self.get_session(&id),
            None => Ok(None),
        }
    }

    /// Deletes a session and everything of it: messages, their index postings, tool runs, turns
    /// and usage records. The session disappears at once (one transaction); the rest is removed
    /// message by message, and a crash in between is completed at the next open.
    pub fn delete_session(&self, id: &str) -> Result<()> {
        self.writable()?;
        let t = self.t();
        (&t.meta, &t.sessions, &t.by_updated, &t.pending_deletes).transaction(
            |(meta_t, s, u, p)| {
                let old = get_in(s, id)?;
                s.remove(id.as_bytes())?;
                u.remove(keys::updated(old.updated_ms, id))?;
                p.insert(id.as_bytes(), &[][..])?;
                bump(meta_t, meta::SESSIONS, -1)
            },
        )?;
        purge(&self.inner, id)?;
        self.inner.db.flush()?;
        Ok(())
    }
}

/// Removes every record of a session whose metadata is already gone. Idempotent: index postings
/// go first (while the messages still say which), then the messages with their index entries.
fn purge(inner: &Inner, id: &str) -> Result<()> {
    let t = &inner.t;
    let prefix = keys::sess_prefix(id);
    let mut docs: Vec<(sled::IVec, u64, i64)> = Vec::new();
    let mut docids = HashSet::new();
    let mut terms = BTreeSet::new();
    for kv in t.messages.scan_prefix(&prefix) {
        let (k, v) = kv?;
        let rec: MessageRecord = records::decode("messages", &v)?;
        let (counts, len) = text::term_counts(&text::message_text(&rec.message));
        terms.extend(counts.into_keys());
        docids.insert(rec.docid);
        docs.push((k, rec.docid, i64::from(len)));
    }
    index::remove_postings(inner, &docids, &terms)?;
    for chunk in docs.chunks(1024) {
        (&t.messages, &t.docs, &t.meta).transaction(|(m, d, meta_t)| {
            let (mut n, mut len) = (0i64, 0i64);
            for (k, docid, l) in chunk {
                m.remove(k)?;
                if d.remove(&docid.to_be_bytes()[..])?.is_some() {
                    n += 1;
                    len += l;
                }
            }
            bump(meta_t, meta::DOCS, -n)?;
            bump(meta_t, meta::DOC_LEN, -len)
        })?;
    }
    for kv in t.usage_by_session.scan_prefix(&prefix) {
        let (k, v) = kv?;
        t.usage.remove(&v)?;
        t.usage_by_session.remove(&k)?;
    }
    for tree in [&t.tool_runs, &t.turns, &t.open_turns] {
        for k in tree.scan_prefix(&prefix).keys() {
            tree.remove(k?)?;
        }
    }
    t.pending_deletes.remove(id.as_bytes())?;
    Ok(())
}

/// Completes deletions a crash interrupted; returns how many.
pub(crate) fn finish_pending_deletes(inner: &Inner) -> Result<usize> {
    let ids: Vec<String> = inner
        .t
        .pending_deletes
        .iter()
        .keys()
        .filter_map(|k| k.ok().and_then(|k| String::from_utf8(k.to_vec()).ok()))
        .collect();
    for id in &ids {
        purge(inner, id)?;
    }
    Ok(ids.len())
}

#[cfg(test)]
mod tests {
    use super::title_from_prompt;

    #[test]
    fn titles_from_prompts() {
        assert_eq!(title_from_prompt("\n  plot   sin(x)\nmore"), "plot sin(x)");
        assert_eq!(title_from_prompt("   "), "Untitled");
        let long = "word ".repeat(30);
        let t = title_from_prompt(&long);
        assert!(t.ends_with('…') && t.chars().count() <= 60, "{t}");
        assert_eq!(title_from_prompt(&"x".repeat(100)).chars().count(), 60);
    }
}
