//! Every Op and Event survives JSON unchanged, and the wire names are the documented ones.
//!
//! Exhaustive by construction: `op_name` and `event_name` match every variant without a
//! wildcard, so a new variant does not compile until it has a wire name there (and its count
//! below), and the round-trip tests fail until their sample lists hold one of each.

use llm_repl_protocol::*;

fn round<T>(value: &T) -> T
where
    T: serde::Serialize + serde::de::DeserializeOwned,
{
    let text = serde_json::to_string(value).expect("serialize");
    serde_json::from_str(&text).expect("deserialize")
}

fn call() -> ToolCall {
    ToolCall {
        id: "call_1".into(),
        name: "python".into(),
        arguments: r#"{"code":"print(1)"}"#.into(),
    }
}

/// Variants of `Op`: the arms of [`op_name`].
const OP_VARIANTS: usize = 24;

/// The documented wire name of each Op. No wildcard: see the module comment.
fn op_name(op: &Op) -> &'static str {
    match op {
        Op::Submit { .. } => "submit",
        Op::Interrupt => "interrupt",
        Op::Approval { .. } => "approval",
        Op::NewSession => "new_session",
        Op::OpenSession { .. } => "open_session",
        Op::PreviewSession { .. } => "preview_session",
        Op::ListSessions { .. } => "list_sessions",
        Op::Search { .. } => "search",
        Op::RenameSession { .. } => "rename_session",
        Op::DeleteSession { .. } => "delete_session",
        Op::Export { .. } => "export",
        Op::SetModel { .. } => "set_model",
        Op::SetProvider { .. } => "set_provider",
        Op::ListModels => "list_models",
        Op::SetBudget { .. } => "set_budget",
        Op::SetApprovals { .. } => "set_approvals",
        Op::ShowBudget => "show_budget",
        Op::ShowApprovals => "show_approvals",
        Op::Stats { .. } => "stats",
        Op::Retry => "retry",
        Op::EditLast { .. } => "edit_last",
        Op::Fork { .. } => "fork",
        Op::Shutdown => "shutdown",
        Op::Request { .. } => "request",
    }
}

/// Variants of `Event`: the arms of [`event_name`].
const EVENT_VARIANTS: usize = 26;

/// The documented wire name of each Event. No wildcard: see the module comment.
fn event_name(event: &Event) -> &'static str {
    match event {
        Event::SessionStarted { .. } => "session_started",
        Event::SessionLoaded { .. } => "session_loaded",
        Event::ModelSwitched { .. } => "model_switched",
        Event::Rewound { .. } => "rewound",
        Event::TurnStarted { .. } => "turn_started",
        Event::StepStarted { .. } => "step_started",
        Event::TextDelta { .. } => "text_delta",
        Event::AssistantMessage { .. } => "assistant_message",
        Event::ToolCallStarted { .. } => "tool_call_started",
        Event::ToolOutput { .. } => "tool_output",
        Event::ApprovalRequested { .. } => "approval_requested",
        Event::ToolCallFinished { .. } => "tool_call_finished",
        Event::Usage { .. } => "usage",
        Event::TurnFinished { .. } => "turn_finished",
        Event::SessionList { .. } => "session_list",
        Event::SearchResults { .. } => "search_results",
        Event::SessionPreview { .. } => "session_preview",
        Event::Exported { .. } => "exported",
        Event::UsageReport { .. } => "usage_report",
        Event::ModelList { .. } => "model_list",
        Event::ProviderHealth { .. } => "provider_health",
        Event::Status { .. } => "status",
        Event::Notice { .. } => "notice",
        Event::Error { .. } => "error",
        Event::ShutdownComplete => "shutdown_complete",
        Event::Reply { .. } => "reply",
    }
}

/// Each sample survives JSON unchanged under its documented tag, and the samples cover every
/// variant.
fn check_all_variants<T>(samples: &[T], tag: &str, variants: usize, name: fn(&T) -> &'static str)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let mut seen = std::collections::BTreeSet::new();
    for sample in samples {
        assert_eq!(&round(sample), sample);
        let json = serde_json::to_value(sample).expect("serialize");
        assert_eq!(json[tag], name(sample), "{json}");
        seen.insert(name(sample));
    }
    assert_eq!(
        seen.len(),
        variants,
        "a {tag} variant has no sample in this test (seen: {seen:?})"
    );
}

