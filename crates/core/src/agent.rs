//! The agent task: reads Ops, runs turns, emits Events.
//!
//! One tokio task owns the session (history, totals). A turn runs as its own task so the agent
//! keeps answering Ops while it streams: Interrupt cancels the turn's token, an approval answer
//! is handed to the waiting tool call, and the turn gives the history back when it ends.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use llm_repl_protocol::{
    ApprovalDecision, CallId, Event, Message, NoticeLevel, Op, SessionInfo, TurnId, Usage,
};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::ids;
use crate::provider::Provider;
use crate::tool::ToolRegistry;
use crate::turn::{self, TurnInput, TurnOutput};

/// Builds a provider by configured name (for `/provider`); the binary supplies it because only
/// it may name the providers crate.
pub type ProviderFactory = Arc<dyn Fn(&str) -> Result<Arc<dyn Provider>, String> + Send + Sync>;

/// Prices a call: `(model, usage) -> dollars`, `None` when the model's price is unknown.
pub type Pricer = Arc<dyn Fn(&str, &Usage) -> Option<f64> + Send + Sync>;

/// What the agent is built from.
pub struct AgentDeps {
    pub config: Config,
    pub provider: Arc<dyn Provider>,
    pub provider_factory: Option<ProviderFactory>,
    pub pricer: Option<Pricer>,
    pub tools: ToolRegistry,
    /// The directory tools are confined to.
    pub workdir: PathBuf,
    pub context_window: Option<u64>,
    /// False for headless runs: a call that needs approval is denied instead of waiting.
    pub interactive: bool,
}

/// The frontend's side of a running agent.
pub struct AgentHandle {
    pub ops: mpsc::UnboundedSender<Op>,
    pub events: mpsc::UnboundedReceiver<Event>,
    pub task: JoinHandle<()>,
}

/// State shared between the agent task and its running turn.
#[derive(Default)]
pub(crate) struct Approvals {
    pub waiting: Mutex<HashMap<CallId, oneshot::Sender<ApprovalDecision>>>,
    /// Tools the user approved for the rest of the session.
    pub remembered: Mutex<HashSet<String>>,
}

/// The agent; see [`Agent::spawn`].
pub struct Agent {
    deps: AgentDeps,
    events: mpsc::UnboundedSender<Event>,
    info: SessionInfo,
    history: Vec<Message>,
    session_usage: Usage,
    session_cost: Option<f64>,
    next_turn: TurnId,
    approvals: Arc<Approvals>,
}

struct Running {
    cancel: CancellationToken,
}

impl Agent {
    /// Starts the agent task. It sends `SessionStarted` first and runs until `Op::Shutdown` or
    /// until the Op channel closes.
    pub fn spawn(deps: AgentDeps) -> AgentHandle {
        let (ops_tx, ops_rx) = mpsc::unbounded_channel();
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let info = session_info(&deps, deps.provider.as_ref(), None);
        let agent = Agent {
            deps,
            events: events_tx,
            info,
            history: Vec::new(),
            session_usage: Usage::default(),
            session_cost: Some(0.0),
            next_turn: 1,
            approvals: Arc::default(),
        };
        let task = tokio::spawn(agent.run(ops_rx));
        AgentHandle {
            ops: ops_tx,
            events: events_rx,
            task,
        }
    }

    fn emit(&self, event: Event) {
        let _ = self.events.send(event);
    }

    fn notice(&self, level: NoticeLevel, text: impl Into<String>) {
        self.emit(Event::Notice {
            level,
            text: text.into(),
        });
    }

    async fn run(mut self, mut ops: mpsc::UnboundedReceiver<Op>) {
        self.emit(Event::SessionStarted {
            info: self.info.clone(),
        });
        let (done_tx, mut done_rx) = mpsc::unbounded_channel::<TurnOutput>();
        let mut running: Option<Running> = None;
        loop {
            tokio::select! {
                op = ops.recv() => {
                    let Some(op) = op else { break };
                    if matches!(op, Op::Shutdown) {
                        if let Some(run) = running.take() {
                            run.cancel.cancel();
                            // Wait for the turn to end so what it produced is kept.
                            if let Some(out) = done_rx.recv().await {
                                self.finish_turn(out);
                            }
                        }
                        break;
                    }
                    self.handle_op(op, &mut running, &done_tx);
                }
                Some(out) = done_rx.recv() => {
                    running = None;
                    self.finish_turn(out);
                }
            }
        }
        self.emit(Event::ShutdownComplete);
    }

