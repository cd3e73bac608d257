//! Shared pieces of the agent tests: a scripted provider, in-process tools, and helpers.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // test support code

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::stream::{self, StreamExt};
use llm_repl_core::config::Config;
use llm_repl_core::pricing::PriceTable;
use llm_repl_core::{
    Agent, AgentDeps, AgentHandle, Assessment, ChatRequest, ChatStream, Provider, ProviderError,
    ProviderErrorKind, StreamItem, Tool, ToolContext, ToolOutcome, ToolRegistry, ToolSpec,
};
use llm_repl_protocol::{Event, FinishReason, Op, OutputStream, ToolStatus, Usage};

/// One scripted answer: items, then either the end or a stream that never ends.
#[derive(Clone)]
pub struct Answer {
    pub items: Vec<Result<StreamItem, ProviderError>>,
    pub hang: bool,
}

pub fn text(t: &str) -> Answer {
    Answer {
        items: vec![Ok(StreamItem::Text(t.into()))],
        hang: false,
    }
}

pub fn call(id: &str, name: &str, args: &str) -> Answer {
    Answer {
        items: vec![
            Ok(StreamItem::ToolCallDelta {
                index: 0,
                id: Some(id.into()),
                name: Some(name.into()),
                arguments: String::new(),
            }),
            Ok(StreamItem::ToolCallDelta {
                index: 0,
                id: None,
                name: None,
                arguments: args.into(),
            }),
            Ok(StreamItem::Usage(Usage {
                input: 100,
                output: 10,
                ..Usage::default()
            })),
        ],
        hang: false,
    }
}

#[derive(Default)]
pub struct Scripted {
    pub answers: Mutex<VecDeque<Answer>>,
    pub requests: Mutex<Vec<ChatRequest>>,
}

impl Provider for Scripted {
    fn name(&self) -> &str {
        "scripted"
    }
    fn default_model(&self) -> &str {
        "script-1"
    }
    fn stream(&self, request: ChatRequest) -> BoxFuture<'_, Result<ChatStream, ProviderError>> {
        self.requests.lock().unwrap().push(request);
        let answer = self.answers.lock().unwrap().pop_front();
        Box::pin(async move {
            let Some(answer) = answer else {
                return Err(ProviderError::new(
                    ProviderErrorKind::Http { status: 500 },
                    "script exhausted",
                ));
            };
            let items = stream::iter(answer.items);
            if answer.hang {
                Ok(items.chain(stream::pending()).boxed())
            } else {
                Ok(items.boxed())
            }
        })
    }
}

/// `echo` returns its "text" argument; `slow` prints then waits for cancellation.
pub struct Echo;
impl Tool for Echo {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "echo".into(),
            description: "echo text".into(),
            parameters: serde_json::json!({"type":"object","properties":{"text":{"type":"string"}}}),
        }
    }
    fn assess(&self, args: &serde_json::Value) -> Assessment {
        let risky = args["text"].as_str().is_some_and(|t| t.contains("rm -rf"));
        Assessment {
            findings: vec![],
            needs_approval: risky.then(|| "looks destructive".to_string()),
        }
    }
    fn run(&self, args: serde_json::Value, ctx: ToolContext) -> BoxFuture<'_, ToolOutcome> {
        Box::pin(async move {
            let t = args["text"].as_str().unwrap_or("").to_string();
            ctx.output.send(OutputStream::Stdout, t.clone());
            ToolOutcome::ok(t)
        })
    }
}

pub struct Slow;
impl Tool for Slow {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "slow".into(),
            description: "waits".into(),
            parameters: serde_json::json!({"type":"object"}),
        }
    }
    fn run(&self, _args: serde_json::Value, ctx: ToolContext) -> BoxFuture<'_, ToolOutcome> {
        Box::pin(async move {
            ctx.output.send(OutputStream::Stdout, "started\n");
            ctx.cancel.cancelled().await;
            ToolOutcome {
                status: ToolStatus::Interrupted,
                content: "interrupted".into(),
            }
        })
    }
}

/// A price table where the scripted model costs $1 per million tokens each way.
pub fn prices() -> PriceTable {
    PriceTable::parse(
        "[free]\nproviders = []\nsource = \"t\"\ndate = \"2026-11-26\"\n[[model]]\n\
         provider = \"scripted\"\nmodel = \"script-1\"\ninput = 1.0\noutput = 1.0\n\
         context_window = 1000\ntier = 1\ntools = true\nsource = \"test\"\ndate = \"2026-11-26\"\n",
    )
    .unwrap()
}

/// A tool with a bug: it panics.
pub struct Boom;
impl Tool for Boom {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "boom".into(),
            description: "panics".into(),
            parameters: serde_json::json!({"type":"object"}),
        }
    }
    fn run(&self, _args: serde_json::Value, _ctx: ToolContext) -> BoxFuture<'_, ToolOutcome> {
        Box::pin(async move { panic!("tool bug") })
    }
}

pub fn start(
    answers: Vec<Answer>,
    config: Config,
    interactive: bool,
) -> (AgentHandle, Arc<Scripted>) {
    start_with_store(answers, config, interactive, None)
}

/// Like [`start`], with sessions kept in `store`.
pub fn start_with_store(
    answers: Vec<Answer>,
    config: Config,
    interactive: bool,
    store: Option<llm_repl_store::Store>,
) -> (AgentHandle, Arc<Scripted>) {
    let provider = Arc::new(Scripted::default());
    provider.answers.lock().unwrap().extend(answers);
    let mut tools = ToolRegistry::new();
    tools.register(Arc::new(Echo));
    tools.register(Arc::new(Slow));
    tools.register(Arc::new(Boom));
    let handle = Agent::spawn(AgentDeps {
        config,
        provider: provider.clone(),
        provider_factory: None,
        prices: Arc::new(prices()),
        tools,
        workdir: PathBuf::from("."),
        context_window: Some(1000),
        interactive,
        store,
        resume: None,
        side_events: None,
    });
    (handle, provider)
}

/// The id of the session the events started.
pub fn session_id(events: &[Event]) -> String {
    events
        .iter()
        .find_map(|e| match e {
            Event::SessionStarted { info } => Some(info.id.clone()),
            _ => None,
        })
        .expect("a SessionStarted event")
}

/// Collects events until the turn finishes.
pub async fn until_finished(h: &mut AgentHandle) -> (Vec<Event>, FinishReason) {
    let mut seen = Vec::new();
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(10), h.events.recv())
            .await
            .expect("event in time")
            .expect("agent alive");
        if let Event::TurnFinished { reason, .. } = ev {
            return (seen, reason);
        }
        seen.push(ev);
    }
}

pub fn submit(h: &AgentHandle, t: &str) {
    h.ops.send(Op::Submit { text: t.into() }).unwrap();
}
