//! Exclusive ownership of a data directory.
//!
//! sled allows one open per path; a second process would otherwise fail with an opaque sled
//! error (or, in sled's testing mode, block). Before opening sled we take an advisory `flock` on
//! `llm-repl.lock` next to the database and write our pid, start time and program into it. The
//! kernel drops the lock when the owner dies, however it dies, so a lock file left by a dead
//! process is stale by construction: we take the lock and report the dead pid we replaced.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use crate::error::{Result, StoreError};

/// The lock file's name inside the data directory.
pub const LOCK_FILE: &str = "llm-repl.lock";

/// Held for the life of a `Store`; dropping it closes the file and releases the lock.
#[derive(Debug)]
pub(crate) struct DirLock {
    _file: File,
    /// The pid written by a previous owner that no longer holds the lock (it died or exited).
    pub stale_pid: Option<u32>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What a lock file says about its writer.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Holder {
    pub pid: Option<u32>,
    pub started_ms: Option<u64>,
    pub exe: Option<String>,
}

impl Holder {
    fn parse(text: &str) -> Holder {
        let mut h = Holder::default();
        for line in text.lines() {
            match line.split_once('=') {
                Some(("pid", v)) => h.pid = v.trim().parse().ok(),
                Some(("started_ms", v)) => h.started_ms = v.trim().parse().ok(),
                Some(("exe", v)) => h.exe = Some(v.trim().to_string()),
                _ => {}
            }
        }
        h
    }

    fn describe(&self) -> String {
        let mut s = match self.pid {
            Some(p) => format!("pid {p}"),
            None => "unknown pid".to_string(),
        };
        if let Some(ms) = self.started_ms {
            s.push_str(&format!(
                ", started {}",
                llm_repl_protocol::calendar::Calendar::utc().format_stamp(ms)
            ));
        }
        if let Some(exe) = &self.exe {
            s.push_str(&format!(", {exe}"));
        }
        s
    }
}

/// True when a process with this pid exists (it may belong to another user).
fn pid_alive(pid: u32) -> bool {
    let Ok(p) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill with signal 0 sends nothing; it only checks that the pid exists.
    let r = unsafe { libc::kill(p, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Takes the directory's lock or explains who holds it.
pub(crate) fn acquire(dir: &Path) -> Result<DirLock> {
    let path: PathBuf = dir.join(LOCK_FILE);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io(&path))?;
    let mut old = String::new();
    // SAFETY: flock on a descriptor we own; LOCK_NB makes it return at once.
    let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if r != 0 {
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EWOULDBLOCK) {
            return Err(io(&path)(err));
        }
        let _ = file.read_to_string(&mut old);
        let holder = Holder::parse(&old);
        return Err(StoreError::Locked {
            dir: dir.to_path_buf(),
            pid: holder.pid,
            holder: holder.describe(),
        });
    }
    let _ = file.read_to_string(&mut old);
    let me = std::process::id();
    let stale_pid = Holder::parse(&old)
        .pid
        .filter(|p| *p != me && !pid_alive(*p));
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let text = format!("pid={me}\nstarted_ms={}\nexe={exe}\n", crate::now_ms());
    file.set_len(0).map_err(io(&path))?;
    file.seek(SeekFrom::Start(0)).map_err(io(&path))?;
    file.write_all(text.as_bytes()).map_err(io(&path))?;
    file.sync_all().map_err(io(&path))?;
    Ok(DirLock {
        _file: file,
        stale_pid,
    })
}

/// Reads who holds (or last held) the lock of `dir`, without taking it.
pub(crate) fn holder_of(dir: &Path) -> Option<(Option<u32>, String)> {
    let text = std::fs::read_to_string(dir.join(LOCK_FILE)).ok()?;
    let h = Holder::parse(&text);
    Some((h.pid, h.describe()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_holder_lines() {
        let h = Holder::parse("pid=42\nstarted_ms=0\nexe=/bin/x\n");
        assert_eq!(h.pid, Some(42));
        assert_eq!(h.exe.as_deref(), Some("/bin/x"));
        assert!(h.describe().starts_with("pid 42, started 1970-01-01 00:00"));
    }

    #[test]
    fn second_lock_in_same_process_is_refused_and_names_us() {
        let dir = tempfile::tempdir().unwrap();
        let first = acquire(dir.path()).unwrap();
        let err = acquire(dir.path()).unwrap_err();
        let me = std::process::id();
        assert!(matches!(err, StoreError::Locked { pid: Some(p), .. } if p == me));
        assert!(err.to_string().contains(&format!("pid {me}")));
        drop(first);
        acquire(dir.path()).unwrap();
    }

    #[test]
    fn stale_pid_of_dead_process_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        // pid_max on Linux is at most 2^22, so this pid cannot exist.
        std::fs::write(dir.path().join(LOCK_FILE), "pid=99999999\n").unwrap();
        let l = acquire(dir.path()).unwrap();
        assert_eq!(l.stale_pid, Some(99999999));
    }
}
