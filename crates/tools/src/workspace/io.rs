//! Reading and replacing files through the handles [`super::Workspace`] resolved, and running
//! a file tool's blocking work so that Interrupt and the turn time limit stop it.

use std::ffi::OsString;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;
use tokio_util::sync::CancellationToken;

use super::{CHUNK, INTERRUPTED, RETRIES, Workspace, kind, not_regular};

/// A file to write: its directory's handle and its name there.
#[derive(Debug)]
pub struct WriteTarget {
    pub(super) dir: OwnedFd,
    pub(super) name: OsString,
    /// Where it is, relative to the root (as the kernel reports the directory).
    pub location: PathBuf,
}

/// The file a [`WriteTarget`] names, as it is before the write.
#[derive(Debug)]
pub struct Current {
    /// The content; `None` when it is over the size asked for.
    pub bytes: Option<Vec<u8>>,
    /// Permission bits, kept by the write.
    pub mode: u32,
    pub size: u64,
}

static TEMP: AtomicU64 = AtomicU64::new(0);

impl WriteTarget {
    pub(super) fn is_symlink(&self) -> bool {
        rustix::fs::statat(&self.dir, &self.name, AtFlags::SYMLINK_NOFOLLOW)
            .is_ok_and(|st| kind(&st) == FileType::Symlink)
    }

    /// The current file, `None` when there is none yet; its content only up to `max` bytes.
    /// Refuses anything but a regular file, without blocking.
    pub fn current(
        &self,
        shown: &str,
        max: u64,
        cancel: &CancellationToken,
    ) -> Result<Option<Current>, String> {
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY;
        let fd = match Workspace::openat(
            self.dir.as_fd(),
            Path::new(&self.name),
            flags,
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => return Ok(None),
            Err(Errno::LOOP) => {
                return Err(format!(
                    "{shown}: changed while it was being written: not written"
                ));
            }
            Err(Errno::NXIO) => return Err(not_regular(shown, FileType::Socket)),
            Err(e) => return Err(format!("{shown}: {e}")),
        };
        let st = rustix::fs::fstat(&fd).map_err(|e| format!("{shown}: {e}"))?;
        match kind(&st) {
            FileType::RegularFile => {}
            FileType::Directory => return Err(format!("{shown} is a directory")),
            t => return Err(not_regular(shown, t)),
        }
        let size = st.st_size as u64;
        let bytes = if size > max {
            None
        } else {
            Some(read_capped(fd, max, cancel, shown)?)
        };
        Ok(Some(Current {
            bytes,
            mode: st.st_mode & 0o777,
            size,
        }))
    }

    /// Replaces the file with `bytes` atomically: a new file `O_EXCL` beside it, renamed over
    /// it. `mode` keeps the old permission bits. Nothing is changed once `cancel` fires before
    /// the rename.
    pub fn replace(
        &self,
        shown: &str,
        bytes: &[u8],
        mode: Option<u32>,
        cancel: &CancellationToken,
    ) -> Result<(), String> {
        use std::io::Write;
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW;
        let mut tries = 0;
        let (tmp, fd) = loop {
            let tmp = format!(
                ".llm-repl-{}-{}.tmp",
                std::process::id(),
                TEMP.fetch_add(1, Ordering::Relaxed)
            );
            match Workspace::openat(
                self.dir.as_fd(),
                Path::new(&tmp),
                flags,
                Mode::from_raw_mode(0o666),
            ) {
                Ok(fd) => break (tmp, fd),
                // Someone else's file by that name: another name, a bounded number of times.
                Err(Errno::EXIST) if tries < RETRIES => tries += 1,
                Err(e) => return Err(format!("{shown}: {e}")),
            }
        };
        let result = (|| {
            let mut file = std::fs::File::from(fd);
            for chunk in bytes.chunks(CHUNK) {
                if cancel.is_cancelled() {
                    return Err(INTERRUPTED.to_string());
                }
                file.write_all(chunk).map_err(|e| format!("{shown}: {e}"))?;
            }
            if let Some(mode) = mode {
                rustix::fs::fchmod(&file, Mode::from_raw_mode(mode))
                    .map_err(|e| format!("{shown}: {e}"))?;
            }
            if cancel.is_cancelled() {
                return Err(INTERRUPTED.to_string());
            }
            rustix::fs::renameat(&self.dir, &tmp, &self.dir, &self.name)
                .map_err(|e| format!("{shown}: {e}"))
        })();
        if result.is_err() {
            let _ = rustix::fs::unlinkat(&self.dir, &tmp, AtFlags::empty());
        }
        result
    }
}

/// Reads at most `max` bytes of an open file, looking at `cancel` between chunks.
pub fn read_capped(
    fd: OwnedFd,
    max: u64,
    cancel: &CancellationToken,
    shown: &str,
) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut file = std::fs::File::from(fd).take(max);
    let mut bytes = Vec::new();
    let mut buf = vec![0u8; CHUNK.min(max as usize + 1).max(1)];
    loop {
        if cancel.is_cancelled() {
            return Err(INTERRUPTED.into());
        }
        match file.read(&mut buf) {
            Ok(0) => return Ok(bytes),
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("{shown}: {e}")),
        }
    }
}

/// Runs a file tool's blocking work off the async workers. Interrupt and the turn timeout
/// (both fire `ctx.cancel`) end the call at once with `Interrupted`; the work itself looks at
/// the token between steps and stops too (a write is either complete or not made).
pub(crate) async fn run_blocking<F>(
    ctx: &llm_repl_core::ToolContext,
    what: &'static str,
    f: F,
) -> llm_repl_core::ToolOutcome
where
    F: FnOnce(&Path, &CancellationToken) -> Result<String, String> + Send + 'static,
{
    use llm_repl_core::ToolOutcome;
    use llm_repl_protocol::ToolStatus;
    let interrupted = || ToolOutcome {
        status: ToolStatus::Interrupted,
        content: format!("{what} interrupted"),
    };
    if ctx.cancel.is_cancelled() {
        return interrupted();
    }
    let (dir, cancel) = (ctx.workdir.clone(), ctx.cancel.clone());
    let task = tokio::task::spawn_blocking(move || f(&dir, &cancel));
    tokio::select! {
        biased;
        () = ctx.cancel.cancelled() => interrupted(),
        res = task => match res {
            _ if ctx.cancel.is_cancelled() => interrupted(),
            Ok(Ok(text)) => ToolOutcome::ok(text),
            Ok(Err(e)) => ToolOutcome::error(e),
            Err(e) => ToolOutcome::error(format!("{what} failed: {e}")),
        },
    }
}
