//! One task per configured server: start it in the background, publish its tools when ready,
//! restart a crashed one with back-off (saying so once), and report each change as an
//! [`Event`] so the frontend shows a slow or failing server while the rest work.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use llm_repl_core::config::{McpConfig, McpServerConfig};
use llm_repl_core::{Tool, ToolSource};
use llm_repl_protocol::{Event, NoticeLevel};
use rmcp::service::QuitReason;
use rmcp::{Peer, RoleClient};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::connect::{StderrTail, connect, with_stderr};
use crate::tool::McpTool;

/// Where a server is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerState {
    Starting,
    Ready { tools: usize },
    Restarting { attempt: u32 },
    Failed(String),
    Stopped,
}

/// One configured server and what it offers now.
pub(crate) struct Server {
    pub(crate) name: String,
    pub(crate) config: McpServerConfig,
    pub(crate) default_timeout: Duration,
    live: Mutex<Live>,
    /// Ticks on every state change (for [`McpServers`]' `settled`).
    changed: watch::Sender<()>,
}

struct Live {
    state: ServerState,
    peer: Option<Peer<RoleClient>>,
    tools: Vec<Arc<dyn Tool>>,
}

impl Server {
    /// The connection to call tools on, while the server is ready.
    pub(crate) fn peer(&self) -> Option<Peer<RoleClient>> {
        self.live.lock().ok().and_then(|l| l.peer.clone())
    }

    pub(crate) fn state(&self) -> ServerState {
        self.live
            .lock()
            .map(|l| l.state.clone())
            .unwrap_or(ServerState::Stopped)
    }

    fn set(&self, state: ServerState, peer: Option<Peer<RoleClient>>, tools: Vec<Arc<dyn Tool>>) {
        if let Ok(mut live) = self.live.lock() {
            *live = Live { state, peer, tools };
        }
        self.changed.send_replace(());
    }

    /// Whether the server-side tool `name` passes the allow and deny lists.
    fn offers(&self, name: &str) -> bool {
        (self.config.allow.is_empty() || self.config.allow.iter().any(|a| a == name))
            && !self.config.deny.iter().any(|d| d == name)
    }
}

/// The configured servers: a [`ToolSource`] for the registry. Dropping it (or
/// [`McpServers::shutdown`]) stops every server.
pub struct McpServers {
    servers: Vec<Arc<Server>>,
    shutdown: CancellationToken,
    changed: watch::Sender<()>,
}

impl std::fmt::Debug for McpServers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.servers.iter().map(|s| (&s.name, s.state())))
            .finish()
    }
}

impl Drop for McpServers {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Back-off before restart attempt `n` (1-based): 1 s, 2 s, 4 s ... at most 30 s.
fn backoff(attempt: u32) -> Duration {
    Duration::from_secs(1u64 << attempt.saturating_sub(1).min(5)).min(Duration::from_secs(30))
}

/// Restarts tried in a row before a server is given up on.
const MAX_RESTARTS: u32 = 5;

/// A server that ran this long before crashing starts its back-off afresh.
const HEALTHY_RUN: Duration = Duration::from_secs(60);

impl McpServers {
    /// Starts every enabled server in the background and returns at once (needs a tokio
    /// runtime). `events` gets a notice when each is ready or fails.
    pub fn start(
        config: &McpConfig,
        workdir: PathBuf,
        default_timeout: Duration,
        events: mpsc::UnboundedSender<Event>,
    ) -> Arc<Self> {
        let shutdown = CancellationToken::new();
        let (changed, _) = watch::channel(());
        let mut servers = Vec::new();
        for (name, server_config) in config.servers.iter().filter(|(_, s)| s.enabled) {
            let server = Arc::new(Server {
                name: name.clone(),
                config: server_config.clone(),
                default_timeout,
                live: Mutex::new(Live {
                    state: ServerState::Starting,
                    peer: None,
                    tools: Vec::new(),
                }),
                changed: changed.clone(),
            });
            tokio::spawn(supervise(
                server.clone(),
                workdir.clone(),
                events.clone(),
                shutdown.child_token(),
            ));
            servers.push(server);
        }
        Arc::new(Self {
            servers,
            shutdown,
            changed,
        })
    }

    /// Each server's name and state.
    pub fn states(&self) -> Vec<(String, ServerState)> {
        self.servers
            .iter()
            .map(|s| (s.name.clone(), s.state()))
            .collect()
    }

    /// Stops every server.
    pub fn shutdown(&self) {
        self.shutdown.cancel();
    }
}

impl ToolSource for McpServers {
    fn tools(&self) -> Vec<Arc<dyn Tool>> {
        self.servers
            .iter()
            .filter_map(|s| s.live.lock().ok().map(|l| l.tools.clone()))
            .flatten()
            .collect()
    }

