//! The `python` tool: a persistent interpreter per session inside the sandbox, like a REPL.
//!
//! Variables, imports and functions survive between calls of one session. A call that times
//! out, is interrupted or crashes the interpreter kills it; the next call starts a fresh one
//! and its observation says the state was lost.

pub mod assess;
pub mod repl;

/// Runs a short helper script (`python -I -S -c SCRIPT`, empty environment) with `input` on its
/// stdin and returns what it printed. The input is written from a thread so a large input cannot
/// deadlock against the output pipe. Used by plugin discovery (the risk analysis is in Rust).
pub(crate) fn run_script(
    python: &std::path::Path,
    script: &str,
    input: Vec<u8>,
) -> Result<std::process::Output, String> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(python)
        .args(["-I", "-S", "-c", script])
        .env_clear()
        .env("PYTHONIOENCODING", "utf-8")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", python.display()))?;
    if let Some(mut stdin) = child.stdin.take() {
        std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
    }
    child.wait_with_output().map_err(|e| e.to_string())
}

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use llm_repl_core::tool::Assessment;
use llm_repl_core::{Tool, ToolContext, ToolOutcome, ToolSpec};
use llm_repl_protocol::{OutputStream, ToolStatus};
use serde_json::{Value, json};

use crate::runner::{Runner, cut_marker, stream_of};
use repl::{CallEnd, CallOutput, Repl, Reply};

/// One session's interpreter, and why the previous one was lost (said once, on the next call).
#[derive(Default)]
struct Slot {
    repl: Option<Repl>,
    lost: Option<String>,
}

/// Runs Python code in a persistent, sandboxed interpreter per session.
#[derive(Clone)]
pub struct PythonTool {
    pub python: PathBuf,
    pub runner: Runner,
    sessions: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<Slot>>>>>,
}

impl std::fmt::Debug for PythonTool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PythonTool")
            .field("python", &self.python)
            .finish_non_exhaustive()
    }
}

impl PythonTool {
    pub fn new(python: PathBuf, runner: Runner) -> Self {
        Self {
            python,
            runner,
            sessions: Arc::default(),
        }
    }

    fn code(args: &Value) -> Result<&str, String> {
        args.get("code")
            .and_then(Value::as_str)
            .ok_or_else(|| "missing required argument \"code\" (a string of Python)".into())
    }

    fn slot(&self, session: &str) -> Arc<tokio::sync::Mutex<Slot>> {
        let mut map = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(session.to_string()).or_default().clone()
    }

    /// Ends a session's interpreter (e.g. when the session closes).
    pub fn close_session(&self, session: &str) {
        let mut map = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(session);
    }

    /// Runs `code` in the session's interpreter (starting one if needed).
    pub async fn call(&self, code: &str, ctx: &ToolContext) -> ToolOutcome {
        let slot = self.slot(&ctx.session_id);
        let mut slot = tokio::select! {
            s = slot.lock() => s,
            () = ctx.cancel.cancelled() => {
                return ToolOutcome { status: ToolStatus::Interrupted,
                    content: "[interrupted while waiting for the previous call]".into() };
            }
        };
        let mut notes = Vec::new();
        if let Some(why) = slot.lost.take() {
            notes.push(format!(
                "[note: a new interpreter was started because the previous one {why}: \
                 variables and imports from earlier calls are gone]"
            ));
        }
        if slot.repl.as_ref().is_some_and(|r| r.workdir != ctx.workdir) {
            slot.repl = None;
            notes.push("[note: the workspace changed: a new interpreter was started]".into());
        }
        let stale = match slot.repl.as_mut() {
            Some(repl) => repl.stale_result().await,
            None => None,
        };
        if let Some(why) = stale {
            if let Some(repl) = slot.repl.as_mut() {
                repl.kill();
            }
            slot.repl = None;
            let note = format!(
                "[forged result detected: {why}. A new interpreter was started for this call: \
                 variables and imports from earlier calls are gone]"
            );
            ctx.output.send(OutputStream::Info, note.clone());
            notes.push(note);
        }
        if slot.repl.is_none() {
            let sandbox = self.runner.sandbox(&ctx.workdir);
            match Repl::start(&sandbox, &self.python, &ctx.workdir, &ctx.cancel).await {
                Ok(r) => {
                    for w in &r.warnings {
                        ctx.output.send(OutputStream::Info, w.clone());
                        notes.push(format!("[{w}]"));
                    }
                    slot.repl = Some(r);
                }
                Err(e) if ctx.cancel.is_cancelled() => {
                    return ToolOutcome {
                        status: ToolStatus::Interrupted,
                        content: format!("[interrupted: {e}]"),
                    };
                }
                Err(e) => return ToolOutcome::error(e),
            }
        }
        let Some(repl) = slot.repl.as_mut() else {
            return ToolOutcome::error("the interpreter is not running");
        };
        let sink = ctx.output.clone();
        let mut on_chunk = |s, text: &str| sink.send(stream_of(s), text);
        let timeout = self.runner.timeout;
        let max = self.runner.base.max_output_bytes;
        let (end, out) = repl
            .call(code, timeout, max, &ctx.cancel, &mut on_chunk)
            .await;
        // Nothing a call started outlives it, whatever the code did to the REPL's own clean-up.
        let strays = repl.kill_strays();
        if strays > 0 {
            notes.push(format!(
                "[note: {strays} process(es) this call left running were stopped: only the \
                 interpreter itself persists between calls]"
            ));
        }
        let quarantined = repl.quarantine_new();
        for line in &quarantined {
            ctx.output.send(OutputStream::Info, line.clone());
            notes.push(format!("[{line}]"));
        }
        if out.cut_bytes > 0 {
            ctx.output.send(
                OutputStream::Info,
                cut_marker(out.cut_bytes).trim().to_string(),
            );
        }
        let lost = match &end {
            CallEnd::Done(_) | CallEnd::Interrupted(_) => None,
            CallEnd::TimedOut => Some(format!("timed out after {} s", timeout.as_secs())),
            CallEnd::Cancelled => Some("was interrupted".to_string()),
            CallEnd::Crashed(why) => Some(format!("crashed ({why})")),
            CallEnd::Forged(why) => Some(format!("was restarted after a forged result ({why})")),
        };
        // A protected name it made was moved aside; a fresh interpreter sees it read-only, and
        // no thread of the old one can make it again.
        let lost = lost.or_else(|| {
            (!quarantined.is_empty())
                .then(|| "created a protected path (.git or .llm-repl)".to_string())
        });
        if lost.is_some() {
            slot.repl = None;
        }
        slot.lost = lost;
        repl_outcome(&notes, &out, &end, timeout)
    }
}

