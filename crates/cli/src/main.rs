//! The `llm-repl` binary: argument parsing, config loading, wiring, and the headless frontend.
//!
//! It owns process concerns (paths, logging, exit codes) and connects the crates; it must never
//! contain loop logic, provider protocol or rendering beyond the plain-text `exec` output.

mod cache_adapter;
mod config_cmd;
mod doctor;
mod exec;
mod logging;
mod mcp_cmd;
mod paths;
mod service_cmd;
mod sessions_cmd;
mod settings;
mod stats_cmd;
mod trust;
mod tui_cmd;
mod wiring;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Global options shared by every command.
#[derive(Debug, Clone, Args)]
pub struct Global {
    /// Provider entry or preset: openai, groq, ollama, openrouter, mock, or a [providers.NAME]
    /// from the config. Default: the config's `provider`, else the first with a key, else mock.
    #[arg(long, global = true, env = "LLM_REPL_PROVIDER")]
    pub provider: Option<String>,
    /// Model name, overriding the provider's default.
    #[arg(long, global = true, env = "LLM_REPL_MODEL")]
    pub model: Option<String>,
    /// Config file to use instead of the default one (see `llm-repl config path`).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Keep sessions in DIR instead of the default data directory (a separate profile).
    #[arg(long, global = true, value_name = "DIR", env = "LLM_REPL_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Resume the stored session ID (see `llm-repl sessions list`).
    #[arg(
        long,
        global = true,
        value_name = "ID",
        conflicts_with = "continue_last"
    )]
    pub resume: Option<String>,
    /// Resume the most recent session.
    #[arg(long = "continue", short = 'c', global = true)]
    pub continue_last: bool,
    /// Keep nothing: run without the session store (implies --standalone).
    #[arg(long, global = true)]
    pub no_store: bool,
    /// Run the agent in this process instead of in the background service (no other terminal
    /// can attach; a second instance on the same data directory is refused).
    #[arg(long, global = true, env = "LLM_REPL_STANDALONE", value_parser = clap::builder::FalseyValueParser::new())]
    pub standalone: bool,
    /// Trust the workspace (the current directory or tools.workdir): load its plugin tools
    /// (.llm-repl/tools/) and do not ask; remembered for the directory.
    #[arg(long, global = true)]
    pub trust: bool,
}

#[derive(Debug, Parser)]
#[command(
    name = "llm-repl",
    version,
    about = "A full-screen terminal where a language model and sandboxed local tools work in a \
             reason-act-observe loop.",
    long_about = None,
    after_help = paths::help_footer(),
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one prompt headless: the answer on stdout, the tool trace on stderr.
    #[command(
        after_help = "Exit codes: 0 answered, 1 failed (provider, config), 2 usage, \
3 step limit hit, 4 budget, 130 interrupted.\n\nExamples:\n  llm-repl exec \"compute 2**64 with \
python\"\n  llm-repl exec --json \"list the files here\" | jq .event\n  echo \"summarise this\" | \
llm-repl exec -"
    )]
    Exec(ExecArgs),
    /// Check config, store, python, sandbox and every provider (key, reachable, model,
    /// heartbeat). Exit code 1 when something required fails.
    Doctor(doctor::DoctorArgs),
    /// Show, locate or create the config file.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Browse, search, export, import and delete stored sessions.
    #[command(after_help = sessions_cmd::AFTER_HELP)]
    Sessions(sessions_cmd::SessionsArgs),
    /// Cost and tokens over a period: by day, model, provider, session; savings suggestions.
    #[command(after_help = stats_cmd::AFTER_HELP)]
    Stats(stats_cmd::StatsArgs),
    /// Model Context Protocol servers: list, add, remove, test.
    #[command(after_help = mcp_cmd::AFTER_HELP)]
    Mcp {
        #[command(subcommand)]
        action: mcp_cmd::McpAction,
    },
    /// Run the agent service in the foreground (the TUI and `exec` start it in the background
    /// when none runs).
    Serve(service_cmd::ServeArgs),
    /// The background agent service: status, stop, logs.
    Service {
        #[command(subcommand)]
        action: service_cmd::ServiceAction,
    },
    /// Open a session another terminal is using: its history, then the running turn live.
    Attach {
        /// The session (see `llm-repl service status`); default: the one most recently active.
        id: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The prompt; `-` reads it from standard input.
    pub prompt: String,
    /// Print every event as one JSON object per line on stdout instead of text.
    #[arg(long)]
    pub json: bool,
    /// When to ask before a tool runs. Headless, a call that needs approval is denied.
    #[arg(long, value_enum)]
    pub approval: Option<Approval>,
    /// Model round trips allowed in the turn (default: config's max_steps, 25).
    #[arg(long)]
    pub max_steps: Option<u32>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Approval {
    Never,
    OnRisk,
    Always,
}

impl Approval {
    pub fn as_config(self) -> &'static str {
        match self {
            Approval::Never => "never",
            Approval::OnRisk => "on-risk",
            Approval::Always => "always",
        }
    }
}

#[derive(Debug, Subcommand)]
enum ConfigAction {
    /// Print the config file's path (`--all`: where the config, data and logs live).
    Path {
        /// Print the labelled list of the config, data and log locations.
        #[arg(long)]
        all: bool,
    },
    /// Print the effective configuration (file plus environment), keys never shown.
    Show,
    /// Write the commented default configuration (refuses to overwrite without --force).
    Init {
        #[arg(long)]
        force: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!(
                "error: {}",
                llm_repl_protocol::terminal_safe(&format!("{err:#}"))
            );
            ExitCode::from(1)
        }
    }
}

/// glibc gives each thread that allocates its own malloc arena (up to 8 per core), each
/// touching its first pages: exec's log writer and the store's threads made that ~1-2 MB of a
/// one-shot run's peak memory. Exec allocates little and mostly on one thread, so one shared
/// arena costs it nothing. Must run before any thread starts.
fn one_malloc_arena() {
    // SAFETY: mallopt only sets an allocator parameter; called before other threads exist.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Some(Command::Config { action }) => {
            match action {
                ConfigAction::Path { all } => config_cmd::path(&cli.global, all),
                ConfigAction::Show => config_cmd::show(&cli.global)?,
                ConfigAction::Init { force } => config_cmd::init(&cli.global, force)?,
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Doctor(args)) => doctor::run(&cli.global, args),
        Some(Command::Exec(args)) => {
            one_malloc_arena();
            let settings = settings::Settings::load(&cli.global)?;
            let _log = logging::init(&settings);
            exec::run(settings, args)
        }
        Some(Command::Sessions(args)) => {
            sessions_cmd::run(&settings::Settings::load(&cli.global)?, args)
        }
        Some(Command::Stats(args)) => stats_cmd::run(&settings::Settings::load(&cli.global)?, args),
        Some(Command::Mcp { action }) => mcp_cmd::run(&cli.global, action),
        Some(Command::Serve(args)) => {
            let settings = settings::Settings::load(&cli.global)?;
            let _log = logging::init(&settings);
            service_cmd::serve(settings, args)
        }
        Some(Command::Service { action }) => {
            service_cmd::control(&settings::Settings::load(&cli.global)?, action)
        }
        Some(Command::Attach { id }) => {
            let settings = settings::Settings::load(&cli.global)?;
            let _log = logging::init(&settings);
            tui_cmd::attach(settings, id)
        }
        None => {
            let settings = settings::Settings::load(&cli.global)?;
            let _log = logging::init(&settings);
            tui_cmd::run(settings)
        }
    }
}
