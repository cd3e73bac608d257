//! Confining the file tools to the workspace, by the kernel.
//!
//! The file tools run in the app process, beside sandboxed code that can keep running (a thread,
//! a background process) and swap a directory for a symlink at any moment. So no path is checked
//! and then reopened by name. The workspace root is opened as a directory handle and every path
//! a model names is resolved by the kernel beneath it: `openat2` with `RESOLVE_BENEATH |
//! RESOLVE_NO_MAGICLINKS` (`..` above the root, absolute paths or symlinks, and symlinks leading
//! out fail with `EXDEV`; `/proc` magic links fail too). Everything after that works on the
//! handles it got:
//! - reads open `O_NONBLOCK | O_NOCTTY` and `fstat` the open file: FIFOs, devices and sockets
//!   are refused without blocking (see [`Workspace::open_existing`]);
//! - writes create a temporary file `O_CREAT | O_EXCL | O_NOFOLLOW` beneath the target's
//!   directory handle and `renameat` it over the target ([`WriteTarget::replace`]): atomic, and
//!   a symlink or hard link swapped in at the target is replaced, never written through;
//! - the protected paths (`[sandbox] protect`) are compared on the location the kernel reports
//!   for the directory handle (`/proc/self/fd`), not on the string the model wrote, so `a/../`,
//!   `./` and symlinks into `.git` all land on the same answer.
//!
//! `RESOLVE_NO_XDEV` is not used: only the user can mount inside the workspace (sandboxed code's
//! mounts live in its own mount namespace), so crossing a mount point is the user's choice.

mod io;
mod protect;

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use rustix::fs::{FileType, Mode, OFlags, ResolveFlags, Stat};
use rustix::io::Errno;

pub(crate) use io::run_blocking;
pub use io::{Current, WriteTarget, read_capped};
pub use protect::Protected;

/// How every model-named path is resolved.
const RESOLVE: ResolveFlags = ResolveFlags::BENEATH.union(ResolveFlags::NO_MAGICLINKS);

/// Times a resolution is retried when the kernel reports a concurrent rename (`EAGAIN`).
const RETRIES: usize = 32;

/// Bytes read between two looks at the cancel token.
const CHUNK: usize = 64 * 1024;

/// The message of an interrupted operation (the tool turns it into an `Interrupted` outcome).
pub const INTERRUPTED: &str = "interrupted";

/// The workspace root as a directory handle, and where the kernel says it is.
pub struct Workspace {
    root: OwnedFd,
    root_path: PathBuf,
    given: PathBuf,
}

impl std::fmt::Debug for Workspace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workspace")
            .field("root", &self.root_path)
            .finish()
    }
}

/// What a path names, from `fstat` of the open handle.
pub fn kind(st: &Stat) -> FileType {
    FileType::from_raw_mode(st.st_mode)
}

fn kind_name(t: FileType) -> &'static str {
    match t {
        FileType::RegularFile => "a regular file",
        FileType::Directory => "a directory",
        FileType::Symlink => "a symlink",
        FileType::Fifo => "a FIFO (named pipe)",
        FileType::Socket => "a socket",
        FileType::CharacterDevice => "a character device",
        FileType::BlockDevice => "a block device",
        FileType::Unknown => "of an unknown kind",
    }
}

/// The refusal for anything but a regular file or directory.
pub fn not_regular(path: &str, t: FileType) -> String {
    format!(
        "{path} is {}: not a regular file, refused (reading it could block or have side effects)",
        kind_name(t)
    )
}

impl Workspace {
    /// Opens the workspace root (a path the user chose; sandboxed code cannot move it).
    pub fn open(workdir: &Path) -> Result<Self, String> {
        let root = rustix::fs::open(
            workdir,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| format!("the workspace {} is not usable: {e}", workdir.display()))?;
        let root_path = fd_path(root.as_fd())
            .or_else(|_| workdir.canonicalize())
            .unwrap_or_else(|_| workdir.to_path_buf());
        Ok(Self {
            root,
            root_path,
            given: workdir.to_path_buf(),
        })
    }

    /// Where the kernel says the root is.
    pub fn root_path(&self) -> &Path {
        &self.root_path
    }

    /// The argument as a path relative to the root; an absolute path is accepted when it starts
    /// with the root (the rest is still resolved beneath it).
    pub fn relative(&self, path: &str) -> Result<PathBuf, String> {
        let p = Path::new(path);
        if path.is_empty() {
            return Ok(".".into());
        }
        if !p.is_absolute() {
            return Ok(p.to_path_buf());
        }
        for base in [&self.root_path, &self.given] {
            if let Ok(rest) = p.strip_prefix(base) {
                return Ok(if rest.as_os_str().is_empty() {
                    ".".into()
                } else {
                    rest.to_path_buf()
                });
            }
        }
        Err(self.outside(path))
    }

    fn outside(&self, path: &str) -> String {
        format!(
            "{path}: refused: it leads outside the workspace {} (`..` above it, an absolute path \
             or symlink, or a symlink pointing out)",
            self.root_path.display()
        )
    }

