//! Write, reopen, read back: sessions, messages, tool runs, turns, usage and audit against a
//! real sled database in a temp dir.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on setup failures

mod common;

use common::{call, info, open};
use llm_repl_protocol::{FinishReason, Message, ToolResult, ToolRun, ToolStatus, Usage};

#[test]
fn write_reopen_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let c = call("c1", "print(6*7)");
    {
        let s = open(dir.path());
        s.create_session(&info("s1", "first")).unwrap();
        assert_eq!(
            s.append_message("s1", &Message::user("what is 6*7"))
                .unwrap(),
            0
        );
        s.begin_turn("s1", 1).unwrap();
        let a = Message::assistant("let me compute", vec![c.clone()]);
        assert_eq!(s.append_message("s1", &a).unwrap(), 1);
        let mut run = ToolRun {
            call: c.clone(),
            status: ToolStatus::Running,
            duration_ms: 0,
            output: String::new(),
            findings: vec![],
        };
        s.record_tool_run("s1", &run).unwrap();
        run.status = ToolStatus::Ok;
        run.output = "42\n".into();
        run.duration_ms = 12;
        s.record_tool_run("s1", &run).unwrap();
        let r = ToolResult {
            call_id: "c1".into(),
            content: "42".into(),
            is_error: false,
        };
        assert_eq!(s.append_message("s1", &Message::tool(&r)).unwrap(), 2);
        s.end_turn("s1", 1, FinishReason::Completed).unwrap();
        let u = Usage {
            input: 100,
            output: 20,
            ..Usage::default()
        };
        s.record_usage(
            "s1",
            "mock-1",
            "mock",
            &u,
            Some(0.5),
            llm_repl_store::now_ms(),
        )
        .unwrap();
        s.audit("tool_exec", serde_json::json!({"call": "c1"}))
            .unwrap();
    }
    let s = open(dir.path());
    assert!(s.open_report().interrupted_turns.is_empty());
    let l = s.load_session("s1").unwrap();
    assert_eq!(l.session.title, "first");
    assert_eq!(l.session.messages, 3);
    assert_eq!(l.session.usage.input, 100);
    assert_eq!(l.session.cost_usd, Some(0.5));
    assert_eq!(l.messages.len(), 3);
    assert_eq!(l.messages[1].message.tool_calls[0], c);
    assert_eq!(l.messages[2].message.tool_call_id.as_deref(), Some("c1"));
    assert_eq!(l.tool_runs.len(), 1);
    assert_eq!(l.tool_runs[0].run.output, "42\n");
    assert!(l.tool_runs[0].finished_ms.is_some());
    assert_eq!(l.turns.len(), 1);
    assert_eq!(l.turns[0].reason, Some(FinishReason::Completed));
    assert_eq!(l.turns[0].first_seq, 1);
    assert!((s.today_usd().unwrap() - 0.5).abs() < 1e-9);
    assert_eq!(s.audit_recent(10).unwrap()[0].kind, "tool_exec");
    assert_eq!(s.session_usage("s1").unwrap().len(), 1);
}

#[test]
fn open_turn_is_marked_interrupted_on_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = open(dir.path());
        s.create_session(&info("s1", "t")).unwrap();
        s.begin_turn("s1", 1).unwrap();
        s.end_turn("s1", 1, FinishReason::Completed).unwrap();
        s.begin_turn("s1", 2).unwrap();
        s.append_message("s1", &Message::user("half way")).unwrap();
        // Dropped without end_turn: what a crash leaves behind.
    }
    let s = open(dir.path());
    assert_eq!(
        s.open_report().interrupted_turns,
        vec![("s1".to_string(), 2)]
    );
    let l = s.load_session("s1").unwrap();
    assert_eq!(l.turns.len(), 2);
    assert_eq!(l.turns[0].reason, Some(FinishReason::Completed));
    assert!(!l.turns[0].crashed);
    assert_eq!(l.turns[1].reason, Some(FinishReason::Interrupted));
    assert!(l.turns[1].crashed);
    assert_eq!(l.messages.len(), 1);
    drop(s);
    // Marked once: the next open finds nothing to repair.
    assert!(open(dir.path()).open_report().interrupted_turns.is_empty());
}

