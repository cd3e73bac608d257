//! One turn of the reason-act-observe loop.
//!
//! Stream the model's answer, run the tools it asks for, feed their results back, and repeat
//! until it answers without a tool call, the step limit is hit, or the user interrupts. Every
//! failure ends up either as an observation the model can react to (bad arguments, unknown
//! tool, tool error) or as a clear Event for the user (provider down): never a panic, and the
//! history always keeps what was produced.

use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use llm_repl_protocol::{
    Event, FinishReason, Message, NoticeLevel, ToolCall, ToolResult, ToolStatus, TurnId, Usage,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::accumulate::Accumulator;
use crate::agent::{Approvals, Pricer};
use crate::provider::{ChatRequest, Provider, ProviderError};
use crate::tool::ToolRegistry;
use crate::tools_run::{self, CallContext};

/// Everything a turn needs; it owns the history while it runs.
pub(crate) struct TurnInput {
    pub turn: TurnId,
    pub prompt: String,
    pub history: Vec<Message>,
    pub system_prompt: String,
    pub model: String,
    pub provider: Arc<dyn Provider>,
    pub tools: Arc<ToolRegistry>,
    pub max_steps: u32,
    pub approval_policy: String,
    pub interactive: bool,
    pub workdir: std::path::PathBuf,
    pub session_id: String,
    pub session_usage: Usage,
    pub session_cost: Option<f64>,
    pub context_window: Option<u64>,
    pub pricer: Option<Pricer>,
    pub approvals: Arc<Approvals>,
    pub events: mpsc::UnboundedSender<Event>,
    pub cancel: CancellationToken,
}

/// What a turn gives back to the agent.
pub(crate) struct TurnOutput {
    pub history: Vec<Message>,
    pub session_usage: Usage,
    pub session_cost: Option<f64>,
}

/// How one model call ended.
enum StepEnd {
    /// The stream finished; the message is the assistant's answer.
    Done(Message),
    /// Interrupted; the message holds the partial text (maybe empty).
    Interrupted(Message),
    /// The provider failed; the message holds any partial text.
    Failed(Message, ProviderError),
}

struct Turn {
    input: TurnInput,
    turn_usage: Usage,
    turn_cost: Option<f64>,
}

pub(crate) async fn run(input: TurnInput) -> TurnOutput {
    let mut turn = Turn {
        input,
        turn_usage: Usage::default(),
        turn_cost: Some(0.0),
    };
    let reason = turn.run_steps().await;
    turn.emit(Event::TurnFinished {
        turn: turn.input.turn,
        reason,
    });
    TurnOutput {
        history: turn.input.history,
        session_usage: turn.input.session_usage,
        session_cost: turn.input.session_cost,
    }
}

impl Turn {
    fn emit(&self, event: Event) {
        let _ = self.input.events.send(event);
    }

    async fn run_steps(&mut self) -> FinishReason {
        let turn = self.input.turn;
        self.emit(Event::TurnStarted {
            turn,
            prompt: self.input.prompt.clone(),
        });
        self.input
            .history
            .push(Message::user(self.input.prompt.clone()));
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
            };
            let calls = message.tool_calls.clone();
            if end.is_none() || !message.content.is_empty() {
                self.input.history.push(message.clone());
                self.emit(Event::AssistantMessage { turn, message });
            }
            if let Some(reason) = end {
                return reason;
            }
            if calls.is_empty() {
                return FinishReason::Completed;
            }
            for call in calls {
                let result = self.run_call(&call).await;
                self.input.history.push(Message::tool(&result));
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

    fn request(&self) -> ChatRequest {
        let mut messages = Vec::with_capacity(self.input.history.len() + 1);
        messages.push(Message::system(self.input.system_prompt.clone()));
        messages.extend(self.input.history.iter().cloned());
        ChatRequest {
            model: self.input.model.clone(),
            messages,
            tools: self.input.tools.specs(),
            max_tokens: None,
            temperature: None,
        }
    }

    async fn call_model(&mut self, step: u32) -> StepEnd {
        let request = self.request();
        let context_tokens = estimate_request_tokens(&request);
        let cancel = self.input.cancel.clone();
        let provider = self.input.provider.clone();
        let mut acc = Accumulator::new();
        let started = tokio::select! {
            biased;
            () = cancel.cancelled() => None,
            result = provider.stream(request) => Some(result),
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
        self.account(&acc, context_tokens);
        let turn = self.input.turn;
        let calls = acc.tool_calls(|index| format!("call_{turn}_{step}_{index}"));
        match outcome {
            Outcome::Done => StepEnd::Done(Message::assistant(acc.text(), calls)),
            // Unfinished tool calls are dropped: running half a request is worse than none.
            Outcome::Interrupted => StepEnd::Interrupted(Message::assistant(acc.text(), vec![])),
            Outcome::Failed(err) => StepEnd::Failed(Message::assistant(acc.text(), vec![]), err),
        }
    }

    /// Adds one call's usage (reported, else estimated) to the totals and tells the frontend.
    fn account(&mut self, acc: &Accumulator, context_tokens: u64) {
        let usage = acc.usage().unwrap_or_else(|| Usage {
            input: context_tokens,
            output: estimate_text_tokens(acc.text())
                + acc
                    .tool_calls(|_| String::new())
                    .iter()
                    .map(|c| estimate_text_tokens(&c.arguments) + 4)
                    .sum::<u64>(),
            estimated: true,
            ..Usage::default()
        });
        let call_usd = if self.input.provider.is_mock() {
            Some(0.0)
        } else {
            self.input
                .pricer
                .as_ref()
                .and_then(|price| price(&self.input.model, &usage))
        };
        self.turn_usage.add(&usage);
        self.input.session_usage.add(&usage);
        self.turn_cost = sum_cost(self.turn_cost, call_usd);
        self.input.session_cost = sum_cost(self.input.session_cost, call_usd);
        self.emit(Event::Usage {
            turn: self.input.turn,
            model: self.input.model.clone(),
            usage,
            turn_usage: self.turn_usage,
            session_usage: self.input.session_usage,
            cost: llm_repl_protocol::CostReport {
                call_usd,
                turn_usd: self.turn_cost,
                session_usd: self.input.session_cost,
                today_usd: None,
            },
            context_tokens,
            context_window: self.input.context_window,
            budget: None,
        });
    }

    async fn run_call(&self, call: &ToolCall) -> ToolResult {
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
        };
        let started = Instant::now();
        let (status, content) = tools_run::run_call(&ctx, call).await;
        let result = ToolResult {
            call_id: call.id.clone(),
            content,
            is_error: status != ToolStatus::Ok,
        };
        self.emit(Event::ToolCallFinished {
            call_id: call.id.clone(),
            status,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            result: result.clone(),
        });
        result
    }
}

enum Outcome {
    Done,
    Interrupted,
    Failed(ProviderError),
}

/// A sum of costs is unknown as soon as one part is.
fn sum_cost(total: Option<f64>, part: Option<f64>) -> Option<f64> {
    Some(total? + part?)
}

/// A rough token count (about four bytes a token) used when a provider reports no usage.
pub(crate) fn estimate_text_tokens(text: &str) -> u64 {
    (text.len() as u64).div_ceil(4)
}

fn estimate_request_tokens(request: &ChatRequest) -> u64 {
    let messages: u64 = request
        .messages
        .iter()
        .map(|m| {
            4 + estimate_text_tokens(&m.content)
                + m.tool_calls
                    .iter()
                    .map(|c| estimate_text_tokens(&c.arguments) + estimate_text_tokens(&c.name))
                    .sum::<u64>()
        })
        .sum();
    let tools: u64 = request
        .tools
        .iter()
        .map(|t| {
            estimate_text_tokens(&t.parameters.to_string()) + estimate_text_tokens(&t.description)
        })
        .sum();
    messages + tools
}
