//! Deleting the open session starts a new one: the next message must not bring the deleted
//! session back (issue 11), and while a turn runs on it the delete is refused.

mod common;

use std::time::Duration;

use common::*;
use llm_repl_core::config::Config;
use llm_repl_protocol::{Event, Op};

async fn next_event(h: &mut llm_repl_core::AgentHandle) -> Event {
    tokio::time::timeout(Duration::from_secs(10), h.events.recv())
        .await
        .expect("event in time")
        .expect("agent alive")
}

#[tokio::test]
async fn deleting_the_open_session_starts_a_new_one_that_stays_separate() {
    let dir = tempfile::tempdir().unwrap();
    let store = llm_repl_store::Store::open(dir.path()).unwrap();
    let (mut h, provider) = start_with_store(
        vec![text("first answer"), text("second answer")],
        Config::default(),
        true,
        Some(store.clone()),
    );
    submit(&h, "first question");
    let (events, _) = until_finished(&mut h).await;
    let old = session_id(&events);
    assert!(store.get_session(&old).unwrap().is_some());

    h.ops.send(Op::DeleteSession { id: old.clone() }).unwrap();
    let new = loop {
        if let Event::SessionStarted { info } = next_event(&mut h).await {
            break info.id;
        }
    };
    assert_ne!(new, old);

    submit(&h, "second question");
    until_finished(&mut h).await;
    assert!(
        store.get_session(&old).unwrap().is_none(),
        "the deleted session came back"
    );
    let loaded = store.load_session(&new).unwrap();
    let contents: Vec<String> = loaded
        .plain_messages()
        .into_iter()
        .map(|m| m.content)
        .collect();
    assert_eq!(contents, ["second question", "second answer"]);
    // The model does not see the deleted conversation either.
    let requests = provider.requests.lock().unwrap();
    let last = requests.last().unwrap();
    assert!(!last.messages.iter().any(|m| m.content == "first question"));
}

#[tokio::test]
async fn deleting_the_open_session_during_a_turn_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = llm_repl_store::Store::open(dir.path()).unwrap();
    let (mut h, _provider) = start_with_store(
        vec![call("c1", "slow", "{}")],
        Config::default(),
        true,
        Some(store.clone()),
    );
    let id = match next_event(&mut h).await {
        Event::SessionStarted { info } => info.id,
        other => panic!("{other:?}"),
    };
    submit(&h, "go slow");
    loop {
        if let Event::ToolOutput { .. } = next_event(&mut h).await {
            break;
        }
    }
    h.ops.send(Op::DeleteSession { id: id.clone() }).unwrap();
    loop {
        match next_event(&mut h).await {
            Event::Error { message } => {
                assert!(message.contains("interrupt it first"), "{message}");
                break;
            }
            Event::SessionStarted { .. } => panic!("deleted mid-turn"),
            _ => {}
        }
    }
    h.ops.send(Op::Interrupt).unwrap();
    until_finished(&mut h).await;
    assert!(store.get_session(&id).unwrap().is_some());
}

/// Issue 12: an error is attributed to the Op that caused it, by its request id; the events of
/// a turn a tagged Submit starts are not answers.
#[tokio::test]
async fn answers_to_a_tagged_op_carry_its_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let store = llm_repl_store::Store::open(dir.path()).unwrap();
    let (mut h, _provider) =
        start_with_store(vec![text("hi there")], Config::default(), true, Some(store));
    h.ops
        .send(Op::DeleteSession { id: "nope".into() }.tagged(41))
        .unwrap();
    loop {
        match next_event(&mut h).await {
            Event::Reply { request, body } => {
                assert_eq!(request, 41);
                assert!(matches!(*body, Event::Error { .. }), "{body:?}");
                break;
            }
            Event::Error { message } => panic!("untagged error: {message}"),
            _ => {}
        }
    }
    h.ops
        .send(
            Op::Submit {
                text: "hello".into(),
            }
            .tagged(42),
        )
        .unwrap();
    let (events, _) = until_finished(&mut h).await;
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::TurnStarted { .. })),
        "the turn's events come untagged: {events:?}"
    );
}
