//! Fault injection through the real agent: `Agent` (the loop the binary runs, turn by turn)
//! over `Resilient` over the real OpenAI-compatible provider (async-openai over HTTP and SSE),
//! against fake servers that inject 20% faults at random with a fixed seed (see [`model`]).
//! A loop is one turn of a fresh session: a python call, its observation, the final answer;
//! it completes when the final answer is right.
//!
//! - `route_of_three_survives_every_fault_kind`: 429 with Retry-After, 500, connection reset,
//!   stream cut mid-way, stall, malformed SSE line and broken tool-call JSON, over a route of
//!   three providers with one retry each (so calls fail over), short timeouts (a stall costs
//!   one timeout).
//! - `one_provider_at_the_defaults_survives_server_errors`: one provider, the shipped
//!   `[reliability]` defaults untouched, 20% HTTP 500s.
//! - `one_provider_survives_every_fault_kind`: one provider, the default retry budgets, short
//!   timeouts.
//!
//! Each runs `FAULT_LOOPS` loops (200 unless set; the ledger's figures use 1000) on 20 agents at
//! once and must complete at least 99.9% of them, as written, at any loop count.

mod model;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use llm_repl_core::config::{Config, ReliabilityConfig};
use llm_repl_core::pricing::PriceTable;
use llm_repl_core::{Agent, AgentDeps, Provider, ToolRegistry};
use llm_repl_e2e::fake::FakeServer;
use llm_repl_protocol::{Event, FinishReason, Op};
use llm_repl_providers::resilient::{
    BackoffSettings, EventSink, ReliabilityEvent, ResilienceSettings, Resilient,
};
use llm_repl_providers::{OpenAiProvider, OpenAiSettings};
use model::{FaultCounts, Faults, KINDS};

const FAULT_RATE: f64 = 0.20;
const SEED: u64 = 20_261_126;
/// Agents running loops at once (each its own session and its own turns, one after another).
const AGENTS: u64 = 20;

