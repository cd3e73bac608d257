//! Shared by the sandbox's attack tests: a workspace in a temp dir and the sandbox settings
//! around it, with helpers to run python or sh in it and a working call to end an attack.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::Duration;

use llm_repl_sandbox::{Exit, Job, Report, Sandbox, Settings};
use tokio_util::sync::CancellationToken;

pub struct Env {
    pub dir: tempfile::TempDir,
    pub ws: PathBuf,
    pub settings: Settings,
}

pub fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    std::fs::create_dir(&ws).unwrap();
    let settings = Settings {
        read_write: vec![ws.clone()],
        protected: vec![".git".into(), ".llm-repl".into()],
        ..Settings::default()
    };
    Env { dir, ws, settings }
}

impl Env {
    pub fn job(&self, program: &str, args: &[&str]) -> Job {
        Job {
            program: program.into(),
            args: args.iter().map(Into::into).collect(),
            cwd: self.ws.clone(),
            env: Vec::new(),
            stdin: Vec::new(),
            timeout: Duration::from_secs(20),
        }
    }

    pub async fn py(&self, code: &str) -> Report {
        self.run(self.job("/usr/bin/python3", &["-I", "-c", code]))
            .await
    }

    pub async fn sh(&self, script: &str) -> Report {
        self.run(self.job("/bin/sh", &["-c", script])).await
    }

    pub async fn run(&self, job: Job) -> Report {
        let mut sink = |_, _: &str| {};
        Sandbox::new(self.settings.clone())
            .run(&job, &CancellationToken::new(), &mut sink)
            .await
            .unwrap()
    }

    /// A working call after an attack: the sandbox still does its job.
    pub async fn still_works(&self) {
        let r = self
            .py("open('after.txt','w').write('ok'); print(open('after.txt').read())")
            .await;
        assert_eq!(r.exit, Exit::Code(0), "{}", r.output);
        assert_eq!(
            std::fs::read_to_string(self.ws.join("after.txt")).unwrap(),
            "ok"
        );
    }

    /// None of `files` in the workspace (those that exist) is set-user-id or set-group-id on
    /// the host.
    pub fn assert_no_setid(&self, files: &[&str], output: &str) {
        use std::os::unix::fs::PermissionsExt;
        for f in files {
            if let Ok(m) = std::fs::metadata(self.ws.join(f)) {
                let mode = m.permissions().mode();
                assert_eq!(
                    mode & 0o6000,
                    0,
                    "{f} is set-id on the host: {mode:o}\n{output}"
                );
            }
        }
    }
}
