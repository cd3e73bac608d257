//! Protected names that did not exist when a sandbox started.
//!
//! A protected name (`.git`, `.llm-repl`) that exists is bound read-only inside the sandbox.
//! One that does not exist cannot be: a mount needs an existing mount point, and making one
//! would change the user's workspace. So sandboxed code could `git init` and plant a hook or
//! `core.fsmonitor` that the user's next `git status` runs on the host. The guard closes that:
//! it notes which protected names exist when the sandbox starts, and after the sandbox (or a
//! call of a persistent one) ends, a protected name that appeared meanwhile is renamed aside
//! (`.git.quarantined-<time>`), never deleted, and said so. The caller restarts a persistent
//! sandbox when that happens, so no thread inside can make it again.

use std::path::{Path, PathBuf};

/// What existed at the start.
#[derive(Debug, Clone, Default)]
pub struct Guard {
    /// (protected path, existed at the start)
    paths: Vec<(PathBuf, bool)>,
}

impl Guard {
    /// Notes, for each read-write directory, which protected names exist now.
    pub fn snapshot(read_write: &[PathBuf], protected: &[PathBuf]) -> Self {
        let mut paths = Vec::new();
        for dir in read_write {
            for name in protected {
                let p = dir.join(name);
                let existed = p.symlink_metadata().is_ok();
                paths.push((p, existed));
            }
        }
        Self { paths }
    }

    /// Renames aside every protected name that appeared since the snapshot; one line per
    /// name saying what was done (empty when nothing appeared).
    pub fn quarantine_new(&self) -> Vec<String> {
        let mut said = Vec::new();
        for (p, existed) in &self.paths {
            if *existed || p.symlink_metadata().is_err() {
                continue;
            }
            said.push(quarantine(p));
        }
        said
    }
}

fn quarantine(p: &Path) -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut name = p.as_os_str().to_os_string();
    name.push(format!(".quarantined-{secs}"));
    let to = PathBuf::from(name);
    match std::fs::rename(p, &to) {
        Ok(()) => format!(
            "the tool created {} (a protected path, read-only to tools when it exists): it was \
             moved aside to {} so nothing planted in it can run on the host",
            p.display(),
            to.display()
        ),
        Err(e) => format!(
            "the tool created the protected path {} and it could not be moved aside ({e}): \
             check it before using it",
            p.display()
        ),
    }
}
