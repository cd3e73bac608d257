//! A session's content: messages by (session, seq), tool runs by (session, call id), and turn
//! markers that let the next open tell a finished turn from one a crash cut short.

use llm_repl_protocol::{FinishReason, Message, SessionInfo, ToolRun, ToolStatus, TurnId};
use sled::Transactional;

use crate::append::{Item, append_trees, append_tx};
use crate::error::{Result, StoreError};
use crate::index::ab;
use crate::records::{
    self, MessageRecord, RECORD_VERSION, SessionRecord, ToolRunRecord, TurnRecord,
};
use crate::sessions::get_in;
use crate::{Inner, Store, keys};

/// Everything stored of one session, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedSession {
    pub session: SessionRecord,
    /// By seq.
    pub messages: Vec<MessageRecord>,
    /// In start order.
    pub tool_runs: Vec<ToolRunRecord>,
    /// In start order; a crashed turn has `crashed == true` and reason `Interrupted`.
    pub turns: Vec<TurnRecord>,
}

impl LoadedSession {
    pub fn info(&self) -> SessionInfo {
        self.session.info()
    }

    /// The plain messages, for the model's context and `Event::SessionLoaded`: superseded ones
    /// (dropped by a retry or an edit, see `rewind.rs`) are left out.
    pub fn plain_messages(&self) -> Vec<Message> {
        self.messages
            .iter()
            .filter(|m| !m.superseded)
            .map(|m| m.message.clone())
            .collect()
    }

    /// The plain tool runs, for `Event::SessionLoaded`, without those of superseded messages.
    pub fn plain_tool_runs(&self) -> Vec<ToolRun> {
        let dropped = self.superseded_calls();
        self.tool_runs
            .iter()
            .filter(|r| !dropped.contains(r.run.call.id.as_str()))
            .map(|r| r.run.clone())
            .collect()
    }
}

impl Store {
    /// Appends one message to a session and returns its seq (0, 1, 2, ...). The message, its
    /// index postings and the session's counters are one transaction, flushed to disk before
    /// this returns.
    pub fn append_message(&self, session: &str, message: &Message) -> Result<u64> {
        let seqs =
            self.append_messages_at(session, std::slice::from_ref(message), crate::now_ms())?;
        seqs.first().copied().ok_or_else(|| StoreError::Corrupt {
            tree: "messages",
            detail: "append returned no seq".into(),
        })
    }

    /// Appends several messages in one transaction, stamped `at_ms` (imports, bulk loads, tests
    /// of recency); flushed like [`Store::append_message`].
    pub fn append_messages_at(
        &self,
        session: &str,
        messages: &[Message],
        at_ms: u64,
    ) -> Result<Vec<u64>> {
        self.writable()?;
        let items: Vec<Item<'_>> = messages.iter().map(|m| Item::new(m, at_ms)).collect();
        let trees = append_trees(self.t());
        let seqs = trees[..].transaction(|tx| append_tx(tx, session, &items))?;
        self.sync()?;
        // After the durable point a merge only reorganises the index: if it fails, the index is
        // still complete (just more segments) and the next append tries again, so the append,
        // which did succeed, must not report an error.
        let _ = crate::index::maybe_merge(&self.inner);
        Ok(seqs)
    }

    /// Records a tool run: call it when the run starts (status `Running`) and again when it
    /// finishes; the start time and order of the first write are kept. Flushed before returning.
    pub fn record_tool_run(&self, session: &str, run: &ToolRun) -> Result<()> {
        self.writable()?;
        let t = self.t();
        let key = keys::sess_str(session, &run.call.id);
        let now = crate::now_ms();
        (&t.sessions, &t.tool_runs).transaction(|(s, r)| {
            get_in(s, session)?;
            let old: Option<ToolRunRecord> = match r.get(&key)? {
                Some(b) => Some(ab(records::decode("tool_runs", &b))?),
                None => None,
            };
            let rec = ToolRunRecord {
                v: RECORD_VERSION,
                ord: match &old {
                    Some(o) => o.ord,
                    None => r.generate_id()?,
                },
                started_ms: old.as_ref().map_or(now, |o| o.started_ms),
                finished_ms: (run.status != ToolStatus::Running).then_some(now),
                run: run.clone(),
            };
            r.insert(key.as_slice(), ab(records::encode("tool_runs", &rec))?)?;
            Ok(())
        })?;
        self.sync()
    }

