//! Running one process to completion: spawn, stream its output, enforce the wall clock and the
//! output cap, kill everything it started when it ends, times out or is cancelled.
//!
//! The confinement itself (namespaces, Landlock, seccomp, rlimits) is applied by
//! [`crate::Sandbox::command`]; this module only drives the process it is handed.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

use crate::cgroup::Group;
use crate::output::{Budget, Utf8Carry};
use crate::{Sandbox, SandboxError};

/// One program to run.
#[derive(Debug, Clone)]
pub struct Job {
    /// Absolute path of the program (no PATH lookup happens).
    pub program: PathBuf,
    pub args: Vec<OsString>,
    /// The working directory of the process.
    pub cwd: PathBuf,
    /// Extra environment on top of the sandbox's fixed, scrubbed one.
    pub env: Vec<(String, String)>,
    /// Written to the process's stdin, which is then closed.
    pub stdin: Vec<u8>,
    /// Wall-clock limit; the whole process tree is killed when it passes.
    pub timeout: Duration,
}

/// Which pipe a chunk came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
    /// The sandbox's own notes (warnings about missing confinement).
    Info,
}

/// How the process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// It exited with this code.
    Code(i32),
    /// A signal killed it (e.g. 9 when an rlimit or the kernel killed it).
    Signal(i32),
    /// The wall-clock limit passed and it was killed.
    TimedOut,
    /// The caller cancelled and it was killed.
    Cancelled,
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exit::Code(c) => write!(f, "exit code {c}"),
            Exit::Signal(s) => write!(f, "killed by signal {s} ({})", signal_name(*s)),
            Exit::TimedOut => write!(f, "timed out"),
            Exit::Cancelled => write!(f, "interrupted"),
        }
    }
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGKILL => "SIGKILL",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGXCPU => "SIGXCPU: CPU time limit",
        libc::SIGXFSZ => "SIGXFSZ: file size limit",
        libc::SIGABRT => "SIGABRT",
        libc::SIGTERM => "SIGTERM",
        libc::SIGSYS => "SIGSYS: forbidden system call",
        _ => "signal",
    }
}

/// What one run produced.
#[derive(Debug, Clone)]
pub struct Report {
    pub exit: Exit,
    /// Both streams interleaved as they arrived, decoded, capped.
    pub output: String,
    /// Output bytes dropped by the cap.
    pub cut_bytes: u64,
    pub duration: Duration,
    /// What confinement was missing (the run went ahead because `require` is off).
    pub warnings: Vec<String>,
}

/// After the main process exits, how long to keep reading pipes still held by stragglers.
const DRAIN_GRACE: Duration = Duration::from_millis(200);

/// A long-lived sandboxed process with piped stdin, stdout and stderr (e.g. a persistent
/// interpreter). Dropping the child kills it and, through its pid namespace, everything it
/// started.
#[derive(Debug)]
pub struct Spawned {
    pub child: tokio::process::Child,
    /// What confinement was missing (it was started anyway because `require` is off).
    pub warnings: Vec<String>,
    group: Option<Arc<Group>>,
    /// The protected names that existed when it started.
    guard: crate::Guard,
}

impl Spawned {
    /// Moves aside protected names (`.git`, ...) created since the start; one line per name.
    /// A caller that gets any should restart the program (a thread inside could make it again).
    pub fn quarantine_new(&self) -> Vec<String> {
        self.guard.quarantine_new()
    }

    /// Sends SIGINT to the process group (an interpreter turns it into KeyboardInterrupt).
    pub fn interrupt(&self) {
        if let Some(pid) = self.child.id() {
            // SAFETY: kill(2) on a process group; no memory involved.
            unsafe {
                libc::kill(-(pid as i32), libc::SIGINT);
            }
        }
    }

    /// Kills the process and everything it started, now.
    pub fn kill(&mut self) {
        if let Some(pid) = self.child.id() {
            GroupKiller(pid as i32, self.group.clone()).kill();
        }
        let _ = self.child.start_kill();
    }

    /// Kills every process the sandboxed program started, keeping the program itself: what
    /// a call left running (a double-forked daemon, a `&` job) dies with the call, whatever
    /// the program's own code did to prevent it. Returns how many were killed.
    pub fn kill_strays(&self) -> usize {
        let Some(anchor) = self.child.id() else {
            return 0;
        };
        let anchor = anchor as i32;
        // The anchor's one child is the program (pid 1 of the sandbox's namespace).
        let program: Vec<i32> =
            std::fs::read_to_string(format!("/proc/{anchor}/task/{anchor}/children"))
                .unwrap_or_default()
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect();
        let keep: Vec<i32> = std::iter::once(anchor).chain(program).collect();
        match &self.group {
            Some(g) => g.kill_except(&keep),
            None => kill_namespace_except(&keep),
        }
    }
}

/// Without a control group: every process in the same pid namespace as the program, found
/// through /proc, but those in `keep`.
fn kill_namespace_except(keep: &[i32]) -> usize {
    let Some(&program) = keep.get(1) else {
        return 0;
    };
    let Ok(ns) = std::fs::read_link(format!("/proc/{program}/ns/pid")) else {
        return 0;
    };
    let mut n = 0;
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if keep.contains(&pid) {
            continue;
        }
        if std::fs::read_link(format!("/proc/{pid}/ns/pid")).is_ok_and(|p| p == ns) {
            // SAFETY: kill(2); no memory involved.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
            n += 1;
        }
    }
    n
}

impl Sandbox {
    fn guard(&self) -> crate::Guard {
        crate::Guard::snapshot(&self.settings().read_write, &self.settings().protected)
    }

