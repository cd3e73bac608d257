//! The service process: the socket, the handshake, the sessions, idle exit and stop.
//!
//! Each connection is one task: greeting, [`Open`], then a loop that passes the client's Ops to
//! its session's [`Hub`] and the hub's Events to the client. Anything unreadable from a client
//! (a malformed or oversized frame, a wrong greeting) ends that connection alone.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use llm_repl_core::{Agent, AgentDeps};
use llm_repl_protocol::{Event, NoticeLevel, SessionId};
use llm_repl_store::Store;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use crate::hub::{ClientId, Delivery, Hub, Next};
use crate::paths::{ServicePaths, euid};
use crate::wire::{
    Greeting, Open, Opened, PROTOCOL_VERSION, ReadError, Reader, SessionSpec, SessionStatus,
    Status, Writer,
};

/// Builds a session's agent dependencies from what the client asked (the binary supplies it:
/// only it knows config files, provider wiring and trust). The store is the service's.
pub type AgentFactory =
    Arc<dyn Fn(&SessionSpec, Option<Store>) -> Result<AgentDeps, String> + Send + Sync>;

/// What a service runs with.
pub struct ServiceConfig {
    pub paths: ServicePaths,
    /// The store, opened (and so locked) by the caller; `None` keeps nothing.
    pub store: Option<Store>,
    pub factory: AgentFactory,
    /// Exit after this long with no client and no running turn; `None`: never.
    pub idle_exit: Option<Duration>,
}

/// How long a client has to greet before it is dropped.
const GREETING_TIMEOUT: Duration = Duration::from_secs(10);

struct Shared {
    paths: ServicePaths,
    store: Option<Store>,
    factory: AgentFactory,
    hubs: Mutex<Vec<Arc<Hub>>>,
    connections: AtomicUsize,
    next_client: AtomicU64,
    started: Instant,
    stop: CancellationToken,
}

