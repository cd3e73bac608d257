//! `llm-repl exec`: the headless frontend. The same Events as the TUI, rendered as plain text
//! (answer on stdout, trace on stderr) or as JSON lines.

use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;

use anyhow::Context;
use llm_repl_protocol::{
    Event, FinishReason, NoticeLevel, Op, OutputStream, ToolStatus, Usage, terminal_safe,
};

use llm_repl_service::Open;

use crate::settings::Settings;
use crate::{ExecArgs, service_cmd};

pub fn run(mut settings: Settings, args: ExecArgs) -> anyhow::Result<ExitCode> {
    let prompt = if args.prompt == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read the prompt from standard input")?;
        text
    } else {
        args.prompt.clone()
    };
    if prompt.trim().is_empty() {
        anyhow::bail!("the prompt is empty");
    }
    if let Some(approval) = args.approval {
        settings.config.tools.approval = approval.as_config().to_string();
    }
    if let Some(steps) = args.max_steps {
        anyhow::ensure!(steps > 0, "--max-steps must be at least 1");
        settings.config.max_steps = steps;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(drive(settings, prompt, args.json))
}

async fn drive(mut settings: Settings, prompt: String, json: bool) -> anyhow::Result<ExitCode> {
    // Headless, nobody is asked: the workspace's own plugins load only when trusted.
    let workspace = crate::trust::Workspace::inspect(&settings.workdir()?);
    let (trusted, trust_lines) = crate::trust::headless(&settings, &workspace)?;
    settings.workspace_trusted = trusted;
    let mut handle = if settings.in_process() {
        service_cmd::in_process(&settings, false, Vec::new(), true).await?
    } else {
        // Nothing else runs on this runtime yet: blocking while the service starts is fine.
        let paths = service_cmd::ensure_service(&settings)?;
        let spec = service_cmd::spec(&settings, false, "exec")?;
        service_cmd::connect(&paths, Open::Session { spec }).await?
    };
    for line in trust_lines {
        eprintln!("{}", terminal_safe(&line));
    }
    handle
        .ops
        .send(Op::Submit { text: prompt })
        .context("the agent stopped before it started")?;
    let mut view = Human::default();
    let mut interrupts = 0u8;
    let mut finish = None;
    loop {
        let event = tokio::select! {
            event = handle.events.recv() => event,
            _ = tokio::signal::ctrl_c() => {
                interrupts += 1;
                if interrupts > 1 {
                    return Ok(ExitCode::from(130));
                }
                let _ = handle.ops.send(Op::Interrupt);
                continue;
            }
        };
        let Some(event) = event else { break };
        if json {
            let line = serde_json::to_string(&event).context("cannot encode an event")?;
            let mut out = std::io::stdout().lock();
            // A closed stdout (e.g. `| head`) ends the run quietly.
            if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
                return Ok(ExitCode::from(1));
            }
        } else {
            view.render(&event);
        }
        match event {
            Event::TurnFinished { reason, .. } => {
                finish = Some(reason);
                let _ = handle.ops.send(Op::Shutdown);
            }
            Event::ShutdownComplete => break,
            _ => {}
        }
    }
    if !json {
        view.summary();
    }
    Ok(match finish {
        Some(FinishReason::Completed) => ExitCode::SUCCESS,
        Some(FinishReason::MaxSteps) => ExitCode::from(3),
        Some(FinishReason::Budget) => ExitCode::from(4),
        Some(FinishReason::Interrupted) => ExitCode::from(130),
        Some(FinishReason::Failed) | None => ExitCode::from(1),
    })
}

/// Plain-text rendering: answer text on stdout, everything else on stderr. Everything written
/// goes through [`terminal_safe`]: model and tool text must not drive the user's terminal (the
/// `--json` lines are left byte-exact; JSON escapes controls itself).
#[derive(Default)]
struct Human {
    /// Whether stdout has answer text not yet ended by a newline.
    answer_open: bool,
    /// Whether the next answer text starts a new step's message (and needs a blank line).
    need_gap: bool,
    /// Whether the trace (stderr) is at the start of a line.
    trace_mid_line: bool,
    model: String,
    mock: bool,
    usage: Usage,
    cost: Option<f64>,
    steps: u32,
}

impl Human {
    fn out(&mut self, text: &str) {
        let text = terminal_safe(text);
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    }

    fn err(&self, text: &str) {
        let text = terminal_safe(text);
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(text.as_bytes()).and_then(|()| err.flush());
    }

