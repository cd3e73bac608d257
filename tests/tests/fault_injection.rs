//! Fault injection: 1,000 scripted reason-act-observe loops against two fake servers (a route of
//! primary and backup) that inject, at random with a fixed seed, 20% faults: 429 with
//! Retry-After, 500, connection reset, stream cut mid-way, stall, malformed SSE line, broken
//! tool-call JSON. The client is `Resilient` over the real OpenAI-compatible provider; a loop completes when
//! its final answer is right. Real time with tiny delays (real sockets and tokio's paused clock
//! do not mix): stalls cost one idle timeout each.
//!
//! The "model" is deterministic (its answer is a function of the request), so a retried request
//! gets the same answer: transport faults are random per request, the content fault (broken
//! tool-call JSON) is a function of the request.

use llm_repl_providers::resilient;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use llm_repl_core::provider::{ChatRequest, Provider, StreamItem};
use llm_repl_core::tool::ToolSpec;
use llm_repl_e2e::fake::{FakeServer, HttpError, Recorded, Reply, Responder, Scripted, chunks};
use llm_repl_protocol::{Message, ToolCall, ToolResult};
use llm_repl_providers::{OpenAiProvider, OpenAiSettings};
use resilient::{
    BackoffSettings, CircuitSettings, ReliabilityEvent, ResilienceSettings, Resilient,
};
use serde_json::{Value, json};

const LOOPS: u64 = 1000;
const FAULT_RATE: f64 = 0.20;
const KINDS: [&str; 7] = [
    "429",
    "500",
    "reset",
    "cut",
    "stall",
    "malformed",
    "broken_json",
];

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn unit(x: u64) -> f64 {
    (x >> 11) as f64 / (1u64 << 53) as f64
}

fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Faults served, by kind (index into KINDS).
type FaultCounts = Arc<[AtomicUsize; 7]>;

/// The deterministic model: a python call (with a note call interleaved) until a tool result
/// holds a number, then the answer. Broken JSON for 1 request context in 35 (20% / 7).
fn model_answer(rec: &Recorded, faults: &FaultCounts) -> Reply {
    let messages = rec.messages();
    let question = messages
        .iter()
        .find(|m| m["role"] == "user")
        .and_then(|m| m["content"].as_str())
        .unwrap_or("");
    let numbers: Vec<u64> = question
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|s| s.parse().ok())
        .collect();
    let (i, a, b) = match numbers[..] {
        [i, a, b] => (i, a, b),
        _ => return Reply::text("I do not understand the question."),
    };
    let result = messages
        .iter()
        .filter(|m| m["role"] == "tool")
        .find_map(|m| {
            llm_repl_core::framing::unframe(m["content"].as_str()?)
                .trim()
                .parse::<u64>()
                .ok()
        });
    if let Some(n) = result {
        return Reply::text(format!("The answer to loop {i} is {n}."))
            .chunks(4)
            .usage(40 + messages.len() as u64, 9, 32);
    }
    let mut code = json!({"code": format!("print({a}*{b})")}).to_string();
    if fnv(&rec.raw_body).is_multiple_of(35) {
        faults[6].fetch_add(1, Ordering::Relaxed);
        code.truncate(code.len() / 2);
    }
    Reply::text("Let me compute that.")
        .chunks(3)
        .tool_call_in(format!("call_{i}_py"), "python", code, 3)
        .tool_call_in(
            format!("call_{i}_note"),
            "note",
            json!({"text": format!("loop {i}")}).to_string(),
            2,
        )
        .interleaved()
        .usage(30 + messages.len() as u64, 20, 0)
}

/// Model answers with random transport faults on top.
fn faulty(seed: u64, faults: FaultCounts) -> Responder {
    Arc::new(move |rec: &Recorded, serial: u64| {
        let reply = model_answer(rec, &faults);
        let dice = splitmix(seed ^ splitmix(serial));
        if unit(dice) >= FAULT_RATE {
            return reply.into();
        }
        let kind = (splitmix(dice) % 6) as usize;
        faults[kind].fetch_add(1, Ordering::Relaxed);
        let frames = chunks::expand(&reply, "m", 0).frames.len();
        let at = (splitmix(dice ^ 0xABCD) % (frames as u64 + 1)) as usize;
        match kind {
            0 => Scripted::Error(HttpError {
                retry_after: Some("0.01".into()),
                retry_after_ms: Some(10),
                ..HttpError::new(429, "Rate limit reached")
            }),
            1 => Scripted::server_error(),
            2 => Scripted::Reset,
            3 => reply.cut_after(at).into(),
            4 => reply.stall_after(at).into(),
            _ => reply.malformed_at(at).into(),
        }
    })
}

