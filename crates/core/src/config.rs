//! The configuration: types, defaults, and parsing with errors that name the file, line and key.
//!
//! Every section denies unknown keys, so a typo is an error that says where it is rather than a
//! setting silently ignored. Where the file lives and how the environment overrides it is the
//! binary's business; this module only turns text into a [`Config`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::pricing::route::RouteConfig;

mod mcp;
pub use mcp::{McpConfig, McpServerConfig};

/// The built-in provider presets (the providers crate fills them in); a route's candidates may
/// name these or a `[providers.<name>]` entry.
pub const PROVIDER_PRESETS: [&str; 5] = ["openai", "groq", "openrouter", "ollama", "mock"];

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Which provider entry (or built-in preset) to use; empty means "first configured, else mock".
    pub provider: String,
    /// Overrides the provider entry's model when not empty.
    pub model: String,
    /// Model round trips allowed in one turn.
    pub max_steps: u32,
    /// Sampling temperature sent with every model call; absent: the provider's default. Only
    /// `0` makes answers cacheable (see `store.response_cache`).
    pub temperature: Option<f32>,
    /// The system prompt; empty means the built-in one.
    pub system_prompt: String,
    /// Workspaces trusted to load their plugin tools (`.llm-repl/tools/`) without asking.
    pub trust: Vec<String>,
    /// Whose days the usage ledger, budgets, `stats` and history dates count in: the user's
    /// local days (default) or UTC days.
    pub days: llm_repl_protocol::calendar::Days,
    /// Provider entries by name. A name matching a preset (`openai`, `groq`, `ollama`,
    /// `openrouter`, `mock`) inherits the preset's values.
    pub providers: BTreeMap<String, ProviderConfig>,
    pub tools: ToolsConfig,
    pub sandbox: SandboxConfig,
    pub store: StoreConfig,
    pub ui: UiConfig,
    pub budget: BudgetConfig,
    pub reliability: ReliabilityConfig,
    /// The agent service (`llm-repl serve`).
    pub service: ServiceConfig,
    /// Price overrides and additions to assets/prices.toml.
    pub pricing: crate::pricing::PricingConfig,
    /// Named routes: `provider = "auto"` with a `[routes.auto]` picks the cheapest healthy
    /// capable candidate for each call, falling back to the next on failure.
    pub routes: BTreeMap<String, RouteConfig>,
    /// Model Context Protocol servers whose tools join the registry (`[mcp.servers.NAME]`).
    pub mcp: McpConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            provider: String::new(),
            model: String::new(),
            max_steps: 25,
            temperature: None,
            system_prompt: String::new(),
            trust: Vec::new(),
            days: llm_repl_protocol::calendar::Days::Local,
            providers: BTreeMap::new(),
            tools: ToolsConfig::default(),
            sandbox: SandboxConfig::default(),
            store: StoreConfig::default(),
            ui: UiConfig::default(),
            budget: BudgetConfig::default(),
            reliability: ReliabilityConfig::default(),
            service: ServiceConfig::default(),
            pricing: crate::pricing::PricingConfig::default(),
            routes: BTreeMap::new(),
            mcp: McpConfig::default(),
        }
    }
}

/// One provider entry. Empty fields take the preset's value where the entry's name is a preset.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProviderConfig {
    /// `openai` (any OpenAI-compatible API) or `mock`.
    pub kind: String,
    pub base_url: String,
    /// The environment variable holding the key; empty for keyless servers (Ollama, llama.cpp).
    pub api_key_env: String,
    pub model: String,
    /// Extra HTTP headers sent with every request (OpenRouter's X-Title, a proxy's auth, ...).
    pub headers: BTreeMap<String, String>,
    /// For `mock`: a script of turns (TOML); empty uses the built-in rules.
    pub script: String,
    /// Context window of the model in tokens, when the price table does not know it.
    pub context_window: Option<u64>,
}

/// How tools run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ToolsConfig {
    /// Absolute path of the Python interpreter; empty finds one at start-up.
    pub python: String,
    /// Wall-clock limit of one tool call in seconds.
    pub timeout_secs: u64,
    /// Output kept per call; the rest is cut with a marker saying how much.
    pub max_output_bytes: usize,
    /// Tokens of one tool result the model is shown (head and tail, with a marker saying what
    /// was cut from the middle); the screen and the store keep the whole output. 0: no cap.
    pub model_output_tokens: u64,
    /// `never`, `on-risk` or `always`.
    pub approval: String,
    /// The directory tools are confined to; empty means the current directory.
    pub workdir: String,
}