    /// Starts `job` confined and returns at once; `job.stdin` and `job.timeout` are ignored
    /// (the caller owns the pipes and the clock).
    pub fn spawn(&self, job: &Job) -> Result<Spawned, SandboxError> {
        let guard = self.guard();
        let confined = self.command(job)?;
        let (mut cmd, group, warnings) = (confined.command, confined.group, confined.warnings);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let child = cmd.spawn().map_err(|e| SandboxError::Spawn {
            program: job.program.clone(),
            source: e,
        })?;
        Ok(Spawned {
            child,
            warnings,
            group,
            guard,
        })
    }

    /// Runs `job` to the end. `on_chunk` sees each piece of output (already capped and decoded)
    /// as it arrives. Every process the job started is killed before this returns.
    pub async fn run(
        &self,
        job: &Job,
        cancel: &CancellationToken,
        on_chunk: &mut (dyn FnMut(Stream, &str) + Send),
    ) -> Result<Report, SandboxError> {
        let started = Instant::now();
        let protect = self.guard();
        let confined = self.command(job)?;
        let (mut cmd, group, mut warnings) = (confined.command, confined.group, confined.warnings);
        for w in &warnings {
            on_chunk(Stream::Info, w);
        }
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|e| SandboxError::Spawn {
            program: job.program.clone(),
            source: e,
        })?;
        let pid = child.id().unwrap_or(0) as i32;
        let guard = GroupKiller(pid, group);

        if let Some(mut stdin) = child.stdin.take() {
            let data = job.stdin.clone();
            tokio::spawn(async move {
                // A process that exits without reading its input is not an error.
                let _ = stdin.write_all(&data).await;
            });
        }
        let mut out = child.stdout.take();
        let mut err = child.stderr.take();
        let mut budget = Budget::new(self.settings().max_output_bytes);
        let mut dec = [Utf8Carry::default(), Utf8Carry::default()];
        let mut text = String::new();
        let mut emit = |stream: Stream, bytes: &[u8], budget: &mut Budget, text: &mut String| {
            let kept = budget.take(bytes);
            if kept.is_empty() {
                return;
            }
            let s = dec[stream as usize].push(kept);
            if !s.is_empty() {
                text.push_str(&s);
                on_chunk(stream, &s);
            }
        };

        let deadline = tokio::time::Instant::now() + job.timeout;
        let mut drain_until: Option<tokio::time::Instant> = None;
        let mut status: Option<ExitStatus> = None;
        let mut forced: Option<Exit> = None;
        let mut buf_out = vec![0u8; 64 * 1024];
        let mut buf_err = vec![0u8; 64 * 1024];
        loop {
            if out.is_none() && err.is_none() && status.is_some() {
                break;
            }
            let stop_at = drain_until.map_or(deadline, |d| d.min(deadline));
            tokio::select! {
                r = read_some(&mut out, &mut buf_out) => match r {
                    Some(n) => emit(Stream::Stdout, &buf_out[..n], &mut budget, &mut text),
                    None => out = None,
                },
                r = read_some(&mut err, &mut buf_err) => match r {
                    Some(n) => emit(Stream::Stderr, &buf_err[..n], &mut budget, &mut text),
                    None => err = None,
                },
                s = child.wait(), if status.is_none() => {
                    status = Some(s.map_err(SandboxError::Wait)?);
                    // Anything it left behind goes now; its pipes get a short grace to drain.
                    guard.kill();
                    drain_until = Some(tokio::time::Instant::now() + DRAIN_GRACE);
                }
                () = tokio::time::sleep_until(stop_at) => {
                    if status.is_none() {
                        forced = Some(Exit::TimedOut);
                    }
                    break;
                }
                () = cancel.cancelled() => {
                    forced = Some(Exit::Cancelled);
                    break;
                }
            }
        }
        guard.kill();
        if status.is_none() {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
        for (i, d) in dec.iter_mut().enumerate() {
            let tail = d.finish();
            if !tail.is_empty() {
                text.push_str(&tail);
                on_chunk(
                    if i == 0 {
                        Stream::Stdout
                    } else {
                        Stream::Stderr
                    },
                    &tail,
                );
            }
        }
        let exit = match (forced, status) {
            (Some(f), _) => f,
            (None, Some(s)) => exit_of(s),
            (None, None) => Exit::TimedOut,
        };
        for line in protect.quarantine_new() {
            on_chunk(Stream::Info, &line);
            warnings.push(line);
        }
        Ok(Report {
            exit,
            output: text,
            cut_bytes: budget.cut(),
            duration: started.elapsed(),
            warnings,
        })
    }
}

async fn read_some<R: tokio::io::AsyncRead + Unpin>(
    pipe: &mut Option<R>,
    buf: &mut [u8],
) -> Option<usize> {
    match pipe {
        Some(p) => match p.read(buf).await {
            Ok(0) | Err(_) => None,
            Ok(n) => Some(n),
        },
        None => std::future::pending().await,
    }
}

fn exit_of(s: ExitStatus) -> Exit {
    use std::os::unix::process::ExitStatusExt;
    match (s.code(), s.signal()) {
        (Some(c), _) => Exit::Code(c),
        (None, Some(sig)) => Exit::Signal(sig),
        (None, None) => Exit::Code(-1),
    }
}

/// Kills the process group led by the child (it called `setsid`, so its pgid is its pid) and
/// everything in the sandbox's control group (a process that made its own session).
struct GroupKiller(i32, Option<Arc<Group>>);

impl GroupKiller {
    fn kill(&self) {
        if self.0 > 0 {
            // SAFETY: kill(2) with a negative pid signals a process group; no memory involved.
            unsafe {
                libc::kill(-self.0, libc::SIGKILL);
            }
        }
        if let Some(g) = &self.1 {
            g.kill_except(&[]);
        }
    }
}

impl Drop for GroupKiller {
    fn drop(&mut self) {
        self.kill();
    }
}