fn tool_specs() -> Vec<ToolSpec> {
    let obj = json!({"type": "object"});
    vec![
        ToolSpec {
            name: "python".into(),
            description: "run python".into(),
            parameters: obj.clone(),
        },
        ToolSpec {
            name: "note".into(),
            description: "take a note".into(),
            parameters: obj,
        },
    ]
}

/// Runs a tool call: `print(A*B)` for python, "ok" for note; bad JSON is an error observation.
fn run_tool(call: &ToolCall) -> ToolResult {
    let fail = |content: String| ToolResult {
        call_id: call.id.clone(),
        content,
        is_error: true,
    };
    let args: Value = match serde_json::from_str(&call.arguments) {
        Ok(v) => v,
        Err(e) => return fail(format!("error: invalid JSON arguments: {e}")),
    };
    let content = match call.name.as_str() {
        "python" => {
            let code = args["code"].as_str().unwrap_or("");
            let inner = code
                .strip_prefix("print(")
                .and_then(|c| c.strip_suffix(')'))
                .unwrap_or("");
            let product = inner
                .split_once('*')
                .and_then(|(a, b)| Some(a.parse::<u64>().ok()? * b.parse::<u64>().ok()?));
            match product {
                Some(p) => p.to_string(),
                None => return fail(format!("error: cannot run {code:?}")),
            }
        }
        "note" => "ok".into(),
        other => return fail(format!("error: unknown tool {other}")),
    };
    ToolResult {
        call_id: call.id.clone(),
        content,
        is_error: false,
    }
}

#[derive(Debug)]
enum Outcome {
    Right,
    Wrong(String),
    Failed(String),
}

/// One reason-act-observe loop.
async fn one_loop(provider: Arc<Resilient>, i: u64) -> Outcome {
    let (a, b) = (i % 97 + 2, i % 89 + 3);
    let expected = format!("The answer to loop {i} is {}.", a * b);
    let mut messages = vec![
        Message::system("You compute with tools."),
        Message::user(format!("loop {i}: what is {a} times {b}?")),
    ];
    for _step in 0..8 {
        let request = ChatRequest {
            model: String::new(),
            messages: messages.clone(),
            tools: tool_specs(),
            max_tokens: None,
            temperature: Some(0.0),
        };
        let mut stream = match provider.stream(request).await {
            Ok(s) => s,
            Err(e) => return Outcome::Failed(e.to_string()),
        };
        let mut text = String::new();
        let mut calls: BTreeMap<u32, ToolCall> = BTreeMap::new();
        while let Some(item) = stream.next().await {
            match item {
                Ok(StreamItem::Text(t)) => text.push_str(&t),
                Ok(StreamItem::ToolCallDelta {
                    index,
                    id,
                    name,
                    arguments,
                }) => {
                    let call = calls.entry(index).or_insert_with(|| ToolCall {
                        id: String::new(),
                        name: String::new(),
                        arguments: String::new(),
                    });
                    if let Some(id) = id {
                        call.id = id;
                    }
                    if let Some(name) = name {
                        call.name = name;
                    }
                    call.arguments.push_str(&arguments);
                }
                Ok(_) => {}
                Err(e) => return Outcome::Failed(format!("{e} (partial: {text:?})")),
            }
        }
        if calls.is_empty() {
            return if text == expected {
                Outcome::Right
            } else {
                Outcome::Wrong(text)
            };
        }
        let calls: Vec<ToolCall> = calls.into_values().collect();
        let results: Vec<ToolResult> = calls.iter().map(run_tool).collect();
        messages.push(Message::assistant(text, calls));
        messages.extend(results.iter().map(Message::tool));
    }
    Outcome::Failed("step limit".into())
}

/// One endpoint of the route. With llm-repl-providers' `openai` module in reach, this is
/// `OpenAiProvider::new(OpenAiSettings { name, base_url, model, api_key: Some(..), .. })`:
/// the campaign gives the same counts over it (measured on a merge with main).
fn endpoint(name: &str, model: &str, base_url: &str) -> Arc<dyn Provider> {
    // The real provider: async-openai over HTTP and SSE, as the binary uses it.
    let settings = OpenAiSettings {
        name: name.into(),
        base_url: base_url.into(),
        api_key: Some("fault-key".into()),
        api_key_env: "FAULT_KEY".into(),
        model: model.into(),
        headers: BTreeMap::new(),
        connect_timeout: Duration::from_secs(2),
    };
    match OpenAiProvider::new(settings) {
        Ok(p) => Arc::new(p),
        Err(e) => panic!("provider: {e}"),
    }
}

fn settings(max_retries: u32) -> ResilienceSettings {
    ResilienceSettings {
        first_token_timeout: Duration::from_millis(100),
        idle_timeout: Duration::from_millis(100),
        max_retries,
        backoff: BackoffSettings {
            base: Duration::from_millis(2),
            max: Duration::from_millis(20),
            max_retry_after: Duration::from_secs(1),
        },
        circuit: CircuitSettings {
            failure_threshold: 5,
            cooldown: Duration::from_secs(30),
        },
        resume_partial: true,
        jitter_seed: Some(7),
    }
}

