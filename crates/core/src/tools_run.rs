//! A tool call's whole lifecycle, owned here and nowhere else: `ToolCallStarted`, then
//! (for a call that runs) validation, approval where the policy says so, the run and its streamed
//! output, then the result recorded and `ToolCallFinished`. [`handle_call`] sends exactly one
//! Started and one Finished, in that order and with the call's id, on every path: a normal run,
//! an unknown tool, broken arguments, a denial, an interrupt (while running, while waiting for
//! approval, or before the call started), a repeated call the loop guard refuses, and a tool that
//! panics (finished as an error, then the panic goes on to the turn, which drops the turn).
//!
//! Whatever goes wrong here becomes an observation for the model (with a status), so a model
//! that sends broken JSON or names a tool that does not exist gets told and can correct itself.

use std::path::Path;

use futures::FutureExt;
use llm_repl_protocol::{
    ApprovalDecision, ApprovalRequest, Event, Message, NoticeLevel, ToolCall, ToolResult,
    ToolStatus, TurnId,
};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::agent::Approvals;
use crate::observation;
use crate::persist::Recorder;
use crate::tool::{Assessment, OutputSink, ToolContext, ToolRegistry};

pub(crate) struct CallContext<'a> {
    pub turn: TurnId,
    pub tools: &'a ToolRegistry,
    pub policy: &'a str,
    pub interactive: bool,
    pub approvals: &'a Approvals,
    pub events: &'a mpsc::UnboundedSender<Event>,
    pub cancel: &'a CancellationToken,
    pub workdir: &'a Path,
    pub session_id: &'a str,
    pub recorder: &'a Recorder,
    /// The model the observation is capped for.
    pub model: &'a str,
    /// Tokens of one result the model is shown (0: all).
    pub observation_tokens: u64,
}

/// How the loop wants a call handled.
pub(crate) enum Gate {
    /// Run it (validate, approve, run).
    Run,
    /// Do not run it: the loop guard refuses a repeated call with this observation.
    RefuseRepeat(String),
    /// Do not run it: the turn was interrupted before the call started.
    Interrupted,
}

/// Handles one call from start to finish (see the module doc) and returns the result as the
/// model is shown it (capped to `observation_tokens`), already stored.
pub(crate) async fn handle_call(ctx: &CallContext<'_>, call: &ToolCall, gate: Gate) -> ToolResult {
    ctx.emit(Event::ToolCallStarted {
        turn: ctx.turn,
        call: call.clone(),
    });
    let (session, recorder) = (ctx.session_id, ctx.recorder);
    recorder.tool_run(session, call, ToolStatus::Running, 0, "");
    let ran = match gate {
        Gate::Run => match std::panic::AssertUnwindSafe(run_call(ctx, call))
            .catch_unwind()
            .await
        {
            Ok(ran) => ran,
            Err(panic) => {
                // The call still finishes (its pane shows it failed); the panic then goes on to
                // the turn, which is dropped as any bug in a turn is.
                let what = panic_text(&*panic);
                let text = format!("error: the tool failed unexpectedly ({what})");
                let ran = Ran::early(ToolStatus::Error, text, "tool panicked");
                finish(ctx, call, &ran, false);
                std::panic::resume_unwind(panic);
            }
        },
        Gate::RefuseRepeat(text) => Ran::early(ToolStatus::Error, text, "refused (repeated)"),
        Gate::Interrupted => Ran::early(
            ToolStatus::Interrupted,
            "interrupted by the user before this call ran".into(),
            "interrupted before it started",
        ),
    };
    finish(ctx, call, &ran, true)
}

/// Stores a call's outcome (the tool run, the audit entry and, when `observe`, the observation
/// message), then tells the frontend the call finished. The observation is durable before the
/// frontend sees the call as finished.
fn finish(ctx: &CallContext<'_>, call: &ToolCall, ran: &Ran, observe: bool) -> ToolResult {
    let (session, recorder) = (ctx.session_id, ctx.recorder);
    // The screen gets the whole result; the model (the history, and the stored message the
    // history is rebuilt from) gets at most `observation_tokens` of it.
    let result = ToolResult {
        call_id: call.id.clone(),
        content: ran.content.clone(),
        is_error: ran.status != ToolStatus::Ok,
    };
    let seen = ToolResult {
        content: observation::cap_for_model(ctx.model, &result.content, ctx.observation_tokens)
            .into_owned(),
        ..result.clone()
    };
    let output = if ran.output.is_empty() {
        &result.content
    } else {
        &ran.output
    };
    recorder.tool_run(session, call, ran.status, ran.duration_ms, output);
    if observe {
        recorder.message(session, &Message::tool(&seen));
    }
    recorder.audit(
        "tool",
        serde_json::json!({
            "session": session, "call": call.id, "tool": call.name,
            "arguments": call.arguments, "status": ran.status, "duration_ms": ran.duration_ms,
            "decision": ran.decision,
        }),
    );
    ctx.emit(Event::ToolCallFinished {
        call_id: call.id.clone(),
        status: ran.status,
        duration_ms: ran.duration_ms,
        result,
    });
    seen
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into())
}

