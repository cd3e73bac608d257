//! `llm-repl mcp list|add|remove|test`: the configured MCP servers. `add` and `remove` edit the
//! user's config file in place (toml_edit keeps its comments and layout) and check the result
//! parses before writing it; `test` starts one server, lists its tools, pings it once and stops
//! it, and says the result in its exit code. Env and header values are never printed.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use llm_repl_core::Config;
use llm_repl_core::config::McpServerConfig;

use crate::settings::Settings;
use crate::{Global, paths};

/// A line on stdout; a closed pipe (`| head`) ends the output quietly.
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = crate::sessions_cmd::out(&format!("{}\n", format_args!($($arg)*)));
    }};
}

pub const AFTER_HELP: &str = "Examples:\n  llm-repl mcp add everything -- npx -y \
@modelcontextprotocol/server-everything\n  llm-repl mcp add remote --url https://example.com/mcp \
--bearer-token-env REMOTE_TOKEN\n  llm-repl mcp test everything\n\nExit codes of test: 0 the server \
started, listed its tools and answered a ping; 1 it did not (the reason is printed).";

#[derive(Debug, Subcommand)]
pub enum McpAction {
    /// List the configured servers (env values are not shown).
    List,
    /// Add a server: `add NAME -- CMD ARGS...` (stdio) or `add NAME --url URL` (HTTP).
    Add(AddArgs),
    /// Remove a server from the config file.
    Remove { name: String },
    /// Start a server, list its tools, ping it once and stop it.
    Test { name: String },
}

#[derive(Debug, Args)]
pub struct AddArgs {
    pub name: String,
    /// A streamable-HTTP server's endpoint.
    #[arg(long)]
    pub url: Option<String>,
    /// The environment variable holding a bearer token (with --url).
    #[arg(long, requires = "url")]
    pub bearer_token_env: Option<String>,
    /// Environment for a stdio server, KEY=VALUE (repeatable).
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Calls need no approval.
    #[arg(long)]
    pub trusted: bool,
    /// The command and its arguments, after `--`.
    #[arg(last = true, value_name = "CMD ARGS")]
    pub command: Vec<String>,
}

pub fn run(global: &Global, action: McpAction) -> anyhow::Result<ExitCode> {
    let path = global.config.clone().unwrap_or_else(paths::config_file);
    match action {
        McpAction::List => list(&Settings::load(global)?),
        McpAction::Add(args) => {
            add(&path, &args)?;
            say!("added {} to {}", args.name, path.display());
        }
        McpAction::Remove { name } => {
            remove(&path, &name)?;
            say!("removed {name} from {}", path.display());
        }
        McpAction::Test { name } => return test(&Settings::load(global)?, &name),
    }
    Ok(ExitCode::SUCCESS)
}

fn list(settings: &Settings) {
    let servers = &settings.config.mcp.servers;
    if servers.is_empty() {
        say!("no MCP servers configured (llm-repl mcp add NAME -- CMD ARGS...)");
    }
    for (name, s) in servers {
        say!("{name}{}", describe(s));
    }
}

/// One line about a server after its name: transport, flags, env keys (never values).
fn describe(s: &McpServerConfig) -> String {
    let mut line = if s.url.is_empty() {
        format!("  stdio: {} {}", s.command, s.args.join(" "))
    } else {
        format!("  http: {}", s.url)
    };
    let line_end = line.trim_end().len();
    line.truncate(line_end);
    if !s.enabled {
        line.push_str("  [disabled]");
    }
    if s.trusted {
        line.push_str("  [trusted]");
    }
    if s.approval == "always" {
        line.push_str("  [asks always]");
    }
    if !s.env.is_empty() {
        let keys: Vec<&str> = s.env.keys().map(String::as_str).collect();
        line.push_str(&format!("  env: {}", keys.join(", ")));
    }
    if !s.allow.is_empty() {
        line.push_str(&format!("  allow: {}", s.allow.join(", ")));
    }
    if !s.deny.is_empty() {
        line.push_str(&format!("  deny: {}", s.deny.join(", ")));
    }
    line
}

fn read_doc(path: &Path) -> anyhow::Result<toml_edit::DocumentMut> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    text.parse()
        .with_context(|| format!("{} is not valid TOML", path.display()))
}

/// Writes the edited document after checking it is a valid config (a bad edit never lands).
fn write_doc(path: &Path, doc: &toml_edit::DocumentMut) -> anyhow::Result<()> {
    let text = doc.to_string();
    Config::parse(&text, path).map_err(|e| anyhow::anyhow!("the edit was not saved: {e}"))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let tmp = PathBuf::from(format!("{}.tmp", path.display()));
    std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))
}

/// The `[mcp.servers]` table, created (implicit, so no empty headers appear) when missing.
fn servers_table(doc: &mut toml_edit::DocumentMut) -> anyhow::Result<&mut toml_edit::Table> {
    let mcp = doc
        .entry("mcp")
        .or_insert_with(implicit_table)
        .as_table_mut()
        .context("`mcp` in the config is not a table")?;
    mcp.entry("servers")
        .or_insert_with(implicit_table)
        .as_table_mut()
        .context("`mcp.servers` in the config is not a table")
}

fn implicit_table() -> toml_edit::Item {
    let mut table = toml_edit::Table::new();
    table.set_implicit(true);
    toml_edit::Item::Table(table)
}

