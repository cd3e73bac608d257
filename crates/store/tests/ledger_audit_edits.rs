//! The usage ledger's aggregations (per day, per model, per session, today), the audit log's
//! range and recency queries, session edits (tags, model switch), import refusals and the
//! read-only snapshot refusing every kind of write. Real sled in a temp dir.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{info, open};
use llm_repl_protocol::calendar::{Calendar, Offset, TimeZone};
use llm_repl_protocol::{Message, Usage};
use llm_repl_store::{EXPORT_FORMAT, StoreError, now_ms};

const DAY_MS: u64 = 86_400_000;

fn usage(input: u64, output: u64) -> Usage {
    Usage {
        input,
        output,
        ..Usage::default()
    }
}

#[test]
fn usage_ledger_sums_per_day_per_model_and_per_session() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    s.create_session(&info("a", "A")).unwrap();
    s.create_session(&info("b", "B")).unwrap();
    // Day 100 and day 102 (day 101 has no calls and must be left out of the per-day list).
    let d100 = 100 * DAY_MS + 1000;
    let d102 = 102 * DAY_MS + 1000;
    s.record_usage("a", "m-cheap", "p1", &usage(10, 1), Some(0.5), d100)
        .unwrap();
    s.record_usage("a", "m-dear", "p2", &usage(20, 2), Some(3.0), d100)
        .unwrap();
    s.record_usage("b", "m-cheap", "p1", &usage(30, 3), None, d102)
        .unwrap();
    s.record_usage("b", "m-cheap", "p1", &usage(40, 4), Some(0.25), d102)
        .unwrap();

    let day100 = s.usage_for_day(100).unwrap();
    assert_eq!(day100.calls, 2);
    assert_eq!(day100.usage.input, 30);
    assert!((day100.cost_usd - 3.5).abs() < 1e-9);
    assert_eq!(day100.unknown_cost_calls, 0);
    assert_eq!(s.usage_for_day(101).unwrap().calls, 0);

    let by_day = s.usage_by_day(99, 103).unwrap();
    let days: Vec<u32> = by_day.iter().map(|(d, _)| *d).collect();
    assert_eq!(days, vec![100, 102]);
    assert_eq!(by_day[1].1.unknown_cost_calls, 1);
    assert_eq!(by_day[1].1.usage.output, 7);
    // Inclusive bounds: a one-day range at each end still sees its day.
    assert_eq!(s.usage_by_day(102, 102).unwrap().len(), 1);
    assert!(s.usage_by_day(103, 200).unwrap().is_empty());

    let by_model = s.usage_by_model(0, u32::MAX - 1).unwrap();
    let names: Vec<(&str, &str)> = by_model
        .iter()
        .map(|m| (m.provider.as_str(), m.model.as_str()))
        .collect();
    // Most expensive first: m-dear ($3) before m-cheap ($0.75).
    assert_eq!(names, vec![("p2", "m-dear"), ("p1", "m-cheap")]);
    assert_eq!(by_model[1].totals.calls, 3);
    assert!((by_model[1].totals.cost_usd - 0.75).abs() < 1e-9);
    assert_eq!(by_model[1].totals.unknown_cost_calls, 1);

    // The session records carry their own totals; an unknown price is counted, not summed.
    let a = s.get_session("a").unwrap().unwrap();
    assert_eq!(a.usage.input, 30);
    assert_eq!(a.cost_usd, Some(3.5));
    let b = s.get_session("b").unwrap().unwrap();
    assert_eq!(b.unknown_cost_calls, 1);
    assert_eq!(b.cost_usd, Some(0.25));

    let b_usage = s.session_usage("b").unwrap();
    assert_eq!(
        b_usage.iter().map(|r| r.usage.input).collect::<Vec<_>>(),
        vec![30, 40]
    );
    assert!(s.session_usage("nobody").unwrap().is_empty());

    // Usage on an unknown session is refused and writes nothing to the ledger.
    assert!(matches!(
        s.record_usage("ghost", "m", "p", &usage(1, 1), Some(1.0), d100),
        Err(StoreError::NoSession(_))
    ));
    assert_eq!(s.usage_for_day(100).unwrap().calls, 2);
}

