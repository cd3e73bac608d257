//! `days = "local"` against `days = "utc"` through the real binary: a call at 23:30 UTC on
//! 2026-11-01 is on the 2nd for `llm-repl stats` in a UTC+2 zone with local days, and on the 1st
//! with UTC days, exactly as the store's ledger (the budgets' source) counts it with the same
//! calendar. The zone is pinned for the child process only (`TZ`), never for the test process.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on setup failures

use std::path::Path;
use std::process::{Command, Output, Stdio};

use llm_repl_e2e::binary::llm_repl;
use llm_repl_protocol::calendar::{Calendar, Offset, TimeZone, parse_day};
use llm_repl_protocol::{SessionInfo, Usage};
use llm_repl_store::Store;
use serde_json::Value;

/// 2026-11-01 12:00 and 23:30 UTC.
const NOON_ON_THE_1ST: u64 = 1_793_534_400_000;
const LATE_ON_THE_1ST: u64 = 1_793_575_800_000;
/// UTC+2 as a POSIX TZ string (no tzdata needed).
const TZ_PLUS_2: &str = "<+02>-2";
const SESSION: &str = "0194cafe0000000000000001";

fn plus_2() -> Calendar {
    Calendar::local_in(TimeZone::fixed(Offset::constant(2)))
}

/// A store written as the binary writes it with local days in UTC+2.
fn ledger(dir: &Path) {
    let store = Store::open(dir).unwrap();
    store.set_calendar(plus_2());
    store
        .create_session(&SessionInfo {
            id: SESSION.into(),
            title: "late night".into(),
            provider: "openai".into(),
            model: "gpt-4o-mini".into(),
            mock: false,
            context_window: None,
        })
        .unwrap();
    let usage = Usage {
        input: 1000,
        output: 100,
        ..Usage::default()
    };
    for at in [NOON_ON_THE_1ST, LATE_ON_THE_1ST] {
        store
            .record_usage(SESSION, "gpt-4o-mini", "openai", &usage, Some(0.01), at)
            .unwrap();
    }
}

/// `llm-repl stats --days 1 --until DAY ARGS` with `days = MODE` in UTC+2.
fn stats(home: &Path, mode: &str, day: &str, args: &[&str]) -> Output {
    let config = home.join(format!("{mode}.toml"));
    std::fs::write(&config, format!("days = \"{mode}\"\n")).unwrap();
    let o = Command::new(llm_repl())
        .current_dir(home)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", home)
        .env("TZ", TZ_PLUS_2)
        .stdin(Stdio::null())
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(home.join("data"))
        .args(["stats", "--days", "1", "--until", day])
        .args(args)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// Calls on `day` as the ledger counts them with `cal`.
fn ledger_calls(dir: &Path, cal: Calendar, day: &str) -> u64 {
    let store = Store::open(dir).unwrap();
    store.set_calendar(cal);
    store.usage_for_day(parse_day(day).unwrap()).unwrap().calls
}

#[test]
fn stats_and_the_ledger_agree_on_local_and_utc_days() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let data = home.join("data");
    ledger(&data);

    for (mode, cal, first, second) in [("local", plus_2(), 1, 1), ("utc", Calendar::utc(), 2, 0)] {
        for (day, expected) in [("2026-11-01", first), ("2026-11-02", second)] {
            let v: Value =
                serde_json::from_slice(&stats(home, mode, day, &["--json"]).stdout).unwrap();
            let calls = v["totals"]["calls"].as_u64().unwrap();
            assert_eq!(calls, expected, "{mode} {day}: {v}");
            assert_eq!(calls, ledger_calls(&data, cal.clone(), day), "{mode} {day}");
            assert_eq!(v["calendar"]["days"], mode, "{v}");
            if expected > 0 {
                assert_eq!(v["by"]["day"][0]["key"], day, "{v}");
            }
        }
    }
    // The text report names whose days it counts.
    let local = stats(home, "local", "2026-11-02", &[]);
    let text = String::from_utf8_lossy(&local.stdout);
    assert!(
        text.starts_with("Usage, last day (2026-11-02, local time, +02): 1 call,"),
        "{text}"
    );
    let utc = stats(home, "utc", "2026-11-02", &[]);
    assert_eq!(
        String::from_utf8_lossy(&utc.stdout),
        "No model calls in the last day (2026-11-02, UTC).\n"
    );
}
