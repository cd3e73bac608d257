//! One turn of the reason-act-observe loop.
//!
//! Stream the model's answer, run the tools it asks for, feed their results back, and repeat
//! until it answers without a tool call, the step limit is hit, or the user interrupts. Every
//! failure ends up either as an observation the model can react to (bad arguments, unknown
//! tool, tool error) or as a clear Event for the user (provider down): never a panic, and the
//! history always keeps what was produced.

use std::sync::Arc;

use futures::StreamExt;
use llm_repl_protocol::{Event, FinishReason, Message, NoticeLevel, ToolCall, ToolResult, TurnId};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::accumulate::Accumulator;
use crate::agent::Approvals;
use crate::budget::{self, Budgets, Decision, Spent};
use crate::estimate::{Estimator, PromptTokens};
use crate::persist::Recorder;
use crate::pricing::PriceTable;
use crate::pricing::meter::Meter;
use crate::provider::{ChatRequest, Provider, ProviderError};
use crate::selection::Selection;
use crate::tool::ToolRegistry;
use crate::tools_run::{self, CallContext, Gate};

mod repeat;
use repeat::{REPEAT_STOP, Repeat, refusal};

/// Everything a turn needs; it owns the history while it runs.
pub(crate) struct TurnInput {
    pub turn: TurnId,
    pub prompt: String,
    pub history: Vec<Message>,
    /// Token counts of `history`'s messages (see [`PromptTokens`]); given back with it.
    pub prompt_tokens: PromptTokens,
    /// The configured sampling temperature, set on every model call (`None`: the provider's
    /// default).
    pub temperature: Option<f32>,
    pub system_prompt: String,
    pub model: String,
    pub provider: Arc<dyn Provider>,
    pub tools: Arc<ToolRegistry>,
    pub max_steps: u32,
    /// Wall-clock limit of the whole turn (`None`: no limit).
    pub time_limit: Option<std::time::Duration>,
    pub approval_policy: String,
    pub interactive: bool,
    pub workdir: std::path::PathBuf,
    pub session_id: String,
    pub context_window: Option<u64>,
    /// The current provider and model: read before each model call, so `/model` during a
    /// turn applies from the next call.
    pub selection: Selection,
    /// Tokens of one tool result the model is shown (`tools.model_output_tokens`; 0: all).
    pub observation_tokens: u64,
    pub prices: Arc<PriceTable>,
    pub meter: Meter,
    pub budgets: Budgets,
    pub recorder: Recorder,
    pub approvals: Arc<Approvals>,
    pub events: mpsc::UnboundedSender<Event>,
    pub cancel: CancellationToken,
}

/// What a turn gives back to the agent.
pub(crate) struct TurnOutput {
    pub turn: TurnId,
    pub reason: FinishReason,
    pub history: Vec<Message>,
    pub prompt_tokens: PromptTokens,
    pub meter: Meter,
}

/// How one model call ended.
enum StepEnd {
    /// The stream finished; the message is the assistant's answer.
    Done(Message),
    /// Interrupted; the message holds the partial text (maybe empty).
    Interrupted(Message),
    /// The provider failed; the message holds any partial text.
    Failed(Message, ProviderError),
    /// A budget refused the call; nothing was sent.
    Refused,
}

struct Turn {
    input: TurnInput,
    /// How often each (tool, arguments) was called in this turn, to catch a model in a loop.
    seen_calls: std::collections::HashMap<(String, String), u32>,
    /// Dollars spent today and this month before this turn (from the store), for budgets.
    spent_before: Option<(f64, f64)>,
    /// The context window was reported full in this turn (said once).
    window_warned: bool,
}

pub(crate) async fn run(input: TurnInput) -> TurnOutput {
    let spent_before = input.recorder.spent_day_month();
    let mut turn = Turn {
        input,
        seen_calls: std::collections::HashMap::new(),
        spent_before,
        window_warned: false,
    };
    // The turn's wall-clock limit works like an interrupt, so what was produced is kept.
    let timed_out = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let timer = turn.input.time_limit.map(|limit| {
        let cancel = turn.input.cancel.clone();
        let flag = timed_out.clone();
        tokio::spawn(async move {
            tokio::time::sleep(limit).await;
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
            cancel.cancel();
        })
    });
    let reason = turn.run_steps().await;
    if let Some(timer) = timer {
        timer.abort();
    }
    if timed_out.load(std::sync::atomic::Ordering::SeqCst) {
        turn.emit(Event::Notice {
            level: NoticeLevel::Warn,
            text: format!(
                "stopped: the turn ran longer than reliability.turn_timeout_secs ({} s); what it \
                 produced is kept",
                turn.input.time_limit.map_or(0, |d| d.as_secs())
            ),
        });
    }
    let input = &turn.input;
    input
        .recorder
        .end_turn(&input.session_id, input.turn, reason);
    // TurnFinished is sent by the agent once it has the history back, so a frontend may
    // submit the next prompt the moment it sees it.
    TurnOutput {
        turn: turn.input.turn,
        reason,
        history: turn.input.history,
        prompt_tokens: turn.input.prompt_tokens,
        meter: turn.input.meter,
    }
}

