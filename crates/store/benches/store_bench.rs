//! Store benchmark on a generated database (a bench binary, not criterion: generation takes
//! minutes and each measured operation is a one-shot user action).
//!
//! `cargo bench -p llm-repl-store --bench store_bench -- [--sessions N] [--messages M]
//! [--big K] [--dir PATH]`. Defaults: 10,000 sessions, 1,000,000 messages, one session of
//! 10,000 messages. The database is kept in `--dir` (default under the temp dir, named by the
//! sizes) and reused by later runs.
//!
//! Measures: open + first page of 50 sessions (targets < 100 ms), full-text search (< 200 ms),
//! loading the big session (< 300 ms), plus generation time and size on disk.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)] // a bench binary

use std::path::PathBuf;
use std::time::{Duration, Instant};

use llm_repl_protocol::{Message, SessionInfo, ToolCall};
use llm_repl_store::Store;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const SYL: &[&str] = &[
    "ka", "lo", "mi", "tra", "ven", "sol", "dar", "ne", "qui", "bor", "ex", "pol", "rin", "sta",
    "gu", "fe", "zan", "tor", "ly", "ma",
];

/// A pseudo-word for a vocabulary index (distinct per index).
fn word(mut i: u64) -> String {
    let mut w = String::new();
    loop {
        w.push_str(SYL[(i % SYL.len() as u64) as usize]);
        i /= SYL.len() as u64;
        if i == 0 {
            break;
        }
    }
    w
}

const REAL: &[&str] = &[
    "python",
    "error",
    "numpy",
    "dataframe",
    "kubernetes",
    "deploy",
    "traceback",
    "plot",
    "function",
    "install",
    "memory",
    "thread",
];

/// A message of 8..48 words: Zipf-like (log-uniform) over a 20,000-word vocabulary, so the most
/// common word is in most messages, plus a sprinkle of real words (each in ~9 % of messages).
fn text(r: &mut Rng) -> String {
    let n = 8 + r.below(40);
    let mut s = String::new();
    for _ in 0..n {
        if r.below(25) == 0 {
            s.push_str(REAL[r.below(REAL.len() as u64) as usize]);
        } else {
            let u = r.below(1 << 30) as f64 / f64::from(1u32 << 30);
            let idx = (20_000f64.powf(u) as u64).saturating_sub(1);
            s.push_str(&word(idx));
        }
        s.push(' ');
    }
    s
}

fn message(r: &mut Rng, seq: u64) -> Message {
    match seq % 4 {
        0 => Message::user(text(r)),
        1 => Message::assistant(
            text(r),
            vec![ToolCall {
                id: format!("call_{seq}"),
                name: "python".into(),
                arguments: serde_json::json!({ "code": text(r) }).to_string(),
            }],
        ),
        2 => Message {
            role: llm_repl_protocol::Role::Tool,
            content: text(r),
            tool_calls: vec![],
            tool_call_id: Some(format!("call_{}", seq - 1)),
        },
        _ => Message::assistant(text(r), vec![]),
    }
}

fn arg(name: &str) -> Option<String> {
    let a: Vec<String> = std::env::args().collect();
    a.iter()
        .position(|x| x == name)
        .and_then(|i| a.get(i + 1).cloned())
}

fn du(p: &std::path::Path) -> u64 {
    std::fs::read_dir(p)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| {
                    let m = e.metadata().unwrap();
                    if m.is_dir() { du(&e.path()) } else { m.len() }
                })
                .sum()
        })
        .unwrap_or(0)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// Runs `f` `n` times; returns (min, median, last result). Dropping results is not timed.
fn measure<T>(n: usize, mut f: impl FnMut() -> T) -> (Duration, Duration, T) {
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..n {
        let t = Instant::now();
        let v = f();
        times.push(t.elapsed());
        last = Some(v);
    }
    times.sort();
    (times[0], times[n / 2], last.unwrap())
}

