//! Runs one untrusted process confined: Landlock (files, TCP, signals), new user, network and
//! pid namespaces, seccomp, rlimits, a wall-clock timeout that kills the whole tree, a scrubbed
//! environment and capped, binary-safe output. [`probe`] says what the kernel offers; the
//! `require` policy decides between refusing and running with a loud warning.
//!
//! It knows nothing of language models, tools or the agent; it must never read config files or
//! secrets itself. Callers hand it a [`Settings`] (paths, limits, policy) and a [`Job`].

mod cgroup;
mod confine;
mod guard;
mod mounts;
mod output;
mod probe;
mod protect;
mod run;
mod seccomp;
#[doc(hidden)]
pub mod testing;

use std::path::PathBuf;

pub use cgroup::{CgroupSupport, support as cgroup_support};
pub use confine::NOBODY;
pub use guard::Guard;
pub use output::{Budget, Utf8Carry};
pub use probe::{FULL_LANDLOCK_ABI, SandboxSupport, probe};
/// The real paths a protected name covers in a directory (a symlink's target, a `.git`
/// file's git dir), shared with the file tools so both protect the same things.
pub use protect::protected_paths;
pub use run::{Exit, Job, Report, Spawned, Stream};

/// The fixed `PATH` every sandboxed process gets.
pub const SANDBOX_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// What a sandboxed process may touch and use.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Read-write directories (the workspace and the session's scratch dir).
    pub read_write: Vec<PathBuf>,
    /// Readable directories besides the system ones (e.g. an interpreter's prefix).
    pub read_only: Vec<PathBuf>,
    /// Names relative to each read-write directory that stay read-only inside it (e.g.
    /// `.git`, `.llm-repl`): persistence through hooks or plugins is refused.
    pub protected: Vec<PathBuf>,
    /// Size of the private `/tmp` (also `HOME` and `TMPDIR`) and of `/dev/shm`, each.
    pub tmp_bytes: u64,
    /// Files and directories the private `/tmp` may hold.
    pub tmp_inodes: u64,
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
            read_only: Vec::new(),
            protected: Vec::new(),
            tmp_bytes: 256 * 1024 * 1024,
            tmp_inodes: 65536,
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

    /// The environment every process gets: nothing inherited, no keys. `HOME` and `TMPDIR`
    /// are the sandbox's private `/tmp`.
    pub fn base_env(&self) -> Vec<(String, String)> {
        vec![
            ("PATH".into(), SANDBOX_PATH.into()),
            ("HOME".into(), "/tmp".into()),
            ("TMPDIR".into(), "/tmp".into()),
            ("LANG".into(), "C.UTF-8".into()),
            ("LC_ALL".into(), "C.UTF-8".into()),
            ("PYTHONIOENCODING".into(), "utf-8".into()),
            ("PYTHONDONTWRITEBYTECODE".into(), "1".into()),
        ]
    }

    /// Checks the policy against what the kernel offers: `Err` when confinement is required
    /// but missing, else the warnings to show (empty when fully confined).
    pub fn check_policy(&self) -> Result<Vec<String>, SandboxError> {
        decide(probe(), self.settings.require)
    }

    /// A command for `job` with the environment scrubbed and the confinement applied in the
    /// child before `exec`, and the sandbox's control group (when the machine offers one; else
    /// a warning says so). Fails when the policy requires confinement the kernel lacks.
    pub fn command(&self, job: &Job) -> Result<Confined, SandboxError> {
        let mut warnings = self.check_policy()?;
        let support = probe();
        let group = if support.namespaces {
            match cgroup::Group::create(cgroup::Limits {
                memory_bytes: self.settings.memory_bytes,
                max_processes: self.settings.max_processes,
            }) {
                Ok(g) => Some(std::sync::Arc::new(g)),
                Err(why) => {
                    warnings.push(format!(
                        "no control group for this sandbox ({why}): memory and process limits \
                         apply per process only"
                    ));
                    None
                }
            }
        } else {
            None
        };
        let mut read_only = self.settings.read_only.clone();
        read_only.extend(program_dirs(&job.program));
        let prepared =
            confine::Prepared::new(&self.settings, support, &read_only, &job.cwd, group.clone())
                .map_err(SandboxError::Unavailable)?;
        let mut cmd = tokio::process::Command::new(&job.program);
        cmd.args(&job.args).current_dir(&job.cwd).env_clear();
        for (k, v) in self.base_env().into_iter().chain(job.env.iter().cloned()) {
            cmd.env(k, v);
        }
        // SAFETY: `apply` runs in the forked child before exec and only makes
        // async-signal-safe system calls on data prepared above.
        unsafe {
            cmd.pre_exec(move || prepared.apply());
        }
        Ok(Confined {
            command: cmd,
            group,
            warnings,
        })
    }
}