/// Counts a connection while it lives.
struct Counted(Arc<Shared>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A bound service socket, ready to [`Bound::run`].
pub struct Bound {
    listener: UnixListener,
    config: ServiceConfig,
}

/// Binds the socket: prepares the private directory, refuses when a service already answers
/// there, replaces a stale socket file, makes the socket 0600 and writes the pid file.
pub fn bind(config: ServiceConfig) -> anyhow::Result<Bound> {
    let paths = &config.paths;
    paths.prepare_dir()?;
    if paths.socket.exists() {
        if std::os::unix::net::UnixStream::connect(&paths.socket).is_ok() {
            anyhow::bail!(
                "a service already runs on {} (`llm-repl service status`)",
                paths.socket.display()
            );
        }
        // Nobody answers: left by a service that was killed.
        std::fs::remove_file(&paths.socket)
            .map_err(|e| anyhow::anyhow!("cannot remove {}: {e}", paths.socket.display()))?;
    }
    let listener = UnixListener::bind(&paths.socket)
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", paths.socket.display()))?;
    paths.restrict_socket()?;
    let _ = std::fs::write(paths.pid_file(), std::process::id().to_string());
    Ok(Bound { listener, config })
}

impl Bound {
    /// Serves until stopped (`Open::Stop`, SIGTERM, SIGINT) or idle for the configured time;
    /// then stops every session (a running turn is interrupted and kept) and removes the socket.
    pub async fn run(self) -> anyhow::Result<()> {
        let Bound { listener, config } = self;
        let shared = Arc::new(Shared {
            paths: config.paths,
            store: config.store,
            factory: config.factory,
            hubs: Mutex::default(),
            connections: AtomicUsize::new(0),
            next_client: AtomicU64::new(1),
            started: Instant::now(),
            stop: CancellationToken::new(),
        });
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        let mut idle_since = Instant::now();
        tracing::info!(socket = %shared.paths.socket.display(), "service listening");
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    match stream.peer_cred() {
                        Ok(cred) if cred.uid() == euid() => {}
                        Ok(cred) => {
                            tracing::warn!(uid = cred.uid(), "refused a connection of another user");
                            continue;
                        }
                        Err(e) => {
                            tracing::warn!("cannot read the peer's credentials: {e}");
                            continue;
                        }
                    }
                    shared.connections.fetch_add(1, Ordering::SeqCst);
                    let guard = Counted(shared.clone());
                    tokio::spawn(connection(shared.clone(), stream, guard));
                }
                _ = shared.stop.cancelled() => break,
                _ = tokio::signal::ctrl_c() => break,
                _ = term.recv() => break,
                _ = tick.tick() => {
                    let busy = shared.connections.load(Ordering::SeqCst) > 0 || {
                        let mut hubs = lock(&shared.hubs);
                        hubs.retain(|h| !h.done());
                        !hubs.is_empty()
                    };
                    if busy {
                        idle_since = Instant::now();
                    } else if config.idle_exit.is_some_and(|d| idle_since.elapsed() >= d) {
                        tracing::info!("idle: exiting");
                        break;
                    }
                }
            }
        }
        drop(listener);
        let _ = std::fs::remove_file(&shared.paths.socket);
        let _ = std::fs::remove_file(shared.paths.pid_file());
        let hubs: Vec<Arc<Hub>> = lock(&shared.hubs).clone();
        for hub in &hubs {
            hub.shut_down();
        }
        // Each agent finishes what is durable; bounded so a stuck tool cannot hold the exit.
        let deadline = Instant::now() + Duration::from_secs(10);
        while hubs.iter().any(|h| !h.done()) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if let Some(store) = &shared.store {
            let _ = store.flush();
        }
        Ok(())
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The lists behind these locks stay consistent between statements; a panic elsewhere does
    // not make them unusable.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    /// The hub of a new session, or of a stored one (joining the agent already running it).
    fn open_session(&self, mut spec: SessionSpec) -> Result<Arc<Hub>, String> {
        if spec.continue_last && spec.resume.is_none() {
            spec.resume = match &self.store {
                Some(store) => store
                    .last_session()
                    .map_err(|e| format!("cannot read the last session: {e}"))?
                    .map(|s| s.id),
                None => None,
            };
        }
        spec.continue_last = false;
        let mut hubs = lock(&self.hubs);
        hubs.retain(|h| !h.done());
        if let Some(id) = &spec.resume
            && let Some(hub) = hubs.iter().find(|h| h.session().as_ref() == Some(id))
        {
            return Ok(hub.clone());
        }
        let deps = (self.factory)(&spec, self.store.clone())?;
        let hub = Hub::start(Agent::spawn(deps), spec, self.store.clone());
        hubs.push(hub.clone());
        Ok(hub)
    }

    /// The hub running `session` (`None`: the one most recently started with a running turn,
    /// else the most recent), or, for a stored session no agent has open, a new one for it.
    fn attach(&self, session: Option<SessionId>, spec: SessionSpec) -> Result<Arc<Hub>, String> {
        {
            let mut hubs = lock(&self.hubs);
            hubs.retain(|h| !h.done());
            let found = match &session {
                // The id or a prefix of it, as `service status` and `sessions list` show them.
                Some(id) => {
                    let open: Vec<&Arc<Hub>> = hubs
                        .iter()
                        .filter(|h| h.session().is_some_and(|s| s.starts_with(id.as_str())))
                        .collect();
                    if open.len() > 1 {
                        return Err(format!(
                            "the id prefix {id:?} matches {} open sessions; give more of the id",
                            open.len()
                        ));
                    }
                    open.first().copied()
                }
                None => hubs
                    .iter()
                    .rev()
                    .find(|h| h.running())
                    .or_else(|| hubs.iter().rev().find(|h| h.session().is_some())),
            };
            if let Some(hub) = found {
                return Ok(hub.clone());
            }
        }
        match session {
            Some(id) => self.open_session(SessionSpec {
                resume: Some(id),
                ..spec
            }),
            None => Err("no session is open in the service".into()),
        }
    }

    fn status(&self) -> Status {
        let hubs: Vec<Arc<Hub>> = lock(&self.hubs).clone();
        Status {
            pid: std::process::id(),
            protocol: PROTOCOL_VERSION,
            data_dir: self.paths.data_dir.clone(),
            uptime_secs: self.started.elapsed().as_secs(),
            // Not counting the connection asking.
            clients: self.connections.load(Ordering::SeqCst).saturating_sub(1),
            sessions: hubs
                .iter()
                .filter(|h| !h.done())
                .filter_map(|h| {
                    Some(SessionStatus {
                        id: h.session()?,
                        clients: h.clients(),
                        running: h.running(),
                        waiting_approval: h.waiting_approval(),
                    })
                })
                .collect(),
        }
    }
}

type SocketReader = Reader<tokio::net::unix::OwnedReadHalf>;
type SocketWriter = Writer<tokio::net::unix::OwnedWriteHalf>;

async fn connection(shared: Arc<Shared>, stream: UnixStream, _counted: Counted) {
    let id = shared.next_client.fetch_add(1, Ordering::SeqCst);
    let (r, w) = stream.into_split();
    let mut reader = Reader::new(r);
    let mut writer = Writer::new(w);
    let found = match handshake(&shared, &mut reader, &mut writer).await {
        Ok(Some(found)) => found,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(client = id, "connection closed: {e}");
            return;
        }
    };
    if let Err(e) = serve_client(&shared, id, found, &mut reader, &mut writer).await {
        tracing::warn!(client = id, "connection closed: {e}");
    }
}

