//! The agent service from the binary's side: `llm-repl serve`, `llm-repl service
//! status|stop|logs`, and how the TUI and `exec` reach their agent (in this process with
//! `--standalone`/`--no-store`, else in the service, started in the background if none runs).

use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, Subcommand};
use llm_repl_core::Agent;
use llm_repl_protocol::{Event, Op};
use llm_repl_service::paths::fingerprint;
use llm_repl_service::server::ServiceConfig;
use llm_repl_service::wire::KeyFingerprint;
use llm_repl_service::{AgentFactory, Open, ServicePaths, SessionSpec};
use tokio::sync::mpsc;

use crate::settings::Settings;
use crate::wiring;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Exit after this many seconds with no client and no running turn (default: the config's
    /// `[service] idle_exit_secs`; 0: never).
    #[arg(long, value_name = "SECS")]
    pub idle_exit_secs: Option<u64>,
}

#[derive(Debug, Subcommand)]
pub enum ServiceAction {
    /// Whether a service runs for this data directory: its pid, sessions and clients.
    Status,
    /// Stop the service: running turns are interrupted and kept.
    Stop,
    /// Print the end of the background service's log.
    Logs {
        /// How many lines.
        #[arg(long, default_value_t = 100)]
        lines: usize,
    },
}

/// The service files of this data directory.
pub fn paths(settings: &Settings) -> ServicePaths {
    ServicePaths::for_data_dir(&settings.data_dir(), None)
}

