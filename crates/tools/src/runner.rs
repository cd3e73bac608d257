//! The bridge from a tool call to the sandbox: per-session scratch dirs, the sandbox settings of
//! one call, live output into the call's sink.

use std::path::{Path, PathBuf};
use std::time::Duration;

use llm_repl_core::ToolContext;
use llm_repl_core::ToolOutcome;
use llm_repl_protocol::{OutputStream, ToolStatus};
use llm_repl_sandbox::{Exit, Job, Report, Sandbox, Settings, Stream};

/// Shared by the process-running tools.
#[derive(Debug, Clone)]
pub struct Runner {
    /// Limits and policy; `read_write` and `scratch` are filled per call.
    pub base: Settings,
    pub timeout: Duration,
    /// Per-session scratch dirs are created under this directory.
    pub scratch_root: PathBuf,
}

impl Runner {
    /// The session's scratch dir, created on first use.
    pub fn scratch(&self, session_id: &str) -> Result<PathBuf, String> {
        let name: String = session_id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let name = if name.is_empty() {
            "default".into()
        } else {
            name
        };
        create_private_dir(&self.scratch_root)?;
        check_private_dir(&self.scratch_root)?;
        let dir = self.scratch_root.join(name);
        create_private_dir(&dir)?;
        Ok(dir)
    }

    /// The sandbox for one call in `workdir` of `session_id`.
    pub fn sandbox(&self, workdir: &Path, session_id: &str) -> Result<Sandbox, String> {
        let scratch = self.scratch(session_id)?;
        let mut settings = self.base.clone();
        settings.read_write = vec![workdir.to_path_buf(), scratch.clone()];
        settings.scratch = scratch;
        Ok(Sandbox::new(settings))
    }

    /// Runs `job` in the call's sandbox, streaming output into `ctx.output`.
    pub async fn run(&self, job: &Job, ctx: &ToolContext) -> Result<Report, String> {
        let sandbox = self.sandbox(&ctx.workdir, &ctx.session_id)?;
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

/// The scratch root lives in a shared temp dir: it must be ours, a real directory, private.
fn check_private_dir(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let meta = dir
        .symlink_metadata()
        .map_err(|e| format!("the scratch root {}: {e}", dir.display()))?;
    // SAFETY: geteuid cannot fail and touches no memory.
    let me = unsafe { libc::geteuid() };
    if !meta.is_dir() || meta.uid() != me || meta.mode() & 0o077 != 0 {
        return Err(format!(
            "the scratch root {} is not a private directory owned by this user: refusing to use \
             it (remove it and retry)",
            dir.display()
        ));
    }
    Ok(())
}

fn create_private_dir(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("cannot create the scratch dir {}: {e}", dir.display()))
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