#[test]
fn ops_round_trip() {
    let ops = vec![
        Op::Submit {
            text: "hi\nthere".into(),
        },
        Op::Interrupt,
        Op::Approval {
            call_id: "c".into(),
            decision: ApprovalDecision::ApproveForSession,
        },
        Op::NewSession,
        Op::OpenSession { id: "s1".into() },
        Op::ListSessions {
            offset: 0,
            limit: 50,
        },
        Op::Search {
            query: "rust".into(),
            limit: 10,
        },
        Op::RenameSession {
            id: "s".into(),
            title: "t".into(),
        },
        Op::DeleteSession { id: "s".into() },
        Op::Export {
            id: None,
            format: ExportFormat::Markdown,
            path: Some("/tmp/x.md".into()),
        },
        Op::SetModel {
            model: "gpt".into(),
        },
        Op::SetProvider {
            provider: "groq".into(),
        },
        Op::ListModels.tagged(3),
        Op::ListModels,
        Op::SetBudget {
            scope: BudgetScope::Day,
            limit_usd: 2.5,
        },
        Op::Stats { days: 30 },
        Op::PreviewSession { id: "s1".into() },
        Op::SetApprovals {
            policy: ApprovalPolicy::OnRisk,
        },
        Op::ShowBudget,
        Op::ShowApprovals,
        Op::Retry,
        Op::EditLast {
            text: "again, shorter".into(),
        },
        Op::Fork {
            through_prompt: Some(2),
        },
        Op::Fork {
            through_prompt: None,
        },
        Op::Shutdown,
        Op::Search {
            query: "q".into(),
            limit: 5,
        }
        .tagged(7),
    ];
    check_all_variants(&ops, "op", OP_VARIANTS, op_name);
}

#[test]
fn requests_and_replies_untag() {
    let op = Op::Interrupt.tagged(3).tagged(4);
    assert_eq!(op.untag(), (Some(4), Op::Interrupt));
    assert_eq!(Op::Interrupt.untag(), (None, Op::Interrupt));
    let json = serde_json::to_value(Op::NewSession.tagged(9)).unwrap();
    assert_eq!(json["op"], "request");
    assert_eq!(json["id"], 9);
    assert_eq!(json["body"]["op"], "new_session");
    let ev = Event::Reply {
        request: 9,
        body: Box::new(Event::ShutdownComplete),
    };
    assert_eq!(ev.untag(), (Some(9), Event::ShutdownComplete));
}

