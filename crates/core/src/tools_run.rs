//! Running one tool call: validate, ask approval where the policy says so, run, stream output.
//!
//! Whatever goes wrong here becomes an observation for the model (with a status), so a model
//! that sends broken JSON or names a tool that does not exist gets told and can correct itself.

use std::path::Path;

use llm_repl_protocol::{
    ApprovalDecision, ApprovalRequest, Event, NoticeLevel, ToolCall, ToolStatus, TurnId,
};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::agent::Approvals;
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
}

impl CallContext<'_> {
    fn emit(&self, event: Event) {
        let _ = self.events.send(event);
    }
}

/// Runs one call and returns its status and the observation text.
pub(crate) async fn run_call(ctx: &CallContext<'_>, call: &ToolCall) -> (ToolStatus, String) {
    ctx.emit(Event::ToolCallStarted {
        turn: ctx.turn,
        call: call.clone(),
    });
    let Some(tool) = ctx.tools.get(&call.name) else {
        let names = ctx.tools.names().join(", ");
        return (
            ToolStatus::Error,
            format!(
                "error: there is no tool named {:?}. Available tools: {names}.",
                call.name
            ),
        );
    };
    let args = match parse_arguments(&call.arguments) {
        Ok(args) => args,
        Err(message) => return (ToolStatus::Error, message),
    };
    let assessment = tool.assess(&args);
    if let Some(denied) = approve(ctx, call, &assessment).await {
        return denied;
    }

    let (tx, mut rx) = mpsc::unbounded_channel();
    let tool_ctx = ToolContext {
        call_id: call.id.clone(),
        cancel: ctx.cancel.child_token(),
        output: OutputSink::new(tx),
        workdir: ctx.workdir.to_path_buf(),
        session_id: ctx.session_id.to_string(),
    };
    let mut run = tool.run(args, tool_ctx);
    // Forward output in this task, so every chunk is sent before the call's final event.
    let outcome = loop {
        tokio::select! {
            biased;
            Some((stream, chunk)) = rx.recv() => ctx.emit(Event::ToolOutput {
                call_id: call.id.clone(),
                stream,
                chunk,
            }),
            outcome = &mut run => break outcome,
        }
    };
    while let Ok((stream, chunk)) = rx.try_recv() {
        ctx.emit(Event::ToolOutput {
            call_id: call.id.clone(),
            stream,
            chunk,
        });
    }
    (outcome.status, outcome.content)
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

/// Applies the approval policy. `None` means go ahead; `Some` is the denial to report.
async fn approve(
    ctx: &CallContext<'_>,
    call: &ToolCall,
    assessment: &Assessment,
) -> Option<(ToolStatus, String)> {
    let reason = match ctx.policy {
        "never" => return None,
        "always" => assessment
            .needs_approval
            .clone()
            .unwrap_or_else(|| "the approval policy asks before every tool call".into()),
        _ => assessment.needs_approval.clone()?,
    };
    let remembered = ctx
        .approvals
        .remembered
        .lock()
        .map(|r| r.contains(&call.name))
        .unwrap_or(false);
    if remembered {
        return None;
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
        return Some((
            ToolStatus::Denied,
            format!(
                "denied: this call needs the user's approval ({reason}), and none can be given \
                 in this run. Do the task without it or explain what you would need."
            ),
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
        Some(ApprovalDecision::Approve) => None,
        Some(ApprovalDecision::ApproveForSession) => {
            if let Ok(mut r) = ctx.approvals.remembered.lock() {
                r.insert(call.name.clone());
            }
            None
        }
        Some(ApprovalDecision::Deny) => Some((
            ToolStatus::Denied,
            "denied: the user declined to run this call. Ask them or try another way.".into(),
        )),
        None => Some((
            ToolStatus::Interrupted,
            "interrupted before the user decided".into(),
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
