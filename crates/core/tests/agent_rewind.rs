//! Retry, edit-and-resend and fork (issue 11 item 12), on a real sled store in a temp dir: after
//! each, the store is reopened by a new agent resuming the session, and the context that agent
//! sends must be the one the first agent had.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support code: a failure is a test failure

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use llm_repl_core::config::Config;
use llm_repl_core::{Agent, AgentDeps, AgentHandle, ToolRegistry};
use llm_repl_protocol::{Event, Message, Op, Role};
use llm_repl_store::Store;

async fn next_event(h: &mut AgentHandle) -> Event {
    tokio::time::timeout(Duration::from_secs(10), h.events.recv())
        .await
        .expect("event in time")
        .expect("agent alive")
}

/// The conversation part of a request (no system prompt), as (role, content) pairs.
fn context(messages: &[Message]) -> Vec<(Role, String)> {
    messages
        .iter()
        .filter(|m| m.role != Role::System)
        .map(|m| (m.role, m.content.clone()))
        .collect()
}

fn last_context(p: &Scripted) -> Vec<(Role, String)> {
    context(&p.requests.lock().unwrap().last().unwrap().messages)
}

async fn stop(h: AgentHandle) {
    h.ops.send(Op::Shutdown).unwrap();
    h.task.await.unwrap();
}

/// A second agent on the reopened store, resuming `id`.
fn resume(dir: &std::path::Path, id: &str, answers: Vec<Answer>) -> (AgentHandle, Arc<Scripted>) {
    let store = Store::open(dir).unwrap();
    let provider = Arc::new(Scripted::default());
    provider.answers.lock().unwrap().extend(answers);
    let mut tools = ToolRegistry::new();
    tools.register(Arc::new(Echo));
    let handle = Agent::spawn(AgentDeps {
        config: Config::default(),
        provider: provider.clone(),
        provider_factory: None,
        prices: Arc::new(prices()),
        tools,
        workdir: PathBuf::from("."),
        context_window: Some(1000),
        interactive: true,
        store: Some(store),
        resume: Some(id.to_string()),
        side_events: None,
    });
    (handle, provider)
}

fn user(t: &str) -> (Role, String) {
    (Role::User, t.to_string())
}

fn assistant(t: &str) -> (Role, String) {
    (Role::Assistant, t.to_string())
}

#[tokio::test]
async fn retry_drops_the_last_answer_and_a_resume_sees_the_same_context() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let (mut h, provider) = start_with_store(
        vec![
            call("c1", "echo", r#"{"text":"hi"}"#),
            text("first answer"),
            text("second answer"),
        ],
        Config::default(),
        true,
        Some(store.clone()),
    );
    // Nothing to retry yet.
    h.ops.send(Op::Retry).unwrap();
    let id = match next_event(&mut h).await {
        Event::SessionStarted { info } => info.id,
        other => panic!("{other:?}"),
    };
    match next_event(&mut h).await {
        Event::Notice { text, .. } => assert!(text.contains("nothing to retry"), "{text}"),
        other => panic!("{other:?}"),
    }
    submit(&h, "question");
    until_finished(&mut h).await;

    h.ops.send(Op::Retry.tagged(5)).unwrap();
    let (events, _) = until_finished(&mut h).await;
    let dropped = events.iter().find_map(|e| match e.clone().untag().1 {
        Event::Rewound { dropped } => Some(dropped),
        _ => None,
    });
    // The prompt, the call, its result and the answer left the context.
    assert_eq!(dropped, Some(4));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::TurnStarted { prompt, .. } if prompt == "question"))
    );
    let after_retry = vec![user("question"), assistant("second answer")];
    assert_eq!(last_context(&provider), vec![user("question")]);
    stop(h).await;
    drop(store);

    let (mut h, provider) = resume(dir.path(), &id, vec![text("third answer")]);
    match next_event(&mut h).await {
        Event::SessionLoaded {
            messages,
            tool_runs,
            ..
        } => {
            assert_eq!(context(&messages), after_retry);
            assert!(tool_runs.is_empty(), "the dropped call's run came back");
        }
        other => panic!("{other:?}"),
    }
    submit(&h, "next");
    until_finished(&mut h).await;
    let mut expected = after_retry;
    expected.push(user("next"));
    assert_eq!(last_context(&provider), expected);
    stop(h).await;

    // The replaced answer is kept, marked superseded.
    let store = Store::open(dir.path()).unwrap();
    let l = store.load_session(&id).unwrap();
    let superseded: Vec<&str> = l
        .messages
        .iter()
        .filter(|m| m.superseded)
        .map(|m| m.message.content.as_str())
        .collect();
    assert!(superseded.contains(&"first answer"), "{superseded:?}");
}

