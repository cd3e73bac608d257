//! Exports never overwrite a file silently, and every export says where it went (issue 11).

mod common;

use std::time::Duration;

use common::*;
use llm_repl_core::config::Config;
use llm_repl_protocol::{Event, ExportFormat, Op};

async fn answer(h: &mut llm_repl_core::AgentHandle) -> Event {
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(10), h.events.recv())
            .await
            .expect("event in time")
            .expect("agent alive");
        if matches!(ev, Event::Exported { .. } | Event::Error { .. }) {
            return ev;
        }
    }
}

#[tokio::test]
async fn an_existing_file_is_never_overwritten_and_the_path_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let store = llm_repl_store::Store::open(&dir.path().join("store")).unwrap();
    let (mut h, _p) = start_with_store(
        vec![text("an answer")],
        Config::default(),
        true,
        Some(store),
    );
    submit(&h, "a question");
    until_finished(&mut h).await;
    let target = dir.path().join("out.md");
    let export = |path: &std::path::Path| Op::Export {
        id: None,
        format: ExportFormat::Markdown,
        path: Some(path.display().to_string()),
    };
    h.ops.send(export(&target)).unwrap();
    match answer(&mut h).await {
        Event::Exported { path, .. } => assert_eq!(path, target.display().to_string()),
        other => panic!("{other:?}"),
    }
    let first = std::fs::read_to_string(&target).unwrap();
    assert!(first.contains("a question"));
    std::fs::write(&target, "precious").unwrap();
    h.ops.send(export(&target)).unwrap();
    match answer(&mut h).await {
        Event::Error { message } => {
            assert!(message.contains("already exists"), "{message}");
            assert!(message.contains(&target.display().to_string()), "{message}");
        }
        other => panic!("overwrote: {other:?}"),
    }
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious");
}
