//! The confinement applied to a child between `fork` and `exec`.
//!
//! Everything that allocates (the mount plan and its detached trees, the Landlock ruleset, the
//! seccomp programs, the id maps, the cgroup) is built in the parent by [`Prepared::new`]; the
//! children only make async-signal-safe system calls on that data. The chain:
//!
//! 1. **Link 0** (the process llm-repl spawned): `setsid` (one process group), joins the
//!    sandbox's cgroup, and when llm-repl runs as root drops every id to `nobody` (65534), so
//!    the sandbox is never the host's root and host permission checks (a root-owned socket,
//!    a root-only file) fail as they should. It then `unshare`s new user, mount, pid, IPC,
//!    UTS and cgroup namespaces (and network unless allowed), maps its one uid, and forks.
//!    It stays behind as the sandbox's anchor: it waits for link 1 and passes its status on,
//!    and it watches a pipe only llm-repl holds open: when llm-repl dies by any signal the pipe
//!    reads end-of-file and the anchor SIGKILLs link 1, which ends the whole pid namespace.
//! 2. **Link 1** is pid 1 of the new pid namespace (when it ends, the kernel kills every
//!    process in the namespace) with a parent-death signal on the anchor. It builds the private
//!    filesystem view ([`crate::mounts`]), sets rlimits, `no_new_privs`, Landlock (files, TCP,
//!    signal and abstract-socket scoping) and seccomp, and execs the program.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use landlock::{
    ABI, Access, AccessFs, AccessNet, Ruleset, RulesetAttr, RulesetCreatedAttr, Scope,
    path_beneath_rules,
};

use crate::Settings;
use crate::cgroup::Group;
use crate::mounts::{self, Layout, Plan, TmpLimits};
use crate::probe::SandboxSupport;
use crate::seccomp;

/// The namespaces a sandbox gets (the network one is dropped when the network is allowed).
pub(crate) const NAMESPACE_FLAGS: libc::c_int = libc::CLONE_NEWUSER
    | libc::CLONE_NEWNS
    | libc::CLONE_NEWNET
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWCGROUP;

/// The host uid and gid the sandbox runs as when llm-repl runs as root.
pub const NOBODY: u32 = 65534;

/// The uid and gid the sandboxed process has inside its user namespace when the caller is root.
const INNER_ID_FOR_ROOT: u32 = 1000;

/// Writable devices besides the workspace (Landlock's view; the mount view binds them).
const READ_WRITE_DEVICES: &[&str] = &["/dev/null"];

/// Everything the children need, built before the fork.
pub(crate) struct Prepared {
    ns: Option<Namespaces>,
    rlimits: Vec<(libc::__rlimit_resource_t, libc::rlim_t)>,
    landlock: Option<OwnedFd>,
    /// Rules added in link 1 for what exists only inside (the private `/tmp`, `/proc`).
    inner_rules: Vec<(CString, u64)>,
    filters: Vec<Vec<libc::sock_filter>>,
}

struct Namespaces {
    unshare_flags: libc::c_int,
    /// Host ids to drop to before unsharing (llm-repl runs as root).
    drop_to: Option<(libc::uid_t, libc::gid_t)>,
    uid_map: Vec<u8>,
    gid_map: Vec<u8>,
    plan: Plan,
    group: Option<Arc<Group>>,
    death_read: RawFd,
    death_write: RawFd,
}

/// A pipe whose write end only llm-repl holds: every sandbox anchor watches the read end and
/// ends its sandbox when it reads end-of-file (llm-repl died, by any signal).
fn death_pipe() -> Option<(RawFd, RawFd)> {
    static PIPE: OnceLock<Option<(OwnedFd, OwnedFd)>> = OnceLock::new();
    PIPE.get_or_init(|| {
        let mut fds = [0; 2];
        // SAFETY: pipe2 writes two fds into the array.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return None;
        }
        use std::os::fd::FromRawFd;
        // SAFETY: both fds were just created and are owned by nobody else.
        Some(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
    })
    .as_ref()
    .map(|(r, w)| (r.as_raw_fd(), w.as_raw_fd()))
}

/// The id-mapping user namespace for read-write trees when llm-repl runs as root: on-disk
/// uid/gid 0 appear as [`NOBODY`], so the sandbox (host uid 65534) owns the workspace's
/// root-owned files and what it creates is stored as root's.
fn idmap_userns() -> Result<&'static OwnedFd, String> {
    static NS: OnceLock<Result<OwnedFd, String>> = OnceLock::new();
    NS.get_or_init(make_idmap_userns)
        .as_ref()
        .map_err(Clone::clone)
}

