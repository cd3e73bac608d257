//! The values the store keeps: versioned serde records (JSON), one struct per tree.
//!
//! Every record carries `v`, the layout version it was written with. A reader accepts any `v` up
//! to [`RECORD_VERSION`] (new fields come with serde defaults) and refuses newer ones with a clear
//! error instead of misreading them.
//!
//! Versions: 1 = the first layout; 2 adds `SessionRecord::parent` (a fork's origin) and
//! `MessageRecord::superseded` (a message dropped by a retry or an edit). Both default when a v1
//! record is read, so v1 data needs no rewrite; a v1 build refuses v2 records rather than show
//! superseded messages as live.

use llm_repl_protocol::{
    FinishReason, ForkParent, Message, SessionId, SessionInfo, SessionSummary, ToolRun, TurnId,
    Usage,
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::error::{Result, StoreError};

/// The version written into every new record.
pub const RECORD_VERSION: u32 = 2;

fn v1() -> u32 {
    RECORD_VERSION
}

/// A session's metadata (tree `sessions`, key = id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    #[serde(default = "v1")]
    pub v: u32,
    pub id: SessionId,
    pub title: String,
    pub created_ms: u64,
    pub updated_ms: u64,
    pub provider: String,
    pub model: String,
    #[serde(default)]
    pub mock: bool,
    #[serde(default)]
    pub context_window: Option<u64>,
    /// Number of messages; also the seq the next message gets (seqs count from 0).
    pub messages: u64,
    /// Sum of every recorded usage of this session.
    #[serde(default)]
    pub usage: Usage,
    /// Sum of the known costs; `None` while no call had a known price.
    #[serde(default)]
    pub cost_usd: Option<f64>,
    /// Calls whose cost was unknown (a model without a price).
    #[serde(default)]
    pub unknown_cost_calls: u64,
    #[serde(default)]
    pub tags: Vec<String>,
    /// The session this one was forked from (v2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<ForkParent>,
}

impl SessionRecord {
    /// A session with no messages yet, created and updated at `now_ms` (a new session or a fork).
    pub fn empty(info: &SessionInfo, now_ms: u64, parent: Option<ForkParent>) -> Self {
        SessionRecord {
            v: RECORD_VERSION,
            id: info.id.clone(),
            title: info.title.clone(),
            created_ms: now_ms,
            updated_ms: now_ms,
            provider: info.provider.clone(),
            model: info.model.clone(),
            mock: info.mock,
            context_window: info.context_window,
            messages: 0,
            usage: Default::default(),
            cost_usd: None,
            unknown_cost_calls: 0,
            tags: Vec::new(),
            parent,
        }
    }

    pub fn summary(&self) -> SessionSummary {
        SessionSummary {
            id: self.id.clone(),
            title: self.title.clone(),
            created_ms: self.created_ms,
            updated_ms: self.updated_ms,
            provider: self.provider.clone(),
            model: self.model.clone(),
            messages: self.messages,
            usage: self.usage,
            cost_usd: self.cost_usd,
            parent: self.parent.clone(),
        }
    }

    pub fn info(&self) -> SessionInfo {
        SessionInfo {
            id: self.id.clone(),
            title: self.title.clone(),
            provider: self.provider.clone(),
            model: self.model.clone(),
            mock: self.mock,
            context_window: self.context_window,
        }
    }
}

/// One stored message (tree `messages`, key = (session, seq)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRecord {
    #[serde(default = "v1")]
    pub v: u32,
    pub seq: u64,
    pub at_ms: u64,
    /// Its document id in the full-text index.
    pub docid: u64,
    pub message: Message,
    /// Dropped from the conversation by a retry or an edit of the prompt (v2): kept for the
    /// record (export, search) but no longer part of the model's context.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub superseded: bool,
}

/// One tool execution (tree `tool_runs`, key = (session, call id)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolRunRecord {
    #[serde(default = "v1")]
    pub v: u32,
    /// Store-wide increasing number given at the first write: runs load in start order.
    pub ord: u64,
    pub started_ms: u64,
    #[serde(default)]
    pub finished_ms: Option<u64>,
    pub run: ToolRun,
}

/// One turn (tree `turns`, key = (session, ordinal)). A turn with `reason == None` is running;
/// after a crash it is closed with `Interrupted` and `crashed = true`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TurnRecord {
    #[serde(default = "v1")]
    pub v: u32,
    pub turn: TurnId,
    pub started_ms: u64,
    /// The seq the first message of this turn got (the session's message count at its start).
    pub first_seq: u64,
    #[serde(default)]
    pub finished_ms: Option<u64>,
    #[serde(default)]
    pub reason: Option<FinishReason>,
    /// True when the turn was found open after a crash and closed by the store.
    #[serde(default)]
    pub crashed: bool,
}

/// One model call's usage (trees `usage` by (day, session) and `usage_by_session`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageRecord {
    #[serde(default = "v1")]
    pub v: u32,
    pub at_ms: u64,
    /// Day number (days since 1970-01-01) in the store's calendar when recorded; readers
    /// re-derive it from `at_ms` with the calendar in force (see `usage.rs`).
    pub day: u32,
    pub session: SessionId,
    pub provider: String,
    pub model: String,
    pub usage: Usage,
    pub cost_usd: Option<f64>,
}

/// One audit entry (tree `audit`, key = (time, ordinal)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    #[serde(default = "v1")]
    pub v: u32,
    pub at_ms: u64,
    /// e.g. `tool_exec`, `approval`, `provider_call`, `config_change`.
    pub kind: String,
    pub detail: serde_json::Value,
}

/// Records that know their layout version.
pub(crate) trait Versioned {
    fn version(&self) -> u32;
}

macro_rules! versioned {
    ($($t:ty),*) => { $(impl Versioned for $t { fn version(&self) -> u32 { self.v } })* };
}
versioned!(
    SessionRecord,
    MessageRecord,
    ToolRunRecord,
    TurnRecord,
    UsageRecord,
    AuditRecord
);

pub(crate) fn encode<T: Serialize>(tree: &'static str, r: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(r).map_err(|e| StoreError::Corrupt {
        tree,
        detail: format!("cannot encode: {e}"),
    })
}

pub(crate) fn decode<T: DeserializeOwned + Versioned>(tree: &'static str, b: &[u8]) -> Result<T> {
    let r: T = serde_json::from_slice(b).map_err(|e| StoreError::Corrupt {
        tree,
        detail: e.to_string(),
    })?;
    if r.version() > RECORD_VERSION {
        return Err(StoreError::Corrupt {
            tree,
            detail: format!(
                "record version {} is newer than this build ({RECORD_VERSION})",
                r.version()
            ),
        });
    }
    Ok(r)
}
