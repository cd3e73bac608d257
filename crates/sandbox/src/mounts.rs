//! The private filesystem view: what a sandboxed process sees instead of the host's tree.
//!
//! Done in-process rather than through bubblewrap: the program needs no setuid helper or extra
//! package, Landlock and seccomp go on after the mounts in the same child (bubblewrap would
//! need a second stage to apply Landlock), and the whole sequence is one list of system calls
//! we can test. The shape follows bubblewrap's and Codex's Linux sandbox:
//!
//! - a new root on a small tmpfs, made read-only once assembled;
//! - system directories and a few `/etc` files bound read-only (nosuid, nodev);
//! - the read-write directories (the workspace) bound at their own paths, with the protected
//!   names inside them (`.git`, `.llm-repl`) bound again read-only on top;
//! - a private, size-capped tmpfs as `/tmp` (also `HOME` and `TMPDIR`) and `/dev/shm`;
//! - a minimal `/dev` (null, zero, full, random, urandom and the `fd` links);
//! - a `/proc` of the sandbox's own pid namespace.
//!
//! Nothing else exists inside: no host `/tmp`, `/run`, `/var/run`, home directories or their
//! sockets. Every source is opened by the parent as a detached mount tree (`open_tree`) before
//! the fork, with its attributes set there (read-only, and when llm-repl runs as root an id
//! mapping that shows the host's root-owned files as owned by the sandbox's unprivileged uid,
//! so the workspace stays writable without the sandbox ever being the host's root). The child
//! only attaches those trees (`move_mount`), mounts the tmpfs and proc, and pivots: system calls
//! on memory prepared before the fork, nothing that allocates.

use crate::protect::protected_paths;
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// Where the new root is assembled, inside the sandbox's own mount namespace (it shadows
/// nothing of the host's: every source was opened before).
const STAGE: &str = "/tmp";

/// System paths bound read-only; missing ones are skipped, symlinks are recreated.
pub(crate) const SYSTEM_PATHS: &[&str] = &[
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib64",
    "/lib32",
    "/libx32",
    "/opt",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/localtime",
    "/etc/timezone",
    "/etc/alternatives",
    "/etc/ssl",
    "/etc/ca-certificates",
    "/etc/mime.types",
    "/etc/os-release",
    "/etc/nsswitch.conf",
    "/etc/passwd",
    "/etc/group",
    "/etc/hosts",
    "/etc/protocols",
    "/etc/services",
    "/etc/python3",
    "/etc/python3.11",
    "/etc/python3.12",
    "/etc/python3.13",
    "/etc/matplotlibrc",
    "/etc/fonts",
    "/sys/devices/system/cpu",
];

/// Read only when the network is allowed.
pub(crate) const NETWORK_PATHS: &[&str] = &["/etc/resolv.conf", "/etc/gai.conf", "/etc/host.conf"];

/// Device nodes bound into the private `/dev`.
const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom"];

/// One step of the child's assembly, on memory prepared before the fork.
#[derive(Debug)]
enum Step {
    Mkdir(CString),
    /// An empty file to bind a file onto.
    Touch(CString),
    Symlink {
        target: CString,
        at: CString,
    },
    Tmpfs {
        at: CString,
        opts: CString,
    },
    /// Attach a detached tree (an index into `Plan::trees`).
    Attach {
        tree: usize,
        at: CString,
    },
    Proc(CString),
    /// Attach a detached tree of a protected path onto the same inode inside the attached
    /// workspace: the target is resolved without following any symlink and must be the inode
    /// the parent opened (`dev`, `ino`), or the sandbox does not start. Sandboxed code that is
    /// still running elsewhere can rename things in the workspace while this one is built.
    AttachProtected {
        tree: usize,
        at: CString,
        dev: u64,
        ino: u64,
    },
}

