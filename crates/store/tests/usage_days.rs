//! The usage ledger's days on a real sled store: a call late in the evening (UTC) is the next
//! day in a zone east of UTC and the same day in UTC mode, for the per-day totals the budgets
//! read and the records `stats` reads; a ledger written under one calendar is counted in the
//! days of the calendar in force when it is read (stored day keys are only an index).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on setup failures

mod common;

use common::{info, open};
use llm_repl_protocol::Usage;
use llm_repl_protocol::calendar::{Calendar, Offset, TimeZone, parse_day};

/// 2026-11-01 23:30 UTC.
const LATE_ON_THE_1ST: u64 = 1_793_575_800_000;

fn local(hours: i8) -> Calendar {
    Calendar::local_in(TimeZone::fixed(Offset::constant(hours)))
}

fn utc_plus_2() -> Calendar {
    local(2)
}

fn record(s: &llm_repl_store::Store, at_ms: u64, usd: f64) {
    let u = Usage {
        input: 10,
        output: 5,
        ..Usage::default()
    };
    s.record_usage("s1", "m", "p", &u, Some(usd), at_ms)
        .unwrap();
}

#[test]
fn a_late_call_lands_on_the_local_day_or_the_utc_day() {
    let (first, second) = (
        parse_day("2026-11-01").unwrap(),
        parse_day("2026-11-02").unwrap(),
    );
    assert_eq!(Calendar::utc().day_of(LATE_ON_THE_1ST), first);

    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    s.create_session(&info("s1", "late")).unwrap();
    s.set_calendar(utc_plus_2());
    record(&s, LATE_ON_THE_1ST, 0.25);
    // Local days (UTC+2): the call is on the 2nd.
    assert_eq!(s.usage_for_day(second).unwrap().cost_usd, 0.25);
    assert_eq!(s.usage_for_day(first).unwrap().calls, 0);
    let recs = s.usage_records(first, second).unwrap();
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].day, second);
    // Its stored key says the 2nd too.
    assert_eq!(s.session_usage("s1").unwrap()[0].day, second);

    // The same ledger read in UTC mode: the 1st, everywhere.
    s.set_calendar(Calendar::utc());
    assert_eq!(s.usage_for_day(first).unwrap().cost_usd, 0.25);
    assert_eq!(s.usage_for_day(second).unwrap().calls, 0);
    assert_eq!(
        s.usage_by_day(first, second).unwrap(),
        vec![(first, s.usage_for_day(first).unwrap())]
    );
    assert_eq!(s.usage_records(first, first).unwrap()[0].day, first);
    // A period ending on the 1st includes it; one starting on the 2nd does not.
    assert_eq!(s.usage_records(second, second + 30).unwrap().len(), 0);
}

#[test]
fn records_are_in_day_order_after_the_days_are_rederived() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    s.create_session(&info("s1", "order")).unwrap();
    let first = parse_day("2026-11-01").unwrap();
    // Written in UTC: keys on the 1st (late) and the 2nd (early).
    record(&s, LATE_ON_THE_1ST, 1.0);
    record(&s, LATE_ON_THE_1ST + 3_600_000, 2.0);
    let west = local(-5);
    s.set_calendar(west);
    // In UTC-5 both are on the 1st (18:30 and 19:30).
    let recs = s.usage_records(first - 3, first + 3).unwrap();
    assert_eq!(
        recs.iter().map(|r| r.day).collect::<Vec<_>>(),
        vec![first, first]
    );
    assert_eq!(recs[0].cost_usd, Some(1.0));
    assert_eq!(s.usage_for_day(first).unwrap().cost_usd, 3.0);
}

#[test]
fn exported_times_follow_the_calendar() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    s.create_session(&info("s1", "times")).unwrap();
    s.append_messages_at(
        "s1",
        &[llm_repl_protocol::Message::user("hi")],
        LATE_ON_THE_1ST,
    )
    .unwrap();
    let md = s.export_markdown("s1").unwrap();
    assert!(md.contains("## User · 2026-11-01 23:30 UTC"), "{md}");
    s.set_calendar(utc_plus_2());
    let md = s.export_markdown("s1").unwrap();
    assert!(md.contains("## User · 2026-11-02 01:30 +02"), "{md}");
}
