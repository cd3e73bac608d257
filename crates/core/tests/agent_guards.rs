//! Guards around the loop: busy refusal, repeated calls, the turn time limit, panics, titles.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support code: a failure is a test failure

mod common;

use std::time::Duration;

use common::*;
use llm_repl_core::StreamItem;
use llm_repl_core::config::Config;
use llm_repl_protocol::{Event, FinishReason, Op};

#[tokio::test]
async fn the_next_prompt_is_accepted_the_moment_turn_finished_arrives() {
    let answers: Vec<Answer> = (0..30).map(|i| text(&format!("answer {i}"))).collect();
    let (mut h, _p) = start(answers, Config::default(), true);
    for i in 0..30 {
        submit(&h, &format!("q{i}"));
        let (events, reason) = until_finished(&mut h).await;
        assert_eq!(reason, FinishReason::Completed, "turn {i}");
        assert!(
            !events
                .iter()
                .any(|e| matches!(e, Event::Notice { text, .. } if text.contains("still running"))),
            "turn {i} was refused as busy"
        );
    }
}

#[tokio::test]
async fn a_model_repeating_the_same_call_is_told_then_stopped() {
    let same = || call("c", "echo", r#"{"text": "a"}"#);
    let answers = vec![same(), same(), same(), same(), text("never reached")];
    let (mut h, provider) = start(answers, Config::default(), true);
    submit(&h, "loop");
    let (events, reason) = until_finished(&mut h).await;
    assert_eq!(reason, FinishReason::Failed);
    let ran = events
        .iter()
        .filter(|e| matches!(e, Event::ToolOutput { .. }))
        .count();
    assert_eq!(ran, 2, "only the first two identical calls run");
    let requests = provider.requests.lock().unwrap();
    assert_eq!(requests.len(), 4);
    let told = requests[3].messages.last().unwrap();
    assert!(
        told.content.contains("already called echo"),
        "{}",
        told.content
    );
    assert!(
        events.iter().any(
            |e| matches!(e, Event::Error { message } if message.contains("kept calling echo"))
        )
    );
}

#[tokio::test(start_paused = true)]
async fn the_turn_time_limit_stops_a_hanging_turn_and_keeps_its_text() {
    let config = Config {
        reliability: llm_repl_core::config::ReliabilityConfig {
            turn_timeout_secs: 1,
            ..Default::default()
        },
        ..Config::default()
    };
    let (mut h, _p) = start(
        vec![Answer {
            items: vec![Ok(StreamItem::Text("so far".into()))],
            hang: true,
        }],
        config,
        true,
    );
    submit(&h, "hang");
    let (events, reason) = until_finished(&mut h).await;
    assert_eq!(reason, FinishReason::Interrupted);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Notice { text, .. } if text.contains("turn_timeout_secs")))
    );
    assert!(events.iter().any(
        |e| matches!(e, Event::AssistantMessage { message, .. } if message.content == "so far")
    ));
}

#[tokio::test]
async fn a_panicking_turn_is_reported_and_the_session_goes_on() {
    let (mut h, provider) = start(
        vec![call("c1", "boom", "{}"), text("still alive")],
        Config::default(),
        true,
    );
    submit(&h, "first");
    let (events, reason) = until_finished(&mut h).await;
    assert_eq!(reason, FinishReason::Failed);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Error { message } if message.contains("tool bug")))
    );
    submit(&h, "second");
    let (events, reason) = until_finished(&mut h).await;
    assert_eq!(reason, FinishReason::Completed);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::TextDelta { text, .. } if text == "still alive"))
    );
    // The dropped turn is not in the history the model sees next.
    let requests = provider.requests.lock().unwrap();
    assert!(!requests[1].messages.iter().any(|m| m.content == "first"));
}

#[tokio::test]
async fn model_titles_rename_the_stored_session_after_the_first_turn() {
    let dir = tempfile::tempdir().unwrap();
    let store = llm_repl_store::Store::open(dir.path()).unwrap();
    let mut config = Config::default();
    config.store.model_titles = true;
    let (mut h, provider) = start_with_store(
        vec![text("42"), text("\"The Answer To Everything.\"")],
        config,
        true,
        Some(store.clone()),
    );
    submit(&h, "what is six times seven?");
    let (events, _) = until_finished(&mut h).await;
    let id = session_id(&events);
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(10), h.events.recv())
            .await
            .unwrap();
        if let Some(Event::Notice { text, .. }) = ev
            && text.contains("titled")
        {
            break;
        }
    }
    let record = store.get_session(&id).unwrap().unwrap();
    assert_eq!(record.title, "The Answer To Everything");
    let title_request = &provider.requests.lock().unwrap()[1];
    assert_eq!(title_request.max_tokens, Some(16));
    assert!(title_request.tools.is_empty());
}

#[tokio::test]
async fn a_stored_session_can_be_previewed() {
    let dir = tempfile::tempdir().unwrap();
    let store = llm_repl_store::Store::open(dir.path()).unwrap();
    let (mut h, _provider) = start_with_store(
        vec![text(&"long answer ".repeat(100))],
        Config::default(),
        true,
        Some(store),
    );
    submit(&h, "tell me a long story");
    let (events, _) = until_finished(&mut h).await;
    let id = session_id(&events);
    h.ops.send(Op::PreviewSession { id: id.clone() }).unwrap();
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(10), h.events.recv())
            .await
            .unwrap()
            .unwrap();
        if let Event::SessionPreview { id: got, messages } = ev {
            assert_eq!(got, id);
            assert_eq!(messages[0].content, "tell me a long story");
            assert!(
                messages[1].content.chars().count() <= 401,
                "long contents are cut"
            );
            assert!(messages[1].content.ends_with('…'));
            break;
        }
    }
}