impl Turn {
    fn emit(&self, event: Event) {
        let _ = self.input.events.send(event);
    }

    async fn run_steps(&mut self) -> FinishReason {
        let turn = self.input.turn;
        let user = Message::user(self.input.prompt.clone());
        self.input.recorder.message(&self.input.session_id, &user);
        self.input.history.push(user);
        self.emit(Event::TurnStarted {
            turn,
            prompt: self.input.prompt.clone(),
        });
        for step in 1..=self.input.max_steps {
            if self.input.cancel.is_cancelled() {
                return FinishReason::Interrupted;
            }
            self.emit(Event::StepStarted { turn, step });
            let (message, end) = match self.call_model(step).await {
                StepEnd::Done(m) => (m, None),
                StepEnd::Interrupted(m) => (m, Some(FinishReason::Interrupted)),
                StepEnd::Failed(m, err) => {
                    self.emit(Event::Error {
                        message: format!("{}: {err}", self.input.provider.name()),
                    });
                    (m, Some(FinishReason::Failed))
                }
                StepEnd::Refused => {
                    self.forget_unanswered_prompt();
                    return FinishReason::Budget;
                }
            };
            let calls = message.tool_calls.clone();
            if end.is_none() || !message.content.is_empty() {
                // Durable before the frontend sees it as final.
                self.input
                    .recorder
                    .message(&self.input.session_id, &message);
                self.input.history.push(message.clone());
                self.emit(Event::AssistantMessage { turn, message });
            }
            if let Some(reason) = end {
                if reason == FinishReason::Failed {
                    self.forget_unanswered_prompt();
                }
                return reason;
            }
            if calls.is_empty() {
                return FinishReason::Completed;
            }
            for call in calls {
                let repeat = self.repeat_check(&call);
                let gate = match repeat {
                    Repeat::Fresh if self.input.cancel.is_cancelled() => Gate::Interrupted,
                    Repeat::Fresh => Gate::Run,
                    Repeat::Warn | Repeat::Stop => Gate::RefuseRepeat(refusal(&call)),
                };
                // Every call gets its answer in the history (stored before its final event).
                let result = self.handle_call(&call, gate).await;
                self.input.history.push(Message::tool(&result));
                if matches!(repeat, Repeat::Stop) {
                    self.emit(Event::Error {
                        message: format!(
                            "stopped: the model kept calling {} with the same arguments ({} \
                             times in this turn); rephrase the request or try another model",
                            call.name, REPEAT_STOP
                        ),
                    });
                    return FinishReason::Failed;
                }
            }
            if self.input.cancel.is_cancelled() {
                return FinishReason::Interrupted;
            }
        }
        self.emit(Event::Notice {
            level: NoticeLevel::Warn,
            text: format!(
                "stopped after {} model steps (max_steps); ask again to continue",
                self.input.max_steps
            ),
        });
        FinishReason::MaxSteps
    }

    /// A prompt the model never answered leaves the in-memory history (the store keeps it in
    /// the transcript): typed again, it would reach the model as two user messages in a row.
    fn forget_unanswered_prompt(&mut self) {
        if self
            .input
            .history
            .last()
            .is_some_and(|m| m.role == llm_repl_protocol::Role::User)
        {
            self.input.history.pop();
            self.input.prompt_tokens.truncate(self.input.history.len());
        }
    }

    fn request(&self) -> ChatRequest {
        let mut messages = Vec::with_capacity(self.input.history.len() + 1);
        messages.push(Message::system(self.input.system_prompt.clone()));
        messages.extend(crate::framing::frame_history(&self.input.history));
        ChatRequest {
            model: self.input.model.clone(),
            messages,
            tools: self.input.tools.specs(),
            max_tokens: None,
            temperature: self.input.temperature,
            prompt_tokens: None,
        }
    }