impl CallContext<'_> {
    fn emit(&self, event: Event) {
        let _ = self.events.send(event);
    }
}

/// What one call produced.
struct Ran {
    pub status: ToolStatus,
    /// The observation for the model.
    pub content: String,
    /// What the process printed, streams interleaved (capped), for the store.
    pub output: String,
    /// How approval went: `not needed`, `approved`, `approved for session`, `denied`...
    pub decision: &'static str,
    /// How long the tool ran, not counting the wait for the user's approval.
    pub duration_ms: u64,
}

impl Ran {
    fn early(status: ToolStatus, content: String, decision: &'static str) -> Self {
        Self {
            status,
            content,
            output: String::new(),
            decision,
            duration_ms: 0,
        }
    }
}

/// Output kept per call for the store (the tool itself caps what the model sees).
const STORED_OUTPUT_MAX: usize = 1024 * 1024;

/// Validates, approves and runs one call (the part of [`handle_call`] that does the work).
async fn run_call(ctx: &CallContext<'_>, call: &ToolCall) -> Ran {
    let Some(tool) = ctx.tools.get(&call.name) else {
        let names = ctx.tools.names().join(", ");
        let text = format!(
            "error: there is no tool named {:?}. Available tools: {names}.",
            call.name
        );
        return Ran::early(ToolStatus::Error, text, "unknown tool");
    };
    let args = match parse_arguments(&call.arguments) {
        Ok(args) => args,
        Err(message) => return Ran::early(ToolStatus::Error, message, "bad arguments"),
    };
    // Assessment parses (and for some tools may be slow): keep it off the async workers. An
    // assessment that panics fails closed: the call needs approval, never "not needed".
    let assessment = {
        let (tool, args) = (tool.clone(), args.clone());
        tokio::task::spawn_blocking(move || tool.assess(&args))
            .await
            .unwrap_or_else(|e| failed_assessment(&e))
    };
    let decision = match approve(ctx, call, &assessment).await {
        Ok(decision) => decision,
        Err((status, text, decision)) => return Ran::early(status, text, decision),
    };
    // Timed from here: the wait for approval is the user's time, not the tool's.
    let started = std::time::Instant::now();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let tool_ctx = ToolContext {
        call_id: call.id.clone(),
        cancel: ctx.cancel.child_token(),
        output: OutputSink::new(tx),
        workdir: ctx.workdir.to_path_buf(),
        session_id: ctx.session_id.to_string(),
    };
    let mut run = tool.run(args, tool_ctx);
    let mut output = String::new();
    let mut forward = |stream, chunk: String| {
        if output.len() < STORED_OUTPUT_MAX {
            output.push_str(&chunk);
        }
        ctx.emit(Event::ToolOutput {
            call_id: call.id.clone(),
            stream,
            chunk,
        });
    };
    // Forward output in this task, so every chunk is sent before the call's final event.
    let outcome = loop {
        tokio::select! {
            biased;
            Some((stream, chunk)) = rx.recv() => forward(stream, chunk),
            outcome = &mut run => break outcome,
        }
    };
    while let Ok((stream, chunk)) = rx.try_recv() {
        forward(stream, chunk);
    }
    Ran {
        status: outcome.status,
        content: outcome.content,
        output,
        decision,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    }
}

/// The assessment of a call whose tool's `assess` panicked: approval needed.
fn failed_assessment(e: &tokio::task::JoinError) -> Assessment {
    let reason = format!(
        "the risk assessment of this call failed ({}): it needs approval",
        if e.is_panic() {
            "it panicked"
        } else {
            "it was cancelled"
        }
    );
    Assessment {
        findings: vec![llm_repl_protocol::Finding {
            level: llm_repl_protocol::RiskLevel::High,
            code: "assessment-failed".into(),
            message: reason.clone(),
            line: None,
        }],
        needs_approval: Some(reason),
    }
}

