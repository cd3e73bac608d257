//! The state of the TUI and how agent Events change it.
//!
//! One struct, changed only by applying an Event ([`App::apply_event`]), a terminal input
//! (`dispatch.rs`) or the frame tick; drawing (`screens/`) reads it. What the state wants done
//! outside itself (send an Op, copy to the clipboard, quit) is queued as an [`Effect`] for the
//! run loop, so key handling is testable without a terminal or an agent.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use llm_repl_protocol::{
    ApprovalRequest, Event, FinishReason, Message, NoticeLevel, Op, RequestId, Role, SessionInfo,
    ToolRun, ToolStatus,
};

use crate::keys::{Action, Context, Keymap};
use crate::options::TuiOptions;
use crate::overlays::Overlay;
use crate::panes::conversation::{Conversation, ItemKind};
use crate::panes::input::InputPane;
use crate::panes::meter::{Activity, Meter};
use crate::panes::trace::{RunState, Trace};
use crate::rewind::RewindState;
use crate::screens::history::{self, HistoryScreen};
use crate::screens::stats::{self, StatsScreen};
use crate::theme::Theme;

/// Something the state asks the run loop to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Op(Op),
    /// Put this text on the clipboard (OSC 52).
    Copy(String),
    SetMouse(bool),
    Suspend,
    /// Open the external editor on this text (the prompt box's); the loop hands the outcome
    /// to [`App::editor_done`].
    Edit(String),
    Quit,
}

/// Which pane has the keyboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Input,
    Conversation,
    Trace,
}

/// Which full screen is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Chat,
    History,
    /// The usage report (/stats).
    Stats,
}

/// How long a second Ctrl+C counts as "quit".
pub const QUIT_WINDOW: Duration = Duration::from_secs(2);

/// The whole TUI state.
#[derive(Debug)]
pub struct App {
    pub theme: Theme,
    pub keymap: Keymap,
    pub options: TuiOptions,
    pub session: Option<SessionInfo>,
    pub conv: Conversation,
    pub trace: Trace,
    pub meter: Meter,
    pub input: InputPane,
    pub focus: Focus,
    pub screen: Screen,
    pub show_trace: bool,
    /// Trace pane share of the width (or height when stacked), in percent.
    pub trace_pct: u16,
    pub overlay: Option<Overlay>,
    pub approvals: VecDeque<ApprovalRequest>,
    /// A prompt sent while a turn ran: it goes out when the turn ends (Esc takes it back).
    pub queued: Option<String>,
    /// The current session has had a prompt (so it is stored and can be resumed).
    pub session_has_prompt: bool,
    /// /edit in progress and prompt numbering for /fork (`rewind.rs`).
    pub rewind: RewindState,
    /// The id of the last request sent (every Op goes out tagged, see `send`).
    next_request: RequestId,
    /// Which screen each recent request was sent from, to attribute its answers.
    origins: VecDeque<(RequestId, Screen)>,
    /// While an answer is applied: the screen its request came from, and its id.
    answer_origin: Option<Screen>,
    pub(crate) answer_request: Option<RequestId>,
    /// Selected row of the slash-command popup.
    pub palette_sel: usize,
    pub history: HistoryScreen,
    pub stats: StatsScreen,
    pub mouse: bool,
    pub agent_alive: bool,
    /// The clock as of the last input or tick; tests set it, so nothing reads real time.
    pub now: Instant,
    /// Spinner phase, advanced by the tick while something runs.
    pub spin: usize,
    spin_at: Instant,
    pub last_ctrl_c: Option<Instant>,
    pub flash: Option<(String, Instant)>,
    pub quitting: bool,
    /// Problems with the theme or key overrides, shown on the start screen.
    pub startup_warnings: Vec<String>,
    effects: Vec<Effect>,
}

impl App {
    pub fn new(options: TuiOptions, now: Instant) -> App {
        let (theme, theme_warning) = Theme::load(&options.theme, options.no_color);
        let (keymap, key_warnings) = Keymap::new(&options.keys);
        let mut app = App {
            theme,
            keymap,
            session: None,
            conv: Conversation::default(),
            trace: Trace::default(),
            meter: Meter::default(),
            input: InputPane::default(),
            focus: Focus::Input,
            screen: Screen::Chat,
            show_trace: options.show_trace,
            trace_pct: 40,
            overlay: None,
            approvals: VecDeque::new(),
            queued: None,
            session_has_prompt: false,
            rewind: RewindState::default(),
            next_request: 0,
            origins: VecDeque::new(),
            answer_origin: None,
            answer_request: None,
            palette_sel: 0,
            history: HistoryScreen::default(),
            stats: StatsScreen::default(),
            mouse: options.mouse,
            agent_alive: true,
            now,
            spin: 0,
            spin_at: now,
            last_ctrl_c: None,
            flash: None,
            quitting: false,
            startup_warnings: Vec::new(),
            effects: Vec::new(),
            options,
        };
        app.startup_warnings = theme_warning.into_iter().chain(key_warnings).collect();
        // The prompt's hint names the keys as bound now.
        let k = |ctx, a| app.keymap.key(ctx, a);
        let hint = format!(
            "Ask anything · {} sends · {} newline · / commands · {} help",
            k(Context::Input, Action::Submit),
            k(Context::Input, Action::Newline),
            k(Context::Global, Action::Help),
        );
        app.input.textarea.set_placeholder_text(hint);
        app
    }