#[tokio::test]
async fn edit_resends_the_last_prompt_changed_and_survives_a_resume() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let (mut h, provider) = start_with_store(
        vec![text("a1"), text("a2"), text("b2")],
        Config::default(),
        true,
        Some(store.clone()),
    );
    submit(&h, "q1");
    let (events, _) = until_finished(&mut h).await;
    let id = session_id(&events);
    submit(&h, "q2");
    until_finished(&mut h).await;
    h.ops
        .send(Op::EditLast {
            text: "q2 edited".into(),
        })
        .unwrap();
    until_finished(&mut h).await;
    let edited = vec![user("q1"), assistant("a1"), user("q2 edited")];
    assert_eq!(last_context(&provider), edited);
    // An empty edit changes nothing.
    h.ops.send(Op::EditLast { text: " ".into() }).unwrap();
    match next_event(&mut h).await {
        Event::Error { message } => assert!(message.contains("empty"), "{message}"),
        other => panic!("{other:?}"),
    }
    stop(h).await;
    drop(store);

    let (mut h, provider) = resume(dir.path(), &id, vec![text("c")]);
    submit(&h, "q3");
    until_finished(&mut h).await;
    let mut expected = edited;
    expected.push(assistant("b2"));
    expected.push(user("q3"));
    assert_eq!(last_context(&provider), expected);
    stop(h).await;
}

#[tokio::test]
async fn retry_after_a_failed_turn_runs_the_failed_prompt_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    // The second prompt finds the script exhausted: its turn fails.
    let (mut h, provider) =
        start_with_store(vec![text("a1")], Config::default(), true, Some(store));
    submit(&h, "q1");
    until_finished(&mut h).await;
    submit(&h, "q2");
    until_finished(&mut h).await;
    provider.answers.lock().unwrap().push_back(text("a2"));
    h.ops.send(Op::Retry).unwrap();
    until_finished(&mut h).await;
    assert_eq!(
        last_context(&provider),
        vec![user("q1"), assistant("a1"), user("q2")]
    );
    stop(h).await;
}

#[tokio::test]
async fn retry_while_a_turn_runs_is_refused() {
    let (mut h, _provider) = start(vec![call("c1", "slow", "{}")], Config::default(), true);
    submit(&h, "go slow");
    loop {
        if let Event::ToolOutput { .. } = next_event(&mut h).await {
            break;
        }
    }
    h.ops.send(Op::Retry).unwrap();
    h.ops
        .send(Op::Fork {
            through_prompt: None,
        })
        .unwrap();
    let mut refused = 0;
    while refused < 2 {
        match next_event(&mut h).await {
            Event::Notice { text, .. } if text.contains("interrupt it first") => refused += 1,
            Event::Rewound { .. } | Event::SessionLoaded { .. } => panic!("ran during a turn"),
            _ => {}
        }
    }
    h.ops.send(Op::Interrupt).unwrap();
    until_finished(&mut h).await;
}

#[tokio::test]
async fn fork_makes_a_linked_session_with_the_history_up_to_a_prompt() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let (mut h, provider) = start_with_store(
        vec![text("a1"), text("a2"), text("f3")],
        Config::default(),
        true,
        Some(store.clone()),
    );
    submit(&h, "q1");
    let (events, _) = until_finished(&mut h).await;
    let parent = session_id(&events);
    submit(&h, "q2");
    until_finished(&mut h).await;

    h.ops
        .send(Op::Fork {
            through_prompt: Some(3),
        })
        .unwrap();
    match next_event(&mut h).await {
        Event::Error { message } => assert!(message.contains("prompts 1 to 2"), "{message}"),
        other => panic!("{other:?}"),
    }
    h.ops
        .send(Op::Fork {
            through_prompt: Some(1),
        })
        .unwrap();
    let child = match next_event(&mut h).await {
        Event::SessionLoaded { info, messages, .. } => {
            assert_eq!(context(&messages), vec![user("q1"), assistant("a1")]);
            assert_ne!(info.id, parent);
            info.id
        }
        other => panic!("{other:?}"),
    };
    submit(&h, "q3");
    until_finished(&mut h).await;
    assert_eq!(
        last_context(&provider),
        vec![user("q1"), assistant("a1"), user("q3")]
    );
    stop(h).await;
    drop(store);

    let store = Store::open(dir.path()).unwrap();
    let rec = store.get_session(&child).unwrap().unwrap();
    assert_eq!(
        rec.parent.as_ref().map(|p| p.id.as_str()),
        Some(parent.as_str())
    );
    let (list, _) = store.list_sessions(0, 10).unwrap();
    let listed = list.iter().find(|s| s.id == child).unwrap();
    assert_eq!(listed.parent.as_ref().unwrap().title, "q1");
    // The parent keeps its own history.
    let parent_msgs: Vec<String> = store
        .load_session(&parent)
        .unwrap()
        .plain_messages()
        .into_iter()
        .map(|m| m.content)
        .collect();
    assert_eq!(parent_msgs, ["q1", "a1", "q2", "a2"]);
    let child_msgs = store.load_session(&child).unwrap().plain_messages();
    assert_eq!(child_msgs.len(), 4, "{child_msgs:?}");
}
