//! The real `llm-repl stats` binary on a generated store: the human report (insta snapshots, the
//! period pinned with `--until`), `--by`, `--json` sums checked against the generator's own, and
//! an empty period.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on setup failures

use std::path::Path;
use std::process::{Command, Output, Stdio};

use llm_repl_core::pricing::PriceTable;
use llm_repl_e2e::binary::llm_repl;
use llm_repl_protocol::{SessionInfo, Usage};
use llm_repl_store::Store;
use serde_json::Value;

const DAY_MS: u64 = 86_400_000;
/// 2026-10-25 and 2026-11-30 as day numbers.
const FIRST_DAY: u64 = 20_751;
const LAST_DAY: u64 = 20_787;
/// `--days 30 --until 2026-11-30` starts here (2026-11-01).
const WINDOW_START: u64 = LAST_DAY - 29;

const MODELS: [(&str, &str); 6] = [
    ("openai", "gpt-4o"),
    ("openai", "gpt-4o-mini"),
    ("groq", "llama-3.3-70b-versatile"),
    ("openrouter", "anthropic/claude-sonnet-4"),
    ("ollama", "llama3.2"),
    ("openai", "my-finetune"),
];

const TITLES: [&str; 10] = [
    "Refactor the tokenizer",
    "Plot monthly sales",
    "Debug flaky test",
    "Summarise the RFC",
    "Write a CSV parser",
    "Explain borrow checker error",
    "Draft release notes",
    "Optimise SQL query",
    "Translate README",
    "Sandbox escape review",
];

/// A fixed pseudo-random sequence (64-bit LCG), so the store is the same on every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

/// What the generator wrote inside the 30-day window: calls, tokens, known dollars, unpriced.
#[derive(Debug, Default)]
struct Expected {
    calls: u64,
    tokens: u64,
    usd: f64,
    unpriced: u64,
}

/// Ten sessions, one model each, 0-5 calls a day from 2026-10-25 to 2026-11-30.
fn generate(dir: &Path) -> Expected {
    let table = PriceTable::builtin();
    let store = Store::open(dir).unwrap();
    store.set_sync_writes(false);
    let ids: Vec<String> = (0..TITLES.len())
        .map(|i| format!("0194{:019x}", 0xabc_0000 + i))
        .collect();
    for (i, (id, title)) in ids.iter().zip(TITLES).enumerate() {
        let (provider, model) = MODELS[i % MODELS.len()];
        store
            .create_session(&SessionInfo {
                id: id.clone(),
                title: title.into(),
                provider: provider.into(),
                model: model.into(),
                mock: false,
                context_window: None,
            })
            .unwrap();
    }
    let mut rng = Lcg(7);
    let mut exp = Expected::default();
    for day in FIRST_DAY..=LAST_DAY {
        for call in 0..rng.next(6) {
            let s = rng.next(ids.len() as u64) as usize;
            let (provider, model) = MODELS[s % MODELS.len()];
            let usage = Usage {
                input: 500 + rng.next(20_000),
                output: 50 + rng.next(3_000),
                cached: rng.next(400),
                reasoning: 0,
                estimated: provider == "ollama",
            };
            let cost = table.cost(provider, model, &usage);
            let at = day * DAY_MS + 3_600_000 * (8 + call);
            store
                .record_usage(&ids[s], model, provider, &usage, cost, at)
                .unwrap();
            if day >= WINDOW_START {
                exp.calls += 1;
                exp.tokens += usage.total();
                match cost {
                    Some(c) => exp.usd += c,
                    None => exp.unpriced += 1,
                }
            }
        }
    }
    store.flush().unwrap();
    exp
}

/// `llm-repl stats ARGS` with UTC days (`days = "utc"`), so the period line does not depend on
/// the machine's zone.
fn stats(dir: &Path, args: &[&str]) -> Output {
    let home = dir.parent().unwrap();
    let config = home.join("utc-days.toml");
    std::fs::write(&config, "days = \"utc\"\n").unwrap();
    Command::new(llm_repl())
        .current_dir(home)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("xdg-config"))
        .env("XDG_DATA_HOME", home.join("xdg-data"))
        .env("XDG_STATE_HOME", home.join("xdg-state"))
        .stdin(Stdio::null())
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(dir)
        .arg("stats")
        .args(args)
        .output()
        .unwrap()
}

