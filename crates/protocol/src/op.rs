//! Operations: what a frontend asks of the agent.

use serde::{Deserialize, Serialize};

use crate::{CallId, SessionId};

/// The user's answer to an [`crate::Event::ApprovalRequested`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalDecision {
    /// Run this call.
    Approve,
    /// Run this call and every later one of the same tool and risk in this session.
    ApproveForSession,
    /// Do not run it; the model is told it was denied.
    Deny,
}

/// Transcript formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    Markdown,
    Json,
}

/// When tool calls need the user's approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ApprovalPolicy {
    /// Never ask (the sandbox is the only wall).
    Never,
    /// Ask for calls the risk analysis flags.
    OnRisk,
    /// Ask before every call.
    Always,
}

impl ApprovalPolicy {
    pub const ALL: [ApprovalPolicy; 3] = [
        ApprovalPolicy::Never,
        ApprovalPolicy::OnRisk,
        ApprovalPolicy::Always,
    ];

    /// The name used in the config and on the wire (`never`, `on-risk`, `always`).
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalPolicy::Never => "never",
            ApprovalPolicy::OnRisk => "on-risk",
            ApprovalPolicy::Always => "always",
        }
    }

    pub fn parse(s: &str) -> Option<ApprovalPolicy> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// Which spending limit a budget Op is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetScope {
    Session,
    Day,
    Month,
}

impl BudgetScope {
    pub const ALL: [BudgetScope; 3] = [BudgetScope::Session, BudgetScope::Day, BudgetScope::Month];

    pub fn as_str(self) -> &'static str {
        match self {
            BudgetScope::Session => "session",
            BudgetScope::Day => "day",
            BudgetScope::Month => "month",
        }
    }

    pub fn parse(s: &str) -> Option<BudgetScope> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// One request from a frontend to the agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// Start a turn with this user prompt.
    Submit {
        text: String,
    },
    /// Stop the running turn: the provider stream and every running tool.
    Interrupt,
    /// Answer an approval request.
    Approval {
        call_id: CallId,
        decision: ApprovalDecision,
    },
    /// Leave the current session and start an empty one.
    NewSession,
    /// Resume a stored session.
    OpenSession {
        id: SessionId,
    },
    /// The start of a stored session's conversation, for the history browser's preview.
    PreviewSession {
        id: SessionId,
    },
    /// Page through stored sessions, newest first.
    ListSessions {
        offset: usize,
        limit: usize,
    },
    /// Full-text search over stored messages and tool output.
    Search {
        query: String,
        limit: usize,
    },
    RenameSession {
        id: SessionId,
        title: String,
    },
    DeleteSession {
        id: SessionId,
    },
    /// Write a transcript; `id` None means the current session, `path` None a default path.
    Export {
        id: Option<SessionId>,
        format: ExportFormat,
        path: Option<String>,
    },
    /// Switch the model of the current provider.
    SetModel {
        model: String,
    },
    /// Switch to another configured provider.
    SetProvider {
        provider: String,
    },
    /// What the model picker offers: the current provider's models (its `/models`), the
    /// config's routes and the price table's models of that provider. `Event::ModelList`
    /// answers (tagged with the request's id).
    ListModels,
    /// Raise or set a budget limit in dollars; 0 removes it.
    SetBudget {
        scope: BudgetScope,
        limit_usd: f64,
    },
    /// Change when tool calls need approval.
    SetApprovals {
        policy: ApprovalPolicy,
    },
    /// Say what the budgets are and what was spent against them (a Notice answers).
    ShowBudget,
    /// Say which approval policy is in force (a Notice answers).
    ShowApprovals,
    /// Ask for usage analytics over the last `days` days.
    Stats {
        days: u32,
    },
    /// Drop the last answer (the assistant messages and tool calls of the last turn) and run
    /// the last prompt again. The dropped messages stay in the store, marked superseded.
    Retry,
    /// Rewind the history to before the last prompt and run `text` in its place.
    EditLast {
        text: String,
    },
    /// Copy the current session's history into a new session linked to this one, and switch
    /// to it. `through_prompt` N keeps everything through the answer to the N-th prompt
    /// (1-based); None keeps the whole history.
    Fork {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        through_prompt: Option<u32>,
    },
    /// Finish what is durable and stop the agent task.
    Shutdown,
    /// `body`, tagged by the frontend: every Event that answers it (an error, a notice, a list)
    /// comes back wrapped in [`crate::Event::Reply`] with the same id, so the frontend knows
    /// what caused it. Events of a turn that `body` starts are not answers and come untagged.
    Request {
        id: RequestId,
        body: Box<Op>,
    },
}

/// A frontend's number for one of its requests (unique per frontend and run).
pub type RequestId = u64;

impl Op {
    /// Tags `self` with a request id.
    pub fn tagged(self, id: RequestId) -> Op {
        Op::Request {
            id,
            body: Box::new(self),
        }
    }

    /// The innermost Op and the id it was tagged with (the outermost tag wins).
    pub fn untag(self) -> (Option<RequestId>, Op) {
        match self {
            Op::Request { id, body } => (Some(id), body.untag().1),
            op => (None, op),
        }
    }
}
