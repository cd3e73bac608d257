//! The loop against a scripted provider and in-process tools: no network, no processes.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support code: a failure is a test failure

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::stream::{self, StreamExt};
use llm_repl_core::config::Config;
use llm_repl_core::pricing::PriceTable;
use llm_repl_core::{
    Agent, AgentDeps, AgentHandle, Assessment, ChatRequest, ChatStream, Provider, ProviderError,
    ProviderErrorKind, StreamItem, Tool, ToolContext, ToolOutcome, ToolRegistry, ToolSpec,
};
use llm_repl_protocol::{
    ApprovalDecision, Event, FinishReason, Op, OutputStream, Role, ToolStatus, Usage,
};

/// One scripted answer: items, then either the end or a stream that never ends.
#[derive(Clone)]
struct Answer {
    items: Vec<Result<StreamItem, ProviderError>>,
    hang: bool,
}

fn text(t: &str) -> Answer {
    Answer {
        items: vec![Ok(StreamItem::Text(t.into()))],
        hang: false,
    }
}

fn call(id: &str, name: &str, args: &str) -> Answer {
    Answer {
        items: vec![
            Ok(StreamItem::ToolCallDelta {
                index: 0,
                id: Some(id.into()),
                name: Some(name.into()),
                arguments: String::new(),
            }),
            Ok(StreamItem::ToolCallDelta {
                index: 0,
                id: None,
                name: None,
                arguments: args.into(),
            }),
            Ok(StreamItem::Usage(Usage {
                input: 100,
                output: 10,
                ..Usage::default()
            })),
        ],
        hang: false,
    }
}

#[derive(Default)]
struct Scripted {
    answers: Mutex<VecDeque<Answer>>,
    requests: Mutex<Vec<ChatRequest>>,
}

impl Provider for Scripted {
    fn name(&self) -> &str {
        "scripted"
    }
    fn default_model(&self) -> &str {
        "script-1"
    }
    fn stream(&self, request: ChatRequest) -> BoxFuture<'_, Result<ChatStream, ProviderError>> {
        self.requests.lock().unwrap().push(request);
        let answer = self.answers.lock().unwrap().pop_front();
        Box::pin(async move {
            let Some(answer) = answer else {
                return Err(ProviderError::new(
                    ProviderErrorKind::Http { status: 500 },
                    "script exhausted",
                ));
            };
            let items = stream::iter(answer.items);
            if answer.hang {
                Ok(items.chain(stream::pending()).boxed())
            } else {
                Ok(items.boxed())
            }
        })
    }
}

/// `echo` returns its "text" argument; `slow` prints then waits for cancellation.
struct Echo;
impl Tool for Echo {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "echo".into(),
            description: "echo text".into(),
            parameters: serde_json::json!({"type":"object","properties":{"text":{"type":"string"}}}),
        }
    }
    fn assess(&self, args: &serde_json::Value) -> Assessment {
        let risky = args["text"].as_str().is_some_and(|t| t.contains("rm -rf"));
        Assessment {
            findings: vec![],
            needs_approval: risky.then(|| "looks destructive".to_string()),
        }
    }
    fn run(&self, args: serde_json::Value, ctx: ToolContext) -> BoxFuture<'_, ToolOutcome> {
        Box::pin(async move {
            let t = args["text"].as_str().unwrap_or("").to_string();
            ctx.output.send(OutputStream::Stdout, t.clone());
            ToolOutcome::ok(t)
        })
    }
}

struct Slow;
impl Tool for Slow {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "slow".into(),
            description: "waits".into(),
            parameters: serde_json::json!({"type":"object"}),
        }
    }
    fn run(&self, _args: serde_json::Value, ctx: ToolContext) -> BoxFuture<'_, ToolOutcome> {
        Box::pin(async move {
            ctx.output.send(OutputStream::Stdout, "started\n");
            ctx.cancel.cancelled().await;
            ToolOutcome {
                status: ToolStatus::Interrupted,
                content: "interrupted".into(),
            }
        })
    }
}

/// A price table where the scripted model costs $1 per million tokens each way.
fn prices() -> PriceTable {
    PriceTable::parse(
        "[free]\nproviders = []\nsource = \"t\"\ndate = \"2026-11-26\"\n[[model]]\n\
         provider = \"scripted\"\nmodel = \"script-1\"\ninput = 1.0\noutput = 1.0\n\
         context_window = 1000\ntier = 1\ntools = true\nsource = \"test\"\ndate = \"2026-11-26\"\n",
    )
    .unwrap()
}

/// A tool with a bug: it panics.
struct Boom;
impl Tool for Boom {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "boom".into(),
            description: "panics".into(),
            parameters: serde_json::json!({"type":"object"}),
        }
    }
    fn run(&self, _args: serde_json::Value, _ctx: ToolContext) -> BoxFuture<'_, ToolOutcome> {
        Box::pin(async move { panic!("tool bug") })
    }
}

fn start(answers: Vec<Answer>, config: Config, interactive: bool) -> (AgentHandle, Arc<Scripted>) {
    let provider = Arc::new(Scripted::default());
    provider.answers.lock().unwrap().extend(answers);
    let mut tools = ToolRegistry::new();
    tools.register(Arc::new(Echo));
    tools.register(Arc::new(Slow));
    tools.register(Arc::new(Boom));
    let handle = Agent::spawn(AgentDeps {
        config,
        provider: provider.clone(),
        provider_factory: None,
        prices: Arc::new(prices()),
        tools,
        workdir: PathBuf::from("."),
        context_window: Some(1000),
        interactive,
        store: None,
        resume: None,
        side_notices: None,
    });
    (handle, provider)
}

/// Collects events until the turn finishes.
async fn until_finished(h: &mut AgentHandle) -> (Vec<Event>, FinishReason) {
    let mut seen = Vec::new();
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(10), h.events.recv())
            .await
            .expect("event in time")
            .expect("agent alive");
        if let Event::TurnFinished { reason, .. } = ev {
            return (seen, reason);
        }
        seen.push(ev);
    }
}

fn submit(h: &AgentHandle, t: &str) {
    h.ops.send(Op::Submit { text: t.into() }).unwrap();
}

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
    assert_eq!(last[3].content, "one");
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
    assert!(
        t0.elapsed() < Duration::from_millis(200),
        "{:?}",
        t0.elapsed()
    );
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
    assert!(t0.elapsed() < Duration::from_millis(200));
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
            .any(|m| m.content.starts_with("denied"))
    );
}

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
    let provider = Arc::new(Scripted::default());
    provider
        .answers
        .lock()
        .unwrap()
        .extend([text("42"), text("\"The Answer To Everything.\"")]);
    let mut config = Config::default();
    config.store.model_titles = true;
    let mut h = Agent::spawn(AgentDeps {
        config,
        provider: provider.clone(),
        provider_factory: None,
        prices: Arc::new(prices()),
        tools: ToolRegistry::new(),
        workdir: PathBuf::from("."),
        context_window: None,
        interactive: true,
        store: Some(store.clone()),
        resume: None,
        side_notices: None,
    });
    submit(&h, "what is six times seven?");
    let (events, _) = until_finished(&mut h).await;
    let id = events
        .iter()
        .find_map(|e| match e {
            Event::SessionStarted { info } => Some(info.id.clone()),
            _ => None,
        })
        .unwrap();
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