fn ok_text(o: &Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

#[test]
fn stats_on_a_generated_store() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let exp = generate(&dir);
    assert!(exp.calls > 50 && exp.unpriced > 0, "{exp:?}");

    let report = ok_text(&stats(&dir, &["--days", "30", "--until", "2026-11-30"]));
    insta::assert_snapshot!("stats_30_days", report);

    let by_session = ok_text(&stats(
        &dir,
        &["--days", "7", "--until", "2026-11-30", "--by", "session"],
    ));
    assert!(by_session.contains("\nBy session\n"), "{by_session}");
    assert!(!by_session.contains("\nBy day\n"), "{by_session}");
    insta::assert_snapshot!("stats_7_days_by_session", by_session);

    let v: Value = serde_json::from_str(&ok_text(&stats(
        &dir,
        &["--days", "30", "--until", "2026-11-30", "--json"],
    )))
    .unwrap();
    assert_eq!(v["from"], "2026-11-01");
    assert_eq!(v["to"], "2026-11-30");
    let t = &v["totals"];
    assert_eq!(t["calls"].as_u64(), Some(exp.calls));
    assert_eq!(t["unpriced_calls"].as_u64(), Some(exp.unpriced));
    let tokens = t["usage"]["input"].as_u64().unwrap() + t["usage"]["output"].as_u64().unwrap();
    assert_eq!(tokens, exp.tokens);
    assert!((t["cost_usd"].as_f64().unwrap() - exp.usd).abs() < 1e-9);
    let days = v["by"]["day"].as_array().unwrap();
    assert!(days.len() <= 30 && days[0]["key"].as_str().unwrap() >= "2026-11-01");
    let per_day: u64 = days.iter().map(|d| d["calls"].as_u64().unwrap()).sum();
    assert_eq!(per_day, exp.calls);
    for by in ["model", "provider", "session"] {
        let sum: f64 = v["by"][by]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["cost_usd"].as_f64().unwrap())
            .sum();
        assert!((sum - exp.usd).abs() < 1e-9, "{by}: {sum} vs {}", exp.usd);
    }
    let unknown = v["by"]["model"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == "openai:my-finetune")
        .unwrap();
    assert_eq!(unknown["cost"], "unknown");
    assert!(!v["savings"].as_array().unwrap().is_empty());
}

#[test]
fn empty_period_and_bad_dates() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    generate(&dir);
    let text = ok_text(&stats(&dir, &["--days", "3", "--until", "2020-01-03"]));
    assert_eq!(
        text,
        "No model calls in the last 3 days (2020-01-01 to 2020-01-03, UTC).\n"
    );
    let o = stats(&dir, &["--until", "2026-02-30"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("YYYY-MM-DD"), "{err}");
    // A data directory without a store: no calls, and nothing is created.
    let none = tmp.path().join("none");
    let text = ok_text(&stats(&none, &["--days", "1", "--until", "2026-11-30"]));
    assert_eq!(text, "No model calls in the last day (2026-11-30, UTC).\n");
    assert!(!none.exists());
}

/// Display width as a terminal lays it out.
fn cells(s: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(s)
}

#[test]
fn unknown_prices_are_not_ranked_or_advised_and_wide_titles_align() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let store = Store::open(&dir).unwrap();
    let sessions = [
        ("0194aaaa0000000000000001", "東京の売上グラフ"),
        ("0194aaaa0000000000000002", "fix 🐛 bug"),
        ("0194aaaa0000000000000003", "plain title"),
    ];
    for (i, (id, title)) in sessions.iter().enumerate() {
        store
            .create_session(&SessionInfo {
                id: (*id).into(),
                title: (*title).into(),
                provider: "work".into(),
                model: "in-house-model".into(),
                mock: false,
                context_window: None,
            })
            .unwrap();
        let usage = Usage {
            input: 1000 * (i as u64 + 1),
            output: 100,
            ..Usage::default()
        };
        // Models the price table does not know: cost unknown.
        store
            .record_usage(
                id,
                "in-house-model",
                "work",
                &usage,
                None,
                LAST_DAY * DAY_MS + 3_600_000,
            )
            .unwrap();
    }
    store.flush().unwrap();
    drop(store);
    let text = ok_text(&stats(&dir, &["--days", "1", "--until", "2026-11-30"]));
    let section = |name: &str| {
        text.split(&format!("\n{name}\n"))
            .nth(1)
            .map(|t| t.split("\n\n").next().unwrap_or(""))
            .unwrap_or_else(|| panic!("no {name} in\n{text}"))
            .to_string()
    };
    let top = section("Most expensive sessions");
    assert!(top.starts_with("None ranked: 3 sessions"), "{text}");
    assert!(!top.contains("東京"), "unknown cost ranked:\n{text}");
    let savings = section("Savings");
    assert!(!savings.contains("already the cheapest"), "{text}");
    assert!(
        savings.contains("price unknown: work:in-house-model"),
        "{text}"
    );

    // By session: the wide titles' rows keep the columns under each other.
    let by = ok_text(&stats(
        &dir,
        &["--days", "1", "--until", "2026-11-30", "--by", "session"],
    ));
    let rows: Vec<&str> = section_rows(&by, "By session");
    assert_eq!(rows.len(), 3, "{by}");
    let ends: Vec<usize> = rows
        .iter()
        .map(|r| cells(&r[..r.find(" tok").unwrap()]))
        .collect();
    assert!(ends.windows(2).all(|w| w[0] == w[1]), "{by}");
}

fn section_rows<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    text.split(&format!("\n{name}\n"))
        .nth(1)
        .map(|t| t.split("\n\n").next().unwrap_or("").lines().collect())
        .unwrap_or_default()
}