    fn handle_op(
        &mut self,
        op: Op,
        running: &mut Option<Running>,
        done: &mpsc::UnboundedSender<TurnOutput>,
    ) {
        match op {
            Op::Submit { text } => {
                if running.is_some() {
                    self.notice(
                        NoticeLevel::Warn,
                        "a turn is still running: wait for it or interrupt it (Esc) first",
                    );
                    return;
                }
                *running = Some(self.start_turn(text, done.clone()));
            }
            Op::Interrupt => match running {
                Some(run) => run.cancel.cancel(),
                None => self.notice(NoticeLevel::Info, "nothing to interrupt"),
            },
            Op::Approval { call_id, decision } => {
                let waiting = self
                    .approvals
                    .waiting
                    .lock()
                    .ok()
                    .and_then(|mut w| w.remove(&call_id));
                match waiting {
                    Some(tx) => {
                        let _ = tx.send(decision);
                    }
                    None => self.notice(
                        NoticeLevel::Warn,
                        format!("no tool call {call_id} is waiting for approval"),
                    ),
                }
            }
            Op::NewSession => {
                if running.is_some() {
                    self.notice(NoticeLevel::Warn, "interrupt the running turn first");
                    return;
                }
                self.history.clear();
                self.session_usage = Usage::default();
                self.session_cost = Some(0.0);
                if let Ok(mut remembered) = self.approvals.remembered.lock() {
                    remembered.clear();
                }
                self.info = session_info(&self.deps, self.deps.provider.as_ref(), None);
                self.emit(Event::SessionStarted {
                    info: self.info.clone(),
                });
            }
            Op::SetModel { model } => {
                self.info.model = model.clone();
                self.deps.config.model = model;
                self.emit(Event::SessionStarted {
                    info: self.info.clone(),
                });
            }
            Op::SetProvider { provider } => self.set_provider(&provider, running.is_some()),
            Op::SetBudget { scope, limit_usd } => self.notice(
                NoticeLevel::Warn,
                format!(
                    "budgets are not enforced in this build yet (asked: {scope} ${limit_usd:.2})"
                ),
            ),
            Op::OpenSession { .. }
            | Op::ListSessions { .. }
            | Op::Search { .. }
            | Op::RenameSession { .. }
            | Op::DeleteSession { .. }
            | Op::Export { .. }
            | Op::Stats { .. } => self.notice(
                NoticeLevel::Warn,
                "session history is not available in this build yet",
            ),
            Op::Shutdown => {}
        }
    }

    fn set_provider(&mut self, name: &str, busy: bool) {
        if busy {
            self.notice(NoticeLevel::Warn, "interrupt the running turn first");
            return;
        }
        let Some(factory) = &self.deps.provider_factory else {
            self.notice(
                NoticeLevel::Warn,
                "switching providers is not available here",
            );
            return;
        };
        match factory(name) {
            Ok(provider) => {
                self.deps.config.model.clear();
                self.info = session_info(&self.deps, provider.as_ref(), Some(&self.info));
                self.deps.provider = provider;
                self.emit(Event::SessionStarted {
                    info: self.info.clone(),
                });
            }
            Err(message) => self.emit(Event::Error { message }),
        }
    }

    fn start_turn(&mut self, prompt: String, done: mpsc::UnboundedSender<TurnOutput>) -> Running {
        let turn = self.next_turn;
        self.next_turn += 1;
        let cancel = CancellationToken::new();
        if self.history.is_empty() && self.info.title.is_empty() {
            self.info.title = ids::title_from_prompt(&prompt);
        }
        let input = TurnInput {
            turn,
            prompt,
            history: std::mem::take(&mut self.history),
            system_prompt: self.system_prompt(),
            model: self.info.model.clone(),
            provider: self.deps.provider.clone(),
            tools: Arc::new(self.deps.tools.clone()),
            max_steps: self.deps.config.max_steps,
            approval_policy: self.deps.config.tools.approval.clone(),
            interactive: self.deps.interactive,
            workdir: self.deps.workdir.clone(),
            session_id: self.info.id.clone(),
            session_usage: self.session_usage,
            session_cost: self.session_cost,
            context_window: self.info.context_window,
            pricer: self.deps.pricer.clone(),
            approvals: self.approvals.clone(),
            events: self.events.clone(),
            cancel: cancel.clone(),
        };
        tokio::spawn(async move {
            let out = turn::run(input).await;
            let _ = done.send(out);
        });
        Running { cancel }
    }

    fn finish_turn(&mut self, out: TurnOutput) {
        self.history = out.history;
        self.session_usage = out.session_usage;
        self.session_cost = out.session_cost;
    }

    fn system_prompt(&self) -> String {
        let custom = self.deps.config.system_prompt.trim();
        if custom.is_empty() {
            DEFAULT_SYSTEM_PROMPT.to_string()
        } else {
            custom.to_string()
        }
    }
}

/// The built-in system prompt (assets/prompts/system.md).
pub const DEFAULT_SYSTEM_PROMPT: &str = include_str!("../../../assets/prompts/system.md");

fn session_info(
    deps: &AgentDeps,
    provider: &dyn Provider,
    old: Option<&SessionInfo>,
) -> SessionInfo {
    let model = if deps.config.model.is_empty() {
        provider.default_model().to_string()
    } else {
        deps.config.model.clone()
    };
    SessionInfo {
        id: old.map_or_else(ids::new_session_id, |o| o.id.clone()),
        title: old.map(|o| o.title.clone()).unwrap_or_default(),
        provider: provider.name().to_string(),
        model,
        mock: provider.is_mock(),
        context_window: deps.context_window,
    }
}