fn add(path: &Path, args: &AddArgs) -> anyhow::Result<()> {
    let mut entry = toml_edit::Table::new();
    match (&args.url, args.command.split_first()) {
        (Some(url), None) => {
            entry["url"] = toml_edit::value(url.as_str());
            if let Some(var) = &args.bearer_token_env {
                entry["bearer_token_env"] = toml_edit::value(var.as_str());
            }
        }
        (None, Some((command, rest))) => {
            entry["command"] = toml_edit::value(command.as_str());
            if !rest.is_empty() {
                entry["args"] = toml_edit::value(rest.iter().collect::<toml_edit::Array>());
            }
        }
        (Some(_), Some(_)) => anyhow::bail!("give --url or a command after --, not both"),
        (None, None) => {
            anyhow::bail!(
                "give the server's command after -- (add NAME -- CMD ARGS...) or --url URL"
            )
        }
    }
    if !args.env.is_empty() {
        let mut env = toml_edit::InlineTable::new();
        for pair in &args.env {
            let (k, v) = pair.split_once('=').with_context(|| {
                format!(
                    "--env {k:?} is not KEY=VALUE",
                    k = pair.split('=').next().unwrap_or("")
                )
            })?;
            env.insert(k, v.into());
        }
        entry["env"] = toml_edit::value(env);
    }
    if args.trusted {
        entry["trusted"] = toml_edit::value(true);
    }
    let mut doc = read_doc(path)?;
    let servers = servers_table(&mut doc)?;
    if servers.contains_key(&args.name) {
        anyhow::bail!(
            "an MCP server called {} is already configured in {}; remove it first",
            args.name,
            path.display()
        );
    }
    servers.insert(&args.name, toml_edit::Item::Table(entry));
    write_doc(path, &doc)
}

fn remove(path: &Path, name: &str) -> anyhow::Result<()> {
    let mut doc = read_doc(path)?;
    let servers = servers_table(&mut doc)?;
    if servers.remove(name).is_none() {
        anyhow::bail!("no MCP server called {name} in {}", path.display());
    }
    write_doc(path, &doc)
}

fn test(settings: &Settings, name: &str) -> anyhow::Result<ExitCode> {
    let Some(server) = settings.config.mcp.servers.get(name) else {
        let known: Vec<&str> = settings
            .config
            .mcp
            .servers
            .keys()
            .map(String::as_str)
            .collect();
        anyhow::bail!(
            "no MCP server called {name} (configured: {})",
            known.join(", ")
        );
    };
    let workdir = settings.workdir()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    say!("{name}{}", describe(server));
    match runtime.block_on(llm_repl_mcp::probe(server, &workdir)) {
        Ok(probe) => {
            say!(
                "ok: {} started in {} ms, {} tools, ping {} ms",
                probe.server,
                probe.startup.as_millis(),
                probe.tools.len(),
                probe.ping.as_millis()
            );
            for (tool, description) in &probe.tools {
                let first = description.lines().next().unwrap_or("");
                say!(
                    "  {name}__{tool}  {}",
                    llm_repl_protocol::terminal_safe(first)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            say!(
                "failed: {}",
                llm_repl_protocol::terminal_safe(&format!("{e:#}"))
            );
            Ok(ExitCode::from(1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(name: &str, command: &[&str], url: Option<&str>) -> AddArgs {
        AddArgs {
            name: name.into(),
            url: url.map(String::from),
            bearer_token_env: None,
            env: vec!["API_KEY=sk-1".into()],
            trusted: true,
            command: command.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn add_and_remove_keep_comments_and_other_sections() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let original =
            "# my settings\nmax_steps = 9 # tuned\n\n[tools]\n# careful\napproval = \"always\"\n";
        std::fs::write(&path, original).unwrap();
        add(&path, &args("everything", &["npx", "-y", "@mcp/x"], None)).unwrap();
        let mut url = args("remote", &[], Some("https://h/mcp"));
        url.env.clear();
        add(&path, &url).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with(original), "{text}");
        assert!(!text.contains("[mcp]\n"), "no empty header: {text}");
        let config = Config::parse(&text, &path).unwrap();
        let e = &config.mcp.servers["everything"];
        assert_eq!(
            (e.command.as_str(), e.args.len(), e.trusted),
            ("npx", 2, true)
        );
        assert_eq!(e.env["API_KEY"], "sk-1");
        assert_eq!(config.mcp.servers["remote"].url, "https://h/mcp");
        // A second add of the same name is refused; remove brings the file back.
        assert!(add(&path, &args("everything", &["x"], None)).is_err());
        remove(&path, "everything").unwrap();
        remove(&path, "remote").unwrap();
        assert!(remove(&path, "remote").is_err());
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with(original), "{text}");
        assert!(!text.contains("everything"), "{text}");
    }

    #[test]
    fn an_invalid_entry_is_not_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let err = add(&path, &args("bad__name", &["x"], None)).unwrap_err();
        assert!(err.to_string().contains("not saved"), "{err}");
        assert!(!path.exists());
    }

    #[test]
    fn describe_names_env_keys_but_never_values() {
        let mut s = McpServerConfig {
            command: "srv".into(),
            ..McpServerConfig::default()
        };
        s.env.insert("API_KEY".into(), "sk-secret".into());
        let line = describe(&s);
        assert!(
            line.contains("API_KEY") && !line.contains("sk-secret"),
            "{line}"
        );
    }
}
