//! Where a service's socket, start lock and log live, and the checks that keep them private.
//!
//! One service per data directory: its files are named by a hash of the data directory's
//! canonical path, in `$XDG_RUNTIME_DIR/llm-repl/` (or `/tmp/llm-repl-$UID/` where
//! XDG_RUNTIME_DIR is unset). The directory must be a real directory owned by this user with
//! mode 0700 (created so; an existing one with other owners or wider modes is refused, never
//! "fixed" by following a symlink someone else planted); the socket is made 0600.

use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The files of the service of one data directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePaths {
    pub dir: PathBuf,
    pub socket: PathBuf,
    /// Held (flock) by whoever is starting the service, so two starts make one service.
    pub lock: PathBuf,
    /// The background service's standard error.
    pub log: PathBuf,
    /// The data directory served.
    pub data_dir: PathBuf,
}

/// This process's effective uid.
pub fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

impl ServicePaths {
    /// The paths for `data_dir`, under `runtime_dir` (`None`: read `$XDG_RUNTIME_DIR`).
    pub fn for_data_dir(data_dir: &Path, runtime_dir: Option<&Path>) -> ServicePaths {
        let base = match runtime_dir {
            Some(d) => d.join("llm-repl"),
            None => match std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()) {
                Some(d) => PathBuf::from(d).join("llm-repl"),
                None => std::env::temp_dir().join(format!("llm-repl-{}", euid())),
            },
        };
        // The data directory may not exist yet; its absolute form is the key then.
        let data_dir = data_dir
            .canonicalize()
            .unwrap_or_else(|_| absolute(data_dir));
        let name = format!(
            "{:016x}",
            fingerprint(data_dir.as_os_str().as_encoded_bytes())
        );
        ServicePaths {
            socket: base.join(format!("{name}.sock")),
            lock: base.join(format!("{name}.lock")),
            log: base.join(format!("{name}.log")),
            dir: base,
            data_dir,
        }
    }

    /// Creates the directory (0700) or checks an existing one: a directory, not a symlink,
    /// owned by this user, no access for group or others.
    pub fn prepare_dir(&self) -> anyhow::Result<()> {
        match std::fs::symlink_metadata(&self.dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(parent) = self.dir.parent() {
                    std::fs::create_dir_all(parent)
                        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", parent.display()))?;
                }
                match std::fs::DirBuilder::new().mode(0o700).create(&self.dir) {
                    Ok(()) => {}
                    // Made meanwhile by another start: checked below like any existing one.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                    Err(e) => anyhow::bail!("cannot create {}: {e}", self.dir.display()),
                }
                self.check_dir()
            }
            Err(e) => anyhow::bail!("cannot read {}: {e}", self.dir.display()),
            Ok(_) => self.check_dir(),
        }
    }

    /// Refuses a directory that is not private to this user.
    pub fn check_dir(&self) -> anyhow::Result<()> {
        let meta = std::fs::symlink_metadata(&self.dir)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", self.dir.display()))?;
        if !meta.file_type().is_dir() {
            anyhow::bail!(
                "{} is not a directory (a symlink or file is in the way): remove it",
                self.dir.display()
            );
        }
        if meta.uid() != euid() {
            anyhow::bail!(
                "{} belongs to uid {}, not to you (uid {}): refusing to use it",
                self.dir.display(),
                meta.uid(),
                euid()
            );
        }
        if meta.mode() & 0o077 != 0 {
            anyhow::bail!(
                "{} is open to other users (mode {:o}): chmod 700 it",
                self.dir.display(),
                meta.mode() & 0o777
            );
        }
        Ok(())
    }

    /// The running service's pid (written once it listens).
    pub fn pid_file(&self) -> PathBuf {
        self.socket.with_extension("pid")
    }

    /// Makes the socket file private (the directory already is).
    pub fn restrict_socket(&self) -> anyhow::Result<()> {
        std::fs::set_permissions(&self.socket, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| anyhow::anyhow!("cannot chmod {}: {e}", self.socket.display()))
    }
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// FNV-1a, 64 bits: a stable name for a path (std's hasher may change between releases, and a
/// client and a service of different builds must find the same socket); also how a client tells
/// the service which key it has without sending it.
pub fn fingerprint(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_name_per_data_dir_and_private_dir() {
        let tmp = tempfile::tempdir().unwrap();
        let a = ServicePaths::for_data_dir(&tmp.path().join("a"), Some(tmp.path()));
        let b = ServicePaths::for_data_dir(&tmp.path().join("b"), Some(tmp.path()));
        assert_ne!(a.socket, b.socket);
        assert_eq!(a.dir, b.dir);
        a.prepare_dir().unwrap();
        let mode = std::fs::metadata(&a.dir).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o700);
        // Opened up by someone: refused, not used.
        std::fs::set_permissions(&a.dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let err = a.prepare_dir().unwrap_err().to_string();
        assert!(err.contains("open to other users"), "{err}");
        // A symlink in its place is refused too.
        std::fs::remove_dir(&a.dir).unwrap();
        std::os::unix::fs::symlink(tmp.path(), &a.dir).unwrap();
        let err = a.prepare_dir().unwrap_err().to_string();
        assert!(err.contains("not a directory"), "{err}");
    }
}
