//! The effective settings: the config file (or defaults) plus flags and environment.

use std::path::{Path, PathBuf};

use anyhow::Context;
use llm_repl_core::config::Config;

use crate::{Global, paths};

/// The embedded reference configuration (config/default.toml).
pub const DEFAULT_CONFIG: &str = include_str!("../../../config/default.toml");

/// Everything wiring needs to know.
#[derive(Debug, Clone)]
pub struct Settings {
    pub config: Config,
    /// The file the config came from, if any.
    pub source: Option<PathBuf>,
    /// The chosen provider's name.
    pub provider: String,
    /// `--resume ID`.
    pub resume: Option<String>,
    /// `--continue`.
    pub continue_last: bool,
    /// `--no-store`.
    pub no_store: bool,
    /// `--standalone`: the agent runs in this process, not in the service.
    pub standalone: bool,
    /// `--trust`: trust the workspace (and remember it).
    pub trust_flag: bool,
    /// Whether the workspace's own plugin tools load (decided by crate::trust before wiring).
    pub workspace_trusted: bool,
}

impl Settings {
    /// Loads `--config FILE` (must exist), else the default file if it exists, else defaults;
    /// then applies `--model`/LLM_REPL_MODEL and picks the provider.
    pub fn load(global: &Global) -> anyhow::Result<Self> {
        let (mut config, source) = match &global.config {
            Some(path) => (Config::load(path)?, Some(path.clone())),
            None => {
                let path = paths::config_file();
                if path.exists() {
                    (Config::load(&path)?, Some(path))
                } else {
                    (Config::default(), None)
                }
            }
        };
        if let Some(dir) = &global.data_dir {
            config.store.data_dir = dir.to_string_lossy().into_owned();
        }
        if let Some(model) = global.model.as_ref().filter(|m| !m.trim().is_empty()) {
            config.model = model.trim().to_string();
        }
        let provider = llm_repl_providers::choose(global.provider.as_deref(), &config, &env);
        Ok(Self {
            config,
            source,
            provider,
            resume: global.resume.clone(),
            continue_last: global.continue_last,
            no_store: global.no_store,
            standalone: global.standalone,
            trust_flag: global.trust,
            workspace_trusted: false,
        })
    }

    /// Settings from a config already in hand (no file, no flags).
    pub fn with_config(config: Config, provider: String) -> Self {
        Self {
            config,
            source: None,
            provider,
            resume: None,
            continue_last: false,
            no_store: false,
            standalone: false,
            trust_flag: false,
            workspace_trusted: false,
        }
    }

    /// Whether the agent runs in this process: `--standalone`, or `--no-store` (nothing to
    /// share, so no service).
    pub fn in_process(&self) -> bool {
        self.standalone || self.no_store
    }

    /// The directory tools are confined to.
    pub fn workdir(&self) -> anyhow::Result<PathBuf> {
        let dir = if self.config.tools.workdir.is_empty() {
            std::env::current_dir().context("cannot read the current directory")?
        } else {
            PathBuf::from(&self.config.tools.workdir)
        };
        dir.canonicalize()
            .with_context(|| format!("tools.workdir {} does not exist", dir.display()))
    }

    /// Where the database lives: `--data-dir`, else the config's, else the platform's.
    pub fn data_dir(&self) -> PathBuf {
        if self.config.store.data_dir.is_empty() {
            paths::data_dir()
        } else {
            Path::new(&self.config.store.data_dir).to_path_buf()
        }
    }

    /// The calendar of the config's `days` key, for everything that counts or shows days.
    pub fn calendar(&self) -> llm_repl_protocol::calendar::Calendar {
        llm_repl_protocol::calendar::Calendar::new(self.config.days)
    }
}

/// The process environment, as the providers crate reads it.
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}
