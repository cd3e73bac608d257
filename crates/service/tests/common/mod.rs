//! Shared pieces of the service tests: a rule-following provider, a tool the test opens like a
//! gate, a service on a real socket in a temp dir, and a raw client.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // test support code

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::stream::{self, StreamExt};
use llm_repl_core::config::Config;
use llm_repl_core::pricing::PriceTable;
use llm_repl_core::{
    AgentDeps, Assessment, ChatRequest, ChatStream, Provider, ProviderError, StreamItem, Tool,
    ToolContext, ToolOutcome, ToolRegistry, ToolSpec,
};
use llm_repl_protocol::{Event, Op, OutputStream, Role};
use llm_repl_service::client::Connection;
use llm_repl_service::server::ServiceConfig;
use llm_repl_service::{AgentFactory, Open, ServicePaths, SessionSpec};
use llm_repl_store::Store;
use tokio::sync::Semaphore;

/// A user prompt `N` becomes a `gate` call printing N lines; a tool result becomes "done".
pub struct Rules;

impl Provider for Rules {
    fn name(&self) -> &str {
        "scripted"
    }
    fn default_model(&self) -> &str {
        "script-1"
    }
    fn stream(&self, request: ChatRequest) -> BoxFuture<'_, Result<ChatStream, ProviderError>> {
        let last = request.messages.last().cloned();
        Box::pin(async move {
            let items = match last {
                Some(m) if m.role == Role::User => {
                    // "N" or "N/PER_MS" (N lines, PER_MS of them per millisecond).
                    let (n, per_ms) = m
                        .content
                        .trim()
                        .split_once('/')
                        .unwrap_or((m.content.trim(), "0"));
                    let n: u64 = n.parse().unwrap_or(1);
                    let per_ms: u64 = per_ms.parse().unwrap_or(0);
                    vec![
                        StreamItem::Text("running ".into()),
                        StreamItem::ToolCallDelta {
                            index: 0,
                            id: Some(format!("call-{n}")),
                            name: Some("gate".into()),
                            arguments: format!("{{\"lines\":{n},\"per_ms\":{per_ms}}}"),
                        },
                        StreamItem::Finish("tool_calls".into()),
                    ]
                }
                _ => vec![
                    StreamItem::Text("done".into()),
                    StreamItem::Finish("stop".into()),
                ],
            };
            Ok(stream::iter(items.into_iter().map(Ok)).boxed())
        })
    }
}

/// Prints `lines` lines, then waits until the test adds a permit to the gate.
pub struct Gate {
    pub gate: Arc<Semaphore>,
}

impl Tool for Gate {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "gate".into(),
            description: "prints, then waits for the test".into(),
            parameters: serde_json::json!({"type":"object"}),
        }
    }
    fn assess(&self, _args: &serde_json::Value) -> Assessment {
        Assessment {
            findings: vec![],
            needs_approval: Some("the test decides".into()),
        }
    }
    fn run(&self, args: serde_json::Value, ctx: ToolContext) -> BoxFuture<'_, ToolOutcome> {
        Box::pin(async move {
            let n = args["lines"].as_u64().unwrap_or(1);
            // `per_ms`: lines per millisecond (a paced stream); absent: all at once.
            let per_ms = args["per_ms"].as_u64().unwrap_or(0);
            for i in 0..n {
                ctx.output.send(OutputStream::Stdout, format!("line {i}\n"));
                if per_ms > 0 && (i + 1) % per_ms == 0 {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
            tokio::select! {
                permit = self.gate.acquire() => permit.unwrap().forget(),
                _ = ctx.cancel.cancelled() => return ToolOutcome::error("interrupted"),
            }
            ToolOutcome::ok(format!("{n} lines"))
        })
    }
}

pub fn prices() -> PriceTable {
    PriceTable::parse(
        "[free]\nproviders = []\nsource = \"t\"\ndate = \"2026-11-26\"\n[[model]]\n\
         provider = \"scripted\"\nmodel = \"script-1\"\ninput = 1.0\noutput = 1.0\n\
         context_window = 100000\ntier = 1\ntools = true\nsource = \"test\"\ndate = \"2026-11-26\"\n",
    )
    .unwrap()
}