impl Default for ToolsConfig {
    fn default() -> Self {
        Self {
            python: String::new(),
            timeout_secs: 30,
            max_output_bytes: 1024 * 1024,
            model_output_tokens: 4000,
            approval: "on-risk".into(),
            workdir: String::new(),
        }
    }
}

/// The OS sandbox around tool processes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SandboxConfig {
    /// Refuse to run tools when the kernel cannot confine them (else run with a loud warning).
    pub require: bool,
    /// Let tool processes reach the network.
    pub network: bool,
    pub memory_mb: u64,
    pub cpu_secs: u64,
    pub max_processes: u64,
    pub max_file_mb: u64,
    /// Workspace-relative paths tools may read but never write (persistence through
    /// `.git/hooks` or workspace plugins). An empty list opens them.
    pub protect: Vec<String>,
}

/// The workspace paths read-only to tools unless the config says otherwise.
pub const DEFAULT_PROTECTED: &[&str] = &[".git", ".llm-repl"];

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            require: true,
            network: false,
            memory_mb: 1024,
            cpu_secs: 60,
            max_processes: 64,
            max_file_mb: 256,
            protect: DEFAULT_PROTECTED.iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// Persistence.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// Where the database lives; empty means the platform data directory.
    pub data_dir: String,
    /// Ask the model for a short session title (one cheap call) instead of using the prompt.
    pub model_titles: bool,
    /// Answer an identical request at temperature 0 from a recording in the store, at no cost.
    pub response_cache: bool,
}

/// The terminal interface.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UiConfig {
    /// A theme name from assets/themes.
    pub theme: String,
    pub mouse: bool,
    pub show_trace: bool,
    /// Key overrides: action name -> key (e.g. `toggle_trace = "ctrl-t"`).
    pub keys: BTreeMap<String, String>,
    /// URLs in the conversation as clickable OSC 8 hyperlinks (never on TERM=dumb or the
    /// Linux console, which would show the sequence).
    pub hyperlinks: bool,
}

impl Default for UiConfig {
    fn default() -> Self {
        Self {
            theme: "default".into(),
            mouse: true,
            show_trace: true,
            keys: BTreeMap::new(),
            hyperlinks: true,
        }
    }
}

/// Spending limits in dollars; absent means no limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BudgetConfig {
    pub session_usd: Option<f64>,
    pub day_usd: Option<f64>,
    pub month_usd: Option<f64>,
    /// Warn when this fraction of a limit is spent.
    pub warn_at: f64,
    /// Whose budget this is; empty means the OS user ($USER).
    pub user: String,
    /// Per-user limits (`[budget.profiles.NAME]`), overriding the ones above field by field.
    pub profiles: BTreeMap<String, crate::budget::BudgetProfile>,
}

impl Default for BudgetConfig {
    fn default() -> Self {
        Self {
            user: String::new(),
            profiles: BTreeMap::new(),
            session_usd: None,
            day_usd: None,
            month_usd: None,
            warn_at: 0.8,
        }
    }
}

/// The agent service that the TUI and `exec` connect to (README "The agent service").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceConfig {
    /// A service started in the background exits after this many seconds with no client
    /// connected and no turn running; 0 keeps it running until `llm-repl service stop`.
    pub idle_exit_secs: u64,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            idle_exit_secs: 600,
        }
    }
}

/// Timeouts and retries of provider calls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReliabilityConfig {
    pub connect_timeout_secs: u64,
    pub first_token_timeout_secs: u64,
    pub idle_timeout_secs: u64,
    /// Retries after a failure to connect (refused, unknown host): few, so a wrong base_url
    /// fails in seconds.
    pub max_retries: u32,
    /// Retries after a transient server failure (5xx, 429, timeout, a stream cut off), with
    /// exponential backoff honouring Retry-After.
    pub max_transient_retries: u32,
    /// Wall-clock limit of one turn in seconds (0: none).
    pub turn_timeout_secs: u64,
}