#[test]
fn list_pages_newest_updated_first_and_delete_removes_everything() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    for i in 0..5 {
        let id = format!("s{i}");
        s.create_session(&info(&id, &format!("title {i}"))).unwrap();
        s.append_messages_at(&id, &[Message::user(format!("hello zebra {i}"))], 1_000 + i)
            .unwrap();
    }
    // s0 becomes the newest by a later message.
    s.append_messages_at("s0", &[Message::user("again")], 10_000)
        .unwrap();
    let (page, total) = s.list_sessions(0, 2).unwrap();
    assert_eq!(total, 5);
    let ids: Vec<_> = page.iter().map(|p| p.id.as_str()).collect();
    // Sessions were created "now" (far above these stamps), so creation order decides, then s0.
    assert_eq!(page.len(), 2);
    let (all, _) = s.list_sessions(0, 100).unwrap();
    assert_eq!(all.len(), 5);
    assert_eq!(
        &all[..2].iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        &ids
    );
    assert!(all.windows(2).all(|w| w[0].updated_ms >= w[1].updated_ms));
    let (rest, _) = s.list_sessions(4, 100).unwrap();
    assert_eq!(rest.len(), 1);

    s.rename_session("s3", "renamed").unwrap();
    assert_eq!(s.last_session().unwrap().unwrap().id, "s3");
    assert_eq!(s.search("zebra", 10).unwrap().len(), 5);
    s.delete_session("s3").unwrap();
    assert_eq!(s.session_count().unwrap(), 4);
    assert!(s.get_session("s3").unwrap().is_none());
    assert!(s.load_session("s3").is_err());
    let hits = s.search("zebra", 10).unwrap();
    assert_eq!(hits.len(), 4);
    assert!(hits.iter().all(|h| h.session_id != "s3"));
    assert!(
        s.search("3", 10).unwrap().is_empty(),
        "postings of s3 are gone"
    );
    assert_eq!(s.list_sessions(0, 100).unwrap().0.len(), 4);
}

#[test]
fn errors_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let e = s.append_message("nope", &Message::user("x")).unwrap_err();
    assert_eq!(e.to_string(), "no session nope");
    s.create_session(&info("a", "t")).unwrap();
    let e = s.create_session(&info("a", "t")).unwrap_err();
    assert_eq!(e.to_string(), "session a already exists");
    let e = s.create_session(&info("a\0b", "t")).unwrap_err();
    assert!(e.to_string().contains("invalid session id"));
}

#[test]
fn session_ids_sort_by_creation_and_are_unique() {
    let a = llm_repl_store::new_session_id();
    let b = llm_repl_store::new_session_id();
    assert_ne!(a, b);
    assert_eq!(a.len(), 21);
    assert!(a[..13] <= b[..13]);
}

#[test]
fn store_is_shared_across_threads_and_concurrent_appends_get_distinct_seqs() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<llm_repl_store::Store>();
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    s.create_session(&info("c", "concurrent")).unwrap();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let s = s.clone();
            std::thread::spawn(move || {
                (0..25)
                    .map(|i| {
                        s.append_message("c", &Message::user(format!("t{t} i{i}")))
                            .unwrap()
                    })
                    .collect::<Vec<u64>>()
            })
        })
        .collect();
    let mut seqs: Vec<u64> = threads
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (0..100).collect::<Vec<u64>>());
    let l = s.load_session("c").unwrap();
    assert_eq!(l.session.messages, 100);
    assert_eq!(s.search("i7", 100).unwrap().len(), 4);
}

#[test]
fn read_only_snapshot_refuses_writes_in_process() {
    let dir = tempfile::tempdir().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    s.create_session(&info("x", "t")).unwrap();
    s.append_message("x", &Message::user("snapshot me"))
        .unwrap();
    let snap = llm_repl_store::Store::open_snapshot(dir.path(), &scratch.path().join("s")).unwrap();
    assert!(snap.is_read_only());
    assert_eq!(snap.search("snapshot", 5).unwrap().len(), 1);
    let e = snap.rename_session("x", "y").unwrap_err();
    assert!(e.to_string().contains("read-only"));
    assert!(snap.audit("k", serde_json::json!({})).is_err());
    // The owner keeps writing.
    s.append_message("x", &Message::user("more")).unwrap();
}

#[test]
fn every_page_from_either_end_matches_the_full_order() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    s.set_sync_writes(false);
    let future = llm_repl_store::now_ms() + 1_000_000;
    for i in 0..23u64 {
        let id = format!("p{i:02}");
        s.create_session(&info(&id, "t")).unwrap();
        // Strictly increasing updated times, in a scrambled id order.
        let at = future + (i * 7 % 23) * 1000;
        s.append_messages_at(&id, &[Message::user("x")], at)
            .unwrap();
    }
    let (all, total) = s.list_sessions(0, 1000).unwrap();
    assert_eq!((all.len(), total), (23, 23));
    assert!(all.windows(2).all(|w| w[0].updated_ms > w[1].updated_ms));
    for offset in 0..25 {
        for limit in [1, 5, 23] {
            let (page, _) = s.list_sessions(offset, limit).unwrap();
            let want: Vec<_> = all.iter().skip(offset).take(limit).cloned().collect();
            assert_eq!(page, want, "offset {offset} limit {limit}");
        }
    }
}
