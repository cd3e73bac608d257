//! `/stats` (Op::Stats) counts in the store's calendar and says whose days they are: the same
//! calendar the ledger and the budgets use, so the screen and `llm-repl stats` never disagree.

mod common;

use std::time::Duration;

use common::*;
use llm_repl_core::config::Config;
use llm_repl_protocol::calendar::{Calendar, Offset, TimeZone, now_ms};
use llm_repl_protocol::{Event, Op, Usage};

async fn report(h: &mut llm_repl_core::AgentHandle) -> (String, String) {
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(10), h.events.recv())
            .await
            .expect("event in time")
            .expect("agent alive");
        match ev {
            Event::UsageReport { period, text, .. } => return (period, text),
            Event::Error { message } => panic!("{message}"),
            _ => {}
        }
    }
}

#[tokio::test]
async fn the_stats_report_counts_and_names_the_stores_days() {
    let dir = tempfile::tempdir().unwrap();
    let store = llm_repl_store::Store::open(dir.path()).unwrap();
    let (mut h, _p) = start_with_store(
        vec![text("an answer")],
        Config::default(),
        true,
        Some(store.clone()),
    );
    submit(&h, "a question");
    let events = until_finished(&mut h).await.0;
    let id = session_id(&events);
    // A priced call 30 hours ago: yesterday or the day before, depending on the zone.
    let usage = Usage {
        input: 1000,
        output: 10,
        ..Usage::default()
    };
    let at = now_ms() - 30 * 3_600_000;
    store
        .record_usage(&id, "gpt-4o-mini", "openai", &usage, Some(0.5), at)
        .unwrap();
    for (cal, label) in [
        (Calendar::utc(), "UTC"),
        (
            Calendar::local_in(TimeZone::fixed(Offset::constant(14))),
            "local time, +14",
        ),
        (
            Calendar::local_in(TimeZone::fixed(Offset::constant(-12))),
            "local time, -12",
        ),
    ] {
        store.set_calendar(cal.clone());
        let days_back = cal.today() - cal.day_of(at);
        assert!((1..=2).contains(&days_back), "{days_back}");
        h.ops.send(Op::Stats { days: 1 }).unwrap();
        let (period, text) = report(&mut h).await;
        assert_eq!(period, format!("today ({label})"));
        assert!(!text.contains("gpt-4o-mini"), "{label}: {text}");
        // The call is in the period that reaches back to its day in this calendar, not before.
        h.ops.send(Op::Stats { days: days_back }).unwrap();
        let (_, text) = report(&mut h).await;
        assert!(!text.contains("gpt-4o-mini"), "{label}: {text}");
        h.ops
            .send(Op::Stats {
                days: days_back + 1,
            })
            .unwrap();
        let (period, text) = report(&mut h).await;
        assert_eq!(period, format!("last {} days ({label})", days_back + 1));
        assert!(text.contains("gpt-4o-mini"), "{label}: {text}");
    }
}
