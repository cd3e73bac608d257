//! Starting one server's transport and initialising it: a child process speaking stdio, or a
//! streamable-HTTP endpoint. Also [`probe`], the whole life of a server for `llm-repl mcp test`.

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use llm_repl_core::config::McpServerConfig;
use rmcp::model::{ClientRequest, Tool as McpTool};
use rmcp::service::RunningService;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use tokio::io::{AsyncBufReadExt, BufReader};

/// A running client session with a server.
pub(crate) type Session = RunningService<RoleClient, ()>;

/// The environment a stdio server inherits; the rest of ours (keys above all) is not passed.
/// What else it needs goes in its `env` table.
const PASSED_ENV: [&str; 11] = [
    "HOME",
    "PATH",
    "USER",
    "LOGNAME",
    "SHELL",
    "TERM",
    "LANG",
    "LC_ALL",
    "TMPDIR",
    "TZ",
    "XDG_CACHE_HOME",
];

/// The last lines a stdio server wrote to stderr, kept to explain a failure (never logged:
/// a server may print what it was given).
#[derive(Clone)]
pub(crate) struct StderrTail {
    lines: Arc<Mutex<VecDeque<String>>>,
    /// True once the server's stderr reached its end (the process exited).
    closed: Arc<tokio::sync::watch::Sender<bool>>,
}

impl Default for StderrTail {
    fn default() -> Self {
        Self {
            lines: Arc::default(),
            closed: Arc::new(tokio::sync::watch::channel(false).0),
        }
    }
}

impl StderrTail {
    const LINES: usize = 5;

    fn push(&self, line: String) {
        if let Ok(mut lines) = self.lines.lock() {
            if lines.len() == Self::LINES {
                lines.pop_front();
            }
            lines.push_back(line);
        }
    }

    /// The tail joined as one line, or empty.
    pub(crate) fn text(&self) -> String {
        self.lines
            .lock()
            .map(|l| l.iter().cloned().collect::<Vec<_>>().join(" | "))
            .unwrap_or_default()
    }
}

/// Starts the server and completes the MCP handshake and the tool listing.
pub(crate) async fn connect(
    config: &McpServerConfig,
    workdir: &Path,
    stderr: &StderrTail,
) -> anyhow::Result<(Session, Vec<McpTool>)> {
    let session = if config.url.is_empty() {
        let mut cmd = tokio::process::Command::new(&config.command);
        cmd.args(&config.args).env_clear().kill_on_drop(true);
        for key in PASSED_ENV {
            if let Some(value) = std::env::var_os(key) {
                cmd.env(key, value);
            }
        }
        cmd.envs(&config.env);
        cmd.current_dir(if config.cwd.is_empty() {
            workdir
        } else {
            Path::new(&config.cwd)
        });
        let (transport, err) = TokioChildProcess::builder(cmd)
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {:?}", config.command))?;
        if let Some(err) = err {
            let tail = stderr.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(err).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    tail.push(line);
                }
                tail.closed.send_replace(true);
            });
        }
        ().serve(transport).await.map_err(|e| anyhow!("{e}"))?
    } else {
        let mut http = StreamableHttpClientTransportConfig::with_uri(config.url.clone());
        if !config.bearer_token_env.is_empty() {
            let token = std::env::var(&config.bearer_token_env).map_err(|_| {
                anyhow!("{} (bearer_token_env) is not set", config.bearer_token_env)
            })?;
            http = http.auth_header(token);
        }
        let mut headers = HashMap::new();
        for (k, v) in &config.headers {
            let name = http::HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| anyhow!("header {k:?} is not a valid HTTP header name"))?;
            // The value is not repeated in the message: it may be a key.
            let value = http::HeaderValue::from_str(v)
                .map_err(|_| anyhow!("the value of header {k:?} is not valid"))?;
            headers.insert(name, value);
        }
        http = http.custom_headers(headers);
        let transport = StreamableHttpClientTransport::from_config(http);
        ().serve(transport).await.map_err(|e| anyhow!("{e}"))?
    };
    let tools = session
        .peer()
        .list_all_tools()
        .await
        .map_err(|e| anyhow!("tools/list failed: {e}"))?;
    Ok((session, tools))
}

/// What `llm-repl mcp test` found.
#[derive(Debug)]
pub struct Probe {
    /// Server name and version from its `initialize` answer.
    pub server: String,
    pub tools: Vec<(String, String)>,
    pub startup: Duration,
    pub ping: Duration,
}

/// Starts the server, lists its tools, pings it once and stops it.
pub async fn probe(config: &McpServerConfig, workdir: &Path) -> anyhow::Result<Probe> {
    let stderr = StderrTail::default();
    let started = Instant::now();
    let timeout = Duration::from_secs(config.startup_timeout_secs);
    let (mut session, tools) =
        match tokio::time::timeout(timeout, connect(config, workdir, &stderr)).await {
            Ok(Ok(ok)) => ok,
            Ok(Err(e)) => return Err(with_stderr(e, &stderr).await),
            Err(_) => {
                let e = anyhow!("no answer within {}s", config.startup_timeout_secs);
                return Err(with_stderr(e, &stderr).await);
            }
        };
    let startup = started.elapsed();
    let server = session
        .peer()
        .peer_info()
        .and_then(|i| i.server_info.clone())
        .map(|i| format!("{} {}", i.name, i.version))
        .unwrap_or_else(|| "unknown server".into());
    let pinged = Instant::now();
    let ping = tokio::time::timeout(
        timeout,
        session
            .peer()
            .send_request(ClientRequest::PingRequest(Default::default())),
    )
    .await;
    let ping_took = pinged.elapsed();
    let _ = session.close_with_timeout(Duration::from_secs(5)).await;
    match ping {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => anyhow::bail!("ping failed: {e}"),
        Err(_) => anyhow::bail!("ping: no answer within {}s", config.startup_timeout_secs),
    }
    Ok(Probe {
        server,
        tools: tools
            .into_iter()
            .map(|t| {
                let description = t.description.as_deref().unwrap_or("").to_string();
                (t.name.to_string(), description)
            })
            .collect(),
        startup,
        ping: ping_took,
    })
}

/// The error with what the server last wrote to stderr, if anything. A server that failed
/// is often exiting: its last words are waited for a moment.
pub(crate) async fn with_stderr(e: anyhow::Error, stderr: &StderrTail) -> anyhow::Error {
    let mut closed = stderr.closed.subscribe();
    let _ = tokio::time::timeout(Duration::from_millis(500), closed.wait_for(|c| *c)).await;
    let tail = stderr.text();
    if tail.is_empty() {
        e
    } else {
        anyhow!("{e:#} (stderr: {tail})")
    }
}
