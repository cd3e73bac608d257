//! Schema versions and the migrations between them.
//!
//! Version 0 is the prototype's layout (kept here so old data directories open): no schema key;
//! tree `sessions` held bare [`SessionV0`] JSON, tree `messages` held bare `protocol::Message`
//! JSON under text keys `"{session}/{seq:010}"`, and there was no updated-time index, no
//! counters and no search index. Version 1 is the current layout (see `keys.rs`, `records.rs`).
//!
//! Each session migrates in one transaction (old message keys removed, new records, index
//! postings and the session record written together), and sessions already in the new layout
//! are skipped, so a migration cut short by a crash simply continues at the next open. The
//! schema key is written last.

use llm_repl_protocol::Message;
use serde::{Deserialize, Serialize};
use sled::Transactional;

use crate::append::{Item, append_trees, append_tx};
use crate::error::{Result, StoreError};
use crate::index::{ab, bump};
use crate::records::{self, RECORD_VERSION, SessionRecord};
use crate::{SCHEMA_VERSION, Trees, meta};

/// A session record of schema 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionV0 {
    pub id: String,
    pub title: String,
    pub created_ms: u64,
    pub model: String,
}

/// The message key of schema 0.
pub fn v0_message_key(session: &str, seq: u64) -> String {
    format!("{session}/{seq:010}")
}

fn schema(t: &Trees) -> Result<Option<u32>> {
    Ok(t.meta
        .get(meta::SCHEMA)?
        .and_then(|v| <[u8; 4]>::try_from(&v[..]).ok())
        .map(u32::from_be_bytes))
}

/// Brings the database to [`SCHEMA_VERSION`]; returns the version migrated from, if any.
pub(crate) fn check_and_migrate(db: &sled::Db, t: &Trees) -> Result<Option<u32>> {
    let found = match schema(t)? {
        Some(v) if v > SCHEMA_VERSION => {
            return Err(StoreError::NewerSchema {
                found: v,
                known: SCHEMA_VERSION,
            });
        }
        Some(v) => v,
        // No schema key: a new database, or one from before schema keys existed.
        None if t.sessions.is_empty() && t.messages.is_empty() => {
            t.meta
                .insert(meta::SCHEMA, &SCHEMA_VERSION.to_be_bytes()[..])?;
            return Ok(None);
        }
        None => 0,
    };
    if found == SCHEMA_VERSION {
        return Ok(None);
    }
    if found == 0 {
        v0_to_v1(t)?;
    }
    t.meta
        .insert(meta::SCHEMA, &SCHEMA_VERSION.to_be_bytes()[..])?;
    db.flush()?;
    Ok(Some(found))
}

fn v0_to_v1(t: &Trees) -> Result<()> {
    let mut old_sessions = Vec::new();
    for v in t.sessions.iter().values() {
        let v = v?;
        // Already migrated by an earlier, interrupted run.
        if records::decode::<SessionRecord>("sessions", &v).is_ok() {
            continue;
        }
        let s: SessionV0 = serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt {
            tree: "sessions",
            detail: format!("schema 0 session: {e}"),
        })?;
        old_sessions.push(s);
    }
    for s in old_sessions {
        let prefix = format!("{}/", s.id);
        let mut old_keys = Vec::new();
        let mut msgs: Vec<Message> = Vec::new();
        for kv in t.messages.scan_prefix(prefix.as_bytes()) {
            let (k, v) = kv?;
            msgs.push(serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt {
                tree: "messages",
                detail: format!("schema 0 message: {e}"),
            })?);
            old_keys.push(k);
        }
        let rec = SessionRecord {
            v: RECORD_VERSION,
            id: s.id.clone(),
            title: s.title.clone(),
            created_ms: s.created_ms,
            updated_ms: s.created_ms,
            provider: "unknown".into(),
            model: s.model.clone(),
            mock: false,
            context_window: None,
            messages: 0,
            usage: Default::default(),
            cost_usd: None,
            unknown_cost_calls: 0,
            tags: Vec::new(),
            parent: None,
        };
        let items: Vec<Item<'_>> = msgs.iter().map(|m| Item::new(m, s.created_ms)).collect();
        let trees = append_trees(t);
        trees[..].transaction(|tx| {
            let (sessions, messages, meta_t) = (&tx[0], &tx[2], &tx[6]);
            for k in &old_keys {
                messages.remove(k)?;
            }
            sessions.insert(rec.id.as_bytes(), ab(records::encode("sessions", &rec))?)?;
            bump(meta_t, meta::SESSIONS, 1)?;
            append_tx(tx, &rec.id, &items)
        })?;
    }
    Ok(())
}
