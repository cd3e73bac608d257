//! The agent task: reads Ops, runs turns, emits Events.
//!
//! One tokio task owns the session (history, meter, budgets). A turn runs as its own task so the
//! agent keeps answering Ops while it streams: Interrupt cancels the turn's token, an approval
//! answer is handed to the waiting tool call, history and store queries are served at once, and
//! the turn gives the history and meter back when it ends.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use futures::FutureExt;
use llm_repl_protocol::{
    ApprovalDecision, BudgetScope, CallId, Event, FinishReason, Message, NoticeLevel, Op,
    RequestId, SessionId, SessionInfo, TurnId,
};
use llm_repl_store::Store;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::budget::{Budgets, Scope};
use crate::config::Config;
use crate::estimate::PromptTokens;
use crate::ids;
use crate::persist::Recorder;
use crate::pricing::PriceTable;
use crate::pricing::meter::{Meter, Tally};
use crate::provider::Provider;
use crate::selection::{Selected, Selection};
use crate::tool::ToolRegistry;
use crate::turn::{self, TurnInput, TurnOutput};

/// Builds a provider by configured name (for `/provider`); the binary supplies it because only
/// it may name the providers crate.
pub type ProviderFactory = Arc<dyn Fn(&str) -> Result<Arc<dyn Provider>, String> + Send + Sync>;

/// What the agent is built from.
pub struct AgentDeps {
    pub config: Config,
    pub provider: Arc<dyn Provider>,
    pub provider_factory: Option<ProviderFactory>,
    /// Prices and context windows (the built-in table merged with the config's).
    pub prices: Arc<PriceTable>,
    pub tools: ToolRegistry,
    /// The directory tools are confined to.
    pub workdir: PathBuf,
    pub context_window: Option<u64>,
    /// False for headless runs: a call that needs approval is denied instead of waiting.
    pub interactive: bool,
    /// Where sessions are kept; `None` keeps nothing.
    pub store: Option<Store>,
    /// A stored session to continue instead of starting an empty one.
    pub resume: Option<SessionId>,
    /// Events from the provider side (retry and failover notices, route choices, circuit
    /// breaker changes), passed on to the frontend as they come.
    pub side_events: Option<mpsc::UnboundedReceiver<Event>>,
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
    pub(crate) deps: AgentDeps,
    pub(crate) events: mpsc::UnboundedSender<Event>,
    pub(crate) info: SessionInfo,
    pub(crate) history: Vec<Message>,
    /// Token counts of `history`'s messages, kept so each step counts only what is new. Whoever
    /// cuts `history` back calls its `truncate` (a rewind) or `clear` (a replaced history).
    pub(crate) prompt_tokens: PromptTokens,
    pub(crate) meter: Meter,
    pub(crate) budgets: Budgets,
    next_turn: TurnId,
    approvals: Arc<Approvals>,
    pub(crate) recorder: Recorder,
    /// The provider and model of the next model call, shared with the running turn.
    pub(crate) selection: Selection,
    /// The request being answered: what `emit` sends meanwhile is wrapped in `Event::Reply`.
    pub(crate) answering: Option<RequestId>,
    /// Providers' model lists, kept for the session (models.rs).
    pub(crate) model_lists: crate::models::ListCache,
}

struct Running {
    cancel: CancellationToken,
}

impl Agent {
    /// Starts the agent task. It sends `SessionStarted` (or `SessionLoaded` when resuming) first
    /// and runs until `Op::Shutdown` or until the Op channel closes.
    pub fn spawn(mut deps: AgentDeps) -> AgentHandle {
        let (ops_tx, ops_rx) = mpsc::unbounded_channel();
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let info = session_info(&deps, deps.provider.as_ref(), None);
        let recorder = Recorder::new(deps.store.take(), events_tx.clone());
        let user = crate::budget::current_user(&deps.config.budget.user);
        let profile = deps.config.budget.profiles.get(&user);
        let budgets =
            Budgets::new(&deps.config.budget, profile, user.clone()).unwrap_or_else(|e| {
                let _ = events_tx.send(Event::Error {
                    message: format!("budget config: {e}; budgets are off"),
                });
                Budgets::none(user)
            });
        let side = deps.side_events.take();
        let meter = Meter::new(Tally::default(), recorder.today_tally());
        let selection = Selection::new(Selected {
            provider: deps.provider.clone(),
            model: info.model.clone(),
            context_window: info.context_window,
        });
        let agent = Agent {
            deps,
            events: events_tx,
            info,
            history: Vec::new(),
            prompt_tokens: PromptTokens::new(),
            meter,
            budgets,
            next_turn: 1,
            approvals: Arc::default(),
            recorder,
            selection,
            answering: None,
            model_lists: Default::default(),
        };
        let task = tokio::spawn(agent.run(ops_rx, side));
        AgentHandle {
            ops: ops_tx,
            events: events_rx,
            task,
        }
    }

