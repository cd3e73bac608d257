//! A throw-away home for one run of the real binary: a temp directory holding the config (a
//! `fake` provider pointing at a fake server), the data directory and every XDG path, so a test
//! never reads or writes the user's real files.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::binary::llm_repl;

/// The API key the config's `fake` provider reads (from `FAKE_KEY`).
pub const FAKE_KEY: &str = "test-key-123";

/// A temp home with `config.toml` and a data directory.
pub struct TestHome {
    dir: tempfile::TempDir,
}

impl TestHome {
    /// A home whose config uses the provider `fake` (OpenAI-compatible, model `fake-model`) at
    /// `base_url`, without retries, followed by `extra` (more TOML: `[budget]`, `[pricing]` ...).
    ///
    /// # Panics
    /// When the temp directory or the config cannot be written.
    pub fn new(base_url: &str, extra: &str) -> Self {
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("cannot create a temp home: {e}"),
        };
        let config = format!(
            "provider = \"fake\"\n[providers.fake]\nkind = \"openai\"\nbase_url = \"{base_url}\"\n\
             api_key_env = \"FAKE_KEY\"\nmodel = \"fake-model\"\n[reliability]\nmax_retries = 0\nmax_transient_retries = 0\n\
             {extra}\n"
        );
        if let Err(e) = std::fs::write(dir.path().join("config.toml"), config) {
            panic!("cannot write the config: {e}");
        }
        Self { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn config(&self) -> PathBuf {
        self.path().join("config.toml")
    }

    /// The session store's directory (passed as `--data-dir`).
    pub fn data_dir(&self) -> PathBuf {
        self.path().join("data")
    }

    /// The environment the binary runs with: nothing of the caller's but a plain PATH.
    pub fn env(&self) -> Vec<(String, String)> {
        let home = self.path();
        let s = |p: &Path| p.display().to_string();
        let mut env = vec![
            ("PATH".into(), "/usr/bin:/bin".into()),
            // Not the workspace: starting in $HOME needs --trust (crate trust of the binary).
            ("HOME".into(), s(&home.join("home"))),
            ("XDG_CONFIG_HOME".into(), s(&home.join("xdg-config"))),
            ("XDG_DATA_HOME".into(), s(&home.join("xdg-data"))),
            ("XDG_STATE_HOME".into(), s(&home.join("xdg-state"))),
            ("FAKE_KEY".into(), FAKE_KEY.into()),
            // The existing end-to-end tests drive one process; the agent service has its own
            // (tests/tests/service_e2e.rs), which never leaves a service running.
            ("LLM_REPL_STANDALONE".into(), "1".into()),
        ];
        // Under `tests/coverage.sh` the instrumented binary must know where to write its
        // profile, or the coverage of everything it runs is lost with the temp home.
        if let Ok(profile) = std::env::var("LLVM_PROFILE_FILE") {
            env.push(("LLVM_PROFILE_FILE".into(), profile));
        }
        env
    }

    /// `llm-repl --config <home>/config.toml --data-dir <home>/data`, in the home, clean env.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(llm_repl());
        cmd.current_dir(self.path()).env_clear();
        for (k, v) in self.env() {
            cmd.env(k, v);
        }
        cmd.arg("--config")
            .arg(self.config())
            .arg("--data-dir")
            .arg(self.data_dir());
        cmd
    }

    /// The same invocation as one shell line (for tmux): `env -i K=V ... llm-repl --config ...`.
    pub fn shell_line(&self, args: &[&str]) -> String {
        let mut line = String::from("env -i");
        for (k, v) in self.env() {
            line.push_str(&format!(" {k}={}", shell_quote(&v)));
        }
        line.push_str(" TERM=xterm-256color");
        line.push(' ');
        line.push_str(&shell_quote(&llm_repl().display().to_string()));
        line.push_str(&format!(
            " --config {} --data-dir {}",
            shell_quote(&self.config().display().to_string()),
            shell_quote(&self.data_dir().display().to_string())
        ));
        for a in args {
            line.push(' ');
            line.push_str(&shell_quote(a));
        }
        line
    }
}

/// Single-quotes `s` for a POSIX shell.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}
