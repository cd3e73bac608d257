//! Runs one untrusted process confined: a new session and process group, rlimits, a wall-clock
//! timeout that kills the whole tree, a scrubbed environment and capped, binary-safe output.
//!
//! It knows nothing of language models, tools or the agent; it must never read config files or
//! secrets itself. Callers hand it a [`Settings`] (paths, limits, policy) and a [`Job`].

mod output;
mod run;

use std::path::PathBuf;

pub use output::{Budget, Utf8Carry};
pub use run::{Exit, Job, Report, Stream};

/// The fixed `PATH` every sandboxed process gets.
pub const SANDBOX_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// What a sandboxed process may touch and use.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Read-write directories (the workspace and the session's scratch dir).
    pub read_write: Vec<PathBuf>,
    /// The process's HOME and TMPDIR.
    pub scratch: PathBuf,
    /// Let the process reach the network.
    pub network: bool,
    /// Refuse to run when the kernel cannot confine (else run with a warning).
    pub require: bool,
    pub cpu_secs: u64,
    pub memory_bytes: u64,
    pub max_processes: u64,
    pub max_file_bytes: u64,
    pub max_open_files: u64,
    /// Output kept per run (both streams together).
    pub max_output_bytes: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            read_write: Vec::new(),
            scratch: std::env::temp_dir(),
            network: false,
            require: true,
            cpu_secs: 60,
            memory_bytes: 1024 * 1024 * 1024,
            max_processes: 64,
            max_file_bytes: 256 * 1024 * 1024,
            max_open_files: 256,
            max_output_bytes: 1024 * 1024,
        }
    }
}

/// Why a process could not be run.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("cannot start {program}: {source}")]
    Spawn {
        program: PathBuf,
        source: std::io::Error,
    },
    #[error("lost track of the sandboxed process: {0}")]
    Wait(std::io::Error),
    #[error("the sandbox is unavailable: {0}")]
    Unavailable(String),
}

/// A configured sandbox; cheap to share, spawns nothing until asked.
#[derive(Debug, Clone)]
pub struct Sandbox {
    settings: Settings,
}

impl Sandbox {
    pub fn new(settings: Settings) -> Self {
        Self { settings }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The environment every process gets: nothing inherited, no keys.
    pub fn base_env(&self) -> Vec<(String, String)> {
        let scratch = self.settings.scratch.display().to_string();
        vec![
            ("PATH".into(), SANDBOX_PATH.into()),
            ("HOME".into(), scratch.clone()),
            ("TMPDIR".into(), scratch),
            ("LANG".into(), "C.UTF-8".into()),
            ("LC_ALL".into(), "C.UTF-8".into()),
            ("PYTHONIOENCODING".into(), "utf-8".into()),
            ("PYTHONDONTWRITEBYTECODE".into(), "1".into()),
        ]
    }

    /// A command for `job` with the environment scrubbed and the confinement applied in the
    /// child before `exec`.
    pub fn command(&self, job: &Job) -> Result<tokio::process::Command, SandboxError> {
        let mut cmd = tokio::process::Command::new(&job.program);
        cmd.args(&job.args).current_dir(&job.cwd).env_clear();
        for (k, v) in self.base_env().into_iter().chain(job.env.iter().cloned()) {
            cmd.env(k, v);
        }
        let limits = rlimits(&self.settings);
        // SAFETY: the closure runs in the forked child before exec; it only makes
        // async-signal-safe system calls (setsid, setrlimit) on data prepared before the fork.
        unsafe {
            cmd.pre_exec(move || {
                if libc::setsid() < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                for (res, value) in limits {
                    let lim = libc::rlimit {
                        rlim_cur: value,
                        rlim_max: value,
                    };
                    if libc::setrlimit(res, &lim) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
        Ok(cmd)
    }
}

type Resource = libc::__rlimit_resource_t;

fn rlimits(s: &Settings) -> [(Resource, libc::rlim_t); 5] {
    [
        (libc::RLIMIT_CPU, s.cpu_secs),
        (libc::RLIMIT_AS, s.memory_bytes),
        (libc::RLIMIT_FSIZE, s.max_file_bytes),
        (libc::RLIMIT_NOFILE, s.max_open_files),
        (libc::RLIMIT_CORE, 0),
    ]
}