fn make_idmap_userns() -> Result<OwnedFd, String> {
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};
    let mut cmd = Command::new("/bin/cat");
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: the closure only calls unshare(2).
    unsafe {
        cmd.pre_exec(|| {
            if libc::unshare(libc::CLONE_NEWUSER) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot make the id-mapping namespace: {e}"))?;
    let pid = child.id();
    let map = format!("0 {NOBODY} 1\n");
    let result = (|| {
        std::fs::write(format!("/proc/{pid}/uid_map"), &map)?;
        std::fs::write(format!("/proc/{pid}/setgroups"), "deny")?;
        std::fs::write(format!("/proc/{pid}/gid_map"), &map)?;
        std::fs::File::open(format!("/proc/{pid}/ns/user")).map(OwnedFd::from)
    })();
    drop(child.stdin.take());
    let _ = child.kill();
    let _ = child.wait();
    result.map_err(|e| format!("cannot make the id-mapping namespace: {e}"))
}

impl Prepared {
    pub(crate) fn new(
        s: &Settings,
        support: &SandboxSupport,
        extra_read_only: &[PathBuf],
        cwd: &Path,
        group: Option<Arc<Group>>,
    ) -> Result<Self, String> {
        // SAFETY: these getters cannot fail and touch no memory.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        let root = uid == 0;
        let abi = ABI::from(support.landlock_abi);
        let (landlock, inner_rules) = if support.landlock_abi >= 1 {
            ruleset(s, extra_read_only, abi, support.namespaces)?
        } else {
            (None, Vec::new())
        };
        let filters = if support.seccomp {
            seccomp::programs(s.network)?
        } else {
            Vec::new()
        };
        let ns = if support.namespaces {
            let mut unshare_flags = NAMESPACE_FLAGS;
            if s.network {
                unshare_flags &= !libc::CLONE_NEWNET;
            }
            let (death_read, death_write) =
                death_pipe().ok_or("cannot create the sandbox's watch pipe")?;
            let idmap = if root { Some(idmap_userns()?) } else { None };
            let mut read_only: Vec<PathBuf> = extra_read_only.to_vec();
            read_only.retain(|p| !mounts::SYSTEM_PATHS.iter().any(|s| p.starts_with(s)));
            let plan = Plan::new(&Layout {
                read_only: &read_only,
                read_write: &s.read_write,
                protected: &s.protected,
                network: s.network,
                tmp: TmpLimits {
                    bytes: s.tmp_bytes,
                    inodes: s.tmp_inodes,
                },
                cwd,
                idmap,
            })?;
            let (host_uid, host_gid) = if root { (NOBODY, NOBODY) } else { (uid, gid) };
            let inner = |id: u32| if root { INNER_ID_FOR_ROOT } else { id };
            Some(Namespaces {
                unshare_flags,
                drop_to: root.then_some((NOBODY, NOBODY)),
                uid_map: format!("{} {host_uid} 1\n", inner(uid)).into_bytes(),
                gid_map: format!("{} {host_gid} 1\n", inner(gid)).into_bytes(),
                plan,
                group,
                death_read,
                death_write,
            })
        } else {
            None
        };
        Ok(Self {
            ns,
            rlimits: vec![
                (libc::RLIMIT_CPU, s.cpu_secs),
                (libc::RLIMIT_AS, s.memory_bytes),
                (libc::RLIMIT_FSIZE, s.max_file_bytes),
                (libc::RLIMIT_NOFILE, s.max_open_files),
                (libc::RLIMIT_NPROC, s.max_processes),
                (libc::RLIMIT_CORE, 0),
            ],
            landlock,
            inner_rules,
            filters,
        })
    }

    /// Runs in the forked child before `exec`. Only async-signal-safe calls.
    ///
    /// # Safety
    /// Must only be called in a freshly forked child.
    pub(crate) unsafe fn apply(&self) -> std::io::Result<()> {
        // SAFETY: all calls below are async-signal-safe system calls on data prepared before
        // the fork; the caller guarantees we are in the forked child.
        unsafe {
            // No inherited fd crosses exec but stdin, stdout and stderr: whatever llm-repl got
            // from its own parent or opened without close-on-exec (a jobserver pipe, a
            // launcher's socket) stays outside. The fds the links still need close at exec.
            check(libc::syscall(
                libc::SYS_close_range,
                3u32,
                u32::MAX,
                libc::CLOSE_RANGE_CLOEXEC,
            ) as libc::c_int)?;
            check(libc::setsid())?;
            if let Some(ns) = &self.ns {
                ns.enter()?;
            }
            for &(res, value) in &self.rlimits {
                let lim = libc::rlimit {
                    rlim_cur: value,
                    rlim_max: value,
                };
                check(libc::setrlimit(res, &lim))?;
            }
            check(libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))?;
            if let Some(fd) = &self.landlock {
                for (path, access) in &self.inner_rules {
                    add_inner_rule(fd.as_raw_fd(), path, *access)?;
                }
                let r = libc::syscall(libc::SYS_landlock_restrict_self, fd.as_raw_fd(), 0u32);
                check(r as libc::c_int)?;
                libc::close(fd.as_raw_fd());
            }
            for prog in &self.filters {
                let fprog = libc::sock_fprog {
                    len: prog.len() as libc::c_ushort,
                    filter: prog.as_ptr() as *mut libc::sock_filter,
                };
                check(libc::prctl(
                    libc::PR_SET_SECCOMP,
                    libc::SECCOMP_MODE_FILTER,
                    &fprog as *const libc::sock_fprog,
                ))?;
            }
        }
        Ok(())
    }
}

impl Namespaces {
    /// Link 0's part; returns only in link 1 (pid 1 of the new namespaces, view entered).
    ///
    /// # Safety
    /// Only in the forked child.
    unsafe fn enter(&self) -> std::io::Result<()> {
        // SAFETY: async-signal-safe calls on data prepared before the fork.
        unsafe {
            libc::close(self.death_write);
            if let Some(g) = &self.group {
                let mut buf = [0u8; 16];
                let pid = format_pid(libc::getpid(), &mut buf);
                for fd in &g.procs {
                    let n = libc::write(fd.as_raw_fd(), pid.as_ptr().cast(), pid.len());
                    if n != pid.len() as isize {
                        return Err(std::io::Error::last_os_error());
                    }
                }
            }
            if let Some((uid, gid)) = self.drop_to {
                check(libc::setgroups(0, std::ptr::null()))?;
                check(libc::setresgid(gid, gid, gid))?;
                check(libc::setresuid(uid, uid, uid))?;
                // Changing ids made us non-dumpable, which hides /proc/self from ourselves.
                check(libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0))?;
            }
            check(libc::unshare(self.unshare_flags))?;
            write_proc(c"/proc/self/setgroups", b"deny")?;
            write_proc(c"/proc/self/uid_map", &self.uid_map)?;
            write_proc(c"/proc/self/gid_map", &self.gid_map)?;
            let pid = check(libc::fork())?;
            if pid > 0 {
                anchor(pid, self.death_read);
            }
            // Link 1: die with the anchor.
            check(libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0))?;
            self.plan.enter()
        }
    }
}