/// `llm-repl serve`: owns the store and serves sessions until stopped or idle.
pub fn serve(settings: Settings, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let paths = paths(&settings);
    let store = wiring::open_store(&settings)?;
    let idle = args
        .idle_exit_secs
        .unwrap_or(settings.config.service.idle_exit_secs);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let bound = llm_repl_service::bind(ServiceConfig {
            paths,
            store: Some(store),
            factory: factory(settings),
            idle_exit: (idle > 0).then(|| Duration::from_secs(idle)),
        })?;
        bound.run().await
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Builds each session's agent from the service's settings (its config file and environment,
/// read once at its start) with what the client asked for.
fn factory(base: Settings) -> AgentFactory {
    Arc::new(move |spec: &SessionSpec, store| {
        let mut s = base.clone();
        s.config.tools.workdir = spec.workdir.display().to_string();
        if let Some(provider) = &spec.provider {
            s.provider = provider.clone();
        }
        if let Some(model) = &spec.model {
            s.config.model = model.clone();
        }
        if let Some(approval) = &spec.approval {
            s.config.tools.approval = approval.clone();
        }
        if let Some(steps) = spec.max_steps {
            s.config.max_steps = steps;
        }
        s.resume = spec.resume.clone();
        s.continue_last = false;
        s.workspace_trusted = spec.trusted;
        let mut notices = spec.notices.clone();
        if let Some(theirs) = &spec.key
            && key_fingerprint(&s).as_ref() != Some(theirs)
        {
            notices.push((
                llm_repl_protocol::NoticeLevel::Warn,
                format!(
                    "the agent service uses the {} it read when it started, which differs from \
                     this terminal's: `llm-repl service stop` and start again to use yours",
                    theirs.env
                ),
            ));
        }
        wiring::agent_deps_on(&s, spec.interactive, notices, store).map_err(|e| format!("{e:#}"))
    })
}

/// `llm-repl service status|stop|logs`.
pub fn control(settings: &Settings, action: ServiceAction) -> anyhow::Result<ExitCode> {
    let paths = paths(settings);
    if let ServiceAction::Logs { lines } = action {
        return logs(&paths, lines);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        match action {
            ServiceAction::Status => match llm_repl_service::client::status(&paths.socket).await {
                Ok(status) => {
                    println!(
                        "running: pid {}, up {}s, protocol {}\ndata:    {}\nsocket:  {}\nclients: {}",
                        status.pid,
                        status.uptime_secs,
                        status.protocol,
                        status.data_dir.display(),
                        paths.socket.display(),
                        status.clients
                    );
                    for s in &status.sessions {
                        let state = if s.waiting_approval {
                            "waiting for approval"
                        } else if s.running {
                            "running"
                        } else {
                            "idle"
                        };
                        println!("session {}  {state}  {} client(s)", s.id, s.clients);
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(llm_repl_service::ConnectError::NotRunning(_)) => {
                    println!(
                        "not running (socket {}); `llm-repl` or `llm-repl exec` start it",
                        paths.socket.display()
                    );
                    Ok(ExitCode::from(3))
                }
                Err(e) => Err(e.into()),
            },
            ServiceAction::Stop => match llm_repl_service::client::stop(&paths.socket).await {
                Ok(()) => {
                    // Gone once its socket is: it removes it after stopping its sessions.
                    let deadline = Instant::now() + Duration::from_secs(20);
                    while paths.socket.exists() && Instant::now() < deadline {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    println!("stopped");
                    Ok(ExitCode::SUCCESS)
                }
                Err(llm_repl_service::ConnectError::NotRunning(_)) => {
                    println!("not running");
                    Ok(ExitCode::SUCCESS)
                }
                // A service of another version cannot be asked: its pid file can.
                Err(llm_repl_service::ConnectError::Mismatch { service }) => {
                    terminate(&paths).with_context(|| {
                        format!("the running service speaks protocol {service:?}")
                    })?;
                    let deadline = Instant::now() + Duration::from_secs(20);
                    while paths.socket.exists() && Instant::now() < deadline {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    println!("stopped (it was of another version)");
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => Err(e.into()),
            },
            ServiceAction::Logs { .. } => unreachable!("handled above"),
        }
    })
}

/// SIGTERM to the pid in the service's pid file (it stops as on `service stop`).
fn terminate(paths: &ServicePaths) -> anyhow::Result<()> {
    let pid: i32 = std::fs::read_to_string(paths.pid_file())
        .context("cannot read its pid file")?
        .trim()
        .parse()
        .context("its pid file is not a pid")?;
    // SAFETY: kill(2) with a pid read from our private (0700) service directory.
    if unsafe { libc::kill(pid, libc::SIGTERM) } != 0 {
        anyhow::bail!(
            "cannot signal pid {pid}: {}",
            std::io::Error::last_os_error()
        );
    }
    Ok(())
}

fn logs(paths: &ServicePaths, lines: usize) -> anyhow::Result<ExitCode> {
    let Ok(mut file) = std::fs::File::open(&paths.log) else {
        println!("no service log at {}", paths.log.display());
        return Ok(ExitCode::SUCCESS);
    };
    // The end is what matters: read at most the last MiB.
    let len = file.metadata().map_or(0, |m| m.len());
    file.seek(SeekFrom::Start(len.saturating_sub(1 << 20)))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    // The cut may fall inside a character.
    let text = String::from_utf8_lossy(&bytes);
    let all: Vec<&str> = text.lines().collect();
    for line in &all[all.len().saturating_sub(lines)..] {
        println!("{}", llm_repl_protocol::terminal_safe(line));
    }
    Ok(ExitCode::SUCCESS)
}

/// Starts `llm-repl serve` for this data directory in the background: its own process group
/// (a Ctrl-C in this terminal does not reach it), standard error to the service log.
fn spawn_service(settings: &Settings, paths: &ServicePaths) -> std::io::Result<Child> {
    let exe = std::env::current_exe()?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&paths.log)?;
    let mut cmd = Command::new(exe);
    cmd.arg("serve");
    if let Some(config) = &settings.source {
        cmd.arg("--config").arg(std::path::absolute(config)?);
    }
    cmd.arg("--data-dir")
        .arg(&paths.data_dir)
        .env_remove("LLM_REPL_STANDALONE")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        // Holding no client's directory; every path it is given is absolute.
        .current_dir("/")
        .process_group(0);
    cmd.spawn()
}

/// A frontend's agent: Ops in, Events out, wherever it runs.
pub struct Link {
    pub ops: mpsc::UnboundedSender<Op>,
    pub events: mpsc::UnboundedReceiver<Event>,
}

/// Makes sure the service runs (starting it if needed). Blocking: call before the runtime.
pub fn ensure_service(settings: &Settings) -> anyhow::Result<ServicePaths> {
    let paths = paths(settings);
    llm_repl_service::ensure_running(&paths, || spawn_service(settings, &paths))?;
    Ok(paths)
}

/// What this client asks of its session in the service.
pub fn spec(settings: &Settings, interactive: bool, client: &str) -> anyhow::Result<SessionSpec> {
    Ok(SessionSpec {
        workdir: settings.workdir()?,
        provider: Some(settings.provider.clone()),
        model: Some(settings.config.model.clone()).filter(|m| !m.is_empty()),
        approval: Some(settings.config.tools.approval.clone()),
        max_steps: Some(settings.config.max_steps),
        interactive,
        trusted: settings.workspace_trusted,
        resume: settings.resume.clone(),
        continue_last: settings.continue_last,
        notices: Vec::new(),
        client: format!("{client} pid {}", std::process::id()),
        key: key_fingerprint(settings),
    })
}

/// The chosen provider's key variable and a fingerprint of its value in this process's
/// environment (`None` for a provider without a key, or a route).
fn key_fingerprint(settings: &Settings) -> Option<KeyFingerprint> {
    let resolved =
        llm_repl_providers::resolve(&settings.provider, &settings.config, &crate::settings::env)
            .ok()?;
    let env = resolved.api_key_env;
    if env.is_empty() {
        return None;
    }
    let hash = crate::settings::env(&env).map(|v| fingerprint(v.as_bytes()));
    Some(KeyFingerprint { env, hash })
}

/// Connects to the service (already ensured running) with `open`.
pub async fn connect(paths: &ServicePaths, open: Open) -> anyhow::Result<Link> {
    let conn = llm_repl_service::connect(&paths.socket, open).await?;
    Ok(Link {
        ops: conn.ops,
        events: conn.events,
    })
}

/// The agent in this process (`--standalone`, `--no-store`). `settle`: wait until the tool
/// sources (MCP servers) have started, so the first turn has their tools (headless: nothing is
/// on screen to wait behind).
pub async fn in_process(
    settings: &Settings,
    interactive: bool,
    notices: Vec<(llm_repl_protocol::NoticeLevel, String)>,
    settle: bool,
) -> anyhow::Result<Link> {
    let deps = wiring::agent_deps(settings, interactive, notices)?;
    if settle {
        // Each server's start is bounded by its startup_timeout_secs.
        deps.tools.sources_settled().await;
    }
    let handle = Agent::spawn(deps);
    Ok(Link {
        ops: handle.ops,
        events: handle.events,
    })
}