    /// Marks a turn as running. Turn numbers may repeat across agent lifetimes: a turn is found
    /// by (session, turn) only while it is open.
    pub fn begin_turn(&self, session: &str, turn: TurnId) -> Result<()> {
        self.writable()?;
        let t = self.t();
        let open_key = keys::sess_u64(session, turn);
        let now = crate::now_ms();
        (&t.sessions, &t.turns, &t.open_turns).transaction(|(s, turns, open)| {
            let rec = get_in(s, session)?;
            if let Some(ord) = open.get(&open_key)? {
                // The same number is still open: the previous one never ended.
                close(
                    turns,
                    session,
                    keys::be_u64(Some(&ord)),
                    FinishReason::Interrupted,
                    false,
                    now,
                )?;
            }
            let ord = turns.generate_id()?;
            let tr = TurnRecord {
                v: RECORD_VERSION,
                turn,
                started_ms: now,
                first_seq: rec.messages,
                finished_ms: None,
                reason: None,
                crashed: false,
            };
            turns.insert(
                keys::sess_u64(session, ord),
                ab(records::encode("turns", &tr))?,
            )?;
            open.insert(open_key.as_slice(), &ord.to_be_bytes()[..])?;
            Ok(())
        })?;
        self.sync()
    }

    /// Marks a running turn as ended. Ending a turn that is not open does nothing.
    pub fn end_turn(&self, session: &str, turn: TurnId, reason: FinishReason) -> Result<()> {
        self.writable()?;
        let t = self.t();
        let open_key = keys::sess_u64(session, turn);
        let now = crate::now_ms();
        (&t.turns, &t.open_turns).transaction(|(turns, open)| {
            if let Some(ord) = open.remove(open_key.as_slice())? {
                close(turns, session, keys::be_u64(Some(&ord)), reason, false, now)?;
            }
            Ok(())
        })?;
        self.sync()
    }

    /// Everything stored of a session.
    pub fn load_session(&self, id: &str) -> Result<LoadedSession> {
        let t = self.t();
        let session = self
            .get_session(id)?
            .ok_or_else(|| StoreError::NoSession(id.to_string()))?;
        let prefix = keys::sess_prefix(id);
        let mut messages = Vec::with_capacity(usize::try_from(session.messages).unwrap_or(0));
        for v in t.messages.scan_prefix(&prefix).values() {
            messages.push(records::decode::<MessageRecord>("messages", &v?)?);
        }
        let mut tool_runs = Vec::new();
        for v in t.tool_runs.scan_prefix(&prefix).values() {
            tool_runs.push(records::decode::<ToolRunRecord>("tool_runs", &v?)?);
        }
        tool_runs.sort_by_key(|r| r.ord);
        let mut turns = Vec::new();
        for v in t.turns.scan_prefix(&prefix).values() {
            turns.push(records::decode::<TurnRecord>("turns", &v?)?);
        }
        Ok(LoadedSession {
            session,
            messages,
            tool_runs,
            turns,
        })
    }
}

/// Closes the turn record `ord` of `session`.
fn close(
    turns: &sled::transaction::TransactionalTree,
    session: &str,
    ord: u64,
    reason: FinishReason,
    crashed: bool,
    now: u64,
) -> crate::index::TxResult<()> {
    let key = keys::sess_u64(session, ord);
    if let Some(b) = turns.get(&key)? {
        let mut tr: TurnRecord = ab(records::decode("turns", &b))?;
        tr.reason = Some(reason);
        tr.crashed = crashed;
        tr.finished_ms = (!crashed).then_some(now);
        turns.insert(key, ab(records::encode("turns", &tr))?)?;
    }
    Ok(())
}

/// At open: every turn still open was cut short by the death of the previous owner.
pub(crate) fn close_crashed_turns(inner: &Inner) -> Result<Vec<(String, u64)>> {
    let t = &inner.t;
    let mut closed = Vec::new();
    for kv in t.open_turns.iter() {
        let (k, ord) = kv?;
        let Some((session, rest)) = keys::split_sess(&k) else {
            continue;
        };
        let turn = keys::be_u64(Some(rest));
        let ord = keys::be_u64(Some(&ord));
        (&t.turns, &t.open_turns).transaction(|(turns, open)| {
            close(turns, &session, ord, FinishReason::Interrupted, true, 0)?;
            open.remove(&k)?;
            Ok(())
        })?;
        closed.push((session, turn));
    }
    Ok(closed)
}