impl Default for ReliabilityConfig {
    fn default() -> Self {
        Self {
            connect_timeout_secs: 10,
            first_token_timeout_secs: 120,
            idle_timeout_secs: 60,
            max_retries: 3,
            max_transient_retries: 8,
            turn_timeout_secs: 0,
        }
    }
}

/// A configuration that could not be read, with where and what to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl Config {
    /// Reads and parses a config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses config text; `path` is only used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| {
            let (line, column) = e
                .span()
                .map(|span| line_col(text, span.start))
                .unwrap_or((1, 1));
            ConfigError::Parse {
                path: path.to_path_buf(),
                line,
                column,
                message: e.message().trim().to_string(),
            }
        })?;
        config.validate().map_err(|message| ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        })?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), String> {
        if self.max_steps == 0 {
            return Err("max_steps must be at least 1".into());
        }
        if !matches!(self.tools.approval.as_str(), "never" | "on-risk" | "always") {
            return Err(format!(
                "tools.approval is {:?}: use \"never\", \"on-risk\" or \"always\"",
                self.tools.approval
            ));
        }
        for (name, entry) in &self.providers {
            if !matches!(entry.kind.as_str(), "" | "openai" | "mock") {
                return Err(format!(
                    "providers.{name}.kind is {:?}: use \"openai\" (any OpenAI-compatible API) \
                     or \"mock\"",
                    entry.kind
                ));
            }
        }
        if let Some(t) = self.temperature
            && !(t.is_finite() && (0.0..=2.0).contains(&t))
        {
            return Err(format!("temperature is {t}: use a number from 0 to 2"));
        }
        for (name, route) in &self.routes {
            self.validate_route(name, route)?;
        }
        self.mcp.validate()?;
        Ok(())
    }

    /// A route's candidates parse and name known providers; the route's own name does not
    /// shadow a provider. Needs no environment: keys are checked when the route is built.
    fn validate_route(&self, name: &str, route: &RouteConfig) -> Result<(), String> {
        if PROVIDER_PRESETS.contains(&name) || self.providers.contains_key(name) {
            return Err(format!(
                "routes.{name}: a provider is already called {name:?}; give the route another name"
            ));
        }
        let candidates = route
            .parse_candidates()
            .map_err(|e| format!("routes.{name}: {e}"))?;
        if candidates.is_empty() {
            return Err(format!(
                "routes.{name}.candidates is empty: list \"provider:model\" entries"
            ));
        }
        for c in &candidates {
            if self.routes.contains_key(&c.provider) {
                return Err(format!(
                    "routes.{name}: candidate {c} is a route; routes cannot nest"
                ));
            }
            if !PROVIDER_PRESETS.contains(&c.provider.as_str())
                && !self.providers.contains_key(&c.provider)
            {
                return Err(format!(
                    "routes.{name}: candidate {c} names an unknown provider {:?}: configure \
                     [providers.{}] or use a preset ({})",
                    c.provider,
                    c.provider,
                    PROVIDER_PRESETS.join(", ")
                ));
            }
        }
        Ok(())
    }
}