/// Everything the child needs to build the view.
#[derive(Debug)]
pub(crate) struct Plan {
    trees: Vec<OwnedFd>,
    steps: Vec<Step>,
    stage: CString,
    /// The working directory inside (the job's cwd, which exists at the same path).
    cwd: CString,
}

/// The sizes of the private tmpfs mounts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TmpLimits {
    pub bytes: u64,
    pub inodes: u64,
}

/// What goes where.
pub(crate) struct Layout<'a> {
    pub read_only: &'a [PathBuf],
    pub read_write: &'a [PathBuf],
    pub protected: &'a [PathBuf],
    pub network: bool,
    pub tmp: TmpLimits,
    pub cwd: &'a Path,
    /// An id-mapping user namespace for the read-write trees (llm-repl runs as root).
    pub idmap: Option<&'a OwnedFd>,
}

impl Plan {
    /// Opens every source as a detached tree and lists the child's steps. Runs in the parent.
    pub(crate) fn new(l: &Layout<'_>) -> Result<Self, String> {
        let mut b = Builder::default();
        b.dirs.push(PathBuf::from("/"));
        // Inner tmpfs first: the workspace may live under /tmp on the host.
        let tmp_opts = format!("mode=1777,size={},nr_inodes={}", l.tmp.bytes, l.tmp.inodes);
        b.tmpfs(Path::new("/tmp"), &tmp_opts)?;
        let mut system: Vec<&str> = SYSTEM_PATHS.to_vec();
        if l.network {
            system.extend_from_slice(NETWORK_PATHS);
        }
        let ro = libc::MOUNT_ATTR_RDONLY | libc::MOUNT_ATTR_NOSUID | libc::MOUNT_ATTR_NODEV;
        for p in system
            .iter()
            .map(Path::new)
            .chain(l.read_only.iter().map(|p| p.as_path()))
        {
            b.bind(p, ro, None)?;
        }
        // /dev: a small tmpfs with the harmless devices bound in.
        b.tmpfs(Path::new("/dev"), "mode=0755,size=64k,nr_inodes=64")?;
        for d in DEVICES {
            let p = PathBuf::from("/dev").join(d);
            b.bind(&p, libc::MOUNT_ATTR_NOSUID, None)?;
        }
        for (name, target) in [
            ("fd", "/proc/self/fd"),
            ("stdin", "/proc/self/fd/0"),
            ("stdout", "/proc/self/fd/1"),
            ("stderr", "/proc/self/fd/2"),
        ] {
            b.symlink(target, &Path::new("/dev").join(name))?;
        }
        let shm = format!("mode=1777,size={},nr_inodes={}", l.tmp.bytes, l.tmp.inodes);
        b.tmpfs(Path::new("/dev/shm"), &shm)?;
        // The read-write trees, then the protected names inside them on top.
        let rw = libc::MOUNT_ATTR_NOSUID | libc::MOUNT_ATTR_NODEV;
        for dir in l.read_write {
            b.bind(dir, rw, l.idmap)?;
            for name in l.protected {
                for p in protected_paths(dir, name) {
                    b.bind_protected(dir, &p, ro, l.idmap)?;
                }
            }
        }
        b.proc()?;
        Ok(Plan {
            trees: b.trees,
            steps: b.steps,
            stage: cstr(Path::new(STAGE))?,
            cwd: cstr(l.cwd)?,
        })
    }

