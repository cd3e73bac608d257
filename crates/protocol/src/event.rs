//! Events: what the agent tells a frontend.

use serde::{Deserialize, Serialize};

use crate::{CallId, CostReport, Message, RequestId, Role, SessionId, ToolCall, ToolResult, Usage};

/// Turns are numbered from 1 within an agent's lifetime.
pub type TurnId = u64;

/// Why a turn ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// The model answered without asking for a tool.
    Completed,
    /// The user interrupted; what was produced so far is kept.
    Interrupted,
    /// The step limit was hit.
    MaxSteps,
    /// A budget would have been crossed; no request was sent.
    Budget,
    /// The provider failed after retries (an `Error` event says why).
    Failed,
}

/// Which stream of a tool process a chunk came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputStream {
    Stdout,
    Stderr,
    /// Lines from the runner itself (sandbox warnings, restarts, truncation markers).
    Info,
}

/// Where a tool call stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolStatus {
    Running,
    Ok,
    Error,
    TimedOut,
    Interrupted,
    Denied,
}

/// How worrying a finding of the risk analysis is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    Low,
    Medium,
    High,
}

/// One finding of the static risk analysis of a tool call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub level: RiskLevel,
    /// A short stable code, e.g. `import-subprocess`.
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
}

/// A tool call waiting for the user's decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRequest {
    pub call: ToolCall,
    pub findings: Vec<Finding>,
    /// Why approval is needed, in one sentence.
    pub reason: String,
}

/// One tool execution as stored, for rebuilding a trace on resume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolRun {
    pub call: ToolCall,
    pub status: ToolStatus,
    pub duration_ms: u64,
    /// Everything the process printed (capped), streams interleaved as they came.
    pub output: String,
    #[serde(default)]
    pub findings: Vec<Finding>,
}

/// What a frontend needs to label the current session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub id: SessionId,
    pub title: String,
    pub provider: String,
    pub model: String,
    /// True for the offline mock provider: it must be labelled as such wherever the model shows.
    pub mock: bool,
    #[serde(default)]
    pub context_window: Option<u64>,
}

/// One line of the history browser.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionSummary {
    pub id: SessionId,
    pub title: String,
    /// Milliseconds since the Unix epoch.
    pub created_ms: u64,
    pub updated_ms: u64,
    pub provider: String,
    pub model: String,
    pub messages: u64,
    pub usage: Usage,
    pub cost_usd: Option<f64>,
    /// The session this one was forked from (`Op::Fork`), with that session's title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<ForkParent>,
}

/// Where a forked session came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForkParent {
    pub id: SessionId,
    /// The parent's title when the fork was made (it may have been renamed or deleted since).
    pub title: String,
}

/// One full-text search result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    pub session_id: SessionId,
    pub session_title: String,
    pub seq: u64,
    pub role: Role,
    pub snippet: String,
    /// Byte ranges within `snippet` that matched the query.
    pub highlights: Vec<(usize, usize)>,
    pub score: f32,
}

/// Where an entry of the model picker comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelSource {
    /// The provider's server lists it (`GET /models`).
    Listed,
    /// The price table knows it for this provider (the server may not list it).
    Priced,
    /// A route of the config (`[routes.NAME]`): picking it switches the provider to the route.
    Route,
}

/// One entry of the model picker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelChoice {
    pub name: String,
    pub source: ModelSource,
    /// Tokens, where the server or the price table knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_window: Option<u64>,
}

impl Event {
    /// The event itself and the request it answers, if it is a reply.
    pub fn untag(self) -> (Option<RequestId>, Event) {
        match self {
            Event::Reply { request, body } => (Some(request), body.untag().1),
            ev => (None, ev),
        }
    }
}

/// Severity of a notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeLevel {
    Info,
    Warn,
    Error,
}

