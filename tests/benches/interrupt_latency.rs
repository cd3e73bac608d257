//! Interrupt latency: how long from the user's interrupt to the end of what it stops. The tests
//! assert the behaviour with bounds of seconds (a busy machine must not fail them); the figures
//! live here.
//!
//! - agent, streaming: `Op::Interrupt` during a model stream that would never end, until
//!   `TurnFinished { Interrupted }`;
//! - python, cooperative: cancelling a call sleeping in the sandboxed interpreter, until the
//!   call returns `Interrupted` with the interpreter's state kept;
//! - python, stubborn: code that swallows `KeyboardInterrupt`, until it is killed after the
//!   grace period.
//!
//! Run: `cargo bench -p llm-repl-e2e --bench interrupt_latency` (median, p90, max).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::future::BoxFuture;
use llm_repl_core::config::{Config, SandboxConfig, ToolsConfig};
use llm_repl_core::{
    Agent, AgentDeps, ChatRequest, ChatStream, OutputSink, Provider, ProviderError, StreamItem,
    Tool, ToolContext, ToolRegistry,
};
use llm_repl_protocol::{Event, FinishReason, Op, ToolStatus};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const RUNS: usize = 30;

/// Answers every call with a little text, then never ends the stream.
struct Hanging;

impl Provider for Hanging {
    fn name(&self) -> &str {
        "hanging"
    }
    fn default_model(&self) -> &str {
        "hang-1"
    }
    fn stream(&self, _request: ChatRequest) -> BoxFuture<'_, Result<ChatStream, ProviderError>> {
        Box::pin(async move {
            let items = futures::stream::iter([Ok(StreamItem::Text("partial".into()))]);
            Ok(items.chain(futures::stream::pending()).boxed())
        })
    }
}

fn report(name: &str, mut ms: Vec<f64>) {
    ms.sort_by(f64::total_cmp);
    println!(
        "{name}: median {:.2} ms, p90 {:.2} ms, max {:.2} ms ({} runs)",
        ms[ms.len() / 2],
        ms[ms.len() * 9 / 10],
        ms[ms.len() - 1],
        ms.len()
    );
}

async fn agent_streaming() -> Vec<f64> {
    let mut config = Config::default();
    config.store.model_titles = false;
    let mut h = Agent::spawn(AgentDeps {
        config,
        provider: Arc::new(Hanging),
        provider_factory: None,
        prices: Arc::new(llm_repl_core::pricing::PriceTable::builtin().clone()),
        tools: ToolRegistry::new(),
        workdir: PathBuf::from("."),
        context_window: None,
        interactive: false,
        store: None,
        resume: None,
        side_events: None,
    });
    let mut out = Vec::new();
    for run in 0..RUNS {
        let _ = h.ops.send(Op::Submit {
            text: format!("run {run}"),
        });
        while !matches!(h.events.recv().await, Some(Event::TextDelta { .. })) {}
        let t0 = Instant::now();
        let _ = h.ops.send(Op::Interrupt);
        loop {
            match h.events.recv().await {
                Some(Event::TurnFinished { reason, .. }) => {
                    assert_eq!(reason, FinishReason::Interrupted);
                    break;
                }
                Some(_) => {}
                None => panic!("agent stopped"),
            }
        }
        out.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    let _ = h.ops.send(Op::Shutdown);
    out
}

/// Cancels `code` once it printed its first line; returns the latency and the outcome.
async fn python_cancel(
    py: &Arc<dyn Tool>,
    dir: &std::path::Path,
    session: &str,
    code: &str,
) -> (f64, llm_repl_core::ToolOutcome) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let cancel = CancellationToken::new();
    let ctx = ToolContext {
        call_id: "bench".into(),
        cancel: cancel.clone(),
        output: OutputSink::new(tx),
        workdir: dir.to_path_buf(),
        session_id: session.to_string(),
    };
    let handle = tokio::spawn({
        let py = py.clone();
        let code = code.to_string();
        async move { py.run(serde_json::json!({ "code": code }), ctx).await }
    });
    let _ = tokio::time::timeout(Duration::from_secs(30), rx.recv()).await;
    let t0 = Instant::now();
    cancel.cancel();
    let outcome = handle.await.expect("python call");
    (t0.elapsed().as_secs_f64() * 1e3, outcome)
}

async fn python(stubborn: bool) -> Vec<f64> {
    let tools = ToolsConfig {
        timeout_secs: 60,
        ..ToolsConfig::default()
    };
    let all = llm_repl_tools::builtin_tools(&tools, &SandboxConfig::default()).expect("tools");
    let py = all
        .into_iter()
        .find(|t| t.spec().name == "python")
        .expect("python tool");
    let dir = tempfile::tempdir().expect("temp dir");
    let session = format!("bench-{}-{stubborn}", std::process::id());
    let code = if stubborn {
        "import time\nwhile True:\n    try:\n        print('stubborn', flush=True)\n        \
         time.sleep(30)\n    except KeyboardInterrupt:\n        pass"
    } else {
        "print('sleeping', flush=True)\nimport time\ntime.sleep(30)"
    };
    let mut out = Vec::new();
    for _ in 0..RUNS {
        let (ms, outcome) = python_cancel(&py, dir.path(), &session, code).await;
        assert_eq!(
            outcome.status,
            ToolStatus::Interrupted,
            "{}",
            outcome.content
        );
        out.push(ms);
    }
    out
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        report("agent interrupt during a stream", agent_streaming().await);
        report("python interrupt, cooperative code", python(false).await);
        report(
            "python interrupt, code that swallows it",
            python(true).await,
        );
    });
}