    pub(crate) fn emit(&self, event: Event) {
        let event = match self.answering {
            Some(request) => Event::Reply {
                request,
                body: Box::new(event),
            },
            None => event,
        };
        let _ = self.events.send(event);
    }

    pub(crate) fn notice(&self, level: NoticeLevel, text: impl Into<String>) {
        self.emit(Event::Notice {
            level,
            text: text.into(),
        });
    }

    async fn run(
        mut self,
        mut ops: mpsc::UnboundedReceiver<Op>,
        mut side: Option<mpsc::UnboundedReceiver<Event>>,
    ) {
        match self.deps.resume.take() {
            Some(id) => {
                if self.open_session(&id) {
                    self.note_fresh_interpreter();
                } else {
                    self.emit(Event::SessionStarted {
                        info: self.info.clone(),
                    });
                }
            }
            None => self.emit(Event::SessionStarted {
                info: self.info.clone(),
            }),
        }
        let (done_tx, mut done_rx) = mpsc::unbounded_channel::<TurnOutput>();
        let mut running: Option<Running> = None;
        loop {
            tokio::select! {
                op = ops.recv() => {
                    let Some(op) = op else { break };
                    let (request, op) = op.untag();
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
                    // Everything said while handling the Op answers it.
                    self.answering = request;
                    self.handle_op(op, &mut running, &done_tx);
                    self.answering = None;
                }
                Some(out) = done_rx.recv() => {
                    running = None;
                    self.finish_turn(out);
                }
                Some(event) = recv_side(&mut side) => self.emit(event),
            }
        }
        self.deps.tools.end_session(&self.info.id);
        if let Some(store) = self.recorder.store() {
            let _ = store.flush();
        }
        self.emit(Event::ShutdownComplete);
    }

