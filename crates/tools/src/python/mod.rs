//! The `python` tool: runs a snippet in the sandboxed interpreter, streaming its output.

pub mod assess;

use std::path::PathBuf;
use std::time::Duration;

use futures::future::BoxFuture;
use llm_repl_core::tool::Assessment;
use llm_repl_core::{Tool, ToolContext, ToolOutcome, ToolSpec};
use llm_repl_protocol::{OutputStream, ToolStatus};
use llm_repl_sandbox::{Exit, Job, Report, Stream};
use serde_json::{Value, json};

use crate::runner::Runner;

/// Runs Python code with an absolute interpreter path inside the sandbox.
#[derive(Debug, Clone)]
pub struct PythonTool {
    pub python: PathBuf,
    pub runner: Runner,
}

impl PythonTool {
    fn code(args: &Value) -> Result<&str, String> {
        args.get("code")
            .and_then(Value::as_str)
            .ok_or_else(|| "missing required argument \"code\" (a string of Python)".into())
    }
}

impl Tool for PythonTool {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "python".into(),
            description: "Run Python 3 code in a sandbox (no network, only the workspace is \
                          writable). Print what you want to see; stdout and stderr are returned \
                          with the exit status."
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
        match assess::analyze(&self.python, code) {
            Ok(analysis) => assess::assessment(&analysis),
            Err(e) => Assessment {
                findings: Vec::new(),
                needs_approval: Some(format!("the code could not be analysed: {e}")),
            },
        }
    }

    fn run(&self, args: Value, ctx: ToolContext) -> BoxFuture<'_, ToolOutcome> {
        Box::pin(async move {
            let code = match Self::code(&args) {
                Ok(c) => c.to_owned(),
                Err(e) => return ToolOutcome::error(e),
            };
            let job = Job {
                program: self.python.clone(),
                args: vec!["-I".into(), "-u".into(), "-".into()],
                cwd: ctx.workdir.clone(),
                env: vec![("PYTHONUNBUFFERED".into(), "1".into())],
                stdin: code.into_bytes(),
                timeout: self.runner.timeout,
            };
            match self.runner.run(&job, &ctx).await {
                Ok(report) => outcome(&report, self.runner.timeout),
                Err(e) => ToolOutcome::error(e),
            }
        })
    }
}

/// The observation for a finished process: its output, then one line of status.
pub fn outcome(report: &Report, timeout: Duration) -> ToolOutcome {
    let mut content = report.output.clone();
    if report.cut_bytes > 0 {
        content.push_str(&cut_marker(report.cut_bytes));
    }
    if !content.is_empty() && !content.ends_with('\n') {
        content.push('\n');
    }
    let secs = report.duration.as_secs_f64();
    let (status, line) = match report.exit {
        Exit::Code(0) => (ToolStatus::Ok, format!("[exit code 0 · {secs:.2} s]")),
        Exit::Code(c) => (ToolStatus::Error, format!("[exit code {c} · {secs:.2} s]")),
        Exit::Signal(_) => (
            ToolStatus::Error,
            format!("[{} · {secs:.2} s]", report.exit),
        ),
        Exit::TimedOut => (
            ToolStatus::TimedOut,
            format!(
                "[timed out after {} s: the process and everything it started were killed]",
                timeout.as_secs()
            ),
        ),
        Exit::Cancelled => (
            ToolStatus::Interrupted,
            format!("[interrupted by the user after {secs:.2} s]"),
        ),
    };
    content.push_str(&line);
    ToolOutcome { status, content }
}

/// The marker appended where output was cut.
pub fn cut_marker(cut: u64) -> String {
    format!("\n[output cut: {cut} more bytes not shown]\n")
}

/// Maps a sandbox stream to the protocol's.
pub fn stream_of(s: Stream) -> OutputStream {
    match s {
        Stream::Stdout => OutputStream::Stdout,
        Stream::Stderr => OutputStream::Stderr,
        Stream::Info => OutputStream::Info,
    }
}