    fn settled(&self) -> BoxFuture<'_, ()> {
        let mut rx = self.changed.subscribe();
        Box::pin(async move {
            while self
                .servers
                .iter()
                .any(|s| s.state() == ServerState::Starting)
            {
                if rx.changed().await.is_err() {
                    return;
                }
            }
        })
    }
}

fn notice(events: &mpsc::UnboundedSender<Event>, level: NoticeLevel, text: String) {
    let _ = events.send(Event::Notice { level, text });
}

/// The life of one server: start, serve until it quits, restart with back-off.
async fn supervise(
    server: Arc<Server>,
    workdir: PathBuf,
    events: mpsc::UnboundedSender<Event>,
    shutdown: CancellationToken,
) {
    let name = server.name.clone();
    let timeout = Duration::from_secs(server.config.startup_timeout_secs);
    let mut attempt = 0u32;
    let mut said_restarting = false;
    loop {
        let stderr = StderrTail::default();
        let started = Instant::now();
        let connecting = tokio::time::timeout(timeout, connect(&server.config, &workdir, &stderr));
        let connected = tokio::select! {
            c = connecting => c,
            () = shutdown.cancelled() => break,
        };
        let (session, listed) = match connected {
            Ok(Ok(ok)) => ok,
            failed => {
                let e = match failed {
                    Ok(Err(e)) => e,
                    _ => anyhow::anyhow!("did not finish starting within {}s", timeout.as_secs()),
                };
                let reason = format!("{:#}", with_stderr(e, &stderr).await);
                if attempt == 0 || attempt >= MAX_RESTARTS {
                    // Said before the state changes, so whoever sees it settled has the notice.
                    notice(
                        &events,
                        NoticeLevel::Warn,
                        format!("mcp: {name} failed: {reason}"),
                    );
                    server.set(ServerState::Failed(reason), None, Vec::new());
                    return;
                }
                attempt += 1;
                server.set(ServerState::Restarting { attempt }, None, Vec::new());
                tokio::select! {
                    () = tokio::time::sleep(backoff(attempt)) => continue,
                    () = shutdown.cancelled() => break,
                }
            }
        };
        let peer = session.peer().clone();
        let tools: Vec<Arc<dyn Tool>> = listed
            .into_iter()
            .filter(|t| server.offers(&t.name))
            .map(|t| Arc::new(McpTool::new(server.clone(), t)) as Arc<dyn Tool>)
            .collect();
        let count = tools.len();
        server.set(ServerState::Ready { tools: count }, Some(peer), tools);
        if attempt == 0 {
            notice(
                &events,
                NoticeLevel::Info,
                format!(
                    "mcp: {name} ready with {count} tool{} ({} ms)",
                    if count == 1 { "" } else { "s" },
                    started.elapsed().as_millis()
                ),
            );
        }
        let stop = session.cancellation_token();
        let waiting = session.waiting();
        tokio::pin!(waiting);
        let quit = tokio::select! {
            q = &mut waiting => q.ok(),
            () = shutdown.cancelled() => {
                stop.cancel();
                let _ = tokio::time::timeout(Duration::from_secs(2), waiting).await;
                break;
            }
        };
        if started.elapsed() > HEALTHY_RUN {
            attempt = 0;
        }
        attempt += 1;
        if attempt > MAX_RESTARTS {
            let reason = format!("stopped {MAX_RESTARTS} times in a row; not restarting");
            server.set(ServerState::Failed(reason.clone()), None, Vec::new());
            notice(&events, NoticeLevel::Warn, format!("mcp: {name} {reason}"));
            return;
        }
        server.set(ServerState::Restarting { attempt }, None, Vec::new());
        if !said_restarting {
            said_restarting = true;
            let why = match quit {
                Some(QuitReason::Cancelled) => "it was cancelled".to_string(),
                _ => {
                    let tail = stderr.text();
                    if tail.is_empty() {
                        "the connection closed".to_string()
                    } else {
                        format!("the connection closed; stderr: {tail}")
                    }
                }
            };
            notice(
                &events,
                NoticeLevel::Warn,
                format!("mcp: {name} stopped ({why}); restarting it with back-off"),
            );
        }
        tokio::select! {
            () = tokio::time::sleep(backoff(attempt)) => {}
            () = shutdown.cancelled() => break,
        }
    }
    server.set(ServerState::Stopped, None, Vec::new());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_thirty_seconds() {
        let secs: Vec<u64> = (1..=8).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 30, 30, 30]);
    }
}