/// Arguments must be a JSON object; an empty string counts as `{}` (some models send that for
/// tools without parameters).
fn parse_arguments(raw: &str) -> Result<serde_json::Value, String> {
    if raw.trim().is_empty() {
        return Ok(serde_json::Value::Object(serde_json::Map::new()));
    }
    match serde_json::from_str::<serde_json::Value>(raw) {
        Ok(value @ serde_json::Value::Object(_)) => Ok(value),
        Ok(other) => Err(format!(
            "error: the arguments must be a JSON object, got {}. Call the tool again with an \
             object matching its schema.",
            kind_of(&other)
        )),
        Err(e) => Err(format!(
            "error: the arguments are not valid JSON ({e}). You sent: {}. Call the tool again \
             with a valid JSON object matching its schema.",
            truncate(raw, 400)
        )),
    }
}

fn kind_of(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// The reason a call is refused: status, observation, and the decision word for the audit.
type Refusal = (ToolStatus, String, &'static str);

/// Applies the approval policy: `Ok(decision)` means go ahead.
async fn approve(
    ctx: &CallContext<'_>,
    call: &ToolCall,
    assessment: &Assessment,
) -> Result<&'static str, Refusal> {
    let reason = match ctx.policy {
        "never" => return Ok("not asked (policy never)"),
        "always" => assessment
            .needs_approval
            .clone()
            .unwrap_or_else(|| "the approval policy asks before every tool call".into()),
        _ => match assessment.needs_approval.clone() {
            Some(reason) => reason,
            None => return Ok("not needed"),
        },
    };
    let remembered = ctx
        .approvals
        .remembered
        .lock()
        .map(|r| r.contains(&call.name))
        .unwrap_or(false);
    if remembered {
        return Ok("approved for the session");
    }
    if !ctx.interactive {
        ctx.emit(Event::Notice {
            level: NoticeLevel::Warn,
            text: format!(
                "denied {} call {}: it needs approval ({reason}) and nobody can answer in a \
                 headless run; use --approval never to allow such calls",
                call.name, call.id
            ),
        });
        return Err((
            ToolStatus::Denied,
            format!(
                "denied: this call needs the user's approval ({reason}), and none can be given \
                 in this run. Do the task without it or explain what you would need."
            ),
            "denied (headless)",
        ));
    }
    let (tx, rx) = oneshot::channel();
    if let Ok(mut waiting) = ctx.approvals.waiting.lock() {
        waiting.insert(call.id.clone(), tx);
    }
    ctx.emit(Event::ApprovalRequested {
        request: ApprovalRequest {
            call: call.clone(),
            findings: assessment.findings.clone(),
            reason,
        },
    });
    let decision = tokio::select! {
        () = ctx.cancel.cancelled() => None,
        decision = rx => decision.ok(),
    };
    if let Ok(mut waiting) = ctx.approvals.waiting.lock() {
        waiting.remove(&call.id);
    }
    match decision {
        Some(ApprovalDecision::Approve) => Ok("approved"),
        Some(ApprovalDecision::ApproveForSession) => {
            if let Ok(mut r) = ctx.approvals.remembered.lock() {
                r.insert(call.name.clone());
            }
            Ok("approved for the session")
        }
        Some(ApprovalDecision::Deny) => Err((
            ToolStatus::Denied,
            "denied: the user declined to run this call. Ask them or try another way.".into(),
            "denied",
        )),
        None => Err((
            ToolStatus::Interrupted,
            "interrupted before the user decided".into(),
            "interrupted",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_checked() {
        assert!(parse_arguments("").unwrap().is_object());
        assert!(parse_arguments(r#"{"code":"1"}"#).unwrap().is_object());
        let err = parse_arguments(r#"{"code": "pri"#).unwrap_err();
        assert!(err.contains("not valid JSON"), "{err}");
        assert!(err.contains(r#"{"code": "pri"#), "{err}");
        let err = parse_arguments("[1]").unwrap_err();
        assert!(err.contains("an array"), "{err}");
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        assert_eq!(truncate("ééé", 3), "é…");
        assert_eq!(truncate("abc", 3), "abc");
    }
}
