//! What the running kernel can do for the sandbox, found once and cached.
//!
//! `doctor` shows this, and the policy (`require`) decides with it whether tools may run.

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The confinement features the kernel offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxSupport {
    /// The Landlock ABI version (0: none). 1 confines files, 4 adds TCP, 6 signals.
    pub landlock_abi: i32,
    /// New user, mount, network, pid, IPC, UTS and cgroup namespaces can be created (the
    /// private filesystem view, network cut, process tree kill).
    pub namespaces: bool,
    /// Seccomp filters are available.
    pub seccomp: bool,
    /// The reason namespaces failed, when they did.
    pub namespace_error: Option<String>,
}

/// Landlock ABI needed for the full policy (file confinement, TCP control, signal scoping).
pub const FULL_LANDLOCK_ABI: i32 = 6;

impl SandboxSupport {
    /// What is missing for full confinement, one phrase each (empty when nothing is).
    pub fn missing(&self) -> Vec<String> {
        let mut m = Vec::new();
        if self.landlock_abi < 1 {
            m.push("Landlock (file system confinement) is not available".to_string());
        } else if self.landlock_abi < FULL_LANDLOCK_ABI {
            m.push(format!(
                "Landlock ABI {} is older than {FULL_LANDLOCK_ABI}: no TCP or signal scoping",
                self.landlock_abi
            ));
        }
        if !self.namespaces {
            m.push(format!(
                "user/network/pid namespaces are not available ({}): no network cut, no \
                 process-tree kill",
                self.namespace_error.as_deref().unwrap_or("unknown reason")
            ));
        }
        if !self.seccomp {
            m.push("seccomp filters are not available".to_string());
        }
        m
    }

    /// One line for `doctor`: the kernel's features, the uid tools run as, the filesystem
    /// view and the whole-sandbox limits.
    pub fn summary(&self) -> String {
        // SAFETY: geteuid cannot fail and touches no memory.
        let uid = unsafe { libc::geteuid() };
        let runs_as = match (self.namespaces, uid) {
            (true, 0) => format!("tools run as uid {} (never root)", crate::NOBODY),
            (true, u) => format!("tools run as uid {u}"),
            (false, 0) => "tools run as ROOT (no user namespace)".to_string(),
            (false, u) => format!("tools run as uid {u}"),
        };
        format!(
            "landlock ABI {}, namespaces {}, seccomp {}; {runs_as}; {}; cgroup: {}",
            self.landlock_abi,
            if self.namespaces {
                "yes (user, mount, pid, net, ipc, uts, cgroup)"
            } else {
                "no"
            },
            if self.seccomp { "yes" } else { "no" },
            if self.namespaces {
                "private filesystem view (system read-only, workspace, own /tmp, /dev, /proc)"
            } else {
                "NO private filesystem view"
            },
            crate::cgroup_support().summary()
        )
    }
}

/// The kernel's support, probed on first call (spawns one short-lived `/bin/true`).
pub fn probe() -> &'static SandboxSupport {
    static SUPPORT: OnceLock<SandboxSupport> = OnceLock::new();
    SUPPORT.get_or_init(probe_now)
}

fn probe_now() -> SandboxSupport {
    // SAFETY: landlock_create_ruleset with a null attr, size 0 and the VERSION flag only
    // returns the ABI number; it reads no memory.
    let abi = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<u8>(),
            0usize,
            1u32, // LANDLOCK_CREATE_RULESET_VERSION
        )
    };
    // SAFETY: PR_GET_SECCOMP takes no pointer arguments.
    let seccomp = unsafe { libc::prctl(libc::PR_GET_SECCOMP, 0, 0, 0, 0) } >= 0;
    let (namespaces, namespace_error) = match probe_namespaces() {
        Ok(()) => (true, None),
        Err(e) => (false, Some(e)),
    };
    SandboxSupport {
        landlock_abi: abi.max(0) as i32,
        namespaces,
        seccomp,
        namespace_error,
    }
}

fn probe_namespaces() -> Result<(), String> {
    let mut cmd = Command::new("/bin/true");
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let flags = crate::confine::NAMESPACE_FLAGS;
    // SAFETY: the closure only calls unshare(2), which is async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            if libc::unshare(flags) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    match cmd.status() {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(format!("probe exited with {s}")),
        Err(e) => Err(format!("unshare failed: {e}")),
    }
}