    /// The request's prompt tokens, counted incrementally (only history messages new since the
    /// last count: `request.messages` is the system prompt, then the framed history) and kept on
    /// the request for the budget, the window check, the usage estimate and a route.
    fn count_prompt(&mut self, request: &mut ChatRequest) -> u64 {
        if let Some(n) = request.prompt_tokens {
            return n;
        }
        let (system, history) = request.messages.split_at(1.min(request.messages.len()));
        let n = self.input.prompt_tokens.prompt(
            Estimator::for_model(&request.model),
            system,
            history,
            &request.tools,
        );
        request.prompt_tokens = Some(n);
        n
    }

    /// Asks the budgets before a call. Returns false when the call must not be sent.
    fn budget_allows(&mut self, request: &mut ChatRequest) -> bool {
        if !self.input.budgets.has_limits() || self.input.provider.is_mock() {
            return true;
        }
        self.count_prompt(request);
        let spent = self.spent();
        let check = budget::preflight(
            &self.input.prices,
            &self.input.budgets,
            &spent,
            self.input.provider.name(),
            request,
        );
        if let Some(text) = check.decision.message() {
            let level = match check.decision {
                Decision::Refuse { .. } => NoticeLevel::Error,
                _ => NoticeLevel::Warn,
            };
            self.emit(Event::Notice { level, text });
        }
        !check.decision.is_refused()
    }

    /// When neither the config nor the price table knows the model's window, asks the
    /// provider's model list (before each call, since `/model` may switch mid-turn; the provider
    /// caches the list, so only the first asks the server: a few seconds at most, and an
    /// interrupt stops the wait).
    async fn learn_window(&mut self) {
        if self.input.context_window.is_some() || self.input.provider.is_mock() {
            return;
        }
        let provider = self.input.provider.clone();
        let asked = provider.context_window(&self.input.model);
        self.input.context_window = tokio::select! {
            () = self.input.cancel.cancelled() => None,
            window = tokio::time::timeout(std::time::Duration::from_secs(6), asked) => {
                window.ok().flatten()
            }
        };
    }

    /// Warns (once a turn) when the prompt about to be sent fills the model's context window:
    /// over it the provider refuses the call, so the user hears it from us first, in words.
    fn check_window(&mut self, request: &mut ChatRequest) {
        let Some(window) = self.input.context_window.filter(|w| *w > 0) else {
            return;
        };
        if self.window_warned {
            return;
        }
        // Tokens never outnumber bytes (plus framing): most prompts need no counting at all
        // (unless already counted, for the budget or a route).
        if request.prompt_tokens.is_none() && prompt_bytes(request) < window * 9 / 10 {
            return;
        }
        let tokens = self.count_prompt(request);
        let text = if tokens >= window {
            format!(
                "the prompt for this call is about {tokens} tokens, more than {}'s context window \
                 of {window}: the provider will probably refuse it. Start a new session (/new) \
                 or ask for less output",
                request.model
            )
        } else if tokens >= window * 9 / 10 {
            format!(
                "the context window is nearly full: this call's prompt is about {tokens} of \
                 {window} tokens; start a new session (/new) before it overflows"
            )
        } else {
            return;
        };
        self.window_warned = true;
        self.emit(Event::Notice {
            level: NoticeLevel::Warn,
            text,
        });
    }

    fn spent(&self) -> Spent {
        let turn = self.input.meter.turn().cost.known_usd;
        let session = self.input.meter.session().cost.known_usd;
        let (day, month) = self
            .spent_before
            .unwrap_or((session - turn, session - turn));
        Spent {
            session,
            day: day + turn,
            month: month + turn,
        }
    }