/// Greeting and Open. `Ok(None)`: answered and done (status, stop, refusal, other version).
async fn handshake(
    shared: &Shared,
    reader: &mut SocketReader,
    writer: &mut SocketWriter,
) -> anyhow::Result<Option<(Arc<Hub>, String)>> {
    // Read loosely: a client of another version may send more, and still gets our version.
    let greeting: serde_json::Value =
        tokio::time::timeout(GREETING_TIMEOUT, reader.read()).await??;
    let theirs = greeting.get("protocol").and_then(serde_json::Value::as_u64);
    let app = greeting.get("app").and_then(serde_json::Value::as_str);
    writer.write(&Greeting::ours()).await?;
    if app != Some("llm-repl") {
        anyhow::bail!("not an llm-repl client");
    }
    if theirs != Some(u64::from(PROTOCOL_VERSION)) {
        anyhow::bail!("client speaks protocol {theirs:?}, this service {PROTOCOL_VERSION}: closed");
    }
    let open: Open = match reader.read().await {
        Ok(open) => open,
        Err(e) => {
            let message = format!("cannot read the request: {e}");
            writer.write(&Opened::Refused { message }).await?;
            return Err(e.into());
        }
    };
    let opened = match open {
        Open::Status => {
            writer
                .write(&Opened::Status {
                    status: shared.status(),
                })
                .await?;
            return Ok(None);
        }
        Open::Stop => {
            writer.write(&Opened::Stopping).await?;
            shared.stop.cancel();
            return Ok(None);
        }
        Open::Session { spec } => {
            let who = spec.client.clone();
            shared.open_session(spec).map(|h| (h, who))
        }
        Open::Attach { session, spec } => {
            let who = spec.client.clone();
            shared.attach(session, spec).map(|h| (h, who))
        }
    };
    match opened {
        Ok(found) => {
            writer.write(&Opened::Ok).await?;
            Ok(Some(found))
        }
        Err(message) => {
            writer.write(&Opened::Refused { message }).await?;
            Ok(None)
        }
    }
}

/// Passes Ops to the hub and Events to the client until the client leaves or the session ends.
async fn serve_client(
    shared: &Shared,
    id: ClientId,
    (mut hub, who): (Arc<Hub>, String),
    reader: &mut SocketReader,
    writer: &mut SocketWriter,
) -> anyhow::Result<()> {
    let who = if who.is_empty() {
        format!("client {id}")
    } else {
        who
    };
    'session: loop {
        let Some(mut sub) = hub.attach() else {
            // It was closing as we came: a fresh agent on the same session.
            hub = shared
                .open_session(SessionSpec {
                    resume: hub.session(),
                    ..hub.spec.clone()
                })
                .map_err(anyhow::Error::msg)?;
            continue;
        };
        for event in std::mem::take(&mut sub.replay) {
            writer.write(&event).await?;
        }
        loop {
            tokio::select! {
                frame = reader.read() => {
                    let op = match frame {
                        Ok(op) => op,
                        Err(e) => {
                            hub.detach(id);
                            return match e {
                                ReadError::Closed => Ok(()),
                                e => Err(e.into()),
                            };
                        }
                    };
                    match hub.handle(id, &who, op) {
                        Next::Stay => {}
                        Next::Detach => {
                            hub.detach(id);
                            writer.write(&Event::ShutdownComplete).await?;
                            return Ok(());
                        }
                        Next::Switch(session) => {
                            let spec = SessionSpec {
                                resume: session,
                                continue_last: false,
                                notices: Vec::new(),
                                ..hub.spec.clone()
                            };
                            match shared.open_session(spec) {
                                Ok(next) => {
                                    hub.detach(id);
                                    hub = next;
                                    continue 'session;
                                }
                                Err(message) => writer.write(&Event::Error { message }).await?,
                            }
                        }
                    }
                }
                delivery = sub.rx.recv() => match delivery {
                    Ok(Delivery::All(event)) => {
                        writer.write(&*event).await?;
                        if matches!(*event, Event::ShutdownComplete) {
                            return Ok(());
                        }
                    }
                    Ok(Delivery::To(to, event)) if to == id => writer.write(&*event).await?,
                    Ok(Delivery::To(..)) => {}
                    Err(RecvError::Lagged(missed)) => {
                        sub = hub.resubscribe();
                        writer.write(&Event::Notice {
                            level: NoticeLevel::Warn,
                            text: format!(
                                "this terminal fell {missed} events behind: resynchronised \
                                 from the store"
                            ),
                        }).await?;
                        for event in std::mem::take(&mut sub.replay) {
                            writer.write(&event).await?;
                        }
                    }
                    Err(RecvError::Closed) => return Ok(()),
                }
            }
        }
    }
}
