//! One persistent Python interpreter inside the sandbox, driven over a pipe protocol.
//!
//! The driver (`repl.py`, shipped in the binary) reads length-prefixed JSON requests on stdin
//! and answers with typed frames on stdout (see the script's header). This side starts it,
//! sends code, streams output frames as they come, and turns the result frame, a timeout, an
//! interrupt or a crash into a [`CallEnd`]. A call that does not end cleanly kills the
//! interpreter: the caller starts a new one next time and says so.
//!
//! The result channel is authenticated here, not in Python: user code runs in the driver's own
//! interpreter and can always write bytes to the protocol pipe. Each request carries the call's
//! id (1, 2, 3 ... per interpreter) and a fresh 128-bit nonce; a result frame counts only when
//! both match the call in flight. Anything else (no nonce, a guessed id, a frame for an earlier
//! call: a forgery, a duplicate or a late genuine frame) is [`CallEnd::Forged`]: the output is
//! flagged as untrusted, the interpreter is killed and the next call starts a fresh one, so a
//! result can never be taken for another call's. Limit (see repl.py's header): code that digs
//! the current nonce out of the interpreter's frames can fake that one call's result; the
//! genuine frame then arrives as a second result, which the next call reports: before it runs
//! when the frame is already waiting ([`Repl::stale_result`]; the call then runs on a fresh
//! interpreter), else while it runs (the call ends as forged).

use std::path::{Path, PathBuf};
use std::time::Duration;

use llm_repl_sandbox::{Budget, Job, Sandbox, Spawned, Stream, Utf8Carry};
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{ChildStdin, ChildStdout};
use tokio_util::sync::CancellationToken;

const DRIVER: &str = include_str!("repl.py");

/// Frames larger than this mean the protocol broke (the driver sends at most 64 KiB of output
/// or a result of about 60 KiB per frame; user code could forge frames, so this is a bound).
const MAX_FRAME: usize = 4 * 1024 * 1024;

/// After an interrupt, how long the code has to stop before the interpreter is killed (the
/// whole interrupt must stay well under 200 ms).
const INTERRUPT_GRACE: Duration = Duration::from_millis(120);