    fn handle_op(
        &mut self,
        op: Op,
        running: &mut Option<Running>,
        done: &mpsc::UnboundedSender<TurnOutput>,
    ) {
        let busy = running.is_some();
        match op {
            Op::Submit { text } => {
                if busy {
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
            Op::Approval { call_id, decision } => self.answer_approval(call_id, decision),
            Op::NewSession => {
                if self.refuse_when_busy(busy) {
                    return;
                }
                self.reset_session(None);
                self.emit(Event::SessionStarted {
                    info: self.info.clone(),
                });
            }
            Op::OpenSession { id } => {
                if !self.refuse_when_busy(busy) {
                    self.open_session(&id);
                }
            }
            // Neither starts a new session nor waits for the turn: the switch applies from the
            // next model call (see selection.rs).
            Op::SetModel { model } => self.set_model(&model),
            Op::SetProvider { provider } => self.set_provider(&provider),
            Op::ListModels => self.list_models(),
            Op::SetBudget { scope, limit_usd } => self.set_budget(scope, limit_usd),
            Op::ListSessions { offset, limit } => self.list_sessions(offset, limit),
            Op::PreviewSession { id } => self.preview_session(&id),
            Op::Search { query, limit } => self.search(&query, limit),
            Op::RenameSession { id, title } => self.rename_session(&id, &title),
            Op::DeleteSession { id } => self.delete_session(&id, busy),
            Op::Export { id, format, path } => self.export(id, format, path),
            Op::Stats { days } => self.stats(days),
            Op::SetApprovals { policy } => {
                self.notice(
                    NoticeLevel::Info,
                    format!(
                        "approvals: {} (from the next tool call on)",
                        policy.as_str()
                    ),
                );
                self.deps.config.tools.approval = policy.as_str().to_string();
            }
            Op::ShowApprovals => self.notice(
                NoticeLevel::Info,
                format!(
                    "approvals: {} (/approvals never|on-risk|always changes it)",
                    self.deps.config.tools.approval
                ),
            ),
            Op::ShowBudget => self.show_budget(),
            // rewind.rs: each says why when it cannot (busy, nothing to retry).
            Op::Retry => {
                if let Some(prompt) = self.rewind_last_prompt(None, busy) {
                    *running = Some(self.start_turn(prompt, done.clone()));
                }
            }
            Op::EditLast { text } => {
                if let Some(prompt) = self.rewind_last_prompt(Some(text), busy) {
                    *running = Some(self.start_turn(prompt, done.clone()));
                }
            }
            Op::Fork { through_prompt } => self.fork(through_prompt, busy),
            // Untagged by the loop before it gets here.
            Op::Shutdown | Op::Request { .. } => {}
        }
    }

    fn refuse_when_busy(&self, busy: bool) -> bool {
        if busy {
            self.notice(NoticeLevel::Warn, "interrupt the running turn first (Esc)");
        }
        busy
    }

    fn answer_approval(&self, call_id: CallId, decision: ApprovalDecision) {
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

    /// Starts an empty session (or adopts `info` of a loaded one).
    pub(crate) fn reset_session(&mut self, info: Option<SessionInfo>) {
        // The session being left keeps no interpreter or process running.
        self.deps.tools.end_session(&self.info.id);
        self.history.clear();
        self.prompt_tokens.clear();
        if let Ok(mut remembered) = self.approvals.remembered.lock() {
            remembered.clear();
        }
        self.info =
            info.unwrap_or_else(|| session_info(&self.deps, self.deps.provider.as_ref(), None));
        self.meter = Meter::new(
            self.recorder.session_tally(&self.info.id),
            self.recorder.today_tally(),
        );
    }

    fn set_budget(&mut self, scope: BudgetScope, limit_usd: f64) {
        let s = budget_scope(scope);
        let limit = (limit_usd > 0.0).then_some(limit_usd);
        match self.budgets.set_limit(s, limit) {
            Ok(()) if limit_usd > 0.0 => self.notice(
                NoticeLevel::Info,
                format!("budget: {} limit set to ${limit_usd:.2}", s.key()),
            ),
            Ok(()) => self.notice(
                NoticeLevel::Info,
                format!("budget: {} limit removed", s.key()),
            ),
            Err(e) => self.emit(Event::Error { message: e }),
        }
    }

    /// `/budget` without arguments: each limit (or "none"), in one line.
    fn show_budget(&self) {
        let parts: Vec<String> = Scope::ALL
            .iter()
            .map(|s| match self.budgets.limit(*s) {
                Some(l) => format!("{} ${l:.2}", s.key()),
                None => format!("{} none", s.key()),
            })
            .collect();
        self.notice(
            NoticeLevel::Info,
            format!(
                "budget limits: {} (/budget session|day|month USD sets one, 0 removes it)",
                parts.join(", ")
            ),
        );
    }

    pub(crate) fn context_window(&self) -> Option<u64> {
        self.deps.context_window.or_else(|| {
            self.deps
                .prices
                .context_window(&self.info.provider, &self.info.model)
        })
    }

    fn start_turn(&mut self, prompt: String, done: mpsc::UnboundedSender<TurnOutput>) -> Running {
        let turn = self.next_turn;
        self.next_turn += 1;
        let cancel = CancellationToken::new();
        if self.info.title.is_empty() {
            self.info.title = ids::title_from_prompt(&prompt);
        }
        self.recorder.ensure_session(&self.info);
        self.recorder.begin_turn(&self.info.id, turn);
        let mut meter = std::mem::take(&mut self.meter);
        meter.start_turn();
        let input = TurnInput {
            turn,
            prompt,
            history: std::mem::take(&mut self.history),
            prompt_tokens: std::mem::take(&mut self.prompt_tokens),
            temperature: self.deps.config.temperature,
            system_prompt: self.system_prompt(),
            model: self.info.model.clone(),
            provider: self.deps.provider.clone(),
            tools: Arc::new(self.deps.tools.clone()),
            max_steps: self.deps.config.max_steps,
            time_limit: match self.deps.config.reliability.turn_timeout_secs {
                0 => None,
                secs => Some(std::time::Duration::from_secs(secs)),
            },
            approval_policy: self.deps.config.tools.approval.clone(),
            interactive: self.deps.interactive,
            workdir: self.deps.workdir.clone(),
            session_id: self.info.id.clone(),
            context_window: self.info.context_window,
            selection: self.selection.clone(),
            observation_tokens: self.deps.config.tools.model_output_tokens,
            prices: self.deps.prices.clone(),
            meter,
            budgets: self.budgets.clone(),
            recorder: self.recorder.clone(),
            approvals: self.approvals.clone(),
            events: self.events.clone(),
            cancel: cancel.clone(),
        };
        // A bug in a turn must not take the agent down: the conversation goes back to how it was
        // before the turn (everything durable is in the store anyway) and the user is told.
        let snapshot = (input.history.clone(), input.meter.clone());
        let events = self.events.clone();
        tokio::spawn(async move {
            let out = match std::panic::AssertUnwindSafe(turn::run(input))
                .catch_unwind()
                .await
            {
                Ok(out) => out,
                Err(panic) => {
                    let what = panic
                        .downcast_ref::<&str>()
                        .map(|s| (*s).to_string())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "unknown panic".into());
                    tracing::error!("turn {turn} panicked: {what}");
                    let _ = events.send(Event::Error {
                        message: format!(
                            "internal error in turn {turn} ({what}); the turn was dropped, the \
                             session goes on. Please report this with the log file."
                        ),
                    });
                    TurnOutput {
                        turn,
                        reason: FinishReason::Failed,
                        history: snapshot.0,
                        // Counted again from scratch: the turn's counts went with it.
                        prompt_tokens: PromptTokens::new(),
                        meter: snapshot.1,
                    }
                }
            };
            let _ = done.send(out);
        });
        Running { cancel }
    }

    fn finish_turn(&mut self, out: TurnOutput) {
        // The session's first exchange just completed: one user message in the whole history.
        let first_turn_done = out.reason == FinishReason::Completed
            && out
                .history
                .iter()
                .filter(|m| m.role == llm_repl_protocol::Role::User)
                .count()
                == 1;
        self.history = out.history;
        self.prompt_tokens = out.prompt_tokens;
        self.meter = out.meter;
        if first_turn_done && self.deps.config.store.model_titles && !self.deps.provider.is_mock() {
            let prompt = self
                .history
                .iter()
                .find(|m| m.role == llm_repl_protocol::Role::User)
                .map(|m| m.content.clone())
                .unwrap_or_default();
            crate::titles::spawn(
                self.deps.provider.clone(),
                self.info.model.clone(),
                prompt,
                self.info.id.clone(),
                self.recorder.clone(),
                self.events.clone(),
            );
        }
        self.emit(Event::TurnFinished {
            turn: out.turn,
            reason: out.reason,
        });
    }

    fn system_prompt(&self) -> String {
        let custom = self.deps.config.system_prompt.trim();
        if custom.is_empty() {
            crate::framing::with_data_rule(DEFAULT_SYSTEM_PROMPT)
        } else {
            crate::framing::with_data_rule(custom)
        }
    }
}

fn budget_scope(scope: BudgetScope) -> Scope {
    match scope {
        BudgetScope::Session => Scope::Session,
        BudgetScope::Day => Scope::Day,
        BudgetScope::Month => Scope::Month,
    }
}

async fn recv_side(side: &mut Option<mpsc::UnboundedReceiver<Event>>) -> Option<Event> {
    match side {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// The built-in system prompt (assets/prompts/system.md).
pub const DEFAULT_SYSTEM_PROMPT: &str = include_str!("../../../assets/prompts/system.md");

pub(crate) fn session_info(
    deps: &AgentDeps,
    provider: &dyn Provider,
    old: Option<&SessionInfo>,
) -> SessionInfo {
    let model = if deps.config.model.is_empty() {
        provider.default_model().to_string()
    } else {
        deps.config.model.clone()
    };
    let context_window = deps
        .context_window
        .or_else(|| deps.prices.context_window(provider.name(), &model));
    SessionInfo {
        id: old.map_or_else(ids::new_session_id, |o| o.id.clone()),
        title: old.map(|o| o.title.clone()).unwrap_or_default(),
        provider: provider.name().to_string(),
        model,
        mock: provider.is_mock(),
        context_window,
    }
}
