//! What counting days in a time zone costs the usage ledger's readers: every record's day is
//! re-derived from its `at_ms` with the store's calendar (see `usage.rs`), on the path the day
//! and month budgets read once per turn (this month's spending by day).
//!
//! `cargo bench -p llm-repl-store --bench usage_days -- [--calls N]`: N calls (default 9,000)
//! spread over the 30 days up to 2026-11-30 in a temp store; prints the median time of
//! `usage_by_day` over the month with UTC days and with Europe/Berlin local days (its POSIX
//! rule, so no tzdata is needed).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)] // a bench binary

use std::time::{Duration, Instant};

use llm_repl_protocol::calendar::{Calendar, TimeZone, parse_day};
use llm_repl_protocol::{SessionInfo, Usage};
use llm_repl_store::Store;

fn median(n: usize, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[n / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let calls: u64 = args
        .iter()
        .position(|a| a == "--calls")
        .and_then(|i| args.get(i + 1))
        .map_or(9_000, |v| v.parse().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.set_sync_writes(false);
    store
        .create_session(&SessionInfo {
            id: "bench".into(),
            title: "bench".into(),
            provider: "openai".into(),
            model: "gpt-4o-mini".into(),
            mock: false,
            context_window: None,
        })
        .unwrap();
    let (first, last) = (
        parse_day("2026-11-01").unwrap(),
        parse_day("2026-11-30").unwrap(),
    );
    let span_ms = u64::from(last - first + 1) * 86_400_000;
    let usage = Usage {
        input: 1000,
        output: 100,
        ..Usage::default()
    };
    for i in 0..calls {
        let at = u64::from(first) * 86_400_000 + i * span_ms / calls;
        store
            .record_usage("bench", "gpt-4o-mini", "openai", &usage, Some(0.001), at)
            .unwrap();
    }
    store.flush().unwrap();
    let berlin = TimeZone::posix("CET-1CEST,M3.5.0,M10.5.0/3").unwrap();
    for (name, cal) in [
        ("UTC days", Calendar::utc()),
        ("Europe/Berlin local days", Calendar::local_in(berlin)),
    ] {
        store.set_calendar(cal);
        let mut n = 0;
        let t = median(21, || {
            n = store
                .usage_by_day(first, last)
                .unwrap()
                .iter()
                .map(|(_, t)| t.calls)
                .sum::<u64>();
        });
        println!(
            "usage_by_day over 30 days, {calls} calls, {name}: median {:.2} ms ({n} calls counted)",
            t.as_secs_f64() * 1000.0
        );
    }
}