#[test]
fn today_and_days_follow_the_configured_calendar() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    s.create_session(&info("a", "A")).unwrap();
    assert_eq!(s.today_usd().unwrap(), 0.0);
    s.record_usage("a", "m", "p", &usage(1, 1), Some(1.25), now_ms())
        .unwrap();
    assert!((s.today_usd().unwrap() - 1.25).abs() < 1e-9);

    // A call at 23:00 UTC falls on the next day fourteen hours east of UTC.
    let late = 200 * DAY_MS + 23 * 3_600_000;
    s.set_calendar(Calendar::local_in(TimeZone::fixed(Offset::constant(14))));
    s.record_usage("a", "m", "p", &usage(1, 1), Some(2.0), late)
        .unwrap();
    assert_eq!(s.usage_for_day(201).unwrap().calls, 1);
    assert_eq!(s.usage_for_day(200).unwrap().calls, 0);
    // Twelve hours west both calls at that instant are on day 200: days are the calendar's
    // when asked, not when written.
    s.set_calendar(Calendar::local_in(TimeZone::fixed(Offset::constant(-12))));
    s.record_usage("a", "m", "p", &usage(1, 1), Some(2.0), late)
        .unwrap();
    assert_eq!(s.usage_for_day(200).unwrap().calls, 2);
    assert_eq!(s.usage_for_day(201).unwrap().calls, 0);
}

#[test]
fn audit_log_answers_ranges_oldest_first_and_recent_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let before = now_ms();
    for i in 0..5 {
        s.audit("tool_approval", serde_json::json!({ "n": i }))
            .unwrap();
    }
    let after = now_ms() + 1;

    let recent = s.audit_recent(3).unwrap();
    let ns: Vec<i64> = recent
        .iter()
        .map(|r| r.detail["n"].as_i64().unwrap())
        .collect();
    assert_eq!(ns, vec![4, 3, 2]);
    assert!(recent.iter().all(|r| r.kind == "tool_approval"));

    let range = s.audit_range(before, after, 10).unwrap();
    let ns: Vec<i64> = range
        .iter()
        .map(|r| r.detail["n"].as_i64().unwrap())
        .collect();
    assert_eq!(ns, vec![0, 1, 2, 3, 4]);
    assert!(range.iter().all(|r| r.at_ms >= before && r.at_ms < after));
    assert_eq!(s.audit_range(before, after, 2).unwrap().len(), 2);
    // The upper bound is exclusive: an empty window before the first entry finds nothing.
    assert!(s.audit_range(0, before, 10).unwrap().is_empty());

    // Audit entries survive a reopen (they ride on the next flush or the close).
    drop(s);
    let s = open(dir.path());
    assert_eq!(s.audit_recent(100).unwrap().len(), 5);
}

#[test]
fn tags_and_model_switch_persist_and_touch_updated_time() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = open(dir.path());
        let created = s.create_session(&info("a", "A")).unwrap();
        let tagged = s
            .set_tags("a", &["work".to_string(), "rust".to_string()])
            .unwrap();
        assert_eq!(tagged.tags, vec!["work", "rust"]);
        assert!(tagged.updated_ms >= created.updated_ms);
        let switched = s.set_session_model("a", "groq", "llama-3").unwrap();
        assert_eq!(
            (switched.provider.as_str(), switched.model.as_str()),
            ("groq", "llama-3")
        );
        assert_eq!(switched.tags, vec!["work", "rust"]);
        assert!(matches!(
            s.set_tags("ghost", &[]),
            Err(StoreError::NoSession(id)) if id == "ghost"
        ));
        assert!(s.size_on_disk().unwrap() > 0);
    }
    let s = open(dir.path());
    let rec = s.get_session("a").unwrap().unwrap();
    assert_eq!(rec.tags, vec!["work", "rust"]);
    assert_eq!(rec.info().provider, "groq");
    assert_eq!(rec.summary().model, "llama-3");
}