    async fn call_model(&mut self, step: u32) -> StepEnd {
        let current = self.input.selection.get();
        self.input.provider = current.provider;
        self.input.model = current.model;
        self.input.context_window = current.context_window;
        self.learn_window().await;
        let mut request = self.request();
        if self.input.provider.uses_prompt_tokens() {
            self.count_prompt(&mut request);
        }
        self.check_window(&mut request);
        if !self.budget_allows(&mut request) {
            return StepEnd::Refused;
        }
        let cancel = self.input.cancel.clone();
        let provider = self.input.provider.clone();
        let mut acc = Accumulator::new();
        let mut received = false;
        let started = tokio::select! {
            biased;
            () = cancel.cancelled() => None,
            result = provider.stream(request.clone()) => Some(result),
        };
        let outcome = match started {
            None => Outcome::Interrupted,
            Some(Err(err)) => Outcome::Failed(err),
            Some(Ok(mut stream)) => loop {
                let item = tokio::select! {
                    biased;
                    () = cancel.cancelled() => break Outcome::Interrupted,
                    item = stream.next() => item,
                };
                match item {
                    None => break Outcome::Done,
                    Some(Ok(item)) => {
                        received = true;
                        if let Some(text) = acc.push(item) {
                            self.emit(Event::TextDelta {
                                turn: self.input.turn,
                                text,
                            });
                        }
                    }
                    Some(Err(err)) => break Outcome::Failed(err),
                }
            },
        };
        let turn = self.input.turn;
        let calls = acc.tool_calls(|index| format!("call_{turn}_{step}_{index}"));
        // A call that produced nothing (refused connection, HTTP error, interrupted before the
        // first piece) is not charged: there is no evidence the provider billed it.
        if received {
            self.account(&acc, &calls, &mut request);
        }
        match outcome {
            Outcome::Done => StepEnd::Done(Message::assistant(acc.text(), calls)),
            // Unfinished tool calls are dropped: running half a request is worse than none.
            Outcome::Interrupted => StepEnd::Interrupted(Message::assistant(acc.text(), vec![])),
            Outcome::Failed(err) => StepEnd::Failed(Message::assistant(acc.text(), vec![]), err),
        }
    }

    /// Adds one call's usage (reported, else estimated), prices it, records it, and tells the
    /// frontend.
    fn account(&mut self, acc: &Accumulator, calls: &[ToolCall], request: &mut ChatRequest) {
        // Reported usage is exact and costs nothing to read; the tokenizer is only built (about
        // 30-90 ms, once) when a provider reports none (the mock model counts bytes instead).
        let usage = match acc.usage() {
            Some(usage) => usage,
            None => {
                let prompt = self.count_prompt(request);
                let answer = Message::assistant(acc.text(), calls.to_vec());
                Estimator::for_model(&request.model).usage(prompt, &answer)
            }
        };
        // Priced as whoever served it (a route names its chosen candidate); the price table
        // lists the mock and local servers as free.
        let (provider, model) = self.input.provider.served_by().unwrap_or_else(|| {
            (
                self.input.provider.name().to_string(),
                self.input.model.clone(),
            )
        });
        let cost = self
            .input
            .meter
            .record(&self.input.prices, &provider, &model, &usage);
        self.input
            .recorder
            .usage(&self.input.session_id, &provider, &model, &usage, cost);
        let budget = self
            .input
            .budgets
            .has_limits()
            .then(|| self.input.budgets.tightest(&self.spent()))
            .flatten();
        self.emit(Event::Usage {
            turn: self.input.turn,
            model,
            usage,
            turn_usage: self.input.meter.turn().usage,
            session_usage: self.input.meter.session().usage,
            cost: self.input.meter.report(),
            // The prompt sent is what fills the context window.
            context_tokens: usage.input,
            context_window: self.input.context_window,
            budget,
        });
    }

    /// Hands one call to the lifecycle owner ([`tools_run::handle_call`]).
    async fn handle_call(&self, call: &ToolCall, gate: Gate) -> ToolResult {
        let ctx = CallContext {
            turn: self.input.turn,
            tools: &self.input.tools,
            policy: &self.input.approval_policy,
            interactive: self.input.interactive,
            approvals: &self.input.approvals,
            events: &self.input.events,
            cancel: &self.input.cancel,
            workdir: &self.input.workdir,
            session_id: &self.input.session_id,
            recorder: &self.input.recorder,
            model: &self.input.model,
            observation_tokens: self.input.observation_tokens,
        };
        tools_run::handle_call(&ctx, call, gate).await
    }
}

/// An upper bound of a request's prompt tokens from its bytes (plus framing), no tokenizer.
fn prompt_bytes(request: &ChatRequest) -> u64 {
    let bytes: usize = request
        .messages
        .iter()
        .map(|m| {
            m.content.len()
                + 16
                + m.tool_calls
                    .iter()
                    .map(|c| c.arguments.len() + c.name.len() + 8)
                    .sum::<usize>()
        })
        .chain(
            request
                .tools
                .iter()
                .map(|t| t.parameters.to_string().len() + t.description.len() + 16),
        )
        .sum();
    bytes as u64
}

enum Outcome {
    Done,
    Interrupted,
    Failed(ProviderError),
}