/// The observation of one interpreter call.
fn repl_outcome(
    notes: &[String],
    out: &CallOutput,
    end: &CallEnd,
    timeout: Duration,
) -> ToolOutcome {
    let mut c = String::new();
    for n in notes {
        c.push_str(n);
        c.push('\n');
    }
    c.push_str(&out.text);
    if out.cut_bytes > 0 {
        c.push_str(&cut_marker(out.cut_bytes));
    }
    if !c.is_empty() && !c.ends_with('\n') {
        c.push('\n');
    }
    let status = match end {
        CallEnd::Done(reply) => done(&mut c, reply),
        CallEnd::TimedOut => {
            c.push_str(&format!(
                "[timed out after {} s: the interpreter and everything it started were killed; \
                 the next call starts a fresh one (state lost)]",
                timeout.as_secs()
            ));
            ToolStatus::TimedOut
        }
        CallEnd::Interrupted(reply) => {
            // Where the code was stopped.
            if let Some(err) = &reply.error {
                c.push_str(&err.traceback);
                if !c.ends_with('\n') {
                    c.push('\n');
                }
            }
            c.push_str(
                "[interrupted by the user: the code was stopped; the interpreter kept its state]",
            );
            ToolStatus::Interrupted
        }
        CallEnd::Cancelled => {
            c.push_str("[interrupted by the user: the interpreter did not stop in time and was killed (state lost)]");
            ToolStatus::Interrupted
        }
        CallEnd::Crashed(why) => {
            c.push_str(&format!(
                "[the interpreter crashed: {why}; the next call starts a fresh one (state lost)]"
            ));
            ToolStatus::Error
        }
        CallEnd::Forged(why) => {
            c.push_str(&format!(
                "[forged result detected: {why}. The output above is untrusted; the interpreter \
                 was killed and the next call starts a fresh one (state lost)]"
            ));
            ToolStatus::Error
        }
    };
    ToolOutcome { status, content: c }
}

fn done(c: &mut String, reply: &Reply) -> ToolStatus {
    let ms = reply.duration_ms;
    if let Some(se) = &reply.syntax {
        c.push_str(&format!(
            "SyntaxError: {} (line {}, column {})\n",
            se.message, se.line, se.column
        ));
        if !se.text.is_empty() {
            let pad = " ".repeat(se.column.saturating_sub(1) as usize);
            c.push_str(&format!("    {}\n    {pad}^\n", se.text));
        }
        c.push_str("[not run: syntax error]");
        return ToolStatus::Error;
    }
    if let Some(err) = &reply.error {
        c.push_str(&err.traceback);
        if !c.ends_with('\n') {
            c.push('\n');
        }
        c.push_str(&format!("[error: {} · {ms:.1} ms]", err.kind));
        return ToolStatus::Error;
    }
    if let Some(v) = &reply.value {
        c.push_str(&format!("Out: {v}\n"));
    }
    c.push_str(&format!("[ok · {ms:.1} ms]"));
    ToolStatus::Ok
}

impl Tool for PythonTool {
    fn end_session(&self, session_id: &str) {
        self.close_session(session_id);
    }

    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "python".into(),
            description: "Run Python 3 code in a persistent sandboxed interpreter (like a REPL: \
                          variables, imports and functions stay defined between calls). The \
                          value of a final expression is shown. No network; only the workspace \
                          and a private /tmp (HOME) are writable; .git is read-only."
                .into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "code": {"type": "string", "description": "The Python code to run."}
                },
                "required": ["code"],
                "additionalProperties": false
            }),
        }
    }

    fn assess(&self, args: &Value) -> Assessment {
        let Ok(code) = Self::code(args) else {
            return Assessment::default();
        };
        assess::assessment(&assess::analyze(code))
    }

    fn run(&self, args: Value, ctx: ToolContext) -> BoxFuture<'_, ToolOutcome> {
        Box::pin(async move {
            match Self::code(&args) {
                Ok(code) => self.call(code, &ctx).await,
                Err(e) => ToolOutcome::error(e),
            }
        })
    }
}