/// Writes `pid` in decimal into `buf`, returning the digits (no allocation).
fn format_pid(pid: libc::pid_t, buf: &mut [u8; 16]) -> &[u8] {
    let mut n = pid.unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &buf[i..]
}

/// Link 0 after the fork: waits for link 1 and exits the same way; ends it when llm-repl dies.
///
/// # Safety
/// Only in the forked child; never returns.
unsafe fn anchor(pid: libc::pid_t, death_read: RawFd) -> ! {
    // SAFETY: async-signal-safe calls only; the process ends with _exit or a signal.
    unsafe {
        // Interrupts aimed at the group are for the program, not for us.
        libc::signal(libc::SIGINT, libc::SIG_IGN);
        libc::signal(libc::SIGQUIT, libc::SIG_IGN);
        // Hold no pipe open but the watch pipe: readers see EOF when the program's side closes.
        if death_read > 0 {
            libc::syscall(libc::SYS_close_range, 0u32, (death_read - 1) as u32, 0u32);
        }
        libc::syscall(
            libc::SYS_close_range,
            (death_read + 1) as u32,
            u32::MAX,
            0u32,
        );
        let pidfd = libc::syscall(libc::SYS_pidfd_open, pid, 0u32) as libc::c_int;
        let mut status = 0;
        loop {
            if pidfd >= 0 {
                let mut fds = [
                    libc::pollfd {
                        fd: death_read,
                        events: libc::POLLIN,
                        revents: 0,
                    },
                    libc::pollfd {
                        fd: pidfd,
                        events: libc::POLLIN,
                        revents: 0,
                    },
                ];
                let r = libc::poll(fds.as_mut_ptr(), 2, -1);
                if r < 0 {
                    if *libc::__errno_location() == libc::EINTR {
                        continue;
                    }
                } else if fds[0].revents != 0 {
                    // llm-repl is gone: nothing may outlive it.
                    libc::kill(pid, libc::SIGKILL);
                } else if fds[1].revents == 0 {
                    continue;
                }
            }
            let r = libc::waitpid(pid, &mut status, 0);
            if r == pid {
                break;
            }
            if r < 0 && *libc::__errno_location() != libc::EINTR {
                libc::_exit(127);
            }
        }
        if libc::WIFEXITED(status) {
            libc::_exit(libc::WEXITSTATUS(status));
        }
        let sig = libc::WTERMSIG(status);
        libc::signal(sig, libc::SIG_DFL);
        libc::kill(libc::getpid(), sig);
        libc::_exit(128 + sig)
    }
}

