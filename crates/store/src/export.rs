//! Export and import of whole sessions: JSON (every record, re-importable to the same records)
//! and Markdown (a readable transcript, tool calls and outputs as fenced blocks).
//!
//! Store-internal numbers (index docids, ordinals) are not part of an export: docids are written
//! as 0 and ordinals as positions, so exporting, importing elsewhere and exporting again yields
//! the same document.

use std::collections::HashMap;
use std::fmt::Write as _;

use llm_repl_protocol::{Role, SessionId, ToolCall};
use serde::{Deserialize, Serialize};
use sled::Transactional;

use crate::append::{Item, append_trees, append_tx};
use crate::error::{Result, StoreError};
use crate::records::{self, MessageRecord, SessionRecord, ToolRunRecord, TurnRecord, UsageRecord};
use crate::{Store, keys};
use llm_repl_protocol::calendar::Calendar;

/// The `format` field of a JSON export.
pub const EXPORT_FORMAT: &str = "llm-repl-session";

/// A whole session as one JSON document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionExport {
    /// Always [`EXPORT_FORMAT`].
    pub format: String,
    /// Layout version of this document (= the record version).
    pub v: u32,
    pub session: SessionRecord,
    pub messages: Vec<MessageRecord>,
    pub tool_runs: Vec<ToolRunRecord>,
    pub turns: Vec<TurnRecord>,
    pub usage: Vec<UsageRecord>,
}

fn fence(body: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in body.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    "`".repeat((longest + 1).max(3))
}

fn fenced(out: &mut String, lang: &str, body: &str) {
    let f = fence(body);
    let nl = if body.ends_with('\n') { "" } else { "\n" };
    let _ = write!(out, "{f}{lang}\n{body}{nl}{f}\n\n");
}

fn pretty_args(c: &ToolCall) -> String {
    serde_json::from_str::<serde_json::Value>(&c.arguments)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| c.arguments.clone())
}

impl Store {
    /// A session with every record, ready for JSON.
    pub fn export_session(&self, id: &str) -> Result<SessionExport> {
        let l = self.load_session(id)?;
        let mut messages = l.messages;
        for m in &mut messages {
            m.docid = 0;
        }
        let mut tool_runs = l.tool_runs;
        for (i, r) in tool_runs.iter_mut().enumerate() {
            r.ord = i as u64;
        }
        Ok(SessionExport {
            format: EXPORT_FORMAT.to_string(),
            v: records::RECORD_VERSION,
            session: l.session,
            messages,
            tool_runs,
            turns: l.turns,
            usage: self.session_usage(id)?,
        })
    }

    /// The JSON export of a session (pretty-printed).
    pub fn export_json(&self, id: &str) -> Result<String> {
        serde_json::to_string_pretty(&self.export_session(id)?).map_err(|e| StoreError::Corrupt {
            tree: "sessions",
            detail: format!("cannot encode export: {e}"),
        })
    }

    /// Imports a JSON export; the session must not exist yet. Returns its id.
    pub fn import_json(&self, json: &str) -> Result<SessionId> {
        let e: SessionExport =
            serde_json::from_str(json).map_err(|e| StoreError::Import(e.to_string()))?;
        self.import_session(&e)?;
        Ok(e.session.id)
    }

    /// Imports an export's records as they are (times, usage, turns); flushed before returning.
    pub fn import_session(&self, e: &SessionExport) -> Result<()> {
        self.writable()?;
        if e.format != EXPORT_FORMAT {
            return Err(StoreError::Import(format!(
                "not an llm-repl session export (format {:?})",
                e.format
            )));
        }
        if e.v > records::RECORD_VERSION {
            return Err(StoreError::Import(format!(
                "export version {} is newer than this build",
                e.v
            )));
        }
        if e.messages
            .iter()
            .enumerate()
            .any(|(i, m)| m.seq != i as u64)
        {
            return Err(StoreError::Import(
                "message seqs are not 0, 1, 2, ...".into(),
            ));
        }
        let id = &e.session.id;
        let mut empty = e.session.clone();
        empty.messages = 0;
        self.insert_session(&empty)?;
        let t = self.t();
        for chunk in e.messages.chunks(512) {
            let items: Vec<Item<'_>> = chunk
                .iter()
                .map(|m| Item {
                    superseded: m.superseded,
                    ..Item::new(&m.message, m.at_ms)
                })
                .collect();
            append_trees(t)[..].transaction(|tx| append_tx(tx, id, &items))?;
        }
        // Restore the record exactly (updated time, totals, tags) over what the appends computed.
        (&t.sessions, &t.by_updated).transaction(|(s, u)| {
            let now = crate::sessions::get_in(s, id)?;
            crate::sessions::put_session(s, u, Some(&now), &e.session)
        })?;
        for r in &e.tool_runs {
            let mut r = r.clone();
            r.ord = self.inner.db.generate_id()?;
            t.tool_runs.insert(
                keys::sess_str(id, &r.run.call.id),
                records::encode("tool_runs", &r)?,
            )?;
        }
        for tr in &e.turns {
            let ord = self.inner.db.generate_id()?;
            t.turns
                .insert(keys::sess_u64(id, ord), records::encode("turns", tr)?)?;
        }
        for u in &e.usage {
            let ord = self.inner.db.generate_id()?;
            let key = keys::usage(u.day, id, ord);
            t.usage
                .insert(key.as_slice(), records::encode("usage", u)?)?;
            t.usage_by_session.insert(keys::sess_u64(id, ord), key)?;
        }
        self.inner.db.flush()?;
        crate::index::maybe_merge(&self.inner)
    }

