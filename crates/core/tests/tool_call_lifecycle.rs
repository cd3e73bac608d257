//! One owner of a tool call's lifecycle: on every path a call can take (a normal run, an unknown
//! tool, broken arguments, a denial, an interrupt while running, while waiting for approval or
//! before it started, a refused repeat, a panicking tool), each `ToolCallStarted` is followed by
//! exactly one `ToolCallFinished` with the same call id, its output and approval request in
//! between, and nothing about the call after it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support code: a failure is a test failure

mod common;

use std::collections::HashMap;

use common::*;
use llm_repl_core::StreamItem;
use llm_repl_core::config::Config;
use llm_repl_protocol::{Event, FinishReason, Op, ToolStatus, Usage};

/// One answer with several tool calls.
fn calls(list: &[(&str, &str, &str)]) -> Answer {
    let mut items = Vec::new();
    for (index, (id, name, args)) in list.iter().enumerate() {
        items.push(Ok(StreamItem::ToolCallDelta {
            index: u32::try_from(index).unwrap(),
            id: Some((*id).into()),
            name: Some((*name).into()),
            arguments: (*args).into(),
        }));
    }
    items.push(Ok(StreamItem::Usage(Usage {
        input: 100,
        output: 10,
        ..Usage::default()
    })));
    Answer { items, hang: false }
}

/// Checks the lifecycle of every call in `events` and returns each call's final status, in the
/// order the calls finished.
fn lifecycles(scenario: &str, events: &[Event]) -> Vec<(String, ToolStatus)> {
    #[derive(PartialEq)]
    enum State {
        Open,
        Finished,
    }
    let mut state: HashMap<String, State> = HashMap::new();
    let mut finished = Vec::new();
    for e in events {
        match e {
            Event::ToolCallStarted { call, .. } => {
                let before = state.insert(call.id.clone(), State::Open);
                assert!(before.is_none(), "{scenario}: {} started twice", call.id);
            }
            Event::ToolOutput { call_id, .. } => assert!(
                state.get(call_id) == Some(&State::Open),
                "{scenario}: output of {call_id} outside its lifecycle"
            ),
            Event::ApprovalRequested { request } => assert!(
                state.get(&request.call.id) == Some(&State::Open),
                "{scenario}: approval of {} outside its lifecycle",
                request.call.id
            ),
            Event::ToolCallFinished {
                call_id,
                status,
                result,
                ..
            } => {
                assert!(
                    state.get(call_id) == Some(&State::Open),
                    "{scenario}: {call_id} finished without being started, or twice"
                );
                assert_eq!(&result.call_id, call_id, "{scenario}: result id");
                state.insert(call_id.clone(), State::Finished);
                finished.push((call_id.clone(), *status));
            }
            _ => {}
        }
    }
    let open: Vec<_> = state
        .iter()
        .filter(|(_, s)| **s == State::Open)
        .map(|(id, _)| id.clone())
        .collect();
    assert!(open.is_empty(), "{scenario}: never finished: {open:?}");
    finished
}

async fn run(answers: Vec<Answer>, interactive: bool) -> (Vec<Event>, FinishReason) {
    let (mut h, _p) = start(answers, Config::default(), interactive);
    submit(&h, "go");
    until_finished(&mut h).await
}

#[tokio::test]
async fn every_started_call_finishes_once_in_order_on_every_path() {
    use ToolStatus::{Denied, Error, Ok};

    // A normal run, an unknown tool and broken JSON, in one answer.
    let (events, reason) = run(
        vec![
            calls(&[
                ("ok", "echo", r#"{"text":"hi"}"#),
                ("unknown", "nope", "{}"),
                ("broken", "echo", r#"{"text": "#),
            ]),
            text("done"),
        ],
        true,
    )
    .await;
    assert_eq!(reason, FinishReason::Completed);
    assert_eq!(
        lifecycles("normal/unknown/broken", &events),
        vec![
            ("ok".into(), Ok),
            ("unknown".into(), Error),
            ("broken".into(), Error)
        ]
    );

    // Denied: headless, a call that needs approval.
    let (events, _) = run(
        vec![call("denied", "echo", r#"{"text":"rm -rf /"}"#), text("ok")],
        false,
    )
    .await;
    assert_eq!(
        lifecycles("denied", &events),
        vec![("denied".into(), Denied)]
    );

    // The loop guard: the third identical call is refused, the fourth ends the turn.
    let same = r#"{"text":"again"}"#;
    let (events, reason) = run(
        (1..=4)
            .map(|i| call(&format!("r{i}"), "echo", same))
            .collect(),
        true,
    )
    .await;
    assert_eq!(reason, FinishReason::Failed);
    assert_eq!(
        lifecycles("refused repeat", &events),
        vec![
            ("r1".into(), Ok),
            ("r2".into(), Ok),
            ("r3".into(), Error),
            ("r4".into(), Error)
        ]
    );

    // A panicking tool: finished as an error, then the turn is dropped.
    let (events, reason) = run(vec![call("boom", "boom", "{}"), text("x")], true).await;
    assert_eq!(reason, FinishReason::Failed);
    assert_eq!(
        lifecycles("panicked", &events),
        vec![("boom".into(), Error)]
    );
}

#[tokio::test]
async fn interrupted_calls_finish_once_whether_running_waiting_or_not_started() {
    // Interrupted while running, with a second call of the same answer not started yet.
    let (mut h, _p) = start(
        vec![calls(&[
            ("slow", "slow", "{}"),
            ("later", "echo", r#"{"text":"x"}"#),
        ])],
        Config::default(),
        true,
    );
    submit(&h, "go");
    let mut events = Vec::new();
    loop {
        let e = h.events.recv().await.unwrap();
        let output = matches!(e, Event::ToolOutput { .. });
        events.push(e);
        if output {
            break;
        }
    }
    h.ops.send(Op::Interrupt).unwrap();
    let (rest, reason) = until_finished(&mut h).await;
    events.extend(rest);
    assert_eq!(reason, FinishReason::Interrupted);
    assert_eq!(
        lifecycles("interrupted running / not started", &events),
        vec![
            ("slow".into(), ToolStatus::Interrupted),
            ("later".into(), ToolStatus::Interrupted)
        ]
    );

    // Interrupted while waiting for the user's approval.
    let (mut h, _p) = start(
        vec![call("asks", "echo", r#"{"text":"rm -rf /"}"#)],
        Config::default(),
        true,
    );
    submit(&h, "go");
    let mut events = Vec::new();
    loop {
        let e = h.events.recv().await.unwrap();
        let asked = matches!(e, Event::ApprovalRequested { .. });
        events.push(e);
        if asked {
            break;
        }
    }
    h.ops.send(Op::Interrupt).unwrap();
    let (rest, _) = until_finished(&mut h).await;
    events.extend(rest);
    assert_eq!(
        lifecycles("interrupted awaiting approval", &events),
        vec![("asks".into(), ToolStatus::Interrupted)]
    );
}