/// What a program needs readable: its directory, and for `.../bin/prog` (an interpreter) its
/// prefix; the same for the file a symlinked program resolves to. A user's own prefix
/// (`~/.local`, where pipx and uv put interpreters) also holds every application's data and
/// state (llm-repl's past sessions among them): only its `lib` directories are bound.
fn program_dirs(program: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let real = program.canonicalize().ok();
    for p in std::iter::once(program).chain(real.as_deref()) {
        let Some(dir) = p.parent() else { continue };
        out.push(dir.to_path_buf());
        if dir.ends_with("bin")
            && let Some(prefix) = dir.parent()
            && prefix != std::path::Path::new("/")
        {
            if prefix.ends_with(".local") {
                out.extend(["lib", "lib64"].map(|d| prefix.join(d)));
            } else {
                out.push(prefix.to_path_buf());
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// A command ready to spawn, with what it needs kept alive beside it.
#[derive(Debug)]
pub struct Confined {
    pub command: tokio::process::Command,
    /// The sandbox's control group: every process the command starts is in it.
    pub group: Option<std::sync::Arc<cgroup::Group>>,
    /// What confinement is missing or degraded (shown to the user).
    pub warnings: Vec<String>,
}

/// The `require` policy applied to what the kernel offers: missing essentials (Landlock,
/// namespaces, seccomp) refuse when required; anything missing is otherwise a warning.
pub fn decide(support: &SandboxSupport, require: bool) -> Result<Vec<String>, SandboxError> {
    let missing = support.missing();
    if missing.is_empty() {
        return Ok(Vec::new());
    }
    let essential = support.landlock_abi < 1 || !support.namespaces || !support.seccomp;
    if essential && require {
        return Err(SandboxError::Unavailable(format!(
            "{}; refusing to run tools unconfined (set sandbox.require = false to run them \
             anyway, with a warning)",
            missing.join("; ")
        )));
    }
    Ok(missing
        .into_iter()
        .map(|m| format!("WARNING: the sandbox is incomplete: {m}"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn support(landlock_abi: i32, namespaces: bool, seccomp: bool) -> SandboxSupport {
        SandboxSupport {
            landlock_abi,
            namespaces,
            seccomp,
            namespace_error: (!namespaces).then(|| "EPERM".into()),
        }
    }

    #[test]
    fn policy_refuses_or_warns() {
        assert!(decide(&support(7, true, true), true).unwrap().is_empty());
        let e = decide(&support(0, true, true), true)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("Landlock") && e.contains("sandbox.require"),
            "{e}"
        );
        let e = decide(&support(7, false, true), true)
            .unwrap_err()
            .to_string();
        assert!(e.contains("namespaces") && e.contains("EPERM"), "{e}");
        let w = decide(&support(0, false, false), false).unwrap();
        assert_eq!(w.len(), 3);
        assert!(w.iter().all(|l| l.starts_with("WARNING")));
        // An old Landlock is a warning even when confinement is required.
        let w = decide(&support(3, true, true), true).unwrap();
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("ABI 3"), "{w:?}");
    }
}
