//! A scripted stand-in for the agent, to try the TUI in a real terminal without a provider:
//! `cargo run -p llm-repl-tui --example demo`. Prompts containing "approve" ask for approval
//! first; "long" streams a long answer; "fail" ends with an error; "panic" panics the turn task.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use llm_repl_protocol::{
    ApprovalDecision, ApprovalRequest, CostReport, Event, Finding, FinishReason, Message,
    NoticeLevel, Op, OutputStream, RiskLevel, Role, SearchHit, SessionInfo, SessionSummary,
    ToolCall, ToolResult, ToolRun, ToolStatus, Usage,
};
use llm_repl_tui::{SlashInfo, TuiOptions, run};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

fn info() -> SessionInfo {
    SessionInfo {
        id: "s-demo".into(),
        title: "demo".into(),
        provider: "mock".into(),
        model: "mock-scripted".into(),
        mock: true,
        context_window: Some(8192),
    }
}

const ANSWER: &str = "Here is the plan:\n\n1. Compute the **primes** below 50 with a *sieve*.\n2. Print them.\n\n```python\nprimes = [n for n in range(2, 50) if all(n % d for d in range(2, n))]\n```\n\nLet me run it.";

async fn pause(ms: u64, cancel: &AtomicBool) -> bool {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    cancel.load(Ordering::SeqCst)
}

async fn turn(
    n: u64,
    prompt: String,
    tx: UnboundedSender<Event>,
    cancel: Arc<AtomicBool>,
    mut approvals: UnboundedReceiver<ApprovalDecision>,
) {
    let send = |e: Event| {
        let _ = tx.send(e);
    };
    if prompt.contains("panic") {
        // Exercises the TUI's panic hook: a panic in another task must not wreck the screen.
        panic!("demo agent task panicked on purpose");
    }
    send(Event::TurnStarted {
        turn: n,
        prompt: prompt.clone(),
    });
    send(Event::StepStarted { turn: n, step: 1 });
    let text = if prompt.contains("long") {
        ANSWER.repeat(30)
    } else {
        ANSWER.to_string()
    };
    let mut streamed = String::new();
    for word in text.split_inclusive(' ') {
        if pause(15, &cancel).await {
            send(Event::AssistantMessage {
                turn: n,
                message: Message::assistant(streamed, vec![]),
            });
            send(Event::TurnFinished {
                turn: n,
                reason: FinishReason::Interrupted,
            });
            return;
        }
        streamed.push_str(word);
        send(Event::TextDelta {
            turn: n,
            text: word.to_string(),
        });
    }
    let call = ToolCall {
        id: format!("call-{n}"),
        name: "python".into(),
        arguments: serde_json::json!({"code": "import subprocess\nfor i in range(20):\n    print('line', i)\nraise SystemExit(0)"}).to_string(),
    };
    send(Event::AssistantMessage {
        turn: n,
        message: Message::assistant(text, vec![call.clone()]),
    });
    if prompt.contains("approve") {
        send(Event::ApprovalRequested {
            request: ApprovalRequest {
                call: call.clone(),
                findings: vec![Finding {
                    level: RiskLevel::High,
                    code: "import-subprocess".into(),
                    message: "imports subprocess: can start programs".into(),
                    line: Some(1),
                }],
                reason: "The code imports subprocess, which the policy asks about.".into(),
            },
        });
        match approvals.recv().await {
            Some(ApprovalDecision::Deny) | None => {
                send(Event::ToolCallFinished {
                    call_id: call.id.clone(),
                    status: ToolStatus::Denied,
                    duration_ms: 0,
                    result: ToolResult {
                        call_id: call.id.clone(),
                        content: "denied by the user".into(),
                        is_error: true,
                    },
                });
                send(Event::TurnFinished {
                    turn: n,
                    reason: FinishReason::Completed,
                });
                return;
            }
            Some(_) => {}
        }
    }
    send(Event::ToolCallStarted {
        turn: n,
        call: call.clone(),
    });
    for i in 0..20 {
        if pause(150, &cancel).await {
            send(Event::ToolCallFinished {
                call_id: call.id.clone(),
                status: ToolStatus::Interrupted,
                duration_ms: 150 * i,
                result: ToolResult {
                    call_id: call.id.clone(),
                    content: "interrupted".into(),
                    is_error: true,
                },
            });
            send(Event::TurnFinished {
                turn: n,
                reason: FinishReason::Interrupted,
            });
            return;
        }
        let (stream, chunk) = if i % 7 == 6 {
            (OutputStream::Stderr, format!("warning {i}\n"))
        } else {
            (OutputStream::Stdout, format!("line {i}\n"))
        };
        send(Event::ToolOutput {
            call_id: call.id.clone(),
            stream,
            chunk,
        });
    }
    send(Event::ToolCallFinished {
        call_id: call.id.clone(),
        status: ToolStatus::Ok,
        duration_ms: 3012,
        result: ToolResult {
            call_id: call.id.clone(),
            content: "line 0..19".into(),
            is_error: false,
        },
    });
    send(Event::StepStarted { turn: n, step: 2 });
    for w in "Done: the tool printed **20 lines**.".split_inclusive(' ') {
        if pause(30, &cancel).await {
            break;
        }
        send(Event::TextDelta {
            turn: n,
            text: w.to_string(),
        });
    }
    send(Event::AssistantMessage {
        turn: n,
        message: Message::assistant("Done: the tool printed **20 lines**.", vec![]),
    });
    let u = Usage {
        input: 1200 * n,
        output: 340 * n,
        ..Usage::default()
    };
    send(Event::Usage {
        turn: n,
        model: "mock-scripted".into(),
        usage: u,
        turn_usage: u,
        session_usage: u,
        cost: CostReport {
            call_usd: None,
            turn_usd: None,
            session_usd: None,
            today_usd: None,
        },
        context_tokens: 1500 * n,
        context_window: Some(8192),
        budget: Some((0.4, 2.0)),
    });
    if prompt.contains("fail") {
        send(Event::Error {
            message: "provider unreachable after 3 retries".into(),
        });
    }
    send(Event::TurnFinished {
        turn: n,
        reason: FinishReason::Completed,
    });
}

