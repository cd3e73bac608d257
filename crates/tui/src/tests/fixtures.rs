//! Builders of states and events shared by the tests.

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use llm_repl_protocol::{
    ApprovalRequest, CostReport, Event, Finding, Message, OutputStream, RiskLevel, SessionInfo,
    ToolCall, ToolResult, ToolStatus, Usage,
};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::app::{App, Effect};
use crate::options::{SlashInfo, TuiOptions};

pub fn info() -> SessionInfo {
    SessionInfo {
        id: "s-1".into(),
        title: "test".into(),
        provider: "mock".into(),
        model: "mock-scripted".into(),
        mock: true,
        context_window: Some(8192),
    }
}

pub fn app() -> App {
    let options = TuiOptions {
        first_run_hint: Some(
            "No provider configured: using the offline mock. See `llm-repl doctor`.".into(),
        ),
        slash: SlashInfo {
            providers: vec!["mock".into(), "openai".into()],
            models: vec!["gpt-4o".into(), "gpt-4o-mini".into()],
        },
        ..TuiOptions::default()
    };
    let mut app = App::new(options, Instant::now());
    app.apply_event(Event::SessionStarted { info: info() });
    app
}

pub fn python_call(id: &str) -> ToolCall {
    ToolCall {
        id: id.into(),
        name: "python".into(),
        arguments: serde_json::json!({"code": "import math\nfor i in range(3):\n    print(i, math.sqrt(i))"}).to_string(),
    }
}

pub const ANSWER: &str = "## Plan\n\nI will compute **square roots** with `math.sqrt`:\n\n- load *math*\n- loop over `range(3)`\n\n```python\nimport math\nprint(math.sqrt(2))\n```\n\nThen report.";

/// A turn whose answer has streamed halfway.
pub fn half_streamed(app: &mut App) {
    app.apply_event(Event::TurnStarted {
        turn: 1,
        prompt: "What are the square roots of 0, 1 and 2?".into(),
    });
    app.apply_event(Event::StepStarted { turn: 1, step: 1 });
    let half = &ANSWER[..ANSWER.len() / 2];
    for chunk in half.as_bytes().chunks(7) {
        app.apply_event(Event::TextDelta {
            turn: 1,
            text: String::from_utf8_lossy(chunk).into_owned(),
        });
    }
}

/// A turn with a tool call that has printed part of its output.
pub fn tool_running(app: &mut App) {
    half_streamed(app);
    let call = python_call("call-1");
    app.apply_event(Event::AssistantMessage {
        turn: 1,
        message: Message::assistant(ANSWER, vec![call.clone()]),
    });
    app.apply_event(Event::ToolCallStarted {
        turn: 1,
        call: call.clone(),
    });
    app.apply_event(Event::ToolOutput {
        call_id: call.id.clone(),
        stream: OutputStream::Stdout,
        chunk: "0 0.0\n1 1.0\n".into(),
    });
    app.apply_event(Event::ToolOutput {
        call_id: call.id.clone(),
        stream: OutputStream::Stderr,
        chunk: "DeprecationWarning: demo\n".into(),
    });
    app.apply_event(Event::ToolOutput {
        call_id: call.id,
        stream: OutputStream::Stdout,
        chunk: "2 1.41".into(),
    });
    app.now += Duration::from_millis(1500);
}

pub fn usage_event(turn: u64) -> Event {
    let u = Usage {
        input: 1234,
        output: 321,
        ..Usage::default()
    };
    Event::Usage {
        turn,
        model: "mock-scripted".into(),
        usage: u,
        turn_usage: u,
        session_usage: Usage {
            input: 5000,
            output: 900,
            ..Usage::default()
        },
        cost: CostReport {
            call_usd: None,
            turn_usd: None,
            session_usd: None,
            today_usd: Some(0.0123),
        },
        context_tokens: 3100,
        context_window: Some(8192),
        budget: Some((0.5, 2.0)),
    }
}

