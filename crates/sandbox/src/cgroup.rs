//! Limits for a whole sandbox, not per process: one control group per sandbox with a memory
//! ceiling and a process count, and the kill switch that finds every process it holds.
//!
//! `RLIMIT_AS` and `RLIMIT_NPROC` are per process (four children of 800 MB each pass a 1 GB
//! limit), so where the machine lets llm-repl make a group (cgroup v2 with the memory and pids
//! controllers delegated to our group, or the v1 `memory` and `pids` hierarchies writable, as
//! for root in most containers) every sandbox gets its own: `memory.max`/`memory.limit_in_bytes`
//! and `pids.max`. The sandbox's first process writes its own pid into the group before it
//! forks anything, so nothing it starts is ever outside. Where no group can be made, `doctor`
//! says why and the per-process rlimits remain the only limits (documented in the README).
//!
//! Groups are named `llm-repl-<pid>-<n>` under the group llm-repl itself is in; groups of
//! processes that no longer exist are removed at start.

use std::fs;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// Which cgroup layout the machine offers llm-repl.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CgroupSupport {
    /// A v2 group with memory and pids delegated: the directory new groups go under.
    V2(PathBuf),
    /// v1: the memory and pids hierarchies' directories new groups go under.
    V1 { memory: PathBuf, pids: PathBuf },
    /// No group can be made: why.
    Unavailable(String),
}

impl CgroupSupport {
    /// One phrase for `doctor`.
    pub fn summary(&self) -> String {
        match self {
            Self::V2(_) => "cgroup v2 (memory, pids per sandbox)".into(),
            Self::V1 { .. } => "cgroup v1 (memory, pids per sandbox)".into(),
            Self::Unavailable(why) => format!("unavailable ({why}): per-process limits only"),
        }
    }
}

/// What the machine offers, found once (and stale groups of dead llm-repl processes removed).
pub fn support() -> &'static CgroupSupport {
    static SUPPORT: OnceLock<CgroupSupport> = OnceLock::new();
    SUPPORT.get_or_init(|| {
        let s = detect();
        match &s {
            CgroupSupport::V2(dir) => remove_stale(dir),
            CgroupSupport::V1 { memory, pids } => {
                remove_stale(memory);
                remove_stale(pids);
            }
            CgroupSupport::Unavailable(_) => {}
        }
        s
    })
}

fn detect() -> CgroupSupport {
    let Ok(own) = fs::read_to_string("/proc/self/cgroup") else {
        return CgroupSupport::Unavailable("no /proc/self/cgroup".into());
    };
    let mut v1_memory = None;
    let mut v1_pids = None;
    let mut v2 = None;
    for line in own.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(ctrls), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let path = path.trim_start_matches('/');
        if ctrls.is_empty() {
            v2 = Some(path.to_string());
        }
        for c in ctrls.split(',') {
            match c {
                "memory" => v1_memory = Some(Path::new("/sys/fs/cgroup/memory").join(path)),
                "pids" => v1_pids = Some(Path::new("/sys/fs/cgroup/pids").join(path)),
                _ => {}
            }
        }
    }
    if let (Some(memory), Some(pids)) = (v1_memory, v1_pids) {
        if writable_dir(&memory) && writable_dir(&pids) {
            return CgroupSupport::V1 { memory, pids };
        }
        return CgroupSupport::Unavailable(format!(
            "cgroup v1 groups {} and {} are not writable by this user",
            memory.display(),
            pids.display()
        ));
    }
    if let Some(path) = v2 {
        for root in ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"] {
            let dir = Path::new(root).join(&path);
            let Ok(ctrls) = fs::read_to_string(dir.join("cgroup.subtree_control")) else {
                continue;
            };
            let has = |c: &str| ctrls.split_whitespace().any(|x| x == c);
            if has("memory") && has("pids") && writable_dir(&dir) {
                return CgroupSupport::V2(dir);
            }
            return CgroupSupport::Unavailable(format!(
                "the cgroup v2 group {} does not delegate memory and pids to llm-repl (run it \
                 under `systemd-run --user --scope -p Delegate=yes`)",
                dir.display()
            ));
        }
    }
    CgroupSupport::Unavailable("no cgroup hierarchy with memory and pids controllers".into())
}

