//! `[mcp.servers.NAME]`: the Model Context Protocol servers whose tools the agent offers.
//!
//! Only the shape and its checks live here (the config is core's); starting servers and
//! speaking the protocol is the `llm-repl-mcp` crate's business. Key names follow the issue
//! and, where it is silent, Codex's `[mcp_servers]` table.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The `[mcp]` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct McpConfig {
    /// Servers by name; the name prefixes each of its tools (`NAME__tool`).
    pub servers: BTreeMap<String, McpServerConfig>,
}

/// One server: a command speaking MCP over stdio, or a streamable-HTTP `url`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct McpServerConfig {
    /// The program to start (stdio transport).
    pub command: String,
    pub args: Vec<String>,
    /// Extra environment for the program. Values may be keys: they never reach logs or the
    /// screen (see the `Debug` impl; `config show` prints them as `(hidden)`).
    #[serde(serialize_with = "hidden_values")]
    pub env: BTreeMap<String, String>,
    /// Working directory of the program; empty: the workspace.
    pub cwd: String,
    /// The server's streamable-HTTP endpoint (instead of `command`).
    pub url: String,
    /// The environment variable holding a bearer token sent as `Authorization`.
    pub bearer_token_env: String,
    /// Extra HTTP headers for `url` servers (values hidden like `env`'s).
    #[serde(serialize_with = "hidden_values")]
    pub headers: BTreeMap<String, String>,
    /// A disabled server is not started.
    pub enabled: bool,
    /// Its calls need no approval under the `on-risk` policy.
    pub trusted: bool,
    /// `""` (ask unless trusted) or `"always"` (ask before every call, even if trusted).
    pub approval: String,
    /// Only these tools (server-side names) are offered; empty: all.
    pub allow: Vec<String>,
    /// These tools are never offered.
    pub deny: Vec<String>,
    /// How long start-up (spawn, initialise, list tools) may take.
    pub startup_timeout_secs: u64,
    /// Wall-clock limit of one call; 0: `tools.timeout_secs`.
    pub tool_timeout_secs: u64,
}

impl Default for McpServerConfig {
    fn default() -> Self {
        Self {
            command: String::new(),
            args: Vec::new(),
            env: BTreeMap::new(),
            cwd: String::new(),
            url: String::new(),
            bearer_token_env: String::new(),
            headers: BTreeMap::new(),
            enabled: true,
            trusted: false,
            approval: String::new(),
            allow: Vec::new(),
            deny: Vec::new(),
            startup_timeout_secs: 30,
            tool_timeout_secs: 0,
        }
    }
}

/// Serializes a map's keys with every value replaced: the config is printed by `config show`,
/// and nothing reads a serialized config back.
fn hidden_values<S: serde::Serializer>(
    map: &BTreeMap<String, String>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut out = serializer.serialize_map(Some(map.len()))?;
    for key in map.keys() {
        out.serialize_entry(key, "(hidden)")?;
    }
    out.end()
}

/// Env values and header values are left out: they are where keys live.
impl std::fmt::Debug for McpServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpServerConfig")
            .field("command", &self.command)
            .field("args", &self.args)
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .field("cwd", &self.cwd)
            .field("url", &self.url)
            .field("bearer_token_env", &self.bearer_token_env)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("enabled", &self.enabled)
            .field("trusted", &self.trusted)
            .field("approval", &self.approval)
            .field("allow", &self.allow)
            .field("deny", &self.deny)
            .finish_non_exhaustive()
    }
}