/// The tool finished, the final answer arrived, the turn ended.
pub fn tool_finished(app: &mut App) {
    tool_running(app);
    app.apply_event(Event::ToolOutput {
        call_id: "call-1".into(),
        stream: OutputStream::Stdout,
        chunk: "42\n".into(),
    });
    app.apply_event(Event::ToolCallFinished {
        call_id: "call-1".into(),
        status: ToolStatus::Ok,
        duration_ms: 1234,
        result: ToolResult {
            call_id: "call-1".into(),
            content: "0 0.0\n1 1.0\n2 1.41".into(),
            is_error: false,
        },
    });
    app.apply_event(Event::StepStarted { turn: 1, step: 2 });
    app.apply_event(Event::TextDelta {
        turn: 1,
        text: "The roots are 0, 1 and about **1.414**.".into(),
    });
    app.apply_event(Event::AssistantMessage {
        turn: 1,
        message: Message::assistant("The roots are 0, 1 and about **1.414**.", vec![]),
    });
    app.apply_event(usage_event(1));
    app.apply_event(Event::TurnFinished {
        turn: 1,
        reason: llm_repl_protocol::FinishReason::Completed,
    });
}

pub fn approval(app: &mut App) {
    half_streamed(app);
    let call = ToolCall {
        id: "call-9".into(),
        name: "python".into(),
        arguments: serde_json::json!({"code": "import subprocess\nsubprocess.run(['ls', '-l'])"})
            .to_string(),
    };
    app.apply_event(Event::AssistantMessage {
        turn: 1,
        message: Message::assistant(ANSWER, vec![call.clone()]),
    });
    app.apply_event(Event::ApprovalRequested {
        request: ApprovalRequest {
            call,
            findings: vec![
                Finding {
                    level: RiskLevel::High,
                    code: "import-subprocess".into(),
                    message: "imports subprocess: can start other programs".into(),
                    line: Some(1),
                },
                Finding {
                    level: RiskLevel::Low,
                    code: "listdir".into(),
                    message: "lists a directory".into(),
                    line: None,
                },
            ],
            reason: "The code can start other programs; policy `ask` needs your approval.".into(),
        },
    });
}

pub fn render(app: &App, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap_or_else(|e| panic!("{e}"));
    t.draw(|f| crate::screens::draw(f, app))
        .unwrap_or_else(|e| panic!("{e}"));
    t
}

pub fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

pub fn ctrl(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
}

pub fn press(app: &mut App, k: KeyEvent) {
    app.handle_key(k, (120, 40));
}

pub fn type_str(app: &mut App, s: &str) {
    for c in s.chars() {
        press(app, key(KeyCode::Char(c)));
    }
}

pub fn ops(app: &mut App) -> Vec<llm_repl_protocol::Op> {
    app.drain_effects()
        .into_iter()
        .filter_map(|e| match e {
            // Preview requests follow the selection by themselves; tests of what the user asked
            // for leave them out (`preview_ops` checks them).
            Effect::Op(op) => match op.untag().1 {
                llm_repl_protocol::Op::PreviewSession { .. } => None,
                op => Some(op),
            },
            _ => None,
        })
        .collect()
}

/// Every Op the TUI sends goes out tagged with a request id (the helpers above untag them).
/// The preview requests sent since the last drain (the history browser asks for them itself).
pub fn preview_ops(app: &mut App) -> Vec<llm_repl_protocol::Op> {
    app.drain_effects()
        .into_iter()
        .filter_map(|e| match e {
            Effect::Op(op) => match op.untag().1 {
                op @ llm_repl_protocol::Op::PreviewSession { .. } => Some(op),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// `event` as the agent's answer to the last request the TUI sent.
pub fn reply(app: &mut App, event: Event) {
    let request = app.last_request();
    app.apply_event(Event::Reply {
        request,
        body: Box::new(event),
    });
}