    /// A kernel error as a message the model can act on.
    pub fn explain(&self, path: &str, e: Errno) -> String {
        match e {
            Errno::XDEV => self.outside(path),
            Errno::NOENT => format!("{path}: no such file or directory"),
            Errno::NOTDIR => format!("{path}: a component of the path is not a directory"),
            Errno::LOOP => format!("{path}: too many symlinks, or a symlink where none may be"),
            Errno::NXIO => format!("{path} is a socket or device: not a regular file, refused"),
            Errno::AGAIN => format!("{path}: the workspace kept changing while it was resolved"),
            Errno::NOSYS => {
                "the file tools need openat2 (Linux 5.6 or later), which this system refuses".into()
            }
            Errno::INVAL => format!("{path}: not a usable path"),
            _ => format!("{path}: {e}"),
        }
    }

    /// `openat2(dirfd, rel)` beneath `dirfd`, retried on a concurrent rename.
    fn openat(
        dirfd: BorrowedFd<'_>,
        rel: &Path,
        flags: OFlags,
        mode: Mode,
    ) -> Result<OwnedFd, Errno> {
        let mut tries = 0;
        loop {
            match rustix::fs::openat2(dirfd, rel, flags | OFlags::CLOEXEC, mode, RESOLVE) {
                Err(Errno::AGAIN) if tries < RETRIES => tries += 1,
                Err(Errno::INTR) => {}
                r => return r,
            }
        }
    }

    /// Opens an existing `path` for reading, following symlinks only while they stay beneath the
    /// root, without blocking on a FIFO; the caller decides by the returned kind.
    pub fn open_existing(&self, path: &str) -> Result<(OwnedFd, Stat), String> {
        let rel = self.relative(path)?;
        let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY;
        let fd = Self::openat(self.root.as_fd(), &rel, flags, Mode::empty())
            .map_err(|e| self.explain(path, e))?;
        let st = rustix::fs::fstat(&fd).map_err(|e| format!("{path}: {e}"))?;
        Ok((fd, st))
    }

    /// A directory handle (`O_PATH`) for `rel`, beneath the root.
    fn dir_handle(&self, rel: &Path) -> Result<OwnedFd, Errno> {
        Self::openat(
            self.root.as_fd(),
            rel,
            OFlags::PATH | OFlags::DIRECTORY,
            Mode::empty(),
        )
    }

    /// Where `fd` is, relative to the root, as the kernel reports it.
    pub fn location(&self, fd: BorrowedFd<'_>) -> Result<PathBuf, String> {
        let abs = fd_path(fd)
            .map_err(|e| format!("cannot tell where a file is (/proc is needed): {e}"))?;
        abs.strip_prefix(&self.root_path)
            .map(Path::to_path_buf)
            .map_err(|_| {
                format!(
                    "{} is not inside the workspace any more (moved or removed meanwhile)",
                    abs.display()
                )
            })
    }

    /// Resolves `path` for writing: the directory handle it lives in and its name there. An
    /// existing symlink is followed (beneath the root) to the file it names. Missing parent
    /// directories are created when `create_dirs`. Refuses protected locations.
    pub fn target(
        &self,
        path: &str,
        create_dirs: bool,
        protected: &Protected,
    ) -> Result<WriteTarget, String> {
        let rel = self.relative(path)?;
        let Some(Component::Normal(name)) = rel.components().next_back() else {
            return Err(format!("{path}: not a file name"));
        };
        let name = name.to_owned();
        let parent = rel
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let dir = match self.dir_handle(parent) {
            Ok(fd) => fd,
            Err(Errno::NOENT) if create_dirs => self.create_dirs(parent, path, protected)?,
            Err(e) => return Err(self.explain(path, e)),
        };
        let mut t = WriteTarget {
            location: self.location(dir.as_fd())?.join(&name),
            dir,
            name,
        };
        if t.is_symlink() {
            t = self.through_symlink(&rel, path)?;
        }
        protected.check(path, &t.location, &self.root_path)?;
        Ok(t)
    }

