//! The seccomp programs installed last in the sandboxed child.
//!
//! Two filters: one makes `clone3` fail with ENOSYS (its flags live in memory a filter cannot
//! read, and libc then falls back to `clone`, whose flags it can); the other fails with EPERM
//! every call that could undo the confinement or reach past it.

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

/// Calls refused outright.
const DENIED: &[libc::c_long] = &[
    libc::SYS_setuid,
    libc::SYS_setgid,
    libc::SYS_setreuid,
    libc::SYS_setregid,
    libc::SYS_setresuid,
    libc::SYS_setresgid,
    libc::SYS_setfsuid,
    libc::SYS_setfsgid,
    libc::SYS_setgroups,
    libc::SYS_unshare,
    libc::SYS_setns,
    libc::SYS_mount,
    libc::SYS_umount2,
    libc::SYS_pivot_root,
    libc::SYS_chroot,
    libc::SYS_ptrace,
    libc::SYS_process_vm_readv,
    libc::SYS_process_vm_writev,
    libc::SYS_keyctl,
    libc::SYS_add_key,
    libc::SYS_request_key,
    libc::SYS_bpf,
    libc::SYS_perf_event_open,
    libc::SYS_userfaultfd,
    libc::SYS_kexec_load,
    libc::SYS_kexec_file_load,
    libc::SYS_init_module,
    libc::SYS_finit_module,
    libc::SYS_delete_module,
    libc::SYS_reboot,
    libc::SYS_swapon,
    libc::SYS_swapoff,
    libc::SYS_acct,
    libc::SYS_quotactl,
    libc::SYS_name_to_handle_at,
    libc::SYS_open_by_handle_at,
    libc::SYS_io_uring_setup,
    libc::SYS_io_uring_enter,
    libc::SYS_io_uring_register,
    libc::SYS_pidfd_getfd,
    libc::SYS_fsopen,
    libc::SYS_fsmount,
    libc::SYS_move_mount,
    libc::SYS_open_tree,
];

/// Calls that set a file mode, and which argument holds it.
const MODE_ARGS: &[(libc::c_long, u8)] = &[
    (libc::SYS_chmod, 1),
    (libc::SYS_fchmod, 1),
    (libc::SYS_fchmodat, 2),
    (libc::SYS_fchmodat2, 2),
    (libc::SYS_open, 2),
    (libc::SYS_openat, 3),
    (libc::SYS_creat, 1),
    // mknod makes regular files too, with any mode.
    (libc::SYS_mknod, 1),
    (libc::SYS_mknodat, 2),
];

/// `clone` flags that would make new namespaces.
const CLONE_NAMESPACES: &[libc::c_int] = &[
    libc::CLONE_NEWUSER,
    libc::CLONE_NEWNS,
    libc::CLONE_NEWNET,
    libc::CLONE_NEWPID,
    libc::CLONE_NEWIPC,
    libc::CLONE_NEWUTS,
    libc::CLONE_NEWCGROUP,
];

fn arch() -> Result<TargetArch, String> {
    TargetArch::try_from(std::env::consts::ARCH)
        .map_err(|e| format!("seccomp: unsupported architecture: {e}"))
}

fn cond(arg: u8, op: SeccompCmpOp, value: u64) -> Result<SeccompCondition, String> {
    SeccompCondition::new(arg, SeccompCmpArgLen::Dword, op, value).map_err(|e| e.to_string())
}

fn rule(c: SeccompCondition) -> Result<SeccompRule, String> {
    SeccompRule::new(vec![c]).map_err(|e| e.to_string())
}

/// The compiled programs, in installation order.
// `c_long as i64` is a no-op on 64-bit targets but not everywhere.
#[allow(clippy::unnecessary_cast)]
pub(crate) fn programs(network: bool) -> Result<Vec<Vec<libc::sock_filter>>, String> {
    let arch = arch()?;
    let mut deny: BTreeMap<i64, Vec<SeccompRule>> =
        DENIED.iter().map(|&n| (n as i64, Vec::new())).collect();
    let mut clone_rules = Vec::new();
    for &flag in CLONE_NAMESPACES {
        let f = flag as u64;
        clone_rules.push(rule(cond(0, SeccompCmpOp::MaskedEq(f), f)?)?);
    }
    deny.insert(libc::SYS_clone as i64, clone_rules);
    // No set-user-id or set-group-id file: when llm-repl runs as root the workspace is an
    // id-mapped mount, and such a file would be a root-owned setuid program on the host.
    for (call, mode_arg) in MODE_ARGS {
        let mut rules = Vec::new();
        for bit in [libc::S_ISUID, libc::S_ISGID] {
            let b = bit as u64;
            rules.push(rule(cond(*mode_arg, SeccompCmpOp::MaskedEq(b), b)?)?);
        }
        deny.insert(*call as i64, rules);
    }
    if !network {
        deny.insert(
            libc::SYS_socket as i64,
            vec![rule(cond(0, SeccompCmpOp::Ne, libc::AF_UNIX as u64)?)?],
        );
    }
    let mut clone3 = BTreeMap::new();
    clone3.insert(libc::SYS_clone3 as i64, Vec::new());
    // openat2 keeps its mode in memory a filter cannot read; libc falls back to openat.
    clone3.insert(libc::SYS_openat2 as i64, Vec::new());
    let compile = |rules, errno: i32| -> Result<Vec<libc::sock_filter>, String> {
        let filter = SeccompFilter::new(
            rules,
            SeccompAction::Allow,
            SeccompAction::Errno(errno as u32),
            arch,
        )
        .map_err(|e| format!("seccomp: {e}"))?;
        let prog: BpfProgram = filter.try_into().map_err(|e| format!("seccomp: {e}"))?;
        Ok(prog
            .into_iter()
            .map(|i| libc::sock_filter {
                code: i.code,
                jt: i.jt,
                jf: i.jf,
                k: i.k,
            })
            .collect())
    };
    let mut programs = vec![compile(clone3, libc::ENOSYS)?, compile(deny, libc::EPERM)?];
    if cfg!(target_arch = "x86_64") {
        programs.push(x32_filter());
    }
    Ok(programs)
}

/// Refuses every x32-ABI call (numbers with bit 30 set): they would bypass the lists above.
fn x32_filter() -> Vec<libc::sock_filter> {
    const X32_BIT: u32 = 0x4000_0000;
    let ins = |code: u32, jt: u8, jf: u8, k: u32| libc::sock_filter {
        code: code as u16,
        jt,
        jf,
        k,
    };
    vec![
        // A = seccomp_data.nr (offset 0)
        ins(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, 0, 0, 0),
        ins(libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K, 0, 1, X32_BIT),
        ins(
            libc::BPF_RET | libc::BPF_K,
            0,
            0,
            libc::SECCOMP_RET_ERRNO | libc::EPERM as u32,
        ),
        ins(libc::BPF_RET | libc::BPF_K, 0, 0, libc::SECCOMP_RET_ALLOW),
    ]
}