/// How long a fresh interpreter may take to say it is ready.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// The result frame.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Reply {
    /// The call this result answers (absent in a forged frame).
    #[serde(default)]
    pub id: Option<u64>,
    /// The nonce of that call's request.
    #[serde(default)]
    pub nonce: Option<String>,
    pub value: Option<String>,
    pub error: Option<ErrorInfo>,
    pub syntax: Option<SyntaxInfo>,
    #[serde(default)]
    pub duration_ms: f64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ErrorInfo {
    #[serde(rename = "type")]
    pub kind: String,
    pub traceback: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SyntaxInfo {
    pub message: String,
    pub line: u32,
    pub column: u32,
    #[serde(default)]
    pub text: String,
}

/// How one call ended.
#[derive(Debug)]
pub enum CallEnd {
    Done(Reply),
    TimedOut,
    /// Interrupted, and the interpreter stopped the code in time: its state is kept.
    Interrupted(Reply),
    /// Interrupted and killed (it did not stop in time).
    Cancelled,
    /// The interpreter died or broke the protocol; the text says how.
    Crashed(String),
    /// A result frame that is not this call's (forged, duplicate, or for another call); the
    /// text says which. The interpreter is killed.
    Forged(String),
}

/// A nonce for one call: 128 bits from two SipHash instances keyed by the standard library
/// from the OS's randomness (`RandomState`), so no file or extra crate is needed and the
/// interpreter cannot predict it.
fn nonce(call: u64) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut out = String::with_capacity(32);
    for salt in [0u64, 1] {
        let mut h = std::hash::RandomState::new().build_hasher();
        h.write_u64(call);
        h.write_u64(salt);
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out
}

/// Whether `reply` is the result of the call `id` sent with `nonce`; the reason when not.
fn check_result(reply: &Reply, id: u64, nonce: &str) -> Result<(), String> {
    match (reply.id, reply.nonce.as_deref()) {
        (Some(i), Some(n)) if i == id && n == nonce => Ok(()),
        (Some(i), _) if i < id => Err(format!(
            "a second result for the earlier call {i} arrived during call {id} (a forged \
             duplicate or the genuine one after a forgery)"
        )),
        (Some(i), _) if i == id => Err(format!(
            "a result for call {id} with the wrong nonce (forged by the code)"
        )),
        (Some(i), _) => Err(format!(
            "a result for call {i}, which was never sent (forged by the code)"
        )),
        (None, _) => {
            Err("a result frame without the call's id and nonce (forged by the code)".into())
        }
    }
}

/// What one call produced besides its end.
#[derive(Debug, Default)]
pub struct CallOutput {
    pub text: String,
    pub cut_bytes: u64,
}

/// A running interpreter.
pub struct Repl {
    proc: Spawned,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    pub workdir: PathBuf,
    pub warnings: Vec<String>,
    pub calls: u64,
    /// Output frames read between calls, shown as the next call's output.
    carry: std::collections::VecDeque<(u8, Vec<u8>)>,
}

impl Repl {
    /// Starts the driver in `sandbox` and waits until it is ready.
    pub async fn start(
        sandbox: &Sandbox,
        python: &Path,
        workdir: &Path,
        cancel: &CancellationToken,
    ) -> Result<Self, String> {
        let job = Job {
            program: python.to_path_buf(),
            args: vec!["-I".into(), "-u".into(), "-c".into(), DRIVER.into()],
            cwd: workdir.to_path_buf(),
            env: Vec::new(),
            stdin: Vec::new(),
            timeout: START_TIMEOUT,
        };
        let mut proc = sandbox.spawn(&job).map_err(|e| e.to_string())?;
        let (Some(stdin), Some(stdout), Some(mut stderr)) = (
            proc.child.stdin.take(),
            proc.child.stdout.take(),
            proc.child.stderr.take(),
        ) else {
            return Err("the interpreter's pipes are missing".into());
        };
        let mut repl = Self {
            warnings: proc.warnings.clone(),
            proc,
            stdin,
            stdout: BufReader::new(stdout),
            workdir: workdir.to_path_buf(),
            calls: 0,
            carry: std::collections::VecDeque::new(),
        };
        let ready = tokio::select! {
            r = repl.read_frame() => r,
            () = tokio::time::sleep(START_TIMEOUT) => Err("it did not start in time".into()),
            () = cancel.cancelled() => Err("interrupted while starting".into()),
        };
        match ready {
            Ok((b'R', _)) => Ok(repl),
            other => {
                repl.kill();
                let mut err = String::new();
                let _ = tokio::time::timeout(
                    Duration::from_millis(500),
                    stderr.read_to_string(&mut err),
                )
                .await;
                let why = match other {
                    Ok((k, _)) => format!("unexpected frame {:?}", k as char),
                    Err(e) => e,
                };
                Err(format!(
                    "the Python interpreter {} failed to start: {why} {}",
                    python.display(),
                    err.trim()
                ))
            }
        }
    }

    /// Kills the interpreter and everything it started.
    pub fn kill(&mut self) {
        self.proc.kill();
    }

    /// Kills every process the interpreter started, keeping the interpreter.
    pub fn kill_strays(&self) -> usize {
        self.proc.kill_strays()
    }

    /// Moves aside protected names the interpreter created (see `llm_repl_sandbox::Guard`).
    pub fn quarantine_new(&self) -> Vec<String> {
        self.proc.quarantine_new()
    }

    /// Reads, without waiting for more, what arrived since the last call. A result frame there
    /// can only be a second result for an earlier call: the genuine one after that call's
    /// result was forged with a stolen nonce. Output frames (threads the code left running)
    /// are kept for the next call to show as its output.
    pub async fn stale_result(&mut self) -> Option<String> {
        loop {
            let pending = !self.stdout.buffer().is_empty()
                || readable_now(std::os::fd::AsRawFd::as_raw_fd(self.stdout.get_ref()));
            if !pending {
                return None;
            }
            // The bytes are there; a frame cut short by its writer must not hang the call.
            match tokio::time::timeout(Duration::from_secs(1), self.read_frame()).await {
                Ok(Ok((b'r', _))) => {
                    return Some(
                        "a second result for the previous call arrived after it ended (that \
                         call's result was forged)"
                            .into(),
                    );
                }
                Ok(Ok(frame)) => self.carry.push_back(frame),
                // Gone: the call finds out and says so.
                Ok(Err(_)) => return None,
                Err(_) => return Some("an incomplete frame arrived between calls".into()),
            }
        }
    }

    async fn read_frame(&mut self) -> Result<(u8, Vec<u8>), String> {
        let mut head = [0u8; 5];
        self.stdout
            .read_exact(&mut head)
            .await
            .map_err(|_| "the interpreter's output ended".to_string())?;
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        if len == 0 || len > MAX_FRAME {
            return Err(format!("protocol error: frame of {len} bytes"));
        }
        let mut payload = vec![0u8; len - 1];
        self.stdout
            .read_exact(&mut payload)
            .await
            .map_err(|_| "the interpreter's output ended mid-frame".to_string())?;
        Ok((head[4], payload))
    }

    /// Runs `code`; output chunks go to `on_chunk` as they arrive (capped at `max_output`).
    pub async fn call(
        &mut self,
        code: &str,
        timeout: Duration,
        max_output: usize,
        cancel: &CancellationToken,
        on_chunk: &mut (dyn FnMut(Stream, &str) + Send),
    ) -> (CallEnd, CallOutput) {
        self.calls += 1;
        let id = self.calls;
        let nonce = nonce(id);
        let mut out = CallOutput::default();
        let request = serde_json::json!({ "id": id, "nonce": nonce, "code": code }).to_string();
        let mut msg = (request.len() as u32).to_be_bytes().to_vec();
        msg.extend_from_slice(request.as_bytes());
        if let Err(e) = self.stdin.write_all(&msg).await {
            let why = self.exit_reason(&e.to_string()).await;
            return (CallEnd::Crashed(why), out);
        }
        let mut budget = Budget::new(max_output);
        let mut dec = [Utf8Carry::default(), Utf8Carry::default()];
        let deadline = tokio::time::Instant::now() + timeout;
        let mut interrupting: Option<tokio::time::Instant> = None;
        let end = loop {
            let grace = interrupting.unwrap_or(deadline);
            let frame = if let Some(frame) = self.carry.pop_front() {
                Ok(frame)
            } else {
                tokio::select! {
                f = self.read_frame() => f,
                () = tokio::time::sleep_until(deadline) => break CallEnd::TimedOut,
                () = tokio::time::sleep_until(grace), if interrupting.is_some() => {
                    break CallEnd::Cancelled
                }
                () = cancel.cancelled(), if interrupting.is_none() => {
                    // Ask nicely first: KeyboardInterrupt keeps the interpreter's state.
                    self.proc.interrupt();
                    interrupting = Some(tokio::time::Instant::now() + INTERRUPT_GRACE);
                    continue;
                }
                }
            };
            match frame {
                Ok((kind @ (b'o' | b'e'), bytes)) => {
                    let (stream, i) = if kind == b'o' {
                        (Stream::Stdout, 0)
                    } else {
                        (Stream::Stderr, 1)
                    };
                    let kept = budget.take(&bytes);
                    let text = dec[i].push(kept);
                    if !text.is_empty() {
                        out.text.push_str(&text);
                        on_chunk(stream, &text);
                    }
                }
                Ok((b'r', bytes)) => match serde_json::from_slice::<Reply>(&bytes) {
                    Ok(mut reply) => {
                        if let Err(why) = check_result(&reply, id, &nonce) {
                            break CallEnd::Forged(why);
                        }
                        // Forged or not, a result never exceeds the output cap.
                        for text in [
                            reply.value.as_mut(),
                            reply.error.as_mut().map(|e| &mut e.traceback),
                        ]
                        .into_iter()
                        .flatten()
                        {
                            truncate(text, max_output);
                        }
                        if interrupting.is_some() {
                            break CallEnd::Interrupted(reply);
                        }
                        break CallEnd::Done(reply);
                    }
                    Err(e) => {
                        break CallEnd::Forged(format!("a result frame that does not parse ({e})"));
                    }
                },
                Ok((k, _)) => break CallEnd::Crashed(format!("unexpected frame {:?}", k as char)),
                Err(e) => break CallEnd::Crashed(self.exit_reason(&e).await),
            }
        };
        for (i, d) in dec.iter_mut().enumerate() {
            let tail = d.finish();
            if !tail.is_empty() {
                out.text.push_str(&tail);
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
        out.cut_bytes = budget.cut();
        if !matches!(end, CallEnd::Done(_) | CallEnd::Interrupted(_)) {
            self.kill();
        }
        (end, out)
    }

    /// Why the interpreter stopped answering: its exit status when it has one soon.
    async fn exit_reason(&mut self, fallback: &str) -> String {
        use std::os::unix::process::ExitStatusExt;
        let waited = tokio::time::timeout(Duration::from_millis(300), self.proc.child.wait()).await;
        match waited {
            Ok(Ok(s)) => match (s.code(), s.signal()) {
                (Some(c), _) => format!("it exited with code {c}"),
                (_, Some(9)) => "it was killed (signal 9: a resource limit or the out-of-memory \
                                 killer)"
                    .to_string(),
                (_, Some(sig)) => format!("it was killed by signal {sig}"),
                _ => fallback.to_string(),
            },
            _ => fallback.to_string(),
        }
    }
}

/// Whether `fd` has bytes to read right now (poll(2) with a zero timeout).
fn readable_now(fd: std::os::fd::RawFd) -> bool {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd for the duration of the call; a zero timeout never blocks.
    let n = unsafe { libc::poll(&mut pfd, 1, 0) };
    n > 0 && pfd.revents & libc::POLLIN != 0
}

/// Cuts `s` to at most `max` bytes on a character boundary, saying so.
fn truncate(s: &mut String, max: usize) {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        let cut = s.len() - end;
        s.truncate(end);
        s.push_str(&format!("[... {cut} bytes cut]"));
    }
}