fn loops() -> u64 {
    std::env::var("FAULT_LOOPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
}

/// One endpoint: the real provider, as the binary builds it.
fn endpoint(name: &str, model: &str, base_url: &str) -> Arc<dyn Provider> {
    let settings = OpenAiSettings {
        name: name.into(),
        base_url: base_url.into(),
        api_key: Some("fault-key".into()),
        api_key_env: "FAULT_KEY".into(),
        model: model.into(),
        headers: BTreeMap::new(),
        connect_timeout: Duration::from_secs(10),
    };
    match OpenAiProvider::new(settings) {
        Ok(p) => Arc::new(p),
        Err(e) => panic!("provider: {e}"),
    }
}

/// The default retry budgets with short timeouts and backoff, so stalls and retries cost
/// milliseconds.
fn fast() -> ResilienceSettings {
    ResilienceSettings {
        first_token_timeout: Duration::from_millis(300),
        idle_timeout: Duration::from_millis(300),
        backoff: BackoffSettings {
            base: Duration::from_millis(2),
            max: Duration::from_millis(20),
            max_retry_after: Duration::from_secs(1),
        },
        jitter_seed: Some(7),
        ..ResilienceSettings::default()
    }
}

#[derive(Debug, Default)]
struct Report {
    loops: u64,
    right: u64,
    wrong: Vec<String>,
    failed: Vec<String>,
    requests: usize,
    faults: BTreeMap<&'static str, usize>,
    events: BTreeMap<&'static str, usize>,
    seconds: f64,
}

impl Report {
    fn print(&self, name: &str) {
        let faults: usize = self.faults.values().sum();
        eprintln!(
            "{name}: {} loops, {} right, {} wrong, {} failed; {} requests, {faults} faults \
             ({:.1}%) {:?}; events {:?}; {:.1}s",
            self.loops,
            self.right,
            self.wrong.len(),
            self.failed.len(),
            self.requests,
            100.0 * faults as f64 / self.requests.max(1) as f64,
            self.faults,
            self.events,
            self.seconds
        );
        for f in self.failed.iter().chain(&self.wrong) {
            eprintln!("  {f}");
        }
    }

    /// What every campaign must show: no wrong answer, failures in one line each, at least
    /// 99.9% of loops right, and faults really injected at about the asked rate.
    fn check(&self) {
        assert!(self.wrong.is_empty(), "wrong answers: {:?}", self.wrong);
        for f in &self.failed {
            assert!(!f.contains('\n') && !f.is_empty(), "{f:?}");
        }
        assert!(
            self.right as f64 >= 0.999 * self.loops as f64,
            "only {} of {} loops completed: {:?}",
            self.right,
            self.loops,
            self.failed
        );
        let faults: usize = self.faults.values().sum();
        let rate = faults as f64 / self.requests as f64;
        assert!((0.12..0.28).contains(&rate), "fault rate {rate}");
        assert!(
            self.events.get("retry").copied().unwrap_or(0) > 0,
            "{:?}",
            self.events
        );
    }
}

/// How one turn of one agent ended.
enum Outcome {
    Right,
    Wrong(String),
    Failed(String),
}

/// Runs loops `first, first + AGENTS, ...` below `loops` on one agent, a fresh session each.
async fn agent_loops(provider: Arc<dyn Provider>, first: u64, loops: u64) -> Vec<(u64, Outcome)> {
    let mut tools = ToolRegistry::new();
    tools.register(Arc::new(model::Calc));
    tools.register(Arc::new(model::Note));
    let mut config = Config::default();
    // No title calls: every request is a step of a loop.
    config.store.model_titles = false;
    config.max_steps = 8;
    let mut agent = Agent::spawn(AgentDeps {
        config,
        provider,
        provider_factory: None,
        prices: Arc::new(PriceTable::builtin().clone()),
        tools,
        workdir: PathBuf::from("."),
        context_window: None,
        interactive: false,
        store: None,
        resume: None,
        side_events: None,
    });
    let mut out = Vec::new();
    let mut i = first;
    while i < loops {
        let _ = agent.ops.send(Op::NewSession);
        let _ = agent.ops.send(Op::Submit {
            text: model::question(i),
        });
        let mut answer = String::new();
        let mut errors = Vec::new();
        let reason = loop {
            let event = tokio::time::timeout(Duration::from_secs(300), agent.events.recv()).await;
            match event {
                Ok(Some(Event::AssistantMessage { message, .. })) => answer = message.content,
                Ok(Some(Event::Error { message })) => errors.push(message),
                Ok(Some(Event::TurnFinished { reason, .. })) => break Some(reason),
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break None,
            }
        };
        let outcome = match reason {
            Some(FinishReason::Completed) if answer == model::expected(i) => Outcome::Right,
            Some(FinishReason::Completed) => Outcome::Wrong(answer),
            Some(other) => Outcome::Failed(format!("{other:?}: {}", errors.join(" | "))),
            None => Outcome::Failed("no TurnFinished within 300 s".into()),
        };
        out.push((i, outcome));
        i += AGENTS;
    }
    let _ = agent.ops.send(Op::Shutdown);
    out
}

type Counts = Arc<Mutex<BTreeMap<&'static str, usize>>>;

/// Counts reliability events by kind.
fn counting_sink() -> (Counts, EventSink) {
    let events: Counts = Arc::default();
    let sink = events.clone();
    let on_event = Arc::new(move |e: ReliabilityEvent| {
        let kind = match e {
            ReliabilityEvent::Retry { .. } => "retry",
            ReliabilityEvent::RetriesOver { .. } => "retries_over",
            ReliabilityEvent::Failover { .. } => "failover",
            ReliabilityEvent::CircuitOpened { .. } => "circuit_opened",
            ReliabilityEvent::CircuitClosed { .. } => "circuit_closed",
            ReliabilityEvent::Skipped { .. } => "skipped",
            ReliabilityEvent::Resuming { .. } => "resuming",
        };
        *sink.lock().expect("lock").entry(kind).or_default() += 1;
    });
    (events, on_event)
}

/// Runs `loops` loops over a route of `providers` faulty servers.
async fn campaign(providers: usize, kinds: Faults, settings: ResilienceSettings) -> Report {
    let loops = loops();
    let faults: FaultCounts = Arc::new(Default::default());
    let mut servers = Vec::new();
    let mut route = Vec::new();
    for (n, name) in ["primary", "backup", "spare"]
        .iter()
        .take(providers)
        .enumerate()
    {
        let server = FakeServer::start().await;
        let seed = SEED ^ (0x5555 * n as u64);
        server.set_responder(model::faulty(seed, FAULT_RATE, kinds, faults.clone()));
        route.push(endpoint(name, &format!("fake-{n}"), &server.base_url()));
        servers.push(server);
    }
    let (events, on_event) = counting_sink();
    let provider: Arc<dyn Provider> =
        Arc::new(Resilient::new(route, settings, on_event).expect("route"));
    let started = Instant::now();
    let workers: Vec<_> = (0..AGENTS.min(loops))
        .map(|first| tokio::spawn(agent_loops(provider.clone(), first, loops)))
        .collect();
    let mut report = Report {
        loops,
        ..Report::default()
    };
    for worker in workers {
        for (i, outcome) in worker.await.expect("agent worker") {
            match outcome {
                Outcome::Right => report.right += 1,
                Outcome::Wrong(t) => report.wrong.push(format!("loop {i}: {t}")),
                Outcome::Failed(e) => report.failed.push(format!("loop {i}: {e}")),
            }
        }
    }
    report.seconds = started.elapsed().as_secs_f64();
    report.requests = servers.iter().map(|s| s.chat_requests().len()).sum();
    for (k, name) in KINDS.iter().enumerate() {
        report
            .faults
            .insert(name, faults[k].load(Ordering::Relaxed));
    }
    report.events = events.lock().expect("lock").clone();
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_of_three_survives_every_fault_kind() {
    // One retry per provider, so calls really move along the route (4% of calls at 20%).
    let settings = ResilienceSettings {
        max_retries: 1,
        max_transient_retries: 1,
        ..fast()
    };
    let report = campaign(3, Faults::Every, settings).await;
    report.print("route of three (1 retry each), every fault kind");
    report.check();
    assert!(report.events.get("failover").copied().unwrap_or(0) > 0);
    // Every kind was injected, and broken streams were resumed.
    assert!(
        report.faults.values().all(|&n| n > 0),
        "{:?}",
        report.faults
    );
    assert!(report.events.get("resuming").copied().unwrap_or(0) > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_provider_at_the_defaults_survives_server_errors() {
    // The shipped defaults, untouched: timeouts, budgets, backoff, circuit, clock-seeded jitter.
    let settings = ResilienceSettings::from_config(&ReliabilityConfig::default());
    assert_eq!(settings, ResilienceSettings::default());
    let report = campaign(1, Faults::ServerErrors, settings).await;
    report.print("one provider at the defaults, 20% HTTP 500");
    report.check();
    assert_eq!(report.faults["500"], report.faults.values().sum::<usize>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_provider_survives_every_fault_kind() {
    let report = campaign(1, Faults::Every, fast()).await;
    report.print("one provider, every fault kind");
    report.check();
    assert!(
        report.faults.values().all(|&n| n > 0),
        "{:?}",
        report.faults
    );
}

/// A turn that failed before any answer leaves no trace in what the model is sent next: the
/// retyped prompt is not the second of two user messages in a row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_turn_does_not_duplicate_its_prompt_into_the_history() {
    let server = FakeServer::start().await;
    // The first call fails for good (401 is not retried); the retyped prompt is answered.
    server.push(llm_repl_e2e::fake::Scripted::unauthorized());
    server.push(llm_repl_e2e::fake::Scripted::text("hello"));
    let (_, on_event) = counting_sink();
    let provider: Arc<dyn Provider> = Arc::new(Resilient::single(
        endpoint("openai", "fake-0", &server.base_url()),
        fast(),
        on_event,
    ));
    let mut config = Config::default();
    config.store.model_titles = false;
    let mut agent = Agent::spawn(AgentDeps {
        config,
        provider,
        provider_factory: None,
        prices: Arc::new(PriceTable::builtin().clone()),
        tools: ToolRegistry::new(),
        workdir: PathBuf::from("."),
        context_window: None,
        interactive: false,
        store: None,
        resume: None,
        side_events: None,
    });
    let mut reasons = Vec::new();
    let mut errors = Vec::new();
    for _ in 0..2 {
        let _ = agent.ops.send(Op::Submit { text: "hi".into() });
        loop {
            match tokio::time::timeout(Duration::from_secs(60), agent.events.recv()).await {
                Ok(Some(Event::TurnFinished { reason, .. })) => {
                    reasons.push(reason);
                    break;
                }
                Ok(Some(Event::Error { message })) => errors.push(message),
                Ok(Some(_)) => {}
                other => panic!("no TurnFinished: {other:?}"),
            }
        }
    }
    assert_eq!(reasons, [FinishReason::Failed, FinishReason::Completed]);
    // The failure is one line naming the provider once.
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(!errors[0].contains('\n'), "{}", errors[0]);
    assert_eq!(errors[0].matches("openai").count(), 1, "{}", errors[0]);
    let sent = server.chat_requests();
    assert_eq!(sent.len(), 2);
    let roles: Vec<String> = sent[1]
        .messages()
        .iter()
        .map(|m| m["role"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(roles, ["system", "user"], "{:?}", sent[1].messages());
}
