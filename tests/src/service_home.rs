//! A test home whose clients use the agent service: a private XDG_RUNTIME_DIR, and a Drop that
//! kills every service started from it, so no background process outlives a test.

use std::path::PathBuf;
use std::process::{Command, Output};

use crate::binary::llm_repl;
use crate::home::{TestHome, shell_quote};

/// A home on the offline mock model with a private runtime directory for the service.
pub struct Svc {
    pub home: TestHome,
    pub run: PathBuf,
}

impl Svc {
    /// # Panics
    /// When the home cannot be written.
    pub fn mock(idle_exit_secs: u64) -> Svc {
        let home = TestHome::new("http://127.0.0.1:9", "");
        std::fs::write(
            home.config(),
            format!("provider = \"mock\"\n[service]\nidle_exit_secs = {idle_exit_secs}\n"),
        )
        .expect("write the config");
        Svc::on(home)
    }

    /// A service home around `home` (e.g. one on the fake server).
    ///
    /// # Panics
    /// When the runtime directory cannot be made.
    pub fn on(home: TestHome) -> Svc {
        let run = home.path().join("run");
        std::fs::create_dir_all(&run).expect("create the runtime dir");
        Svc { home, run }
    }

    /// The environment of a client: the home's, without `--standalone`, with the private
    /// runtime directory.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = self
            .home
            .env()
            .into_iter()
            .filter(|(k, _)| k != "LLM_REPL_STANDALONE")
            .collect();
        env.push(("XDG_RUNTIME_DIR".into(), self.run.display().to_string()));
        env
    }

    /// The client invocation as one shell line (for tmux), run in the home (its workspace).
    pub fn shell_line(&self, args: &[&str]) -> String {
        let mut line = format!(
            "cd {} && env -i",
            shell_quote(&self.home.path().display().to_string())
        );
        for (k, v) in self.env() {
            line.push_str(&format!(" {k}={}", shell_quote(&v)));
        }
        line.push_str(" TERM=xterm-256color ");
        line.push_str(&shell_quote(&llm_repl().display().to_string()));
        line.push_str(&format!(
            " --config {} --data-dir {}",
            shell_quote(&self.home.config().display().to_string()),
            shell_quote(&self.home.data_dir().display().to_string())
        ));
        for a in args {
            line.push(' ');
            line.push_str(&shell_quote(a));
        }
        line
    }

    pub fn command(&self) -> Command {
        let mut cmd = self.home.command();
        cmd.env_remove("LLM_REPL_STANDALONE")
            .env("XDG_RUNTIME_DIR", &self.run);
        cmd
    }

    /// # Panics
    /// When the binary cannot be run.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("run llm-repl")
    }

    pub fn service_dir(&self) -> PathBuf {
        self.run.join("llm-repl")
    }

    /// The pids of services started here (from their pid files).
    pub fn pids(&self) -> Vec<i32> {
        let Ok(dir) = std::fs::read_dir(self.service_dir()) else {
            return Vec::new();
        };
        dir.filter_map(|e| e.ok())
            .filter(|e| e.path().extension().is_some_and(|x| x == "pid"))
            .filter_map(|e| std::fs::read_to_string(e.path()).ok()?.trim().parse().ok())
            .collect()
    }

    pub fn socket_exists(&self) -> bool {
        std::fs::read_dir(self.service_dir()).is_ok_and(|d| {
            d.filter_map(|e| e.ok())
                .any(|e| e.path().extension().is_some_and(|x| x == "sock"))
        })
    }

    pub fn log(&self) -> String {
        let Ok(dir) = std::fs::read_dir(self.service_dir()) else {
            return String::new();
        };
        dir.filter_map(|e| e.ok())
            .filter(|e| e.path().extension().is_some_and(|x| x == "log"))
            .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
            .collect()
    }
}

impl Drop for Svc {
    fn drop(&mut self) {
        for pid in self.pids() {
            // SAFETY: kill(2) on a pid this test's service wrote; at worst it is gone already.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
}