fn writable_dir(p: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(p.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: access(2) on a valid C string.
    unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) == 0 }
}

/// Removes `llm-repl-<pid>-*` groups whose process is gone (and which hold nothing).
fn remove_stale(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("llm-repl-"))
            .and_then(|n| n.split('-').next())
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        // SAFETY: kill(pid, 0) only checks for existence.
        let alive = unsafe { libc::kill(pid, 0) } == 0
            || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
        if !alive {
            let _ = fs::remove_dir(e.path());
        }
    }
}

/// One sandbox's group (one directory per hierarchy); removed on drop after killing
/// whatever is still in it.
#[derive(Debug)]
pub struct Group {
    dirs: Vec<PathBuf>,
    /// `cgroup.procs` of each hierarchy, open for the child to write its own pid into.
    pub(crate) procs: Vec<OwnedFd>,
}

/// The limits of one group.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub memory_bytes: u64,
    pub max_processes: u64,
}

impl Group {
    /// Makes a new group with `limits`; `Err` says why (the caller may go on without one).
    pub(crate) fn create(limits: Limits) -> Result<Self, String> {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "llm-repl-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let (dirs, files): (Vec<PathBuf>, Vec<(usize, &str, String)>) = match support() {
            CgroupSupport::Unavailable(why) => return Err(why.clone()),
            CgroupSupport::V2(parent) => (
                vec![parent.join(&name)],
                vec![
                    (0, "memory.max", limits.memory_bytes.to_string()),
                    (0, "memory.swap.max", "0".into()),
                    (0, "pids.max", limits.max_processes.to_string()),
                ],
            ),
            CgroupSupport::V1 { memory, pids } => (
                vec![memory.join(&name), pids.join(&name)],
                vec![
                    (0, "memory.limit_in_bytes", limits.memory_bytes.to_string()),
                    (
                        0,
                        "memory.memsw.limit_in_bytes",
                        limits.memory_bytes.to_string(),
                    ),
                    (0, "memory.swappiness", "0".into()),
                    (1, "pids.max", limits.max_processes.to_string()),
                ],
            ),
        };
        let mut group = Group {
            dirs: Vec::new(),
            procs: Vec::new(),
        };
        for d in &dirs {
            fs::create_dir(d).map_err(|e| format!("cannot create {}: {e}", d.display()))?;
            group.dirs.push(d.clone());
        }
        for (i, file, value) in files {
            let p = dirs[i].join(file);
            if let Err(e) = fs::write(&p, &value) {
                // Swap accounting is often off: only the essential limits must hold.
                if !file.contains("swap") {
                    return Err(format!("cannot set {}: {e}", p.display()));
                }
            }
        }
        for d in &dirs {
            let f = fs::OpenOptions::new()
                .write(true)
                .open(d.join("cgroup.procs"))
                .map_err(|e| format!("cannot open {}/cgroup.procs: {e}", d.display()))?;
            group.procs.push(f.into());
        }
        Ok(group)
    }

    /// The pids in the group now.
    pub fn pids(&self) -> Vec<i32> {
        let Some(d) = self.dirs.last() else {
            return Vec::new();
        };
        fs::read_to_string(d.join("cgroup.procs"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    }

    /// SIGKILLs every process in the group but those in `keep`.
    pub fn kill_except(&self, keep: &[i32]) -> usize {
        let mut n = 0;
        for pid in self.pids() {
            if !keep.contains(&pid) {
                // SAFETY: kill(2) with a pid read from our own group; no memory involved.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
                n += 1;
            }
        }
        n
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.kill_except(&[]);
        let dirs = std::mem::take(&mut self.dirs);
        // The killed processes leave the group as the kernel reaps them: retry briefly off
        // the caller's thread, then leave the rest to the stale sweep of the next start.
        std::thread::spawn(move || {
            for _ in 0..50 {
                let left: Vec<&PathBuf> = dirs.iter().filter(|d| d.exists()).collect();
                if left.is_empty() {
                    return;
                }
                for d in left {
                    let _ = fs::remove_dir(d);
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        });
    }
}
