//! Test support for this and other crates' tests: a beacon that tells, by events rather than sleeps, whether
//! any process started inside a sandbox is still alive.
//!
//! The beacon is a FIFO the test reads. A process under test opens it for writing and sends a
//! byte (it is up); the kernel keeps the write end open exactly as long as some process holds
//! it, so the reader sees end-of-file when the last holder is gone, however it died.

use std::io::Read;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A FIFO named `beacon` in a directory, open for reading.
#[derive(Debug)]
pub struct Beacon {
    path: PathBuf,
    file: std::fs::File,
}

/// What [`Beacon::wait`] waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// A holder sent a byte.
    Up,
    /// Every holder is gone (call after `Up`).
    Gone,
}

impl Beacon {
    /// Makes `dir/beacon` and opens it (non-blocking, so opening needs no writer).
    pub fn new(dir: &Path) -> std::io::Result<Self> {
        use std::os::unix::fs::OpenOptionsExt;
        let path = dir.join("beacon");
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
            .map_err(std::io::Error::other)?;
        // SAFETY: mkfifo with a valid C string.
        if unsafe { libc::mkfifo(c.as_ptr(), 0o666) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&path)?;
        Ok(Self { path, file })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Waits until `until` happens; false when `limit` passes first. Blocking: call it from a
    /// blocking thread in async tests.
    pub fn wait(&self, until: Until, limit: Duration) -> bool {
        let Ok(mut file) = self.file.try_clone() else {
            return false;
        };
        let deadline = Instant::now() + limit;
        let mut buf = [0u8; 64];
        while Instant::now() < deadline {
            let mut p = libc::pollfd {
                fd: file.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: poll on one valid pollfd.
            if unsafe { libc::poll(&mut p, 1, 200) } <= 0 {
                continue;
            }
            match (file.read(&mut buf), until) {
                (Ok(n), Until::Up) if n > 0 => return true,
                (Ok(0), Until::Gone) => return true,
                (Err(e), _) if e.kind() != std::io::ErrorKind::WouldBlock => return false,
                // No writer yet (EOF before `Up`) or data while waiting for `Gone`.
                _ => std::thread::yield_now(),
            }
        }
        false
    }
}