/// A service on a real socket in a temp dir, its store on real sled.
pub struct TestService {
    pub dir: tempfile::TempDir,
    pub paths: ServicePaths,
    pub gate: Arc<Semaphore>,
    pub task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl TestService {
    /// `approval`: the policy of every session ("never" lets the gate run unasked).
    pub fn start(approval: &str, idle_exit: Option<Duration>) -> TestService {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let paths = ServicePaths::for_data_dir(&data, Some(&dir.path().join("run")));
        let store = Store::open(&data).unwrap();
        let gate = Arc::new(Semaphore::new(0));
        let approval = approval.to_string();
        let factory: AgentFactory = {
            let gate = gate.clone();
            Arc::new(move |spec: &SessionSpec, store: Option<Store>| {
                let mut config = Config::default();
                config.tools.approval = approval.clone();
                let mut tools = ToolRegistry::new();
                tools.register(Arc::new(Gate { gate: gate.clone() }));
                Ok(AgentDeps {
                    config,
                    provider: Arc::new(Rules),
                    provider_factory: None,
                    prices: Arc::new(prices()),
                    tools,
                    workdir: spec.workdir.clone(),
                    context_window: Some(100_000),
                    interactive: spec.interactive,
                    store,
                    resume: spec.resume.clone(),
                    side_events: None,
                })
            })
        };
        let bound = llm_repl_service::bind(ServiceConfig {
            paths: paths.clone(),
            store: Some(store),
            factory,
            idle_exit,
        })
        .unwrap();
        let task = tokio::spawn(bound.run());
        TestService {
            dir,
            paths,
            gate,
            task,
        }
    }

    pub fn spec(&self, who: &str) -> SessionSpec {
        SessionSpec {
            workdir: PathBuf::from(self.dir.path()),
            interactive: true,
            client: who.into(),
            ..SessionSpec::default()
        }
    }

    pub async fn open(&self, who: &str) -> Connection {
        llm_repl_service::connect(
            &self.paths.socket,
            Open::Session {
                spec: self.spec(who),
            },
        )
        .await
        .unwrap()
    }

    pub async fn attach(&self, who: &str, session: &str) -> Connection {
        llm_repl_service::connect(
            &self.paths.socket,
            Open::Attach {
                session: Some(session.into()),
                spec: self.spec(who),
            },
        )
        .await
        .unwrap()
    }
}

/// The next Event, or a panic after 20 s (a hang is a failure, not a wait).
pub async fn next(c: &mut Connection) -> Event {
    match tokio::time::timeout(Duration::from_secs(20), c.events.recv()).await {
        Ok(Some(e)) => e,
        Ok(None) => panic!("the event stream ended"),
        Err(_) => panic!("no event within 20 s"),
    }
}

/// Events up to and including the first one `stop` accepts.
pub async fn until(c: &mut Connection, stop: impl Fn(&Event) -> bool) -> Vec<Event> {
    let mut seen = Vec::new();
    loop {
        let e = next(c).await;
        let done = stop(&e);
        seen.push(e);
        if done {
            return seen;
        }
    }
}

/// The id of the session a fresh connection was put in.
pub async fn session_of(c: &mut Connection) -> String {
    let events = until(c, |e| {
        matches!(
            e,
            Event::SessionStarted { .. } | Event::SessionLoaded { .. }
        )
    })
    .await;
    match events.last() {
        Some(Event::SessionStarted { info } | Event::SessionLoaded { info, .. }) => info.id.clone(),
        _ => unreachable!(),
    }
}

pub fn submit(c: &Connection, text: &str) {
    c.ops.send(Op::Submit { text: text.into() }).unwrap();
}

pub fn tool_output(events: &[Event]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            Event::ToolOutput { chunk, .. } => Some(chunk.as_str()),
            _ => None,
        })
        .collect()
}