    /// A readable Markdown transcript of a session, its times in the store's calendar.
    pub fn export_markdown(&self, id: &str) -> Result<String> {
        let e = self.export_session(id)?;
        Ok(markdown(&e, &self.calendar()))
    }
}

/// Renders an export as Markdown, times as `calendar` shows them.
pub fn markdown(e: &SessionExport, calendar: &Calendar) -> String {
    let s = &e.session;
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", s.title.trim());
    let mock = if s.mock { " (mock provider)" } else { "" };
    let cost = match s.cost_usd {
        Some(c) if s.unknown_cost_calls == 0 => format!("${c:.4}"),
        Some(c) => format!("${c:.4} + {} calls of unknown price", s.unknown_cost_calls),
        None if s.unknown_cost_calls > 0 => "unknown".to_string(),
        None => "$0".to_string(),
    };
    let _ = writeln!(out, "- Session: `{}`", s.id);
    let _ = writeln!(out, "- Model: {}/{}{mock}", s.provider, s.model);
    let _ = writeln!(
        out,
        "- Created: {} · Updated: {}",
        calendar.format_stamp(s.created_ms),
        calendar.format_stamp(s.updated_ms)
    );
    let _ = writeln!(
        out,
        "- Messages: {} · Tokens: {} in / {} out · Cost: {cost}",
        s.messages, s.usage.input, s.usage.output
    );
    if !s.tags.is_empty() {
        let _ = writeln!(out, "- Tags: {}", s.tags.join(", "));
    }
    out.push('\n');
    let runs: HashMap<&str, &ToolRunRecord> = e
        .tool_runs
        .iter()
        .map(|r| (r.run.call.id.as_str(), r))
        .collect();
    for m in &e.messages {
        for tr in e.turns.iter().filter(|t| t.first_seq == m.seq && t.crashed) {
            let _ = writeln!(
                out,
                "> **Turn {} was interrupted** (the program stopped while it ran).\n",
                tr.turn
            );
        }
        let msg = &m.message;
        let who = match msg.role {
            Role::System => "System",
            Role::User => "User",
            Role::Assistant => "Assistant",
            Role::Tool => "Tool result",
        };
        let dropped = if m.superseded {
            " · superseded (dropped by a retry or an edit)"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "## {who} · {}{dropped}\n",
            calendar.format_stamp(m.at_ms)
        );
        if msg.role == Role::Tool {
            if let Some(c) = &msg.tool_call_id {
                let _ = writeln!(out, "For call `{c}`:\n");
            }
            fenced(&mut out, "text", &msg.content);
        } else if !msg.content.is_empty() {
            let _ = writeln!(out, "{}\n", msg.content.trim_end());
        }
        for c in &msg.tool_calls {
            let _ = writeln!(out, "**Tool call** `{}` (`{}`):\n", c.name, c.id);
            fenced(&mut out, "json", &pretty_args(c));
            if let Some(r) = runs.get(c.id.as_str()) {
                let status = serde_json::to_value(r.run.status)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                let _ = writeln!(out, "Output ({status}, {} ms):\n", r.run.duration_ms);
                fenced(&mut out, "text", &r.run.output);
            }
        }
    }
    for tr in e
        .turns
        .iter()
        .filter(|t| t.first_seq >= s.messages && t.crashed)
    {
        let _ = writeln!(
            out,
            "> **Turn {} was interrupted** before any message was stored.\n",
            tr.turn
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fences_are_longer_than_backtick_runs_inside() {
        assert_eq!(fence("plain"), "```");
        assert_eq!(fence("a ```` b"), "`````");
    }
}
