//! The confinement applied to a child between `fork` and `exec`.
//!
//! Everything that allocates (the Landlock ruleset, the seccomp programs, the id maps) is built
//! in the parent by [`Prepared::new`]; the child only makes async-signal-safe system calls:
//!
//! 1. `setsid` (own session and process group: one `kill(-pgid)` reaches the whole group);
//! 2. as root, the real uid becomes `nobody` (the effective uid stays, so file ownership is
//!    unchanged) so that `RLIMIT_NPROC` applies: the kernel never enforces it for real uid 0;
//! 3. `unshare` a user, network (unless allowed) and pid namespace, and map the ids;
//! 4. `fork`: the grandchild is pid 1 of the new pid namespace, so when it ends every process
//!    it started dies with it; the intermediate waits and passes its status on;
//! 5. in the grandchild: rlimits, Landlock (files, TCP, signals), then seccomp (no set*id, no
//!    new namespaces, no ptrace, no module/keyring/bpf calls, no sockets but Unix when the
//!    network is off).

use std::ffi::CStr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use landlock::{
    ABI, Access, AccessFs, AccessNet, Ruleset, RulesetAttr, RulesetCreatedAttr, Scope,
    path_beneath_rules,
};

use crate::Settings;
use crate::probe::SandboxSupport;
use crate::seccomp;

/// The namespaces a sandbox gets (the network one is dropped when the network is allowed).
pub(crate) const NAMESPACE_FLAGS: libc::c_int =
    libc::CLONE_NEWUSER | libc::CLONE_NEWNET | libc::CLONE_NEWPID;

/// The uid the real uid is switched to when llm-repl runs as root.
const NOBODY: libc::uid_t = 65534;

/// The uid and gid the sandboxed process has inside its user namespace when the caller is root.
const INNER_ID_FOR_ROOT: u32 = 1000;

/// System paths readable (and executable) inside the sandbox; missing ones are skipped.
const READ_ONLY: &[&str] = &[
    "/usr",
    "/lib",
    "/lib64",
    "/lib32",
    "/bin",
    "/sbin",
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
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
    "/sys/devices/system/cpu",
];

/// Read only when the network is allowed.
const NETWORK_READ_ONLY: &[&str] = &["/etc/resolv.conf", "/etc/gai.conf", "/etc/host.conf"];

/// Writable besides the workspace and scratch dir.
const READ_WRITE_DEVICES: &[&str] = &["/dev/null"];

/// Everything the child needs, built before the fork.
pub(crate) struct Prepared {
    namespaces: bool,
    unshare_flags: libc::c_int,
    switch_ruid: Option<libc::uid_t>,
    uid_map: Vec<u8>,
    gid_map: Vec<u8>,
    rlimits: Vec<(libc::__rlimit_resource_t, libc::rlim_t)>,
    landlock: Option<OwnedFd>,
    filters: Vec<Vec<libc::sock_filter>>,
}

impl Prepared {
    pub(crate) fn new(
        s: &Settings,
        support: &SandboxSupport,
        extra_read_only: &[PathBuf],
    ) -> Result<Self, String> {
        let namespaces = support.namespaces;
        // SAFETY: these getters cannot fail and touch no memory.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        let inner = |id: u32| if uid == 0 { INNER_ID_FOR_ROOT } else { id };
        let mut unshare_flags = NAMESPACE_FLAGS;
        if s.network {
            unshare_flags &= !libc::CLONE_NEWNET;
        }
        let landlock = if support.landlock_abi >= 1 {
            ruleset(s, extra_read_only)?
        } else {
            None
        };
        let filters = if support.seccomp {
            seccomp::programs(s.network)?
        } else {
            Vec::new()
        };
        Ok(Self {
            namespaces,
            unshare_flags,
            switch_ruid: (namespaces && uid == 0).then_some(NOBODY),
            uid_map: format!("{} {uid} 1\n", inner(uid)).into_bytes(),
            gid_map: format!("{} {gid} 1\n", inner(gid)).into_bytes(),
            rlimits: vec![
                (libc::RLIMIT_CPU, s.cpu_secs),
                (libc::RLIMIT_AS, s.memory_bytes),
                (libc::RLIMIT_FSIZE, s.max_file_bytes),
                (libc::RLIMIT_NOFILE, s.max_open_files),
                (libc::RLIMIT_NPROC, s.max_processes),
                (libc::RLIMIT_CORE, 0),
            ],
            landlock,
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
            check(libc::setsid())?;
            if self.namespaces {
                if let Some(ruid) = self.switch_ruid {
                    check(libc::setresuid(ruid, u32::MAX, u32::MAX))?;
                }
                check(libc::unshare(self.unshare_flags))?;
                write_proc(c"/proc/self/setgroups", b"deny")?;
                write_proc(c"/proc/self/uid_map", &self.uid_map)?;
                write_proc(c"/proc/self/gid_map", &self.gid_map)?;
                let pid = check(libc::fork())?;
                if pid > 0 {
                    intermediate(pid);
                }
                // pid 1 of the new namespace: die with the intermediate.
                check(libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0))?;
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

/// The intermediate process: waits for pid 1 of the namespace and exits the same way.
///
/// # Safety
/// Only in the forked child; never returns.
unsafe fn intermediate(pid: libc::pid_t) -> ! {
    // SAFETY: async-signal-safe calls only; the process ends with _exit or a signal.
    unsafe {
        // Interrupts aimed at the group are for the program, not for us.
        libc::signal(libc::SIGINT, libc::SIG_IGN);
        libc::signal(libc::SIGQUIT, libc::SIG_IGN);
        // Hold no pipe open: readers see EOF when the program's side closes.
        libc::syscall(libc::SYS_close_range, 0u32, u32::MAX, 0u32);
        let mut status = 0;
        loop {
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

fn check(r: libc::c_int) -> std::io::Result<libc::c_int> {
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// # Safety
/// Async-signal-safe: open, write, close.
unsafe fn write_proc(path: &CStr, data: &[u8]) -> std::io::Result<()> {
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

fn ruleset(s: &Settings, extra_read_only: &[PathBuf]) -> Result<Option<OwnedFd>, String> {
    let abi = ABI::V6;
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
    let mut read_only: Vec<PathBuf> = READ_ONLY.iter().map(PathBuf::from).collect();
    if s.network {
        read_only.extend(NETWORK_READ_ONLY.iter().map(PathBuf::from));
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
    Ok(created.into())
}

fn exists(p: &Path) -> bool {
    p.symlink_metadata().is_ok()
}
