//! The bridge from a tool call to the sandbox: the sandbox settings of one call, live output
//! into the call's sink.
//!
//! A call's scratch space (`HOME`, `TMPDIR`) is the sandbox's own size-capped `/tmp`, which
//! exists only as long as the sandbox: nothing is left on the host to clean up. Scratch
//! directories of older versions (under the system temp dir) are removed at start.

use std::path::{Path, PathBuf};
use std::time::Duration;

use llm_repl_core::ToolContext;
use llm_repl_core::ToolOutcome;
use llm_repl_protocol::{OutputStream, ToolStatus};
use llm_repl_sandbox::{Exit, Job, Report, Sandbox, Settings, Stream};

/// Shared by the process-running tools.
#[derive(Debug, Clone)]
pub struct Runner {
    /// Limits and policy; `read_write` is filled per call.
    pub base: Settings,
    pub timeout: Duration,
}

impl Runner {
    /// The sandbox for one call in `workdir`.
    pub fn sandbox(&self, workdir: &Path) -> Sandbox {
        let mut settings = self.base.clone();
        settings.read_write = vec![workdir.to_path_buf()];
        Sandbox::new(settings)
    }

    /// Runs `job` in the call's sandbox, streaming output into `ctx.output`.
    pub async fn run(&self, job: &Job, ctx: &ToolContext) -> Result<Report, String> {
        let sandbox = self.sandbox(&ctx.workdir);
        let sink = ctx.output.clone();
        let mut on_chunk = |s, text: &str| sink.send(stream_of(s), text);
        let report = sandbox
            .run(job, &ctx.cancel, &mut on_chunk)
            .await
            .map_err(|e| e.to_string())?;
        if report.cut_bytes > 0 {
            ctx.output.send(
                OutputStream::Info,
                cut_marker(report.cut_bytes).trim().to_string(),
            );
        }
        Ok(report)
    }
}

/// Removes the per-session scratch directories older versions left under the system temp
/// dir (`llm-repl-<uid>`), when that directory is ours and no symlink.
pub fn remove_old_scratch() {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: getuid cannot fail and touches no memory.
    let uid = unsafe { libc::getuid() };
    let dir: PathBuf = std::env::temp_dir().join(format!("llm-repl-{uid}"));
    if let Ok(meta) = dir.symlink_metadata()
        && meta.is_dir()
        && meta.uid() == uid
    {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// The observation for a finished process: its output, then one line of status.
pub fn outcome(report: &Report, timeout: Duration) -> ToolOutcome {
    let mut content: String = report.warnings.iter().map(|w| format!("[{w}]\n")).collect();
    content.push_str(&report.output);
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
