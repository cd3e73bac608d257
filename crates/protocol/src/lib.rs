//! The language spoken between a frontend and the agent.
//!
//! A frontend (the TUI, headless `exec`, later a socket) sends [`Op`]s and renders [`Event`]s;
//! the agent does the opposite. Both are plain serde types so the same protocol can cross a
//! process boundary unchanged.
//!
//! This crate owns only data: it must never do I/O, spawn tasks or depend on tokio, and it must
//! never name a provider SDK, sled or ratatui. The one exception is [`calendar`], the project's
//! clock and days (everyone depends on this crate, so it is the one place for them): it reads the
//! clock and, once at start, the system time zone.

pub mod calendar;
mod event;
mod message;
mod op;
mod terminal_text;
mod usage;

pub use event::{
    ApprovalRequest, Event, Finding, FinishReason, ForkParent, ModelChoice, ModelSource,
    NoticeLevel, OutputStream, RiskLevel, SearchHit, SessionInfo, SessionSummary, ToolRun,
    ToolStatus, TurnId,
};
pub use message::{Message, Role, ToolCall, ToolResult};
pub use op::{ApprovalDecision, ApprovalPolicy, BudgetScope, ExportFormat, Op, RequestId};
pub use terminal_text::terminal_safe;
pub use usage::{CostReport, Usage};

/// A session's identifier: a sortable, printable string (time-ordered, then random).
pub type SessionId = String;

/// The provider-given identifier of one tool call (`tool_call_id` in OpenAI's API).
pub type CallId = String;