/// The enums keep the wire names the strings had, so existing clients and configs still match.
#[test]
fn policy_and_scope_wire_names() {
    let json = serde_json::to_value(Op::SetApprovals {
        policy: ApprovalPolicy::OnRisk,
    })
    .unwrap();
    assert_eq!(json["policy"], "on-risk");
    let json = serde_json::to_value(Op::SetBudget {
        scope: BudgetScope::Month,
        limit_usd: 1.0,
    })
    .unwrap();
    assert_eq!(json["scope"], "month");
    for p in ApprovalPolicy::ALL {
        assert_eq!(ApprovalPolicy::parse(p.as_str()), Some(p));
    }
    for s in BudgetScope::ALL {
        assert_eq!(BudgetScope::parse(s.as_str()), Some(s));
    }
    assert_eq!(ApprovalPolicy::parse("sometimes"), None);
    let bad: Result<Op, _> = serde_json::from_str(r#"{"op":"set_approvals","policy":"sometimes"}"#);
    assert!(bad.is_err(), "an unknown policy is refused at the boundary");
}

#[test]
fn op_wire_shape_is_tagged() {
    let json = serde_json::to_value(Op::Submit { text: "x".into() }).unwrap();
    assert_eq!(json["op"], "submit");
    assert_eq!(json["text"], "x");
}

#[test]
fn events_round_trip() {
    let result = ToolResult {
        call_id: "call_1".into(),
        content: "1\n".into(),
        is_error: false,
    };
    let info = SessionInfo {
        id: "s".into(),
        title: "t".into(),
        provider: "mock".into(),
        model: "mock".into(),
        mock: true,
        context_window: Some(8192),
    };
    let usage = Usage {
        input: 10,
        output: 5,
        cached: 2,
        reasoning: 0,
        estimated: true,
    };
    let events = vec![
        Event::SessionStarted { info: info.clone() },
        Event::ModelSwitched {
            info: info.clone(),
            from_provider: "openai".into(),
            from_model: "gpt-4o".into(),
        },
        Event::SessionLoaded {
            info,
            messages: vec![
                Message::user("q"),
                Message::assistant("", vec![call()]),
                Message::tool(&result),
            ],
            tool_runs: vec![ToolRun {
                call: call(),
                status: ToolStatus::Ok,
                duration_ms: 12,
                output: "1\n".into(),
                findings: vec![Finding {
                    level: RiskLevel::High,
                    code: "import-subprocess".into(),
                    message: "imports subprocess".into(),
                    line: Some(1),
                }],
            }],
        },
        Event::Rewound { dropped: 3 },
        Event::TurnStarted {
            turn: 1,
            prompt: "p".into(),
        },
        Event::StepStarted { turn: 1, step: 2 },
        Event::TextDelta {
            turn: 1,
            text: "tok".into(),
        },
        Event::AssistantMessage {
            turn: 1,
            message: Message::assistant("done", vec![]),
        },
        Event::ToolCallStarted {
            turn: 1,
            call: call(),
        },
        Event::ToolOutput {
            call_id: "call_1".into(),
            stream: OutputStream::Stderr,
            chunk: "warn\n".into(),
        },
        Event::ApprovalRequested {
            request: ApprovalRequest {
                call: call(),
                findings: vec![],
                reason: "writes a file".into(),
            },
        },
        Event::ToolCallFinished {
            call_id: "call_1".into(),
            status: ToolStatus::TimedOut,
            duration_ms: 5000,
            result,
        },
        Event::Usage {
            turn: 1,
            model: "gpt-4o-mini".into(),
            usage,
            turn_usage: usage,
            session_usage: usage,
            cost: CostReport {
                call_usd: Some(0.25),
                turn_usd: Some(0.5),
                session_usd: None,
                today_usd: Some(1.0),
            },
            context_tokens: 10,
            context_window: Some(128_000),
            budget: Some((1.0, 5.0)),
        },
        Event::TurnFinished {
            turn: 1,
            reason: FinishReason::Interrupted,
        },
        Event::SessionList {
            sessions: vec![SessionSummary {
                id: "s".into(),
                title: "t".into(),
                created_ms: 1,
                updated_ms: 2,
                provider: "p".into(),
                model: "m".into(),
                messages: 3,
                usage,
                cost_usd: None,
                parent: Some(ForkParent {
                    id: "p".into(),
                    title: "parent".into(),
                }),
            }],
            total: 1,
        },
        Event::SearchResults {
            query: "q".into(),
            hits: vec![SearchHit {
                session_id: "s".into(),
                session_title: "t".into(),
                seq: 4,
                role: Role::Tool,
                snippet: "a q b".into(),
                highlights: vec![(2, 3)],
                score: 1.5,
            }],
        },
        Event::UsageReport {
            days: 7,
            period: "last 7 days".into(),
            summary: "Usage, last 7 days: 5 calls".into(),
            text: "Usage, last 7 days: 5 calls\n\nBy day\n".into(),
        },
        Event::Exported {
            id: "s".into(),
            path: "/tmp/s.md".into(),
        },
        Event::ModelList {
            provider: "openai".into(),
            models: vec![
                ModelChoice {
                    name: "gpt-4o".into(),
                    source: ModelSource::Listed,
                    context_window: Some(128_000),
                },
                ModelChoice {
                    name: "gpt-4o-mini".into(),
                    source: ModelSource::Priced,
                    context_window: None,
                },
                ModelChoice {
                    name: "auto".into(),
                    source: ModelSource::Route,
                    context_window: None,
                },
            ],
            error: None,
        },
        Event::Reply {
            request: 3,
            body: Box::new(Event::ModelList {
                provider: "groq".into(),
                models: Vec::new(),
                error: Some("cannot connect to http://127.0.0.1:9/v1 (refused)".into()),
            }),
        },
        Event::Status {
            key: "provider-retry".into(),
            level: NoticeLevel::Warn,
            text: "openai: server error (HTTP 500); retrying in 0.5s (attempt 2 of 9)".into(),
        },
        Event::Notice {
            level: NoticeLevel::Warn,
            text: "retrying".into(),
        },
        Event::Error {
            message: "down".into(),
        },
        Event::ProviderHealth {
            provider: "groq".into(),
            healthy: false,
            detail: "circuit open for 30 s".into(),
        },
        Event::SessionPreview {
            id: "s".into(),
            messages: vec![Message::user("q")],
        },
        Event::ShutdownComplete,
        Event::Reply {
            request: 7,
            body: Box::new(Event::Error {
                message: "search failed".into(),
            }),
        },
    ];
    check_all_variants(&events, "event", EVENT_VARIANTS, event_name);
}

#[test]
fn event_wire_shape_is_tagged_and_tool_message_keeps_call_id() {
    let json = serde_json::to_value(Event::TextDelta {
        turn: 3,
        text: "x".into(),
    })
    .unwrap();
    assert_eq!(json["event"], "text_delta");
    assert_eq!(json["turn"], 3);
    let msg = Message::tool(&ToolResult {
        call_id: "abc".into(),
        content: "out".into(),
        is_error: false,
    });
    let json = serde_json::to_value(&msg).unwrap();
    assert_eq!(json["role"], "tool");
    assert_eq!(json["tool_call_id"], "abc");
    assert!(
        json.get("tool_calls").is_none(),
        "empty tool_calls are omitted"
    );
}

#[test]
fn usage_sum_keeps_estimated_flag() {
    let mut a = Usage {
        input: 1,
        output: 2,
        ..Usage::default()
    };
    a.add(&Usage {
        input: 3,
        output: 4,
        cached: 1,
        reasoning: 0,
        estimated: true,
    });
    assert_eq!((a.input, a.output, a.cached, a.total()), (4, 6, 1, 10));
    assert!(a.estimated);
}