    /// Builds the view and enters it. Runs in the child: pid 1 of a new pid namespace, inside
    /// new user and mount namespaces. Async-signal-safe system calls only.
    ///
    /// # Safety
    /// Only in a forked child, before exec.
    pub(crate) unsafe fn enter(&self) -> std::io::Result<()> {
        use crate::confine::check;
        // SAFETY: system calls on C strings and fds prepared before the fork.
        unsafe {
            check(libc::mount(
                std::ptr::null(),
                c"/".as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            ))?;
            check(libc::mount(
                c"tmpfs".as_ptr(),
                self.stage.as_ptr(),
                c"tmpfs".as_ptr(),
                libc::MS_NOSUID | libc::MS_NODEV,
                c"mode=0755,size=1m,nr_inodes=4096".as_ptr().cast(),
            ))?;
            for step in &self.steps {
                match step {
                    Step::Mkdir(p) => {
                        if libc::mkdir(p.as_ptr(), 0o755) != 0
                            && *libc::__errno_location() != libc::EEXIST
                        {
                            return Err(std::io::Error::last_os_error());
                        }
                    }
                    Step::Touch(p) => {
                        let fd = libc::open(
                            p.as_ptr(),
                            libc::O_CREAT | libc::O_WRONLY | libc::O_CLOEXEC,
                            0o644,
                        );
                        if fd >= 0 {
                            libc::close(fd);
                        }
                    }
                    Step::Symlink { target, at } => {
                        libc::symlink(target.as_ptr(), at.as_ptr());
                    }
                    Step::Tmpfs { at, opts } => {
                        check(libc::mount(
                            c"tmpfs".as_ptr(),
                            at.as_ptr(),
                            c"tmpfs".as_ptr(),
                            libc::MS_NOSUID | libc::MS_NODEV,
                            opts.as_ptr().cast(),
                        ))?;
                    }
                    Step::Attach { tree, at } => {
                        let r = libc::syscall(
                            libc::SYS_move_mount,
                            self.trees[*tree].as_raw_fd(),
                            c"".as_ptr(),
                            libc::AT_FDCWD,
                            at.as_ptr(),
                            libc::MOVE_MOUNT_F_EMPTY_PATH,
                        );
                        check(r as libc::c_int)?;
                    }
                    Step::AttachProtected { tree, at, dev, ino } => {
                        let mut how: libc::open_how = std::mem::zeroed();
                        how.flags = (libc::O_PATH | libc::O_CLOEXEC | libc::O_NOFOLLOW) as u64;
                        how.resolve = libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS;
                        let fd = libc::syscall(
                            libc::SYS_openat2,
                            libc::AT_FDCWD,
                            at.as_ptr(),
                            &how as *const libc::open_how,
                            std::mem::size_of::<libc::open_how>(),
                        ) as libc::c_int;
                        check(fd)?;
                        let mut st: libc::stat = std::mem::zeroed();
                        let same =
                            libc::fstat(fd, &mut st) == 0 && st.st_dev == *dev && st.st_ino == *ino;
                        let r = if same {
                            libc::syscall(
                                libc::SYS_move_mount,
                                self.trees[*tree].as_raw_fd(),
                                c"".as_ptr(),
                                fd,
                                c"".as_ptr(),
                                libc::MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
                            ) as libc::c_int
                        } else {
                            *libc::__errno_location() = libc::ESTALE;
                            -1
                        };
                        let err = std::io::Error::last_os_error();
                        libc::close(fd);
                        if r != 0 {
                            return Err(err);
                        }
                    }
                    Step::Proc(at) => {
                        check(libc::mount(
                            c"proc".as_ptr(),
                            at.as_ptr(),
                            c"proc".as_ptr(),
                            libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
                            std::ptr::null(),
                        ))?;
                    }
                }
            }
            // Enter: the stage becomes `/`, the host's tree is detached and gone.
            check(libc::chdir(self.stage.as_ptr()))?;
            let r = libc::syscall(libc::SYS_pivot_root, c".".as_ptr(), c".".as_ptr());
            check(r as libc::c_int)?;
            check(libc::umount2(c".".as_ptr(), libc::MNT_DETACH))?;
            check(libc::mount(
                std::ptr::null(),
                c"/".as_ptr(),
                std::ptr::null(),
                libc::MS_REMOUNT
                    | libc::MS_BIND
                    | libc::MS_RDONLY
                    | libc::MS_NOSUID
                    | libc::MS_NODEV,
                std::ptr::null(),
            ))?;
            check(libc::chdir(self.cwd.as_ptr()))?;
        }
        Ok(())
    }
}