pub(crate) fn check(r: libc::c_int) -> std::io::Result<libc::c_int> {
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// # Safety
/// Async-signal-safe: open, write, close.
unsafe fn write_proc(path: &std::ffi::CStr, data: &[u8]) -> std::io::Result<()> {
    // SAFETY: `path` is a valid C string and `data` a valid buffer.
    unsafe {
        let fd = check(libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC))?;
        let n = libc::write(fd, data.as_ptr().cast(), data.len());
        let err = std::io::Error::last_os_error();
        libc::close(fd);
        if n != data.len() as isize {
            return Err(err);
        }
    }
    Ok(())
}

/// `struct landlock_path_beneath_attr` (packed, as the kernel defines it).
#[repr(C, packed)]
struct PathBeneath {
    allowed_access: u64,
    parent_fd: i32,
}

/// Adds a path rule in the child, for paths that exist only inside the sandbox.
///
/// # Safety
/// Async-signal-safe: open, landlock_add_rule, close.
unsafe fn add_inner_rule(ruleset: RawFd, path: &CString, access: u64) -> std::io::Result<()> {
    // SAFETY: open(2) of a valid C string; the attr struct lives on our stack.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_PATH | libc::O_CLOEXEC);
        if fd < 0 {
            return Ok(());
        }
        let attr = PathBeneath {
            allowed_access: access,
            parent_fd: fd,
        };
        const LANDLOCK_RULE_PATH_BENEATH: libc::c_int = 1;
        let r = libc::syscall(
            libc::SYS_landlock_add_rule,
            ruleset,
            LANDLOCK_RULE_PATH_BENEATH,
            &attr as *const PathBeneath,
            0u32,
        );
        let err = std::io::Error::last_os_error();
        libc::close(fd);
        if r != 0 {
            return Err(err);
        }
    }
    Ok(())
}

type Rules = (Option<OwnedFd>, Vec<(CString, u64)>);

fn ruleset(
    s: &Settings,
    extra_read_only: &[PathBuf],
    abi: ABI,
    inside: bool,
) -> Result<Rules, String> {
    let err = |e: landlock::RulesetError| format!("cannot build the Landlock rules: {e}");
    let mut ruleset = Ruleset::default()
        .handle_access(AccessFs::from_all(abi))
        .map_err(err)?
        .scope(Scope::from_all(abi))
        .map_err(err)?;
    if !s.network {
        ruleset = ruleset
            .handle_access(AccessNet::from_all(abi))
            .map_err(err)?;
    }
    let mut read_only: Vec<PathBuf> = mounts::SYSTEM_PATHS.iter().map(PathBuf::from).collect();
    read_only.extend(["/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"].map(PathBuf::from));
    if s.network {
        read_only.extend(mounts::NETWORK_PATHS.iter().map(PathBuf::from));
    }
    read_only.extend(extra_read_only.iter().cloned());
    let read_only: Vec<PathBuf> = read_only.into_iter().filter(|p| exists(p)).collect();
    let mut read_write: Vec<PathBuf> = READ_WRITE_DEVICES.iter().map(PathBuf::from).collect();
    read_write.extend(s.read_write.iter().cloned());
    let read_write: Vec<PathBuf> = read_write.into_iter().filter(|p| exists(p)).collect();
    let created = ruleset
        .create()
        .map_err(err)?
        .add_rules(path_beneath_rules(&read_only, AccessFs::from_read(abi)))
        .map_err(err)?
        .add_rules(path_beneath_rules(&read_write, AccessFs::from_all(abi)))
        .map_err(err)?;
    let all = AccessFs::from_all(abi).bits();
    let read = AccessFs::from_read(abi).bits();
    let inner = if inside {
        [
            ("/tmp", all),
            ("/dev/shm", all),
            ("/dev", read),
            ("/proc", read),
        ]
        .into_iter()
        .map(|(p, a)| Ok((mounts::cstr(Path::new(p))?, a)))
        .collect::<Result<Vec<_>, String>>()?
    } else {
        Vec::new()
    };
    Ok((created.into(), inner))
}

fn exists(p: &Path) -> bool {
    p.symlink_metadata().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pids_format_without_allocation() {
        let mut b = [0u8; 16];
        assert_eq!(format_pid(0, &mut b), b"0");
        assert_eq!(format_pid(7, &mut b), b"7");
        assert_eq!(format_pid(4194304, &mut b), b"4194304");
    }
}