    fn end_answer_line(&mut self) {
        if self.answer_open {
            self.out("\n");
            self.answer_open = false;
        }
    }

    fn render(&mut self, event: &Event) {
        match event {
            Event::SessionStarted { info } => {
                self.model = format!("{} / {}", info.provider, info.model);
                self.mock = info.mock;
                if info.mock {
                    self.err("[mock] offline demo model (no provider configured)\n");
                }
            }
            Event::StepStarted { step, .. } => self.steps = *step,
            Event::TextDelta { text, .. } => {
                if std::mem::take(&mut self.need_gap) {
                    self.out("\n");
                }
                self.out(text);
                self.answer_open = !text.ends_with('\n');
            }
            Event::AssistantMessage { message, .. } => {
                self.end_answer_line();
                self.need_gap |= !message.content.is_empty();
            }
            Event::ToolCallStarted { call, .. } => {
                self.end_answer_line();
                let mut text = format!("▶ {} [{}]\n", call.name, call.id);
                match serde_json::from_str::<serde_json::Value>(&call.arguments) {
                    Ok(v) if v.get("code").and_then(|c| c.as_str()).is_some() => {
                        for line in v["code"].as_str().unwrap_or_default().lines() {
                            text.push_str(&format!("  │ {line}\n"));
                        }
                    }
                    _ => text.push_str(&format!("  │ {}\n", call.arguments)),
                }
                self.err(&text);
            }
            Event::ToolOutput { stream, chunk, .. } => {
                let mark = match stream {
                    OutputStream::Stdout => "  ┆ ",
                    OutputStream::Stderr => "  ! ",
                    OutputStream::Info => "  ℹ ",
                };
                let mut text = String::new();
                for piece in chunk.split_inclusive('\n') {
                    if !self.trace_mid_line {
                        text.push_str(mark);
                    }
                    text.push_str(piece);
                    self.trace_mid_line = !piece.ends_with('\n');
                }
                self.err(&text);
            }
            Event::ToolCallFinished {
                status,
                duration_ms,
                result,
                ..
            } => {
                let mut text = String::new();
                if self.trace_mid_line {
                    text.push('\n');
                    self.trace_mid_line = false;
                }
                let (mark, word) = match status {
                    ToolStatus::Ok => ("✓", "ok"),
                    ToolStatus::Error => ("✗", "error"),
                    ToolStatus::TimedOut => ("✗", "timed out"),
                    ToolStatus::Interrupted => ("■", "interrupted"),
                    ToolStatus::Denied => ("⊘", "denied"),
                    ToolStatus::Running => ("…", "running"),
                };
                text.push_str(&format!("{mark} {word} in {duration_ms} ms\n"));
                if *status != ToolStatus::Ok {
                    let first = result.content.lines().next().unwrap_or_default();
                    text.push_str(&format!("  {first}\n"));
                }
                self.err(&text);
            }
            Event::Usage {
                turn_usage, cost, ..
            } => {
                self.usage = *turn_usage;
                self.cost = cost.turn_usd;
            }
            Event::Notice { level, text } => {
                self.end_answer_line();
                let tag = match level {
                    NoticeLevel::Info => "note",
                    NoticeLevel::Warn => "warning",
                    NoticeLevel::Error => "error",
                };
                self.err(&format!("{tag}: {text}\n"));
            }
            // A retry status replaces itself on a screen; here each update is one line.
            Event::Status { text, .. } if !text.is_empty() => {
                self.end_answer_line();
                self.err(&format!("warning: {text}\n"));
            }
            Event::Error { message } => {
                self.end_answer_line();
                self.err(&format!("error: {message}\n"));
            }
            Event::TurnFinished { reason, .. } => {
                self.end_answer_line();
                if *reason == FinishReason::Interrupted {
                    self.err("interrupted: the partial answer above is kept\n");
                }
            }
            _ => {}
        }
    }

    fn summary(&self) {
        if self.steps == 0 || !std::io::stderr().is_terminal() {
            return;
        }
        let cost = match self.cost {
            Some(c) => format!("${c:.4}"),
            None => "cost unknown".into(),
        };
        let est = if self.usage.estimated {
            " (estimated)"
        } else {
            ""
        };
        self.err(&format!(
            "── {}{} · {} step(s) · {} in / {} out tokens{est} · {cost}\n",
            self.model,
            if self.mock { " [mock]" } else { "" },
            self.steps,
            self.usage.input,
            self.usage.output
        ));
    }
}
