//! The client side: connecting to the service, and starting it when none runs.
//!
//! [`connect`] turns the socket into the same pair of channels an in-process
//! [`llm_repl_core::AgentHandle`] has (Ops in, Events out), so a frontend cannot tell whether
//! its agent runs in its own process or in the service. When the service goes away without
//! saying goodbye (killed), the Event stream ends with one [`Event::Error`] that says so.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use llm_repl_protocol::{Event, Op};
use tokio::net::UnixStream;
use tokio::sync::mpsc;

use crate::paths::ServicePaths;
use crate::wire::{Greeting, Open, Opened, PROTOCOL_VERSION, ReadError, Reader, Status, Writer};

/// Why a connection could not be made.
#[derive(Debug)]
pub enum ConnectError {
    /// No service listens on the socket.
    NotRunning(std::io::Error),
    /// The service speaks another protocol version.
    Mismatch {
        service: Option<u64>,
    },
    /// The service answered but refused the request.
    Refused(String),
    Io(String),
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectError::NotRunning(e) => write!(f, "no service is running ({e})"),
            ConnectError::Mismatch { service } => write!(
                f,
                "the running service speaks protocol {}, this llm-repl {PROTOCOL_VERSION}: \
                 stop it (`llm-repl service stop`) so this version can start its own",
                service.map_or_else(|| "unknown".to_string(), |v| v.to_string())
            ),
            ConnectError::Refused(m) => write!(f, "the service refused: {m}"),
            ConnectError::Io(m) => write!(f, "talking to the service failed: {m}"),
        }
    }
}

impl std::error::Error for ConnectError {}

impl From<ReadError> for ConnectError {
    fn from(e: ReadError) -> Self {
        ConnectError::Io(e.to_string())
    }
}

impl From<std::io::Error> for ConnectError {
    fn from(e: std::io::Error) -> Self {
        ConnectError::Io(e.to_string())
    }
}

/// A frontend's end of a session in the service: the same shape as an in-process agent.
pub struct Connection {
    pub ops: mpsc::UnboundedSender<Op>,
    pub events: mpsc::UnboundedReceiver<Event>,
}

type Halves = (
    Reader<tokio::net::unix::OwnedReadHalf>,
    Writer<tokio::net::unix::OwnedWriteHalf>,
);

/// Connects, greets and sends `open`; returns the service's answer and the connection.
pub async fn request(socket: &Path, open: &Open) -> Result<(Opened, Halves), ConnectError> {
    let stream = UnixStream::connect(socket)
        .await
        .map_err(ConnectError::NotRunning)?;
    let (r, w) = stream.into_split();
    let mut reader = Reader::new(r);
    let mut writer = Writer::new(w);
    writer.write(&Greeting::ours()).await?;
    // Read loosely: a service of another version still says which one it is.
    let greeting: serde_json::Value = reader.read().await?;
    let theirs = greeting.get("protocol").and_then(serde_json::Value::as_u64);
    if theirs != Some(u64::from(PROTOCOL_VERSION)) {
        return Err(ConnectError::Mismatch { service: theirs });
    }
    writer.write(open).await?;
    let opened: Opened = reader.read().await?;
    Ok((opened, (reader, writer)))
}

/// Opens a session (or attaches to one) and returns its Op and Event channels.
pub async fn connect(socket: &Path, open: Open) -> Result<Connection, ConnectError> {
    let (opened, (mut reader, mut writer)) = request(socket, &open).await?;
    match opened {
        Opened::Ok => {}
        Opened::Refused { message } => return Err(ConnectError::Refused(message)),
        other => return Err(ConnectError::Io(format!("unexpected answer {other:?}"))),
    }
    let (ops_tx, mut ops_rx) = mpsc::unbounded_channel::<Op>();
    let (events_tx, events_rx) = mpsc::unbounded_channel::<Event>();
    tokio::spawn(async move {
        while let Some(op) = ops_rx.recv().await {
            if writer.write(&op).await.is_err() {
                break;
            }
        }
        // Dropping the writer closes our side: the service detaches this client.
    });
    tokio::spawn(async move {
        let mut said_goodbye = false;
        let ended = loop {
            match reader.read::<Event>().await {
                Ok(event) => {
                    said_goodbye = matches!(event, Event::ShutdownComplete);
                    if events_tx.send(event).is_err() || said_goodbye {
                        break None;
                    }
                }
                Err(ReadError::Closed) => break Some("it closed the connection".to_string()),
                Err(e) => break Some(e.to_string()),
            }
        };
        if let Some(why) = ended.filter(|_| !said_goodbye) {
            let _ = events_tx.send(Event::Error {
                message: format!(
                    "the agent service stopped ({why}; was it killed?): what completed is kept; \
                     start llm-repl again to restart it (`llm-repl service logs` shows its log)"
                ),
            });
        }
    });
    Ok(Connection {
        ops: ops_tx,
        events: events_rx,
    })
}

/// The running service's status.
pub async fn status(socket: &Path) -> Result<Status, ConnectError> {
    match request(socket, &Open::Status).await?.0 {
        Opened::Status { status } => Ok(status),
        other => Err(ConnectError::Io(format!("unexpected answer {other:?}"))),
    }
}

/// Asks the running service to stop; returns once it said it will.
pub async fn stop(socket: &Path) -> Result<(), ConnectError> {
    match request(socket, &Open::Stop).await?.0 {
        Opened::Stopping => Ok(()),
        other => Err(ConnectError::Io(format!("unexpected answer {other:?}"))),
    }
}

/// Whether something accepts connections on `socket`.
pub fn answers(socket: &Path) -> bool {
    std::os::unix::net::UnixStream::connect(socket).is_ok()
}

/// How long a starting service has to open its socket.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// Makes sure a service runs for `paths`, starting one with `start` if none answers. Two
/// callers at once start one service: the start happens under an exclusive lock on the lock
/// file, and the second caller finds the first one's service answering once it gets the lock.
/// Returns whether this call started it.
pub fn ensure_running(
    paths: &ServicePaths,
    start: impl FnOnce() -> std::io::Result<Child>,
) -> anyhow::Result<bool> {
    if answers(&paths.socket) {
        return Ok(false);
    }
    paths.prepare_dir()?;
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&paths.lock)
        .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", paths.lock.display()))?;
    // SAFETY: flock on a descriptor we own; it is released when `lock` is closed.
    if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) } != 0 {
        anyhow::bail!(
            "cannot lock {}: {}",
            paths.lock.display(),
            std::io::Error::last_os_error()
        );
    }
    if answers(&paths.socket) {
        return Ok(false);
    }
    let mut child = start().map_err(|e| anyhow::anyhow!("cannot start the service: {e}"))?;
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if answers(&paths.socket) {
            // Reap it when it exits, so it never lingers as a zombie of this process.
            std::thread::spawn(move || child.wait());
            return Ok(true);
        }
        if let Some(status) = child.try_wait()? {
            let log = std::fs::read_to_string(&paths.log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(5).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            anyhow::bail!(
                "the service did not start ({status}): {}",
                tail.join(" / ").trim()
            );
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            anyhow::bail!(
                "the service did not open {} within {}s (see {})",
                paths.socket.display(),
                START_TIMEOUT.as_secs(),
                paths.log.display()
            );
        }
        // Polling a socket that is about to appear: there is nothing to wait on instead.
        std::thread::sleep(Duration::from_millis(5));
    }
}