    /// Creates the missing directories of `parent`: every prefix is resolved by the kernel
    /// beneath the root, and a missing one is made by name beneath the handle of the one
    /// before. Refuses protected locations, and `..` after a directory it would have to create.
    fn create_dirs(
        &self,
        parent: &Path,
        path: &str,
        protected: &Protected,
    ) -> Result<OwnedFd, String> {
        let mut cur = self
            .dir_handle(Path::new("."))
            .map_err(|e| self.explain(path, e))?;
        let mut prefix = PathBuf::new();
        let comps: Vec<Component<'_>> = parent.components().collect();
        for (i, c) in comps.iter().enumerate() {
            let c = match c {
                Component::Normal(c) => *c,
                Component::ParentDir => {
                    prefix.push("..");
                    cur = self
                        .dir_handle(&prefix)
                        .map_err(|e| self.explain(path, e))?;
                    continue;
                }
                _ => continue,
            };
            prefix.push(c);
            cur = match self.dir_handle(&prefix) {
                Ok(fd) => fd,
                Err(Errno::NOENT) if comps[i..].contains(&Component::ParentDir) => {
                    return Err(format!(
                        "{path}: refused: `..` after a directory that does not exist"
                    ));
                }
                Err(Errno::NOENT) => {
                    let loc = self.location(cur.as_fd())?.join(c);
                    protected.check(path, &loc, &self.root_path)?;
                    match rustix::fs::mkdirat(&cur, c, Mode::from_raw_mode(0o777)) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(e) => return Err(self.explain(path, e)),
                    }
                    let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW;
                    Self::openat(cur.as_fd(), Path::new(c), flags, Mode::empty())
                        .map_err(|e| self.explain(path, e))?
                }
                Err(e) => return Err(self.explain(path, e)),
            };
        }
        Ok(cur)
    }

    /// The file an existing symlink names, resolved beneath the root once.
    fn through_symlink(&self, rel: &Path, path: &str) -> Result<WriteTarget, String> {
        let fd = Self::openat(self.root.as_fd(), rel, OFlags::PATH, Mode::empty()).map_err(
            |e| match e {
                Errno::NOENT => format!("{path} is a symlink to nothing: not written"),
                e => self.explain(path, e),
            },
        )?;
        let st = rustix::fs::fstat(&fd).map_err(|e| format!("{path}: {e}"))?;
        if kind(&st) == FileType::Directory {
            return Err(format!("{path} is a directory"));
        }
        let loc = self.location(fd.as_fd())?;
        let (Some(parent), Some(name)) = (loc.parent(), loc.file_name()) else {
            return Err(format!("{path}: not a file name"));
        };
        let parent = if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        };
        let dir = self.dir_handle(parent).map_err(|e| self.explain(path, e))?;
        let t = WriteTarget {
            location: self.location(dir.as_fd())?.join(name),
            dir,
            name: name.to_owned(),
        };
        if t.location != loc || t.is_symlink() {
            return Err(format!(
                "{path}: changed while it was being written: not written"
            ));
        }
        Ok(t)
    }
}

/// The absolute path the kernel has for an open handle.
fn fd_path(fd: BorrowedFd<'_>) -> std::io::Result<PathBuf> {
    let p = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))?;
    if p.as_os_str().as_encoded_bytes().ends_with(b" (deleted)") {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "removed meanwhile",
        ));
    }
    Ok(p)
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_beneath_the_root_and_escapes_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path().join("ws");
        std::fs::create_dir_all(ws.join("sub")).unwrap();
        std::fs::write(ws.join("a.txt"), "a").unwrap();
        std::fs::write(dir.path().join("secret"), "s").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret"), ws.join("link")).unwrap();
        std::os::unix::fs::symlink("a.txt", ws.join("good")).unwrap();
        let w = Workspace::open(&ws).unwrap();
        let root = ws.canonicalize().unwrap();
        assert_eq!(w.root_path(), root);

        assert!(w.open_existing("a.txt").is_ok());
        assert!(w.open_existing("good").is_ok());
        assert!(w.open_existing("sub/../a.txt").is_ok());
        assert!(
            w.open_existing(root.join("a.txt").to_str().unwrap())
                .is_ok()
        );
        for bad in ["../secret", "link", "/etc/passwd", "sub/../../secret"] {
            let e = w.open_existing(bad).unwrap_err();
            assert!(e.contains("outside the workspace"), "{bad}: {e}");
        }
        let e = w.open_existing("nope").unwrap_err();
        assert!(e.contains("no such file"), "{e}");
        assert_eq!(w.relative("").unwrap(), Path::new("."));
        assert_eq!(w.relative(root.to_str().unwrap()).unwrap(), Path::new("."));

        let p = Protected::new(&[".git", "./deploy/keys"]);
        let t = w.target("sub/x.txt", false, &p).unwrap();
        assert_eq!(t.location, Path::new("sub/x.txt"));
        let t = w.target("good", false, &p).unwrap();
        assert_eq!(
            t.location,
            Path::new("a.txt"),
            "a symlink is written through, beneath"
        );
        assert!(w.target("new/dir/x", false, &p).is_err());
        assert_eq!(
            w.target("new/dir/x", true, &p).unwrap().location,
            Path::new("new/dir/x")
        );
        assert!(
            w.target("sub/../../x", true, &p)
                .unwrap_err()
                .contains("outside")
        );
        let e = w.target("nodir/../x", true, &p).unwrap_err();
        assert!(e.contains("`..` after"), "{e}");
        assert!(!ws.join("nodir").exists());
        for bad in [".git/x", "deploy/keys/id", "sub/../.git/hooks/x", "./.git"] {
            let e = w.target(bad, true, &p).unwrap_err();
            assert!(e.contains("protected path"), "{bad}: {e}");
        }
        assert!(!ws.join(".git").exists() && !ws.join("deploy/keys").exists());
        assert!(w.target(".gitignore", true, &p).is_ok());
        assert!(
            w.target(".", true, &p)
                .unwrap_err()
                .contains("not a file name")
        );
    }
}