/// One report from the agent to a frontend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A new (empty) session became current.
    SessionStarted {
        info: SessionInfo,
    },
    /// A stored session became current; frontends rebuild their view from this.
    SessionLoaded {
        info: SessionInfo,
        messages: Vec<Message>,
        tool_runs: Vec<ToolRun>,
    },
    /// The model or provider of the current session changed (`Op::SetModel`,
    /// `Op::SetProvider`). The session and its conversation go on unchanged; the new choice
    /// applies from the next model call, also inside a running turn.
    ModelSwitched {
        info: SessionInfo,
        from_provider: String,
        from_model: String,
    },
    /// The current session's last prompt and everything after it were dropped from the
    /// conversation (`Op::Retry`, `Op::EditLast`); a `TurnStarted` with the prompt to run
    /// instead follows. `dropped` messages left the model's context; the store keeps them,
    /// marked superseded.
    Rewound {
        dropped: u64,
    },
    TurnStarted {
        turn: TurnId,
        prompt: String,
    },
    /// One model round trip of a turn begins (steps count from 1).
    StepStarted {
        turn: TurnId,
        step: u32,
    },
    /// Streamed assistant text.
    TextDelta {
        turn: TurnId,
        text: String,
    },
    /// The assistant's message of one step, complete and persisted.
    AssistantMessage {
        turn: TurnId,
        message: Message,
    },
    /// A tool call is about to run (after validation and approval).
    ToolCallStarted {
        turn: TurnId,
        call: ToolCall,
    },
    /// Output of a running tool, as it arrives.
    ToolOutput {
        call_id: CallId,
        stream: OutputStream,
        chunk: String,
    },
    ApprovalRequested {
        request: ApprovalRequest,
    },
    /// A tool call ended; `result` is what the model will observe.
    ToolCallFinished {
        call_id: CallId,
        status: ToolStatus,
        duration_ms: u64,
        result: ToolResult,
    },
    /// Tokens and money after a model call.
    Usage {
        turn: TurnId,
        model: String,
        /// This call.
        usage: Usage,
        /// The turn so far.
        turn_usage: Usage,
        /// The session so far.
        session_usage: Usage,
        cost: CostReport,
        /// Tokens of the context sent with this call, for the fill gauge.
        context_tokens: u64,
        context_window: Option<u64>,
        /// Spent and limit of the tightest budget, when budgets exist.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        budget: Option<(f64, f64)>,
    },
    TurnFinished {
        turn: TurnId,
        reason: FinishReason,
    },
    SessionList {
        sessions: Vec<SessionSummary>,
        total: usize,
    },
    SearchResults {
        query: String,
        hits: Vec<SearchHit>,
    },
    /// The first messages of a stored session (long contents cut), answering PreviewSession.
    SessionPreview {
        id: SessionId,
        messages: Vec<Message>,
    },
    Exported {
        id: SessionId,
        path: String,
    },
    /// The usage report answering `Op::Stats`: its own event, so no frontend has to recognise
    /// it among notices. `summary` is its first line, `text` the whole report as rendered.
    UsageReport {
        days: u32,
        /// "today (UTC)", "last 30 days (local time, Europe/Berlin)": whose days they are.
        period: String,
        summary: String,
        text: String,
    },
    /// The model picker's entries, answering `Op::ListModels`: the server's list first, then
    /// priced models it did not list, then routes. `error` says (in one line) why the server's
    /// list is missing; the other entries are still there and any name can still be typed.
    ModelList {
        provider: String,
        models: Vec<ModelChoice>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// A provider's circuit breaker opened (`healthy: false`: calls skip it for a while) or
    /// closed again. Frontends show unhealthy providers in the meter.
    ProviderHealth {
        provider: String,
        healthy: bool,
        detail: String,
    },
    /// A transient status line that replaces the previous one with the same `key` (a provider
    /// retrying: "openai: server error (HTTP 500); retrying in 1.2s, attempt 2 of 9"). An empty
    /// `text` clears it. Frontends show one line per key, not a line per update.
    Status {
        key: String,
        level: NoticeLevel,
        text: String,
    },
    /// Plain text for the user (stats tables, route choices, warnings).
    Notice {
        level: NoticeLevel,
        text: String,
    },
    /// Something failed that the user must know about.
    Error {
        message: String,
    },
    /// The agent task stopped (after `Op::Shutdown` or a fatal error).
    ShutdownComplete,
    /// `body` answers the frontend's `Op::Request` with this id.
    Reply {
        request: RequestId,
        body: Box<Event>,
    },
}