/// 1-based line and column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_text_is_the_default() {
        let c = Config::parse("", Path::new("c.toml")).unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.max_steps, 25);
    }

    #[test]
    fn embedded_default_file_parses() {
        let text = include_str!("../../../config/default.toml");
        Config::parse(text, Path::new("config/default.toml")).unwrap();
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let text = "max_steps = 3\n\n[tools]\ntimeout_secs = 5\ntimout = 3\n";
        let err = Config::parse(text, Path::new("/x/config.toml")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("/x/config.toml:5:"), "{msg}");
        assert!(msg.contains("timout"), "{msg}");
    }

    #[test]
    fn wrong_type_names_the_line() {
        let text = "provider = \"groq\"\nmax_steps = \"many\"\n";
        let msg = Config::parse(text, Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(msg.starts_with("c.toml:2:"), "{msg}");
    }

    #[test]
    fn days_are_local_or_utc_and_anything_else_names_the_line() {
        let c = Config::parse("days = \"utc\"\n", Path::new("c.toml")).unwrap();
        assert_eq!(c.days, llm_repl_protocol::calendar::Days::Utc);
        assert_eq!(
            Config::default().days,
            llm_repl_protocol::calendar::Days::Local
        );
        let msg = Config::parse("max_steps = 3\ndays = \"gmt\"\n", Path::new("/x/c.toml"))
            .unwrap_err()
            .to_string();
        assert!(msg.starts_with("/x/c.toml:2:"), "{msg}");
        assert!(msg.contains("local") && msg.contains("utc"), "{msg}");
    }

    #[test]
    fn invalid_values_are_explained() {
        let msg = Config::parse("[tools]\napproval = \"sometimes\"\n", Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("on-risk"), "{msg}");
        let msg = Config::parse("[providers.x]\nkind = \"anthropic\"\n", Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("providers.x.kind"), "{msg}");
    }

    #[test]
    fn routes_cache_and_temperature_parse_and_validate() {
        let text = r#"
provider = "auto"
temperature = 0.0
[store]
response_cache = true
[providers.local]
kind = "openai"
base_url = "http://127.0.0.1:8080/v1"
model = "m"
[routes.auto]
candidates = ["groq:llama-3.1-8b-instant", "local:m", "ollama:llama3.2:3b"]
min_tier = 1
"#;
        let c = Config::parse(text, Path::new("c.toml")).unwrap();
        assert_eq!(c.temperature, Some(0.0));
        assert!(c.store.response_cache);
        let route = &c.routes["auto"];
        assert_eq!(route.cooldown_secs, 60);
        assert_eq!(route.parse_candidates().unwrap()[2].model, "llama3.2:3b");

        let bad = |text: &str| {
            Config::parse(text, Path::new("c.toml"))
                .unwrap_err()
                .to_string()
        };
        let msg = bad("[routes.auto]\ncandidates = [\"nowhere:m\"]\n");
        assert!(msg.contains("unknown provider \"nowhere\""), "{msg}");
        let msg = bad("[routes.auto]\ncandidates = [\"gpt-4o\"]\n");
        assert!(msg.contains("provider:model"), "{msg}");
        let msg = bad("[routes.auto]\ncandidates = []\n");
        assert!(msg.contains("empty"), "{msg}");
        let msg = bad("[routes.groq]\ncandidates = [\"openai:gpt-4o\"]\n");
        assert!(msg.contains("already called"), "{msg}");
        let msg = bad("[routes.auto]\ncandidates = [\"openai:gpt-4o\"]\nmin_tier = 7\n");
        assert!(msg.contains("min_tier"), "{msg}");
        let msg = bad(
            "[routes.a]\ncandidates = [\"b:x\"]\n[routes.b]\ncandidates = [\"openai:gpt-4o\"]\n",
        );
        assert!(msg.contains("cannot nest"), "{msg}");
        let msg = bad("temperature = 3.5\n");
        assert!(msg.contains("temperature"), "{msg}");
    }

    #[test]
    fn budget_profiles_apply_to_their_user() {
        let text =
            "[budget]\nday_usd = 5.0\nuser = \"alice\"\n[budget.profiles.alice]\nday_usd = 2.0\n";
        let c = Config::parse(text, Path::new("c.toml")).unwrap();
        let user = crate::budget::current_user(&c.budget.user);
        assert_eq!(user, "alice");
        let b = crate::budget::Budgets::new(&c.budget, c.budget.profiles.get(&user), user).unwrap();
        assert_eq!(b.limit(crate::budget::Scope::Day), Some(2.0));
        let bob =
            crate::budget::Budgets::new(&c.budget, c.budget.profiles.get("bob"), "bob").unwrap();
        assert_eq!(bob.limit(crate::budget::Scope::Day), Some(5.0));
    }

    #[test]
    fn provider_entries_parse() {
        let text = r#"
provider = "groq"
[providers.groq]
model = "llama-3.3-70b-versatile"
[providers.local]
kind = "openai"
base_url = "http://127.0.0.1:8080/v1"
headers = { "X-Title" = "llm-repl" }
"#;
        let c = Config::parse(text, Path::new("c.toml")).unwrap();
        assert_eq!(c.providers["groq"].model, "llama-3.3-70b-versatile");
        assert_eq!(c.providers["local"].headers["X-Title"], "llm-repl");
    }
}
