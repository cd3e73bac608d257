//! `gen-store DIR [--sessions N] [--messages M] [--days D] [--seed S]`: fills a new store in DIR
//! with generated sessions, for measuring `llm-repl sessions` and `llm-repl stats` on a large
//! store. Deterministic for a given seed; the newest day is today (UTC).
//!
//! Each session gets M messages (user / assistant with a tool call / tool result / assistant),
//! a tool run per call, and one usage record per assistant message, spread over the last D days.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use llm_repl_core::pricing::PriceTable;
use llm_repl_protocol::{
    Message, Role, SessionInfo, ToolCall, ToolResult, ToolRun, ToolStatus, Usage,
};
use llm_repl_store::{Store, now_ms};

const DAY_MS: u64 = 86_400_000;

const MODELS: [(&str, &str); 5] = [
    ("openai", "gpt-4o"),
    ("openai", "gpt-4o-mini"),
    ("groq", "llama-3.3-70b-versatile"),
    ("openrouter", "anthropic/claude-sonnet-4"),
    ("ollama", "llama3.2"),
];

const WORDS: [&str; 48] = [
    "parser", "token", "lexer", "python", "error", "memory", "thread", "socket", "matrix", "plot",
    "sales", "report", "query", "index", "table", "schema", "cache", "budget", "model", "router",
    "stream", "buffer", "window", "latency", "deploy", "docker", "kernel", "sandbox", "regex",
    "csv", "json", "yaml", "config", "logger", "metric", "graph", "vector", "tensor", "async",
    "future", "borrow", "lifetime", "closure", "iterator", "trait", "macro", "crate", "module",
];

struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n.max(1)
    }

    fn sentence(&mut self, words: usize) -> String {
        let mut s: Vec<String> = (0..words)
            .map(|_| WORDS[self.next(WORDS.len() as u64) as usize].to_string())
            .collect();
        // A rare word per sentence keeps some searches selective.
        s.push(format!("w{}", self.next(100_000)));
        s.join(" ")
    }
}

struct Opts {
    dir: PathBuf,
    sessions: u64,
    messages: u64,
    days: u64,
    seed: u64,
}

fn parse() -> Result<Opts, String> {
    let mut args = std::env::args().skip(1);
    let mut o = Opts {
        dir: PathBuf::new(),
        sessions: 1000,
        messages: 20,
        days: 30,
        seed: 1,
    };
    while let Some(a) = args.next() {
        let mut num = |name: &str| -> Result<u64, String> {
            args.next()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("{name} needs a number"))
        };
        match a.as_str() {
            "--sessions" => o.sessions = num("--sessions")?,
            "--messages" => o.messages = num("--messages")?,
            "--days" => o.days = num("--days")?.max(1),
            "--seed" => o.seed = num("--seed")?,
            _ if a.starts_with('-') => return Err(format!("unknown option {a}")),
            _ => o.dir = PathBuf::from(a),
        }
    }
    if o.dir.as_os_str().is_empty() {
        return Err(
            "usage: gen-store DIR [--sessions N] [--messages M] [--days D] [--seed S]".into(),
        );
    }
    Ok(o)
}

fn session_messages(rng: &mut Lcg, n: u64, sid: u64) -> (Vec<Message>, Vec<ToolRun>) {
    let mut msgs = Vec::with_capacity(n as usize);
    let mut runs = Vec::new();
    let mut i = 0;
    while (msgs.len() as u64) < n {
        match i % 4 {
            0 => msgs.push(Message::user(rng.sentence(12))),
            1 => {
                let call = ToolCall {
                    id: format!("call_{sid}_{i}"),
                    name: "python".into(),
                    arguments: serde_json::json!({ "code": format!("print({})", rng.next(1000)) })
                        .to_string(),
                };
                runs.push(ToolRun {
                    call: call.clone(),
                    status: ToolStatus::Ok,
                    duration_ms: 5 + rng.next(500),
                    output: rng.sentence(6),
                    findings: Vec::new(),
                });
                msgs.push(Message::assistant(rng.sentence(8), vec![call]));
            }
            2 => {
                let Some(run) = runs.last() else { continue };
                msgs.push(Message::tool(&ToolResult {
                    call_id: run.call.id.clone(),
                    content: run.output.clone(),
                    is_error: false,
                }));
            }
            _ => msgs.push(Message::assistant(rng.sentence(30), vec![])),
        }
        i += 1;
    }
    (msgs, runs)
}

fn run(o: &Opts) -> Result<(), Box<dyn std::error::Error>> {
    let table = PriceTable::builtin();
    let store = Store::open(&o.dir)?;
    store.set_sync_writes(false);
    let mut rng = Lcg(o.seed);
    let today = u64::from(llm_repl_protocol::calendar::Calendar::utc().today());
    let start = Instant::now();
    let mut total_msgs = 0u64;
    for s in 0..o.sessions {
        let (provider, model) = MODELS[rng.next(MODELS.len() as u64) as usize];
        let id = format!(
            "{:013x}{:08x}",
            0x18f_0000_0000u64 + s,
            rng.next(u64::from(u32::MAX))
        );
        store.create_session(&SessionInfo {
            id: id.clone(),
            title: rng.sentence(4),
            provider: provider.into(),
            model: model.into(),
            mock: false,
            context_window: table.context_window(provider, model),
        })?;
        let day = today - rng.next(o.days);
        let at = (day * DAY_MS + rng.next(DAY_MS)).min(now_ms());
        let (msgs, runs) = session_messages(&mut rng, o.messages, s);
        for chunk in msgs.chunks(256) {
            store.append_messages_at(&id, chunk, at)?;
        }
        for r in &runs {
            store.record_tool_run(&id, r)?;
        }
        let answers = msgs.iter().filter(|m| m.role == Role::Assistant).count();
        for _ in 0..answers {
            let usage = Usage {
                input: 500 + rng.next(8000),
                output: 20 + rng.next(800),
                cached: rng.next(300),
                ..Usage::default()
            };
            let cost = table.cost(provider, model, &usage);
            store.record_usage(&id, model, provider, &usage, cost, at)?;
        }
        total_msgs += msgs.len() as u64;
        if (s + 1) % 1000 == 0 {
            eprintln!(
                "{} sessions, {total_msgs} messages, {:.1?}",
                s + 1,
                start.elapsed()
            );
        }
    }
    store.flush()?;
    eprintln!(
        "generated {} sessions, {total_msgs} messages in {:.1?}; {} MB on disk",
        o.sessions,
        start.elapsed(),
        store.size_on_disk()? / 1_000_000
    );
    Ok(())
}

fn main() -> ExitCode {
    match parse().map_err(Into::into).and_then(|o| run(&o)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen-store: {e}");
            ExitCode::from(1)
        }
    }
}