#[derive(Default)]
struct Builder {
    trees: Vec<OwnedFd>,
    steps: Vec<Step>,
    /// Directories already made under the stage (host-path form).
    dirs: Vec<PathBuf>,
}

impl Builder {
    fn staged(p: &Path) -> Result<CString, String> {
        let rel = p.strip_prefix("/").unwrap_or(p);
        cstr(&Path::new(STAGE).join(rel))
    }

    /// Makes every missing directory up to and including `dir`.
    fn mkdirs(&mut self, dir: &Path) -> Result<(), String> {
        let mut cur = PathBuf::from("/");
        for c in dir.components() {
            match c {
                Component::Normal(n) => cur.push(n),
                Component::RootDir => continue,
                _ => return Err(format!("not a plain absolute path: {}", dir.display())),
            }
            if !self.dirs.contains(&cur) {
                self.steps.push(Step::Mkdir(Self::staged(&cur)?));
                self.dirs.push(cur.clone());
            }
        }
        Ok(())
    }

    fn tmpfs(&mut self, at: &Path, opts: &str) -> Result<(), String> {
        self.mkdirs(at)?;
        let opts = CString::new(opts).map_err(|e| e.to_string())?;
        self.steps.push(Step::Tmpfs {
            at: Self::staged(at)?,
            opts,
        });
        Ok(())
    }

    fn symlink(&mut self, target: &str, at: &Path) -> Result<(), String> {
        if let Some(parent) = at.parent() {
            self.mkdirs(parent)?;
        }
        self.steps.push(Step::Symlink {
            target: CString::new(target).map_err(|e| e.to_string())?,
            at: Self::staged(at)?,
        });
        Ok(())
    }

    fn proc(&mut self) -> Result<(), String> {
        let at = Path::new("/proc");
        self.mkdirs(at)?;
        self.steps.push(Step::Proc(Self::staged(at)?));
        Ok(())
    }

    /// Binds the protected path `p` inside the read-write directory `dir` (already bound) on
    /// top of itself. The source is opened beneath `dir` without following any symlink, so a
    /// path that sandboxed code swaps for a symlink while this runs fails instead of pulling
    /// a host directory in; the child attaches it only onto that same inode (see
    /// [`Step::AttachProtected`]) and makes no directory or file on the way.
    fn bind_protected(
        &mut self,
        dir: &Path,
        p: &Path,
        attrs: u64,
        idmap: Option<&OwnedFd>,
    ) -> Result<(), String> {
        let why = |e: std::io::Error| {
            format!(
                "cannot prepare the read-only bind mount of {} (did it change while the \
                 sandbox was being built?): {e}",
                p.display()
            )
        };
        let rel = p
            .strip_prefix(dir)
            .map_err(|_| format!("a protected path outside its directory: {}", p.display()))?;
        let base = open_path(libc::AT_FDCWD, &cstr(dir)?, 0).map_err(why)?;
        let src = open_path(
            base.as_raw_fd(),
            &cstr(rel)?,
            libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS,
        )
        .map_err(why)?;
        let meta = fstat(&src).map_err(why)?;
        let tree = open_tree_at(
            src.as_raw_fd(),
            c"",
            libc::AT_EMPTY_PATH as u32,
            attrs,
            idmap,
        )
        .map_err(why)?;
        self.steps.push(Step::AttachProtected {
            tree: self.trees.len(),
            at: Self::staged(p)?,
            dev: meta.st_dev,
            ino: meta.st_ino,
        });
        self.trees.push(tree);
        Ok(())
    }