#[test]
fn import_refuses_foreign_newer_misnumbered_and_duplicate_exports() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    s.create_session(&info("a", "A")).unwrap();
    s.append_message("a", &Message::user("hello")).unwrap();
    s.append_message("a", &Message::assistant("hi", Vec::new()))
        .unwrap();
    let good = s.export_session("a").unwrap();
    assert_eq!(good.format, EXPORT_FORMAT);

    let mut foreign = good.clone();
    foreign.format = "something-else".into();
    let e = s.import_session(&foreign).unwrap_err().to_string();
    assert!(e.contains("not an llm-repl session export"), "{e}");

    let mut newer = good.clone();
    newer.v += 1;
    let e = s.import_session(&newer).unwrap_err().to_string();
    assert!(e.contains("newer than this build"), "{e}");

    let mut gap = good.clone();
    gap.session.id = "gap".into();
    gap.messages[1].seq = 5;
    let e = s.import_session(&gap).unwrap_err().to_string();
    assert!(e.contains("seqs"), "{e}");
    assert!(
        s.get_session("gap").unwrap().is_none(),
        "a refused import leaves nothing"
    );

    // The same id again is refused and the original is untouched.
    assert!(matches!(
        s.import_session(&good),
        Err(StoreError::SessionExists(id)) if id == "a"
    ));
    assert_eq!(s.load_session("a").unwrap().messages.len(), 2);

    let e = s.import_json("{ not json").unwrap_err();
    assert!(matches!(e, StoreError::Import(_)), "{e}");

    // Under another id it imports to the same messages.
    let mut copy = good.clone();
    copy.session.id = "copy".into();
    s.import_session(&copy).unwrap();
    let loaded = s.load_session("copy").unwrap();
    assert_eq!(
        loaded.plain_messages(),
        s.load_session("a").unwrap().plain_messages()
    );
}

#[test]
fn snapshot_refuses_every_kind_of_write_but_answers_reads() {
    let dir = tempfile::tempdir().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    {
        let s = open(dir.path());
        s.create_session(&info("a", "A")).unwrap();
        s.record_usage("a", "m", "p", &usage(5, 5), Some(1.0), 300 * DAY_MS)
            .unwrap();
        s.cache_put(b"k", b"v").unwrap();
        s.audit("note", serde_json::json!("x")).unwrap();
    }
    let snap =
        llm_repl_store::Store::open_snapshot(dir.path(), &scratch.path().join("copy")).unwrap();
    assert!(snap.is_read_only());
    let refused = [
        snap.cache_put(b"k2", b"v").err(),
        snap.cache_clear().err(),
        snap.audit("note", serde_json::json!(1)).err(),
        snap.set_tags("a", &[]).err(),
        snap.set_session_model("a", "p", "m").err(),
        snap.record_usage("a", "m", "p", &usage(1, 1), None, 300 * DAY_MS)
            .err(),
        snap.import_json(&snap.export_json("a").unwrap()).err(),
    ];
    for (i, e) in refused.into_iter().enumerate() {
        assert!(matches!(e, Some(StoreError::ReadOnly)), "write {i}: {e:?}");
    }
    assert_eq!(snap.cache_get(b"k").unwrap().as_deref(), Some(&b"v"[..]));
    assert_eq!(snap.cache_len().unwrap(), 1);
    assert_eq!(snap.usage_for_day(300).unwrap().calls, 1);
    assert_eq!(snap.audit_recent(5).unwrap().len(), 1);

    // A data directory without a store cannot be snapshotted.
    let empty = tempfile::tempdir().unwrap();
    let e = llm_repl_store::Store::open_snapshot(empty.path(), &scratch.path().join("other"))
        .unwrap_err();
    assert!(e.to_string().contains("no store here"), "{e}");
}