fn sessions() -> Vec<SessionSummary> {
    (0..30)
        .map(|i| SessionSummary {
            id: format!("s-{i:03}"),
            title: format!("session number {i}: primes and plots"),
            created_ms: 1_795_000_000_000 - i * 86_400_000,
            updated_ms: 1_795_000_000_000 - i * 86_400_000 + 3_600_000,
            provider: "mock".into(),
            model: "mock-scripted".into(),
            messages: 4 + i,
            usage: Usage {
                input: 1000 * i,
                output: 200 * i,
                ..Usage::default()
            },
            cost_usd: if i % 3 == 0 {
                None
            } else {
                Some(0.001 * i as f64)
            },
            parent: None,
        })
        .collect()
}

async fn agent(mut ops: UnboundedReceiver<Op>, tx: UnboundedSender<Event>) {
    let _ = tx.send(Event::SessionStarted { info: info() });
    let mut n = 0;
    let mut cancel = Arc::new(AtomicBool::new(false));
    let (mut approve_tx, _) = unbounded_channel();
    while let Some(op) = ops.recv().await {
        // The TUI tags every Op with a request id; this demo answers untagged.
        match op.untag().1 {
            Op::Submit { text } => {
                n += 1;
                cancel = Arc::new(AtomicBool::new(false));
                let (atx, arx) = unbounded_channel();
                approve_tx = atx;
                tokio::spawn(turn(n, text, tx.clone(), cancel.clone(), arx));
            }
            Op::Interrupt => cancel.store(true, Ordering::SeqCst),
            Op::Approval { decision, .. } => {
                let _ = approve_tx.send(decision);
            }
            Op::ListSessions { offset, limit } => {
                let all = sessions();
                let page = all.iter().skip(offset).take(limit).cloned().collect();
                let _ = tx.send(Event::SessionList {
                    sessions: page,
                    total: all.len(),
                });
            }
            Op::Search { query, .. } => {
                let hits = sessions()
                    .into_iter()
                    .take(5)
                    .map(|s| SearchHit {
                        session_id: s.id,
                        session_title: s.title,
                        seq: 2,
                        role: Role::Assistant,
                        snippet: format!("… the {query} were computed with a sieve …"),
                        highlights: vec![(8, 8 + query.len())],
                        score: 1.0,
                    })
                    .collect();
                let _ = tx.send(Event::SearchResults { query, hits });
            }
            Op::OpenSession { id } => {
                let call = ToolCall {
                    id: "old-1".into(),
                    name: "python".into(),
                    arguments: "{\"code\":\"print(42)\"}".into(),
                };
                let _ = tx.send(Event::SessionLoaded {
                    info: SessionInfo {
                        id: id.clone(),
                        title: format!("resumed {id}"),
                        ..info()
                    },
                    messages: vec![
                        Message::user("what is 6*7?"),
                        Message::assistant("Let me compute it.", vec![call.clone()]),
                        Message::tool(&ToolResult {
                            call_id: "old-1".into(),
                            content: "42".into(),
                            is_error: false,
                        }),
                        Message::assistant("It is **42**.", vec![]),
                    ],
                    tool_runs: vec![ToolRun {
                        call,
                        status: ToolStatus::Ok,
                        duration_ms: 41,
                        output: "42\n".into(),
                        findings: vec![],
                    }],
                });
            }
            Op::Stats { days } => {
                let text =
                    format!("Usage, last {days} days: 3 calls\n\nBy day\n2026-11-26  12.3k    ?");
                let _ = tx.send(Event::UsageReport {
                    days,
                    period: format!("last {days} days"),
                    summary: text.lines().next().unwrap_or_default().to_string(),
                    text,
                });
            }
            Op::Shutdown => {
                let _ = tx.send(Event::ShutdownComplete);
                return;
            }
            other => {
                let _ = tx.send(Event::Notice {
                    level: NoticeLevel::Info,
                    text: format!("demo agent got {other:?}"),
                });
            }
        }
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let (op_tx, op_rx) = unbounded_channel();
    let (ev_tx, ev_rx) = unbounded_channel();
    tokio::spawn(agent(op_rx, ev_tx));
    let options = TuiOptions {
        theme: std::env::var("DEMO_THEME").unwrap_or_else(|_| "default".into()),
        first_run_hint: Some("No provider configured: this is the offline mock. Set one in ~/.config/llm-repl/config.toml.".into()),
        no_color: std::env::var_os("NO_COLOR").is_some(),
        slash: SlashInfo { providers: vec!["mock".into(), "openai".into()], models: vec!["gpt-4o-mini".into(), "gpt-4o".into()] },
        ..TuiOptions::default()
    };
    run(options, op_tx, ev_rx).await.map(|_| ())
}