    /// Binds `src` at the same path inside with `attrs`; a missing source is skipped, a
    /// symlink is recreated as a symlink (merged-/usr systems: `/bin -> usr/bin`).
    fn bind(&mut self, src: &Path, attrs: u64, idmap: Option<&OwnedFd>) -> Result<(), String> {
        let Ok(meta) = src.symlink_metadata() else {
            return Ok(());
        };
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(src).map_err(|e| e.to_string())?;
            let target = target.to_str().ok_or("a non-UTF-8 symlink")?.to_string();
            return self.symlink(&target, src);
        }
        let tree = open_tree(src, attrs, idmap)
            .map_err(|e| format!("cannot prepare the bind mount of {}: {e}", src.display()))?;
        if meta.is_dir() {
            self.mkdirs(src)?;
        } else {
            if let Some(parent) = src.parent() {
                self.mkdirs(parent)?;
            }
            self.steps.push(Step::Touch(Self::staged(src)?));
        }
        self.steps.push(Step::Attach {
            tree: self.trees.len(),
            at: Self::staged(src)?,
        });
        self.trees.push(tree);
        Ok(())
    }
}

/// Not in every libc release: `move_mount`'s target is the fd itself.
const MOVE_MOUNT_T_EMPTY_PATH: libc::c_uint = 0x40;

/// An `O_PATH` fd for `path` under `at`, resolved with `resolve` (openat2), never following a
/// trailing symlink.
fn open_path(at: libc::c_int, path: &std::ffi::CStr, resolve: u64) -> std::io::Result<OwnedFd> {
    // SAFETY: open_how is plain data; all-zero is its documented default.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (libc::O_PATH | libc::O_CLOEXEC | libc::O_NOFOLLOW) as u64;
    how.resolve = resolve;
    // SAFETY: openat2 with a valid C string and a sized open_how; the fd is owned below.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            at,
            path.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: the kernel just returned this fd to us and nobody else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) })
}

fn fstat(fd: &OwnedFd) -> std::io::Result<libc::stat> {
    // SAFETY: fstat fills a zeroed stat struct for a valid fd.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        if libc::fstat(fd.as_raw_fd(), &mut st) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(st)
    }
}

/// A detached copy of the mount tree at `src` with `attrs` set on all of it.
fn open_tree(src: &Path, attrs: u64, idmap: Option<&OwnedFd>) -> std::io::Result<OwnedFd> {
    let path = cstr(src).map_err(std::io::Error::other)?;
    open_tree_at(
        libc::AT_FDCWD,
        &path,
        libc::AT_SYMLINK_NOFOLLOW as libc::c_uint,
        attrs,
        idmap,
    )
}

/// [`open_tree`] for `path` under the fd `at`, with extra lookup `flags`.
fn open_tree_at(
    at: libc::c_int,
    path: &std::ffi::CStr,
    flags: libc::c_uint,
    attrs: u64,
    idmap: Option<&OwnedFd>,
) -> std::io::Result<OwnedFd> {
    let flags = flags
        | libc::OPEN_TREE_CLONE
        | libc::OPEN_TREE_CLOEXEC as libc::c_uint
        | libc::AT_RECURSIVE as libc::c_uint;
    // SAFETY: open_tree with a valid C string; the returned fd is owned below.
    let fd = unsafe { libc::syscall(libc::SYS_open_tree, at, path.as_ptr(), flags) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: the kernel just returned this fd to us and nobody else owns it.
    let tree = unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) };
    let mut attr = libc::mount_attr {
        attr_set: attrs,
        attr_clr: 0,
        propagation: libc::MS_PRIVATE,
        userns_fd: 0,
    };
    if let Some(ns) = idmap {
        attr.attr_set |= libc::MOUNT_ATTR_IDMAP;
        attr.userns_fd = ns.as_raw_fd() as u64;
    }
    // SAFETY: mount_setattr on our tree fd with a valid, sized attribute struct.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            tree.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH | libc::AT_RECURSIVE,
            &attr as *const libc::mount_attr,
            std::mem::size_of::<libc::mount_attr>(),
        )
    };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(tree)
}

pub(crate) fn cstr(p: &Path) -> Result<CString, String> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| format!("a path with a NUL byte: {p:?}"))
}
