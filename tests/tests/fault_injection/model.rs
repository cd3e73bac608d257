//! The scripted side of the fault campaign: a deterministic "model" served by the fake
//! OpenAI-compatible server, random transport faults on top of it, and the in-process tools it
//! calls (the agent's tool path, without a sandboxed interpreter: the faults are on the
//! provider side).
//!
//! The model's answer is a function of the request, so a retried request gets the same answer:
//! transport faults are random per request (a seeded dice per request serial), the content
//! fault (broken tool-call JSON) is a function of the request.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::future::BoxFuture;
use llm_repl_core::{Tool, ToolContext, ToolOutcome, ToolSpec};
use llm_repl_e2e::fake::{HttpError, Recorded, Reply, Responder, Scripted, chunks};
use serde_json::{Value, json};

/// Fault kinds, in the order of [`FaultCounts`].
pub const KINDS: [&str; 7] = [
    "429",
    "500",
    "reset",
    "cut",
    "stall",
    "malformed",
    "broken_json",
];

/// Faults served, by kind (index into [`KINDS`]).
pub type FaultCounts = Arc<[AtomicUsize; 7]>;

/// Which transport faults a server injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Faults {
    /// All six transport kinds, and the broken-JSON content fault.
    Every,
    /// HTTP 500 only (what the single-provider figure was measured with).
    ServerErrors,
}

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

/// The numbers of loop `i`: (a, b).
pub fn operands(i: u64) -> (u64, u64) {
    (i % 97 + 2, i % 89 + 3)
}

pub fn question(i: u64) -> String {
    let (a, b) = operands(i);
    format!("loop {i}: what is {a} times {b}?")
}

pub fn expected(i: u64) -> String {
    let (a, b) = operands(i);
    format!("The answer to loop {i} is {}.", a * b)
}

/// The deterministic model: a python call (with a note call interleaved) until a tool result
/// holds a number, then the answer. Broken JSON for 1 request context in 35 when `broken_json`.
fn model_answer(rec: &Recorded, faults: &FaultCounts, broken_json: bool) -> Reply {
    let messages = rec.messages();
    let question = messages
        .iter()
        .rfind(|m| m["role"] == "user")
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
    // A function of the conversation, not of the endpoint's model name: every provider of a
    // route is the same model, so a stream resumed on another one replays the same answer.
    if broken_json && fnv(&rec.body["messages"].to_string()).is_multiple_of(35) {
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

/// Model answers with random faults on top, at `rate`.
pub fn faulty(seed: u64, rate: f64, kinds: Faults, faults: FaultCounts) -> Responder {
    Arc::new(move |rec: &Recorded, serial: u64| {
        let reply = model_answer(rec, &faults, kinds == Faults::Every);
        let dice = splitmix(seed ^ splitmix(serial));
        if unit(dice) >= rate {
            return reply.into();
        }
        let kind = match kinds {
            Faults::Every => (splitmix(dice) % 6) as usize,
            Faults::ServerErrors => 1,
        };
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

/// `python`: runs `print(A*B)` and nothing else.
pub struct Calc;

impl Tool for Calc {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "python".into(),
            description: "run python".into(),
            parameters: json!({"type": "object", "properties": {"code": {"type": "string"}}}),
        }
    }

    fn run(&self, args: Value, _ctx: ToolContext) -> BoxFuture<'_, ToolOutcome> {
        Box::pin(async move {
            let code = args["code"].as_str().unwrap_or("");
            let product = code
                .strip_prefix("print(")
                .and_then(|c| c.strip_suffix(')'))
                .and_then(|inner| inner.split_once('*'))
                .and_then(|(a, b)| Some(a.parse::<u64>().ok()? * b.parse::<u64>().ok()?));
            match product {
                Some(p) => ToolOutcome::ok(format!("{p}\n")),
                None => ToolOutcome::error(format!("error: cannot run {code:?}")),
            }
        })
    }
}

/// `note`: takes a note.
pub struct Note;

impl Tool for Note {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "note".into(),
            description: "take a note".into(),
            parameters: json!({"type": "object", "properties": {"text": {"type": "string"}}}),
        }
    }

    fn run(&self, _args: Value, _ctx: ToolContext) -> BoxFuture<'_, ToolOutcome> {
        Box::pin(async move { ToolOutcome::ok("ok") })
    }
}