#[derive(Debug, Default)]
struct Report {
    right: usize,
    wrong: Vec<String>,
    failed: Vec<String>,
    panics: usize,
    requests: usize,
    faults: BTreeMap<&'static str, usize>,
    events: BTreeMap<&'static str, usize>,
}

async fn campaign(seed: u64, max_retries: u32, loops: u64) -> Report {
    let faults: FaultCounts = Arc::new(Default::default());
    let primary = FakeServer::start().await;
    let backup = FakeServer::start().await;
    primary.set_responder(faulty(seed, faults.clone()));
    backup.set_responder(faulty(seed ^ 0x5555, faults.clone()));
    let events: Arc<Mutex<BTreeMap<&'static str, usize>>> = Arc::default();
    let sink = events.clone();
    let mut route = vec![endpoint("primary", "fake-a", &primary.base_url())];
    // FAULT_SINGLE=1: no backup, retries only.
    if std::env::var("FAULT_SINGLE").is_err() {
        route.push(endpoint("backup", "fake-b", &backup.base_url()));
    }
    let provider = Arc::new(
        Resilient::new(
            route,
            settings(max_retries),
            Arc::new(move |e: ReliabilityEvent| {
                let kind = match e {
                    ReliabilityEvent::Retry { .. } => "retry",
                    ReliabilityEvent::Failover { .. } => "failover",
                    ReliabilityEvent::CircuitOpened { .. } => "circuit_opened",
                    ReliabilityEvent::CircuitClosed { .. } => "circuit_closed",
                    ReliabilityEvent::Skipped { .. } => "skipped",
                    ReliabilityEvent::Resuming { .. } => "resuming",
                };
                *sink.lock().expect("lock").entry(kind).or_default() += 1;
            }),
        )
        .expect("route"),
    );
    let mut report = Report::default();
    for i in 0..loops {
        match tokio::spawn(one_loop(provider.clone(), i)).await {
            Ok(Outcome::Right) => report.right += 1,
            Ok(Outcome::Wrong(t)) => report.wrong.push(format!("loop {i}: {t}")),
            Ok(Outcome::Failed(e)) => report.failed.push(format!("loop {i}: {e}")),
            Err(e) if e.is_panic() => report.panics += 1,
            Err(e) => report.failed.push(format!("loop {i}: join: {e}")),
        }
    }
    report.requests = primary.chat_requests().len() + backup.chat_requests().len();
    for (k, name) in KINDS.iter().enumerate() {
        report
            .faults
            .insert(name, faults[k].load(Ordering::Relaxed));
    }
    report.events = events.lock().expect("lock").clone();
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_loops_with_twenty_percent_faults() {
    // FAULT_SEED / FAULT_MAX_RETRIES / FAULT_LOOPS override the defaults for exploration.
    let env = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let seed = env("FAULT_SEED", 20_261_126);
    let max_retries = env("FAULT_MAX_RETRIES", 3) as u32;
    let loops = env("FAULT_LOOPS", LOOPS);
    let started = Instant::now();
    let report = campaign(seed, max_retries, loops).await;
    let faults: usize = report.faults.values().sum();
    eprintln!(
        "fault injection (seed {seed}, max_retries {max_retries}): {loops} loops, {} right, {} wrong, {} failed, {} panics; \
         {} requests, {faults} faults ({:.1}%) {:?}; events {:?}; {:.1}s",
        report.right,
        report.wrong.len(),
        report.failed.len(),
        report.panics,
        report.requests,
        100.0 * faults as f64 / report.requests as f64,
        report.faults,
        report.events,
        started.elapsed().as_secs_f64()
    );
    for f in report.failed.iter().chain(&report.wrong) {
        eprintln!("  {f}");
    }
    assert_eq!(report.panics, 0);
    assert!(report.wrong.is_empty(), "wrong answers: {:?}", report.wrong);
    // Every remaining failure is one clear line.
    for f in &report.failed {
        assert!(!f.contains('\n') && !f.is_empty(), "{f:?}");
    }
    assert!(
        report.right as f64 >= 0.999 * loops as f64,
        "only {} of {loops} loops completed",
        report.right
    );
    // The injection really happened at about the asked rate, every kind of it.
    let rate = faults as f64 / report.requests as f64;
    assert!((0.15..0.25).contains(&rate), "fault rate {rate}");
    assert!(
        report.faults.values().all(|&n| n > 10),
        "{:?}",
        report.faults
    );
    assert!(report.events.get("retry").copied().unwrap_or(0) > 100);
    assert!(report.events.get("resuming").copied().unwrap_or(0) > 10);
}
