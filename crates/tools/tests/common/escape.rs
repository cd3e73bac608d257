//! The fixture of the escape suite: a workspace, a fake home with secrets beside it, a fake
//! config dir holding an API key, and the python and shell tools with tight limits. Every
//! attempt is followed by `still_works`: the same session's next calls must succeed.

use std::path::PathBuf;
use std::sync::Arc;

use llm_repl_core::config::{SandboxConfig, ToolsConfig};
use llm_repl_core::{Tool, ToolOutcome};
use llm_repl_protocol::ToolStatus;
use serde_json::json;

pub const SECRET: &str = "TOP-SECRET-31337";
pub const API_KEY: &str = "sk-escape-suite-key-0123456789";

pub struct Esc {
    pub dir: tempfile::TempDir,
    pub ws: PathBuf,
    /// Stands for $HOME: outside the workspace, holding secrets.
    pub home: PathBuf,
    /// Stands for the llm-repl config dir.
    pub config: PathBuf,
    pub session: String,
    pub py: Arc<dyn Tool>,
    pub sh: Arc<dyn Tool>,
}

/// Limits small enough that the bombs end quickly.
pub fn tight_sandbox() -> SandboxConfig {
    SandboxConfig {
        memory_mb: 512,
        cpu_secs: 3,
        max_processes: 32,
        max_file_mb: 16,
        ..SandboxConfig::default()
    }
}

impl Esc {
    pub fn new() -> Self {
        Self::with_timeout(3)
    }

    pub fn with_timeout(timeout_secs: u64) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path().join("ws");
        let home = dir.path().join("home");
        let config = dir.path().join("home/.config/llm-repl");
        std::fs::create_dir_all(&ws).unwrap();
        std::fs::create_dir_all(home.join(".ssh")).unwrap();
        std::fs::create_dir_all(&config).unwrap();
        std::fs::write(home.join(".ssh/id_ed25519"), SECRET).unwrap();
        std::fs::write(home.join("notes.txt"), SECRET).unwrap();
        std::fs::write(
            config.join("config.toml"),
            format!("[providers.openai]\napi_key = \"{API_KEY}\"\n"),
        )
        .unwrap();
        let tools = ToolsConfig {
            timeout_secs,
            max_output_bytes: 1 << 20,
            ..ToolsConfig::default()
        };
        let set = llm_repl_tools::toolset(&tools, &tight_sandbox()).unwrap();
        let pick = |n: &str| {
            set.tools
                .iter()
                .find(|t| t.spec().name == n)
                .unwrap()
                .clone()
        };
        Self {
            py: pick("python"),
            sh: pick("shell"),
            session: super::new_session(),
            dir,
            ws,
            home,
            config,
        }
    }

    pub async fn py(&self, code: &str) -> ToolOutcome {
        super::run_in(&self.py, &self.ws, &self.session, json!({ "code": code })).await
    }

    pub async fn sh(&self, command: &str) -> ToolOutcome {
        super::run_in(
            &self.sh,
            &self.ws,
            &self.session,
            json!({ "command": command }),
        )
        .await
    }

    /// The attempt is over: both tools answer normally in the same session.
    pub async fn still_works(&self) {
        let out = self.py("print('alive', 6 * 7)").await;
        assert_eq!(
            out.status,
            ToolStatus::Ok,
            "python after the attempt: {}",
            out.content
        );
        assert!(out.content.contains("alive 42"), "{}", out.content);
        let out = self.sh("echo shell-alive").await;
        assert_eq!(
            out.status,
            ToolStatus::Ok,
            "shell after the attempt: {}",
            out.content
        );
        assert!(out.content.contains("shell-alive"), "{}", out.content);
    }

    /// Nothing secret shows in an observation.
    pub fn assert_no_secret(&self, out: &ToolOutcome) {
        assert!(
            !out.content.contains(SECRET),
            "secret leaked: {}",
            out.content
        );
        assert!(
            !out.content.contains(API_KEY),
            "API key leaked: {}",
            out.content
        );
    }
}

/// True while the process exists.
pub fn alive(pid: u32) -> bool {
    // SAFETY: signal 0 only checks for existence.
    unsafe { libc::kill(pid as i32, 0) == 0 }
}
