//! Search ranking, export round trip and the schema-0 migration, on real sled databases.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on setup failures

mod common;

use common::{call, info, open};
use llm_repl_protocol::{FinishReason, Message, Role, ToolResult, ToolRun, ToolStatus, Usage};
use llm_repl_store::{Store, now_ms};

const DAY: u64 = 86_400_000;

fn store_with(docs: &[(&str, &str, u64)]) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    for (id, body, at) in docs {
        if s.get_session(id).unwrap().is_none() {
            s.create_session(&info(id, &format!("title of {id}")))
                .unwrap();
        }
        s.append_messages_at(id, &[Message::user(*body)], *at)
            .unwrap();
    }
    (dir, s)
}

fn ids(hits: &[llm_repl_protocol::SearchHit]) -> Vec<&str> {
    hits.iter().map(|h| h.session_id.as_str()).collect()
}

#[test]
fn ranking_prefers_term_frequency_and_rare_terms() {
    let now = now_ms();
    let (_d, s) = store_with(&[
        (
            "weak",
            "rust appears once in this longer message about several other topics",
            now,
        ),
        ("strong", "rust rust borrow checker", now),
        ("filler", "nothing relevant at all here", now),
    ]);
    let hits = s.search("rust", 10).unwrap();
    assert_eq!(ids(&hits), ["strong", "weak"]);
    assert!(hits[0].score > hits[1].score);
    // AND: both words must occur.
    assert_eq!(ids(&s.search("rust borrow", 10).unwrap()), ["strong"]);
    assert!(s.search("rust missingword", 10).unwrap().is_empty());
    assert!(
        s.search("the", 10).unwrap().is_empty(),
        "stop words alone find nothing"
    );
}

#[test]
fn recency_breaks_ties_but_does_not_beat_relevance() {
    let now = now_ms();
    let filler = "word ".repeat(60);
    let (_d, s) = store_with(&[
        ("old_same", "deploy the kubernetes cluster", now - 365 * DAY),
        ("new_same", "deploy the kubernetes cluster", now),
        (
            "old_strong",
            "kubernetes kubernetes kubernetes",
            now - 365 * DAY,
        ),
        ("new_weak", &format!("kubernetes {filler}"), now),
    ]);
    let hits = s.search("kubernetes", 10).unwrap();
    let order = ids(&hits);
    assert_eq!(order.len(), 4);
    let pos = |id: &str| order.iter().position(|x| *x == id).unwrap();
    assert!(pos("new_same") < pos("old_same"), "{order:?}");
    assert!(pos("old_strong") < pos("new_weak"), "{order:?}");
    assert_eq!(order[0], "old_strong");
}

#[test]
fn incremental_search_matches_prefix_of_last_word_with_highlights() {
    let now = now_ms();
    let (_d, s) = store_with(&[
        ("a", "The Borrow checker rejects this code", now),
        ("b", "a borrowed book", now),
        ("c", "checker board", now),
    ]);
    assert!(s.search("borr", 10).unwrap().is_empty());
    let hits = s.search_incremental("borr", 10).unwrap();
    let mut found = ids(&hits);
    found.sort();
    assert_eq!(found, ["a", "b"]);
    // A trailing space ends the word: exact again.
    assert!(s.search_incremental("borr ", 10).unwrap().is_empty());
    let hits = s.search_incremental("checker borr", 10).unwrap();
    assert_eq!(ids(&hits), ["a"]);
    let h = &hits[0];
    assert_eq!(h.session_title, "title of a");
    assert_eq!(h.seq, 0);
    assert_eq!(h.role, Role::User);
    let marked: Vec<&str> = h
        .highlights
        .iter()
        .map(|(a, b)| &h.snippet[*a..*b])
        .collect();
    assert_eq!(marked, ["Borrow", "checker"]);
}

#[test]
fn tool_calls_and_outputs_are_searchable() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    s.create_session(&info("t", "tools")).unwrap();
    s.append_message(
        "t",
        &Message::assistant("", vec![call("c1", "import numpy")]),
    )
    .unwrap();
    let r = ToolResult {
        call_id: "c1".into(),
        content: "ModuleNotFoundError: numpy".into(),
        is_error: true,
    };
    s.append_message("t", &Message::tool(&r)).unwrap();
    let hits = s.search("modulenotfounderror", 5).unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].role, Role::Tool);
    assert_eq!(s.search("numpy", 5).unwrap().len(), 2);
}