    /// Takes the effects queued since the last call.
    pub fn drain_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }

    pub(crate) fn effect(&mut self, e: Effect) {
        self.effects.push(e);
    }

    /// Queues `op`, tagged with a fresh request id and remembered with the screen it was sent
    /// from: the agent's answers carry the id back, so an error shows where it was caused.
    pub(crate) fn send(&mut self, op: Op) {
        self.next_request += 1;
        let id = self.next_request;
        self.origins.push_back((id, self.screen));
        if self.origins.len() > 256 {
            self.origins.pop_front();
        }
        self.effects.push(Effect::Op(op.tagged(id)));
    }

    /// The id of the last request sent.
    pub(crate) fn last_request(&self) -> RequestId {
        self.next_request
    }

    /// True while applying an answer to a request sent from the history browser.
    fn answers_history(&self) -> bool {
        self.answer_origin == Some(Screen::History)
    }

    pub(crate) fn flash(&mut self, text: impl Into<String>) {
        self.flash = Some((text.into(), self.now));
    }

    pub(crate) fn notice(&mut self, level: NoticeLevel, text: impl Into<String>) {
        self.conv.push(ItemKind::Notice(level), text);
    }

    /// True while something on screen moves with time (spinner, running times, a flash).
    pub fn animating(&self) -> bool {
        self.meter.busy() || self.trace.any_running() || self.flash.is_some()
    }

    /// Advances time: spinner, flash expiry. Returns true when the screen should be redrawn.
    pub fn tick(&mut self, now: Instant) -> bool {
        self.now = now;
        let mut redraw = false;
        if let Some((_, at)) = &self.flash
            && now.saturating_duration_since(*at) > Duration::from_secs(3)
        {
            self.flash = None;
            redraw = true;
        }
        // The spinner and running times move ten times a second, not every frame.
        if (self.meter.busy() || self.trace.any_running())
            && now.saturating_duration_since(self.spin_at) >= Duration::from_millis(100)
        {
            self.spin = self.spin.wrapping_add(1);
            self.spin_at = now;
            redraw = true;
        }
        redraw
    }

    /// Applies one agent Event; an answer to one of our requests is attributed to the screen
    /// that sent it.
    pub fn apply_event(&mut self, ev: Event) {
        let (request, ev) = ev.untag();
        self.answer_origin = request.and_then(|id| {
            self.origins
                .iter()
                .find(|(i, _)| *i == id)
                .map(|(_, screen)| *screen)
        });
        self.answer_request = request;
        self.apply(ev);
        self.answer_origin = None;
        self.answer_request = None;
    }

    /// Applies one (untagged) Event. Every variant is handled here.
    fn apply(&mut self, ev: Event) {
        match ev {
            Event::SessionStarted { info } => {
                self.conv.clear();
                self.trace.clear();
                self.meter.reset();
                self.approvals.clear();
                self.session = Some(info);
                self.session_has_prompt = false;
                self.rewind = RewindState::default();
            }
            Event::SessionLoaded {
                info,
                messages,
                tool_runs,
            } => self.load_session(info, messages, tool_runs),
            Event::ModelSwitched {
                info,
                from_provider,
                from_model,
            } => self.model_switched(info, &from_provider, &from_model),
            Event::Rewound { dropped } => self.rewound(dropped),
            Event::TurnStarted { prompt, .. } => {
                self.session_has_prompt = true;
                // A previous answer left open (its turn never reported an end) is closed.
                self.conv.finish_answer(None);
                self.conv.push(ItemKind::User, prompt);
                self.conv.scroll.end();
                self.meter.activity = Activity::Thinking;
                self.meter.turn_usage = None;
                self.meter.step = 0;
            }
            Event::StepStarted { step, .. } => {
                self.meter.step = step;
                if self.meter.activity != Activity::Interrupting {
                    self.meter.activity = Activity::Thinking;
                }
            }
            Event::TextDelta { text, .. } => self.conv.append_delta(&text),
            Event::AssistantMessage { message, .. } => {
                self.conv.finish_answer(Some(&message.content));
                for call in &message.tool_calls {
                    let (_, created) = self.trace.entry(&call.id, Some(call));
                    if created {
                        self.conv.push(
                            ItemKind::Tool {
                                call_id: call.id.clone(),
                            },
                            "",
                        );
                    }
                }
            }
            Event::ToolCallStarted { call, .. } => {
                let now = self.now;
                let (e, created) = self.trace.entry(&call.id, Some(&call));
                e.call = call.clone();
                e.state = RunState::Status(ToolStatus::Running);
                // Decided elsewhere (policy, another frontend): the prompt is moot.
                self.approvals.retain(|r| r.call.id != call.id);
                e.started = Some(now);
                e.touch();
                if created {
                    self.conv.push(
                        ItemKind::Tool {
                            call_id: call.id.clone(),
                        },
                        "",
                    );
                }
                if self.meter.activity != Activity::Interrupting {
                    self.meter.activity = Activity::RunningTool(call.name);
                }
            }
            Event::ToolOutput {
                call_id,
                stream,
                chunk,
            } => {
                let (e, created) = self.trace.entry(&call_id, None);
                e.push_output(stream, &chunk);
                if created {
                    self.conv.push(ItemKind::Tool { call_id }, "");
                }
            }
            Event::ApprovalRequested { request } => {
                let (e, created) = self.trace.entry(&request.call.id, Some(&request.call));
                e.state = RunState::AwaitingApproval;
                e.findings = request.findings.clone();
                e.touch();
                if created {
                    self.conv.push(
                        ItemKind::Tool {
                            call_id: request.call.id.clone(),
                        },
                        "",
                    );
                }
                self.approvals.push_back(request);
                self.meter.activity = Activity::AwaitingApproval;
            }
            Event::ToolCallFinished {
                call_id,
                status,
                duration_ms,
                result,
            } => {
                let (e, created) = self.trace.entry(&call_id, None);
                e.state = RunState::Status(status);
                e.duration_ms = Some(duration_ms);
                e.result = Some(result);
                e.touch();
                if created {
                    self.conv.push(
                        ItemKind::Tool {
                            call_id: call_id.clone(),
                        },
                        "",
                    );
                }
                self.approvals.retain(|r| r.call.id != call_id);
                if self.meter.activity != Activity::Interrupting && !self.trace.any_running() {
                    self.meter.activity = if self.approvals.is_empty() {
                        Activity::Thinking
                    } else {
                        Activity::AwaitingApproval
                    };
                }
            }
            Event::Usage {
                model,
                turn_usage,
                session_usage,
                cost,
                context_tokens,
                context_window,
                budget,
                ..
            } => {
                self.meter.model = Some(model);
                self.meter.turn_usage = Some(turn_usage);
                self.meter.session_usage = Some(session_usage);
                self.meter.cost = Some(cost);
                self.meter.context = Some((context_tokens, context_window));
                self.meter.budget = budget;
            }
            Event::TurnFinished { reason, .. } => {
                self.conv.finish_answer(None);
                self.conv.clear_statuses();
                self.meter.activity = Activity::Idle;
                self.approvals.clear();
                if matches!(reason, FinishReason::Failed | FinishReason::Budget) {
                    self.mark_unanswered_prompt();
                }
                let note = match reason {
                    FinishReason::Completed => None,
                    FinishReason::Interrupted => Some((
                        NoticeLevel::Warn,
                        "turn interrupted; what was produced so far is kept",
                    )),
                    FinishReason::MaxSteps => {
                        Some((NoticeLevel::Warn, "turn stopped: step limit reached"))
                    }
                    FinishReason::Budget => Some((
                        NoticeLevel::Error,
                        "turn stopped: a budget limit would be crossed",
                    )),
                    // The Error event before it said why, in one line.
                    FinishReason::Failed => None,
                };
                if let Some((level, text)) = note {
                    self.notice(level, text);
                }
                self.send_queued();
            }
            Event::SessionList { sessions, total } => {
                self.history.set_sessions(sessions, total);
                history::sync_preview(self);
            }
            Event::SearchResults { query, hits } => {
                self.history.set_hits(query, hits);
                history::sync_preview(self);
            }
            Event::SessionPreview { id, messages } => self.history.preview = Some((id, messages)),
            Event::Exported { id: _, path } => {
                // The file name carries the id; the whole path must fit the status line.
                let text = format!("exported to {path}");
                if self.answers_history() {
                    self.history.status = Some((NoticeLevel::Info, text.clone()));
                }
                self.notice(NoticeLevel::Info, text.clone());
                self.flash(text);
            }
            Event::ProviderHealth {
                provider,
                healthy,
                detail,
            } => {
                self.meter.unhealthy.retain(|p| *p != provider);
                if !healthy {
                    self.meter.unhealthy.push(provider.clone());
                }
                let level = if healthy {
                    NoticeLevel::Info
                } else {
                    NoticeLevel::Warn
                };
                self.notice(level, format!("{provider}: {detail}"));
            }
            Event::Status { key, level, text } => self.conv.set_status(&key, level, &text),
            Event::ModelList { models, error, .. } => {
                crate::overlays::model_picker::answer(self, self.answer_request, models, error);
            }
            Event::UsageReport { summary, text, .. } => {
                // The whole report on its own screen; its summary line stays in the chat.
                stats::show(self, &text);
                self.notice(NoticeLevel::Info, summary);
            }
            Event::Notice { level, text } => {
                if self.answers_history() {
                    self.history.status = Some((level, text.clone()));
                }
                self.notice(level, text);
            }
            Event::Error { message } => {
                if self.answers_history() {
                    self.history.status = Some((NoticeLevel::Error, message.clone()));
                }
                // The status line shows the failure (not an earlier success).
                self.flash(message.lines().next().unwrap_or_default().to_string());
                self.conv.push(ItemKind::Error, message);
            }
            // Untagged by `apply_event`.
            Event::Reply { body, .. } => self.apply(*body),
            Event::ShutdownComplete => {
                self.agent_alive = false;
                self.meter.activity = Activity::Idle;
                if !self.quitting {
                    self.conv.push(
                        ItemKind::Error,
                        "the agent stopped; press Ctrl+C twice to quit",
                    );
                }
            }
        }
    }

    /// The session goes on with another model: everything on screen stays, the status bar
    /// names the new model at once, and one line says what changed.
    fn model_switched(&mut self, info: SessionInfo, from_provider: &str, from_model: &str) {
        let text = if from_provider != info.provider {
            format!(
                "provider: {from_provider}/{from_model} -> {}/{} (from the next call)",
                info.provider, info.model
            )
        } else if from_model == info.model {
            format!("model: {} (unchanged)", info.model)
        } else {
            format!("model: {from_model} -> {} (from the next call)", info.model)
        };
        // The last call's model (from Usage) no longer names what comes next.
        self.meter.model = None;
        if let Some((tokens, _)) = self.meter.context {
            self.meter.context = Some((tokens, info.context_window));
        }
        self.session = Some(info);
        self.notice(NoticeLevel::Info, text.clone());
        self.flash(text);
    }

    /// Rebuilds the conversation and the trace from a stored session.
    fn load_session(&mut self, info: SessionInfo, messages: Vec<Message>, tool_runs: Vec<ToolRun>) {
        // A fork's own notice (from the agent) says what happened; "resumed" would not.
        let forked = self.answers_fork();
        self.conv.clear();
        self.trace.clear();
        self.meter.reset();
        self.approvals.clear();
        self.session = Some(info.clone());
        self.session_has_prompt = messages.iter().any(|m| m.role == Role::User);
        self.rewind = RewindState::default();
        for run in tool_runs {
            let (e, _) = self.trace.entry(&run.call.id, Some(&run.call));
            e.state = RunState::Status(run.status);
            e.duration_ms = Some(run.duration_ms);
            e.findings = run.findings;
            if !run.output.is_empty() {
                e.push_output(llm_repl_protocol::OutputStream::Stdout, &run.output);
            }
        }
        for m in messages {
            match m.role {
                Role::User => self.conv.push(ItemKind::User, m.content),
                Role::Assistant => {
                    if !m.content.trim().is_empty() {
                        self.conv
                            .push(ItemKind::Assistant { streaming: false }, m.content);
                    }
                    for call in &m.tool_calls {
                        self.trace.entry(&call.id, Some(call));
                        self.conv.push(
                            ItemKind::Tool {
                                call_id: call.id.clone(),
                            },
                            "",
                        );
                    }
                }
                Role::Tool => {
                    if let Some(id) = &m.tool_call_id
                        && let Some(e) = self.trace.get_mut(id)
                    {
                        e.result = Some(llm_repl_protocol::ToolResult {
                            call_id: id.clone(),
                            content: m.content,
                            is_error: matches!(e.state, RunState::Status(s) if s != ToolStatus::Ok),
                        });
                        e.touch();
                    }
                }
                Role::System => {}
            }
        }
        if !forked {
            self.notice(
                NoticeLevel::Info,
                format!("resumed session “{}”", info.title),
            );
        }
        self.screen = Screen::Chat;
        self.focus = Focus::Input;
    }
}
