//! The loop against a scripted provider and in-process tools: no network, no processes.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support code: a failure is a test failure

mod common;

use std::time::{Duration, Instant};

use common::*;
use llm_repl_core::StreamItem;
use llm_repl_core::config::Config;
use llm_repl_protocol::{ApprovalDecision, Event, FinishReason, Op, Role, ToolStatus};

#[tokio::test]
async fn three_step_loop_feeds_results_back_with_call_ids() {
    let (mut h, provider) = start(
        vec![
            call("c1", "echo", r#"{"text":"one"}"#),
            call("c2", "echo", r#"{"text":"two"}"#),
            text("done: one two"),
        ],
        Config::default(),
        true,
    );
    submit(&h, "go");
    let (events, reason) = until_finished(&mut h).await;
    assert_eq!(reason, FinishReason::Completed);
    assert!(matches!(events[0], Event::SessionStarted { .. }));
    let outputs: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::ToolOutput { call_id, chunk, .. } => Some((call_id.clone(), chunk.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        outputs,
        vec![("c1".into(), "one".into()), ("c2".into(), "two".into())]
    );
    let requests = provider.requests.lock().unwrap();
    assert_eq!(requests.len(), 3);
    let last = &requests[2].messages;
    assert_eq!(last[0].role, Role::System);
    assert_eq!(last[1].content, "go");
    assert_eq!(last[2].tool_calls[0].id, "c1");
    assert_eq!(last[3].role, Role::Tool);
    assert_eq!(last[3].tool_call_id.as_deref(), Some("c1"));
    assert_eq!(
        last[3].content, "<tool_result tool=\"echo\" call=\"c1\">\none\n</tool_result>",
        "tool results reach the model framed as data"
    );
    assert_eq!(last[5].tool_call_id.as_deref(), Some("c2"));
    assert_eq!(requests[0].tools.len(), 3, "tool specs are sent");
    // Usage: two reported calls (110 each) and one estimated.
    let last_usage = events
        .iter()
        .rev()
        .find_map(|e| match e {
            Event::Usage {
                turn_usage, cost, ..
            } => Some((*turn_usage, *cost)),
            _ => None,
        })
        .unwrap();
    assert!(last_usage.0.estimated);
    assert!(last_usage.0.input >= 200);
    assert!(last_usage.1.turn_usd.unwrap() > 0.0);
}

#[tokio::test]
async fn unknown_tool_and_broken_json_become_observations() {
    let (mut h, provider) = start(
        vec![
            call("c1", "nope", "{}"),
            call("c2", "echo", r#"{"text": "unterminated"#),
            text("sorry"),
        ],
        Config::default(),
        true,
    );
    submit(&h, "go");
    let (events, reason) = until_finished(&mut h).await;
    assert_eq!(reason, FinishReason::Completed);
    let finished: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::ToolCallFinished { status, result, .. } => {
                Some((*status, result.content.clone()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(finished[0].0, ToolStatus::Error);
    assert!(
        finished[0].1.contains("no tool named \"nope\""),
        "{}",
        finished[0].1
    );
    assert!(finished[0].1.contains("echo"), "lists available tools");
    assert!(
        finished[1].1.contains("not valid JSON"),
        "{}",
        finished[1].1
    );
    let requests = provider.requests.lock().unwrap();
    assert!(
        requests[2]
            .messages
            .iter()
            .any(|m| m.content.contains("not valid JSON"))
    );
}

#[tokio::test]
async fn max_steps_stops_the_loop() {
    let config = Config {
        max_steps: 2,
        ..Config::default()
    };
    let (mut h, provider) = start(
        vec![
            call("c1", "echo", r#"{"text":"a"}"#),
            call("c2", "echo", r#"{"text":"b"}"#),
            call("c3", "echo", r#"{"text":"c"}"#),
        ],
        config,
        true,
    );
    submit(&h, "loop");
    let (events, reason) = until_finished(&mut h).await;
    assert_eq!(reason, FinishReason::MaxSteps);
    assert_eq!(provider.requests.lock().unwrap().len(), 2);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Notice { text, .. } if text.contains("max_steps")))
    );
}

#[tokio::test]
async fn interrupt_stops_a_hanging_stream_quickly_and_keeps_partial_text() {
    let (mut h, provider) = start(
        vec![
            Answer {
                items: vec![Ok(StreamItem::Text("partial ans".into()))],
                hang: true,
            },
            text("next turn works"),
        ],
        Config::default(),
        true,
    );
    submit(&h, "hang");
    loop {
        if let Some(Event::TextDelta { .. }) = h.events.recv().await {
            break;
        }
    }
    let t0 = Instant::now();
    h.ops.send(Op::Interrupt).unwrap();
    let (events, reason) = until_finished(&mut h).await;
    // Behaviour, not latency (the stream would hang forever): the figure is in
    // `cargo bench -p llm-repl-e2e --bench interrupt_latency`.
    assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
    assert_eq!(reason, FinishReason::Interrupted);
    assert!(events.iter().any(
        |e| matches!(e, Event::AssistantMessage { message, .. } if message.content == "partial ans")
    ));
    submit(&h, "again");
    let (_, reason) = until_finished(&mut h).await;
    assert_eq!(reason, FinishReason::Completed);
    let requests = provider.requests.lock().unwrap();
    let msgs = &requests[1].messages;
    assert!(
        msgs.iter().any(|m| m.content == "partial ans"),
        "partial text kept in history"
    );
}

#[tokio::test]
async fn interrupt_stops_a_running_tool() {
    let (mut h, _p) = start(vec![call("c1", "slow", "{}")], Config::default(), true);
    submit(&h, "slow");
    loop {
        if let Some(Event::ToolOutput { .. }) = h.events.recv().await {
            break;
        }
    }
    let t0 = Instant::now();
    h.ops.send(Op::Interrupt).unwrap();
    let (events, reason) = until_finished(&mut h).await;
    // Behaviour, not latency (the tool would wait forever): the figure is in
    // `cargo bench -p llm-repl-e2e --bench interrupt_latency`.
    assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
    assert_eq!(reason, FinishReason::Interrupted);
    assert!(events.iter().any(|e| matches!(
        e,
        Event::ToolCallFinished {
            status: ToolStatus::Interrupted,
            ..
        }
    )));
}

#[tokio::test]
async fn provider_failure_is_a_clear_event_and_not_a_crash() {
    let (mut h, _p) = start(vec![], Config::default(), true);
    submit(&h, "x");
    let (events, reason) = until_finished(&mut h).await;
    assert_eq!(reason, FinishReason::Failed);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Error { message } if message.contains("script exhausted")))
    );
}

#[tokio::test]
async fn approval_is_asked_and_answered() {
    let (mut h, _p) = start(
        vec![
            call("c1", "echo", r#"{"text":"rm -rf /"}"#),
            call("c2", "echo", r#"{"text":"rm -rf /"}"#),
            text("ok"),
        ],
        Config::default(),
        true,
    );
    submit(&h, "risky");
    loop {
        match h.events.recv().await.unwrap() {
            Event::ApprovalRequested { request } => {
                assert_eq!(request.reason, "looks destructive");
                h.ops
                    .send(Op::Approval {
                        call_id: request.call.id,
                        decision: ApprovalDecision::Deny,
                    })
                    .unwrap();
            }
            Event::ToolCallFinished {
                call_id, status, ..
            } if call_id == "c1" => {
                assert_eq!(status, ToolStatus::Denied);
                break;
            }
            _ => {}
        }
    }
    // The second call asks again; approve it.
    loop {
        if let Event::ApprovalRequested { request } = h.events.recv().await.unwrap() {
            h.ops
                .send(Op::Approval {
                    call_id: request.call.id,
                    decision: ApprovalDecision::Approve,
                })
                .unwrap();
            break;
        }
    }
    let (events, _) = until_finished(&mut h).await;
    assert!(events.iter().any(|e| matches!(
        e,
        Event::ToolCallFinished {
            status: ToolStatus::Ok,
            ..
        }
    )));
}

#[tokio::test]
async fn headless_denies_calls_that_need_approval() {
    let (mut h, provider) = start(
        vec![call("c1", "echo", r#"{"text":"rm -rf /"}"#), text("ok")],
        Config::default(),
        false,
    );
    submit(&h, "risky");
    let (events, reason) = until_finished(&mut h).await;
    assert_eq!(reason, FinishReason::Completed);
    assert!(events.iter().any(|e| matches!(
        e,
        Event::ToolCallFinished {
            status: ToolStatus::Denied,
            ..
        }
    )));
    assert!(
        !events.iter().any(|e| matches!(e, Event::ToolOutput { .. })),
        "tool never ran"
    );
    let req = provider.requests.lock().unwrap();
    assert!(
        req[1]
            .messages
            .iter()
            .any(|m| llm_repl_core::framing::unframe(&m.content).starts_with("denied"))
    );
}

#[tokio::test]
async fn tool_duration_leaves_out_the_wait_for_approval() {
    let (mut h, _p) = start(
        vec![call("c1", "echo", r#"{"text":"rm -rf /"}"#), text("ok")],
        Config::default(),
        true,
    );
    submit(&h, "risky");
    // The user takes 3 s to decide; `echo` itself takes no time.
    let waited = Duration::from_secs(3);
    loop {
        if let Event::ApprovalRequested { request } = h.events.recv().await.unwrap() {
            tokio::time::sleep(waited).await;
            h.ops
                .send(Op::Approval {
                    call_id: request.call.id,
                    decision: ApprovalDecision::Approve,
                })
                .unwrap();
            break;
        }
    }
    let (events, _) = until_finished(&mut h).await;
    let duration = events
        .iter()
        .find_map(|e| match e {
            Event::ToolCallFinished { duration_ms, .. } => Some(*duration_ms),
            _ => None,
        })
        .unwrap();
    assert!(
        duration < 2000,
        "{duration} ms: the approval wait was counted as the tool's time"
    );
}

#[tokio::test]
async fn a_long_tool_result_is_capped_for_the_model_but_not_for_the_screen() {
    let long: String = (0..5000).map(|i| format!("line {i}\n")).collect();
    let args = serde_json::json!({ "text": long }).to_string();
    let mut config = Config::default();
    config.tools.model_output_tokens = 300;
    let (mut h, provider) = start(vec![call("c1", "echo", &args), text("ok")], config, true);
    submit(&h, "echo a lot");
    let (events, _) = until_finished(&mut h).await;
    let shown = events
        .iter()
        .find_map(|e| match e {
            Event::ToolCallFinished { result, .. } => Some(result.content.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(shown, long, "the screen gets all of it");
    let requests = provider.requests.lock().unwrap();
    let seen = &requests[1]
        .messages
        .iter()
        .find(|m| m.role == Role::Tool)
        .unwrap()
        .content;
    // Head and tail kept (tool results may be framed as data around them).
    assert!(
        seen.contains("line 0\n") && seen.contains("line 4999\n"),
        "{seen}"
    );
    assert!(!seen.contains("line 2500\n"), "the middle is cut");
    assert!(seen.contains("[... output cut: "), "{seen}");
    assert!(llm_repl_core::estimate::Estimator::for_model("script-1").count(seen) <= 300);
}