fn rich_session(s: &Store) {
    s.create_session(&info("rich", "A rich session")).unwrap();
    s.set_tags("rich", &["demo".to_string()]).unwrap();
    s.append_message("rich", &Message::user("plot ```sin``` please"))
        .unwrap();
    s.begin_turn("rich", 1).unwrap();
    let c = call("call_1", "print('x')");
    s.append_message("rich", &Message::assistant("sure", vec![c.clone()]))
        .unwrap();
    let run = ToolRun {
        call: c,
        status: ToolStatus::Ok,
        duration_ms: 7,
        output: "x\n".into(),
        findings: vec![],
    };
    s.record_tool_run("rich", &run).unwrap();
    let r = ToolResult {
        call_id: "call_1".into(),
        content: "x".into(),
        is_error: false,
    };
    s.append_message("rich", &Message::tool(&r)).unwrap();
    s.end_turn("rich", 1, FinishReason::Completed).unwrap();
    let u = Usage {
        input: 10,
        output: 5,
        ..Usage::default()
    };
    s.record_usage("rich", "m", "p", &u, Some(0.01), now_ms())
        .unwrap();
    s.record_usage("rich", "m", "p", &u, None, now_ms())
        .unwrap();
}

#[test]
fn json_export_round_trips_to_the_same_records() {
    let d1 = tempfile::tempdir().unwrap();
    let d2 = tempfile::tempdir().unwrap();
    let a = open(d1.path());
    rich_session(&a);
    let json = a.export_json("rich").unwrap();
    assert!(
        a.import_json(&json)
            .unwrap_err()
            .to_string()
            .contains("already exists")
    );
    let b = open(d2.path());
    assert_eq!(b.import_json(&json).unwrap(), "rich");
    assert_eq!(b.export_json("rich").unwrap(), json);
    let (la, lb) = (
        a.load_session("rich").unwrap(),
        b.load_session("rich").unwrap(),
    );
    assert_eq!(la.session, lb.session);
    assert_eq!(la.plain_messages(), lb.plain_messages());
    assert_eq!(la.plain_tool_runs(), lb.plain_tool_runs());
    assert_eq!(la.turns, lb.turns);
    assert_eq!(
        b.search("sin", 5).unwrap().len(),
        1,
        "imported text is indexed"
    );
    assert_eq!(b.session_usage("rich").unwrap().len(), 2);
    assert!(
        b.import_json("{\"format\":\"x\"}")
            .unwrap_err()
            .to_string()
            .starts_with("cannot import session")
    );
}

#[test]
fn markdown_transcript_has_fenced_tool_calls_and_outputs() {
    let d = tempfile::tempdir().unwrap();
    let s = open(d.path());
    rich_session(&s);
    let md = s.export_markdown("rich").unwrap();
    assert!(md.starts_with("# A rich session\n"));
    assert!(md.contains("- Tags: demo"));
    assert!(md.contains("## User"));
    assert!(md.contains("plot ```sin``` please"));
    assert!(md.contains(
        "**Tool call** `python` (`call_1`):\n\n```json\n{\n  \"code\": \"print('x')\"\n}\n```"
    ));
    assert!(md.contains("Output (ok, 7 ms):\n\n```text\nx\n```"));
    assert!(md.contains("+ 1 calls of unknown price"));
}

#[test]
fn schema_0_store_is_migrated_on_open() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = sled::open(dir.path().join(llm_repl_store::DB_DIR)).unwrap();
        let sessions = db.open_tree("sessions").unwrap();
        let messages = db.open_tree("messages").unwrap();
        for (i, id) in ["old1", "old2"].iter().enumerate() {
            let rec = llm_repl_store::SessionV0 {
                id: id.to_string(),
                title: format!("legacy {i}"),
                created_ms: 1_000_000 + i as u64,
                model: "gpt-legacy".into(),
            };
            sessions
                .insert(id.as_bytes(), serde_json::to_vec(&rec).unwrap())
                .unwrap();
            for seq in 0..3u64 {
                let m = Message::user(format!("legacy words {id} number{seq}"));
                messages
                    .insert(
                        llm_repl_store::v0_message_key(id, seq).as_bytes(),
                        serde_json::to_vec(&m).unwrap(),
                    )
                    .unwrap();
            }
        }
        db.flush().unwrap();
    }
    let s = open(dir.path());
    assert_eq!(s.open_report().migrated_from, Some(0));
    assert_eq!(s.session_count().unwrap(), 2);
    let l = s.load_session("old2").unwrap();
    assert_eq!(l.session.title, "legacy 1");
    assert_eq!(l.session.model, "gpt-legacy");
    assert_eq!(l.session.messages, 3);
    assert_eq!(l.messages[2].message.content, "legacy words old2 number2");
    let (page, total) = s.list_sessions(0, 10).unwrap();
    assert_eq!(total, 2);
    assert_eq!(page[0].id, "old2", "newest created first");
    assert_eq!(s.search("legacy", 10).unwrap().len(), 6);
    assert_eq!(s.search("number1", 10).unwrap().len(), 2);
    // New writes work on the migrated layout, and the next open migrates nothing.
    s.append_message("old1", &Message::user("fresh")).unwrap();
    drop(s);
    let s = open(dir.path());
    assert_eq!(s.open_report().migrated_from, None);
    assert_eq!(s.load_session("old1").unwrap().messages.len(), 4);
}
