//! The real agent with the real tools and a provider that asks for exactly the tool call a
//! test (or bench) names: the model's tool call arrives, the agent assesses it, applies the
//! approval policy, runs it, and the observation comes back as events.
//!
//! Shared by the approval tests and the tool-path bench (`#[path]`-included there).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::stream::{self, StreamExt};
use llm_repl_core::config::Config;
use llm_repl_core::{
    Agent, AgentDeps, AgentHandle, ChatRequest, ChatStream, Provider, ProviderError, StreamItem,
    Tool, ToolRegistry,
};
use llm_repl_protocol::{Event, Op, Role, ToolStatus, Usage};

/// Reads the user's message `CALL <tool> <json arguments>` and asks for that call; once the
/// call's result is in the conversation it answers "done".
#[derive(Default)]
pub struct CallWhatIsAsked {
    n: AtomicU64,
}

impl Provider for CallWhatIsAsked {
    fn name(&self) -> &str {
        "scripted"
    }
    fn default_model(&self) -> &str {
        "script-1"
    }
    fn stream(&self, request: ChatRequest) -> BoxFuture<'_, Result<ChatStream, ProviderError>> {
        let last = request.messages.last().cloned();
        let n = self.n.fetch_add(1, Ordering::Relaxed);
        Box::pin(async move {
            let usage = StreamItem::Usage(Usage {
                input: 10,
                output: 5,
                ..Usage::default()
            });
            let items = match last {
                Some(m) if m.role == Role::User => {
                    let rest = m.content.strip_prefix("CALL ").unwrap_or("");
                    let (tool, args) = rest.split_once(' ').unwrap_or((rest, "{}"));
                    vec![
                        StreamItem::ToolCallDelta {
                            index: 0,
                            id: Some(format!("call_{n}")),
                            name: Some(tool.to_string()),
                            arguments: args.to_string(),
                        },
                        usage,
                    ]
                }
                _ => vec![StreamItem::Text("done".into()), usage],
            };
            Ok(stream::iter(items.into_iter().map(Ok)).boxed())
        })
    }
}

/// The agent over `tools` in `workdir`, with the default config (approval policy `on-risk`).
pub fn agent(tools: Vec<Arc<dyn Tool>>, workdir: &Path, interactive: bool) -> AgentHandle {
    let mut registry = ToolRegistry::new();
    for t in tools {
        registry.register(t);
    }
    Agent::spawn(AgentDeps {
        config: Config::default(),
        provider: Arc::new(CallWhatIsAsked::default()),
        provider_factory: None,
        prices: Arc::new(llm_repl_core::pricing::PriceTable::builtin().clone()),
        tools: registry,
        workdir: workdir.to_path_buf(),
        context_window: None,
        interactive,
        store: None,
        resume: None,
        side_events: None,
    })
}

/// What one call through the agent produced.
#[derive(Debug)]
pub struct Observed {
    pub status: ToolStatus,
    pub content: String,
    /// From the call's arrival (`ToolCallStarted`) to its observation (`ToolCallFinished`).
    pub tool_path: Duration,
    pub approval_requested: bool,
}

/// Submits one turn asking for `tool(args)` and waits for the turn to finish.
pub async fn call(h: &mut AgentHandle, tool: &str, args: &serde_json::Value) -> Observed {
    h.ops
        .send(Op::Submit {
            text: format!("CALL {tool} {args}"),
        })
        .expect("agent alive");
    let mut started = None;
    let mut finished = None;
    let mut approval_requested = false;
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(60), h.events.recv())
            .await
            .expect("an event within a minute")
            .expect("agent alive");
        match ev {
            Event::ToolCallStarted { .. } => started = Some(Instant::now()),
            Event::ToolCallFinished { status, result, .. } => {
                finished = Some((status, result.content, Instant::now()))
            }
            Event::ApprovalRequested { request } => {
                approval_requested = true;
                // Nobody approves in a test: deny, as a user would who did not ask for it.
                h.ops
                    .send(Op::Approval {
                        call_id: request.call.id,
                        decision: llm_repl_protocol::ApprovalDecision::Deny,
                    })
                    .expect("agent alive");
            }
            Event::TurnFinished { .. } => break,
            _ => {}
        }
    }
    let (status, content, at) = finished.expect("the call finished");
    Observed {
        status,
        content,
        tool_path: at - started.expect("the call started"),
        approval_requested,
    }
}