fn generate(dir: &std::path::Path, sessions: u64, messages: u64, big: u64) {
    let s = Store::open(dir).unwrap();
    s.set_sync_writes(false);
    let mut r = Rng(0x9E37_79B9_7F4A_7C15);
    let year_ms: u64 = 365 * 86_400_000;
    let base = llm_repl_store::now_ms() - year_ms;
    let per = (messages - big) / (sessions - 1).max(1);
    let t0 = Instant::now();
    let mut written = 0u64;
    for i in 0..sessions {
        let id = format!("s{i:07}");
        s.create_session(&SessionInfo {
            id: id.clone(),
            title: format!(
                "session {i}: {}",
                text(&mut r)
                    .split(' ')
                    .take(5)
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            provider: "openai".into(),
            model: "gpt-4o-mini".into(),
            mock: false,
            context_window: Some(128_000),
        })
        .unwrap();
        let n = if i == 0 { big } else { per };
        let at = base + i * (year_ms / sessions);
        let mut seq = 0;
        while seq < n {
            let chunk: Vec<Message> = (seq..(seq + 256).min(n))
                .map(|q| message(&mut r, q))
                .collect();
            s.append_messages_at(&id, &chunk, at + seq).unwrap();
            seq += chunk.len() as u64;
        }
        written += n;
        if i % 500 == 0 {
            println!(
                "  generated {i}/{sessions} sessions, {written} messages, {:.0} s",
                t0.elapsed().as_secs_f64()
            );
        }
    }
    s.flush().unwrap();
    println!(
        "generation: {sessions} sessions, {written} messages in {:.1} s ({:.0} messages/s)",
        t0.elapsed().as_secs_f64(),
        written as f64 / t0.elapsed().as_secs_f64()
    );
}

fn main() {
    let sessions: u64 = arg("--sessions").map_or(10_000, |v| v.parse().unwrap());
    let messages: u64 = arg("--messages").map_or(1_000_000, |v| v.parse().unwrap());
    let big: u64 = arg("--big").map_or(10_000.min(messages / 2), |v| v.parse().unwrap());
    let dir = arg("--dir").map_or_else(
        || std::env::temp_dir().join(format!("llm-repl-store-bench-{sessions}-{messages}-{big}")),
        PathBuf::from,
    );
    let done = dir.join("generated");
    if !done.exists() {
        let _ = std::fs::remove_dir_all(&dir);
        generate(&dir, sessions, messages, big);
        std::fs::write(&done, "ok").unwrap();
    } else {
        println!("reusing {}", dir.display());
    }
    println!(
        "disk: {:.1} MiB in {}",
        du(&dir) as f64 / 1048576.0,
        dir.display()
    );

    // Timed: open and the first page; not timed: closing (sled joins its threads on drop).
    let mut opens = Vec::new();
    let mut total = 0;
    for _ in 0..6 {
        let t = Instant::now();
        let s = Store::open(&dir).unwrap();
        let (page, n) = s.list_sessions(0, 50).unwrap();
        opens.push(t.elapsed());
        assert_eq!(page.len(), 50.min(n));
        total = n;
        drop(s);
    }
    println!("open + first page, first in process: {}", ms(opens[0]));
    let mut warm = opens[1..].to_vec();
    warm.sort();
    let (min, med) = (warm[0], warm[warm.len() / 2]);
    println!(
        "open + first page of 50 (of {total}): min {} median {} (target < 100 ms)",
        ms(min),
        ms(med)
    );

    let s = Store::open(&dir).unwrap();
    let (min, med, _) = measure(5, || s.list_sessions(0, 50).unwrap());
    println!("first page, store open: min {} median {}", ms(min), ms(med));
    let (min, med, _) = measure(3, || s.list_sessions(total.saturating_sub(50), 50).unwrap());
    println!(
        "last page (offset {}): min {} median {}",
        total.saturating_sub(50),
        ms(min),
        ms(med)
    );

    let (w0, w1, w5, w500, w9000) = (word(0), word(1), word(5), word(500), word(9_000));
    let queries = [
        "kubernetes".to_string(),
        "python error".to_string(),
        "traceback numpy".to_string(),
        w0.clone(),
        format!("{w0} {w1}"),
        format!("{w5} python"),
        w500,
        w9000,
        "dep".to_string(),
    ];
    for q in &queries {
        let (min, med, hits) = measure(5, || s.search(q, 20).unwrap());
        println!(
            "search {q:?}: {} hits, min {} median {} (target < 200 ms)",
            hits.len(),
            ms(min),
            ms(med)
        );
    }
    let inc = [
        "kube".to_string(),
        "python tr".to_string(),
        w0[..1].to_string(),
        format!("{w0} {}", &w5[..2]),
    ];
    for q in &inc {
        let (min, med, hits) = measure(5, || s.search_incremental(q, 20).unwrap());
        println!(
            "incremental {q:?}: {} hits, min {} median {}",
            hits.len(),
            ms(min),
            ms(med)
        );
    }
    let (min, med, l) = measure(5, || s.load_session("s0000000").unwrap());
    println!(
        "load session of {} messages: min {} median {} (target < 300 ms)",
        l.messages.len(),
        ms(min),
        ms(med)
    );
    s.create_session(&SessionInfo {
        id: "flushbench".into(),
        title: "t".into(),
        provider: "p".into(),
        model: "m".into(),
        mock: false,
        context_window: None,
    })
    .ok();
    let mut r = Rng(7);
    let (min, med, _) = measure(21, || {
        s.append_message("flushbench", &message(&mut r, 0)).unwrap()
    });
    println!(
        "append_message incl. flush (fsync): min {} median {}",
        ms(min),
        ms(med)
    );
    s.set_sync_writes(false);
    let (min, med, _) = measure(21, || {
        s.append_message("flushbench", &message(&mut r, 0)).unwrap()
    });
    println!(
        "append_message without flush: min {} median {}",
        ms(min),
        ms(med)
    );
}