impl McpConfig {
    /// Each server has exactly one transport, a usable name and a known approval word.
    pub(crate) fn validate(&self) -> Result<(), String> {
        for (name, s) in &self.servers {
            let at = format!("mcp.servers.{name}");
            if name.is_empty()
                || name.contains("__")
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(format!(
                    "{at}: a server name is letters, digits, '-' and single '_' (it prefixes \
                     tool names as NAME__tool)"
                ));
            }
            match (s.command.is_empty(), s.url.is_empty()) {
                (true, true) => return Err(format!("{at}: set `command` (stdio) or `url` (HTTP)")),
                (false, false) => {
                    return Err(format!("{at}: set `command` or `url`, not both"));
                }
                _ => {}
            }
            if !s.url.is_empty() && (!s.args.is_empty() || !s.env.is_empty() || !s.cwd.is_empty()) {
                return Err(format!(
                    "{at}: `args`, `env` and `cwd` are for `command` servers, not `url` ones"
                ));
            }
            if s.url.is_empty() && (!s.headers.is_empty() || !s.bearer_token_env.is_empty()) {
                return Err(format!(
                    "{at}: `headers` and `bearer_token_env` are for `url` servers"
                ));
            }
            if !matches!(s.approval.as_str(), "" | "always") {
                return Err(format!(
                    "{at}.approval is {:?}: use \"always\" or leave it out",
                    s.approval
                ));
            }
            if s.startup_timeout_secs == 0 {
                return Err(format!("{at}.startup_timeout_secs must be at least 1"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::{Config, ConfigError};

    const GOOD: &str = r#"
[mcp.servers.everything]
command = "npx"
args = ["-y", "@modelcontextprotocol/server-everything"]
env = { API_KEY = "sk-secret-value" }
trusted = true
deny = ["longRunningOperation"]

[mcp.servers.remote]
url = "https://example.invalid/mcp"
bearer_token_env = "REMOTE_TOKEN"
headers = { X-Team = "team-secret" }
approval = "always"
enabled = false
"#;

    #[test]
    fn servers_parse_with_defaults() {
        let config = Config::parse(GOOD, Path::new("c.toml")).expect("parses");
        let e = &config.mcp.servers["everything"];
        assert_eq!(e.command, "npx");
        assert!(e.enabled && e.trusted);
        assert_eq!(e.startup_timeout_secs, 30);
        let r = &config.mcp.servers["remote"];
        assert!(!r.enabled);
        assert_eq!(r.approval, "always");
    }

    #[test]
    fn unknown_key_names_file_and_line() {
        let text = "[mcp.servers.x]\ncommand = \"a\"\ncomand = \"b\"\n";
        let err = Config::parse(text, Path::new("/c.toml")).expect_err("typo");
        let ConfigError::Parse { line, message, .. } = &err else {
            panic!("{err}")
        };
        assert_eq!(*line, 3, "{err}");
        assert!(message.contains("comand"), "{err}");
        assert!(err.to_string().starts_with("/c.toml:3:"), "{err}");
    }

    #[test]
    fn bad_servers_are_refused_with_the_reason() {
        for (text, expect) in [
            ("[mcp.servers.x]\n", "set `command`"),
            (
                "[mcp.servers.x]\ncommand = \"a\"\nurl = \"http://h\"\n",
                "not both",
            ),
            ("[mcp.servers.a__b]\ncommand = \"a\"\n", "server name"),
            (
                "[mcp.servers.x]\ncommand = \"a\"\napproval = \"never\"\n",
                "approval",
            ),
            (
                "[mcp.servers.x]\ncommand = \"a\"\nheaders = { A = \"b\" }\n",
                "headers",
            ),
        ] {
            let err = Config::parse(text, Path::new("c.toml")).expect_err(text);
            assert!(err.to_string().contains(expect), "{text}: {err}");
        }
    }

    #[test]
    fn secrets_stay_out_of_debug_and_show() {
        let config = Config::parse(GOOD, Path::new("c.toml")).expect("parses");
        let debug = format!("{config:?}");
        let shown = toml::to_string_pretty(&config).expect("serializes");
        for text in [&debug, &shown] {
            assert!(!text.contains("sk-secret-value"), "{text}");
            assert!(!text.contains("team-secret"), "{text}");
        }
        assert!(debug.contains("API_KEY") && shown.contains("API_KEY"));
    }
}
