//! Loop overhead per model round trip: the agent, the real OpenAI-compatible provider over HTTP
//! and SSE, and the fake server answering with zero latency. The tool is in-process (an echo),
//! so what is measured is the loop's own cost per step: building the request, the HTTP round
//! trip on loopback, SSE parsing, accumulation, events, and feeding the result back.
//!
//! Every turn is `STEPS_PER_TURN` model calls: the fake model decides from the conversation (the
//! tool results since the last prompt), each call's arguments differ (so the repeated-call guard
//! never fires), and the bench asserts from the server's record that every turn completed with
//! exactly that many requests before it divides by it.
//!
//! Run: `cargo bench -p llm-repl-e2e --bench loop_overhead` (prints median and p90 per step).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use llm_repl_core::config::Config;
use llm_repl_core::{Agent, AgentDeps, Tool, ToolContext, ToolOutcome, ToolRegistry, ToolSpec};
use llm_repl_e2e::fake::{FakeServer, Reply, Scripted};
use llm_repl_protocol::{Event, FinishReason, Op};
use llm_repl_providers::{OpenAiProvider, OpenAiSettings};

const STEPS_PER_TURN: u64 = 5;
const TURNS: usize = 200;

struct Echo;
impl Tool for Echo {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "echo".into(),
            description: "echo".into(),
            parameters: serde_json::json!({"type": "object", "properties": {"text": {"type": "string"}}}),
        }
    }
    fn run(&self, args: serde_json::Value, _ctx: ToolContext) -> BoxFuture<'_, ToolOutcome> {
        Box::pin(async move { ToolOutcome::ok(args["text"].as_str().unwrap_or("").to_string()) })
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let server = FakeServer::start().await;
        server.set_responder(Arc::new(|req, n| -> Scripted {
            // The step of this turn: tool results since the last user message.
            let messages = req.messages();
            let step = messages
                .iter()
                .rev()
                .take_while(|m| m["role"] != "user")
                .filter(|m| m["role"] == "tool")
                .count() as u64;
            if step == STEPS_PER_TURN - 1 {
                Reply::text("done, all echoed back fine")
                    .chunks(4)
                    .usage(200, 8, 0)
                    .into()
            } else {
                Reply::text("calling")
                    .tool_call(
                        format!("c{n}"),
                        "echo",
                        format!(r#"{{"text": "ping {step}"}}"#),
                    )
                    .usage(180, 12, 0)
                    .into()
            }
        }));
        let provider = OpenAiProvider::new(OpenAiSettings {
            name: "fake".into(),
            base_url: server.base_url(),
            api_key: Some("bench-key".into()),
            api_key_env: "BENCH_KEY".into(),
            model: "fake-model".into(),
            headers: BTreeMap::new(),
            connect_timeout: Duration::from_secs(5),
        })
        .expect("provider");
        let mut tools = ToolRegistry::new();
        tools.register(Arc::new(Echo));
        let mut config = Config {
            max_steps: 50,
            ..Config::default()
        };
        // No title calls: every request counted is a step of a turn.
        config.store.model_titles = false;
        let mut handle = Agent::spawn(AgentDeps {
            config,
            provider: Arc::new(provider),
            provider_factory: None,
            prices: Arc::new(llm_repl_core::pricing::PriceTable::builtin().clone()),
            tools,
            workdir: PathBuf::from("."),
            context_window: None,
            interactive: false,
            store: None,
            resume: None,
            side_events: None,
        });
        let mut per_step = Vec::with_capacity(TURNS);
        for turn in 0..TURNS {
            if turn % 20 == 0 {
                // A fresh session now and then keeps the history (and request size) bounded.
                handle.ops.send(Op::NewSession).expect("agent alive");
            }
            let before = server.chat_requests().len();
            let t0 = Instant::now();
            handle
                .ops
                .send(Op::Submit {
                    text: format!("turn {turn}"),
                })
                .expect("agent alive");
            let reason = loop {
                match handle.events.recv().await {
                    Some(Event::TurnFinished { reason, .. }) => break reason,
                    Some(e) if std::env::var_os("BENCH_DEBUG").is_some() => eprintln!("{e:?}"),
                    Some(_) => {}
                    None => panic!("agent stopped"),
                }
            };
            let elapsed = t0.elapsed();
            // What is divided by must be what happened.
            let requests = server.chat_requests().len() - before;
            assert_eq!(reason, FinishReason::Completed, "turn {turn}");
            assert_eq!(
                requests as u64, STEPS_PER_TURN,
                "turn {turn} made {requests} model calls"
            );
            per_step.push(elapsed.as_secs_f64() * 1e3 / STEPS_PER_TURN as f64);
        }
        // The first turns warm the connection pool and caches.
        let mut sorted: Vec<f64> = per_step[10..].to_vec();
        sorted.sort_by(f64::total_cmp);
        let median = sorted[sorted.len() / 2];
        let p90 = sorted[sorted.len() * 9 / 10];
        println!(
            "loop overhead per model round trip ({} turns x {STEPS_PER_TURN} steps, zero-latency \
             fake server): median {median:.3} ms, p90 {p90:.3} ms, min {:.3} ms",
            sorted.len(),
            sorted[0]
        );
        let _ = handle.ops.send(Op::Shutdown);
    });
}
