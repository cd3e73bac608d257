//! `/model` (Op::SetModel) keeps the session: no new session is announced, the history stays,
//! and during a running turn the switch applies to the next model call while Interrupt still
//! stops the turn.

mod common;

use std::time::Duration;

use common::*;
use llm_repl_core::config::Config;
use llm_repl_protocol::{ApprovalDecision, Event, FinishReason, Op};

async fn next_event(h: &mut llm_repl_core::AgentHandle) -> Event {
    tokio::time::timeout(Duration::from_secs(10), h.events.recv())
        .await
        .expect("event in time")
        .expect("agent alive")
}

#[tokio::test]
async fn switching_the_model_mid_turn_applies_to_the_next_call_and_keeps_the_session() {
    let (mut h, provider) = start(
        vec![
            call("c1", "echo", r#"{"text":"rm -rf /"}"#),
            text("done"),
            text("second answer"),
        ],
        Config::default(),
        true,
    );
    let first = next_event(&mut h).await;
    let Event::SessionStarted { info } = first else {
        panic!("first event: {first:?}")
    };
    submit(&h, "risky");
    // The turn waits for approval: switch the model now, then approve.
    let call_id = loop {
        if let Event::ApprovalRequested { request } = next_event(&mut h).await {
            break request.call.id;
        }
    };
    h.ops
        .send(Op::SetModel {
            model: "script-2".into(),
        })
        .unwrap();
    let switched = loop {
        match next_event(&mut h).await {
            Event::ModelSwitched {
                info,
                from_provider,
                from_model,
            } => break (info, from_provider, from_model),
            Event::SessionStarted { .. } | Event::SessionLoaded { .. } => {
                panic!("a model switch must not announce a session")
            }
            _ => {}
        }
    };
    assert_eq!(switched.0.id, info.id, "same session");
    assert_eq!(switched.0.model, "script-2");
    assert_eq!(
        (switched.1.as_str(), switched.2.as_str()),
        ("scripted", "script-1")
    );
    h.ops
        .send(Op::Approval {
            call_id,
            decision: ApprovalDecision::Approve,
        })
        .unwrap();
    let (events, reason) = until_finished(&mut h).await;
    assert_eq!(reason, FinishReason::Completed);
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::SessionStarted { .. })),
        "{events:?}"
    );
    {
        let requests = provider.requests.lock().unwrap();
        let models: Vec<&str> = requests.iter().map(|r| r.model.as_str()).collect();
        assert_eq!(models, ["script-1", "script-2"]);
    }
    // The next turn runs on the new model with the whole history.
    submit(&h, "again");
    until_finished(&mut h).await;
    let requests = provider.requests.lock().unwrap();
    let last = requests.last().unwrap();
    assert_eq!(last.model, "script-2");
    assert!(
        last.messages.iter().any(|m| m.content == "risky"),
        "the history was kept"
    );
}

#[tokio::test]
async fn interrupt_still_stops_a_turn_after_a_mid_turn_switch() {
    let (mut h, _provider) = start(
        vec![call("c1", "slow", "{}"), text("never")],
        Config::default(),
        true,
    );
    submit(&h, "go slow");
    loop {
        if let Event::ToolOutput { chunk, .. } = next_event(&mut h).await
            && chunk.contains("started")
        {
            break;
        }
    }
    h.ops
        .send(Op::SetModel {
            model: "script-2".into(),
        })
        .unwrap();
    loop {
        if let Event::ModelSwitched { .. } = next_event(&mut h).await {
            break;
        }
    }
    h.ops.send(Op::Interrupt).unwrap();
    let (_, reason) = until_finished(&mut h).await;
    assert_eq!(reason, FinishReason::Interrupted);
}

#[tokio::test]
async fn an_empty_model_name_is_refused() {
    let (mut h, _provider) = start(vec![], Config::default(), true);
    h.ops.send(Op::SetModel { model: " ".into() }).unwrap();
    loop {
        match next_event(&mut h).await {
            Event::Error { message } => {
                assert!(message.contains("/model NAME"), "{message}");
                break;
            }
            Event::ModelSwitched { .. } => panic!("switched to an empty model"),
            _ => {}
        }
    }
}
