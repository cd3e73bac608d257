//! The confinement holds: files, network, processes, limits, identity. Each test is a real
//! attempt run through `Sandbox::run`, asserting it failed.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use llm_repl_sandbox::{Exit, Job, Report, Sandbox, Settings, probe};
use tokio_util::sync::CancellationToken;

struct Env {
    _dir: tempfile::TempDir,
    ws: PathBuf,
    outside: PathBuf,
    sandbox: Sandbox,
}

fn env_with(f: impl FnOnce(&mut Settings)) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let outside = dir.path().join("outside");
    for d in [&ws, &outside] {
        std::fs::create_dir(d).unwrap();
    }
    std::fs::write(outside.join("secret.txt"), "TOP-SECRET").unwrap();
    let mut s = Settings {
        read_write: vec![ws.clone()],
        ..Settings::default()
    };
    f(&mut s);
    Env {
        _dir: dir,
        ws,
        outside,
        sandbox: Sandbox::new(s),
    }
}

fn env() -> Env {
    env_with(|_| {})
}

async fn py(env: &Env, code: &str) -> Report {
    run(
        env,
        Path::new("/usr/bin/python3"),
        &["-I", "-c", code],
        Duration::from_secs(10),
    )
    .await
}

async fn sh(env: &Env, script: &str) -> Report {
    run(
        env,
        Path::new("/bin/sh"),
        &["-c", script],
        Duration::from_secs(10),
    )
    .await
}

async fn run(env: &Env, program: &Path, args: &[&str], timeout: Duration) -> Report {
    let job = Job {
        program: program.to_path_buf(),
        args: args.iter().map(Into::into).collect(),
        cwd: env.ws.clone(),
        env: Vec::new(),
        stdin: Vec::new(),
        timeout,
    };
    let mut sink = |_, _: &str| {};
    env.sandbox
        .run(&job, &CancellationToken::new(), &mut sink)
        .await
        .unwrap()
}

#[test]
fn kernel_support_is_full_here() {
    let s = probe();
    assert!(s.landlock_abi >= 6, "{s:?}");
    assert!(s.namespaces, "{s:?}");
    assert!(s.seccomp, "{s:?}");
    assert!(s.missing().is_empty());
}

#[tokio::test]
async fn workspace_is_writable_and_outside_is_not_readable() {
    let e = env();
    let r = py(
        &e,
        "open('ok.txt','w').write('hi'); print(open('ok.txt').read())",
    )
    .await;
    assert_eq!(r.exit, Exit::Code(0), "{}", r.output);
    assert!(e.ws.join("ok.txt").exists());
    let code = format!(
        "print(open('{}').read())",
        e.outside.join("secret.txt").display()
    );
    let r = py(&e, &code).await;
    assert_ne!(r.exit, Exit::Code(0));
    // Outside the workspace does not even exist in the sandbox's view.
    assert!(r.output.contains("FileNotFoundError"), "{}", r.output);
    assert!(!r.output.contains("TOP-SECRET"));
}

fn alive(pid: u32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid as i32, 0) == 0 }
}

#[tokio::test]
async fn network_is_cut_unless_allowed() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let code = format!(
        "import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=2)\n    print('CONNECTED')\nexcept OSError as x:\n    print('blocked', x)"
    );
    let r = py(&env(), &code).await;
    assert!(r.output.contains("blocked"), "{}", r.output);
    assert!(!r.output.contains("CONNECTED"));
    // The same with the network allowed connects: the block above is the policy at work.
    let r = py(&env_with(|s| s.network = true), &code).await;
    assert!(r.output.contains("CONNECTED"), "{}", r.output);
    // Shell: bash's /dev/tcp is not there, but a raw socket attempt through python3 from sh is.
    let r = sh(&env(), &format!("python3 -c \"import socket; socket.create_connection(('127.0.0.1', {port}))\" && echo CONNECTED")).await;
    assert!(!r.output.contains("CONNECTED"), "{}", r.output);
}

#[tokio::test]
async fn dns_lookup_fails() {
    let r = py(&env(), "import socket\ntry:\n    print(socket.getaddrinfo('example.com', 80))\nexcept OSError as x:\n    print('failed', x)").await;
    assert!(r.output.contains("failed"), "{}", r.output);
}

#[tokio::test]
async fn symlink_and_dotdot_escapes_fail() {
    let e = env();
    std::os::unix::fs::symlink(e.outside.join("secret.txt"), e.ws.join("link")).unwrap();
    for path in ["link", "../outside/secret.txt"] {
        let r = py(&e, &format!("print(open('{path}').read())")).await;
        assert!(
            r.output.contains("FileNotFoundError") || r.output.contains("PermissionError"),
            "{path}: {}",
            r.output
        );
        assert!(!r.output.contains("TOP-SECRET"));
    }
    let r = sh(
        &e,
        "cat link ../outside/secret.txt; ln -s /etc/shadow s2 && cat s2",
    )
    .await;
    assert!(!r.output.contains("TOP-SECRET"), "{}", r.output);
    assert!(!r.output.contains("root:"), "{}", r.output);
}

#[tokio::test]
async fn writes_outside_fail() {
    let e = env();
    let target = e.outside.join("planted");
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let code = format!(
        "for p in ['{}', '{home}/llm-repl-escape', '/etc/llm-repl-escape', '/usr/llm-repl-escape']:\n    try:\n        open(p, 'w').write('x')\n        print('WROTE', p)\n    except OSError as x:\n        print('refused', p, x.errno)",
        target.display()
    );
    let r = py(&e, &code).await;
    assert!(!r.output.contains("WROTE"), "{}", r.output);
    assert_eq!(r.output.matches("refused").count(), 4, "{}", r.output);
    assert!(!target.exists());
    // /tmp and /dev/shm are the sandbox's own, size-capped: writes there never reach the host.
    let r = py(
        &e,
        "open('/tmp/llm-repl-escape','w').write('x'); open('/dev/shm/llm-repl-escape','w').write('x'); print('private ok')",
    )
    .await;
    assert!(r.output.contains("private ok"), "{}", r.output);
    assert!(!Path::new("/tmp/llm-repl-escape").exists());
    assert!(!Path::new("/dev/shm/llm-repl-escape").exists());
    let r = sh(
        &e,
        &format!("echo x > {}; touch /tmp/llm-repl-escape2", target.display()),
    )
    .await;
    assert!(r.output.contains("nonexistent"), "{}", r.output);
    assert!(!target.exists() && !Path::new("/tmp/llm-repl-escape2").exists());
}

#[tokio::test]
async fn home_and_secrets_are_unreadable() {
    let e = env();
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let code = format!(
        "import os\nfor p in ['{home}', '/etc/shadow', '/root', '/run', '/var/run', '/home']:\n    try:\n        print('READ', p, os.listdir(p) if os.path.isdir(p) else open(p).read()[:20])\n    except OSError as x:\n        print('refused', p, x.errno)"
    );
    let r = py(&e, &code).await;
    assert!(!r.output.contains("READ"), "{}", r.output);
    // /proc is the sandbox's own: pid 1 is the program itself, with the scrubbed environment.
    let r = py(
        &e,
        "print(open('/proc/1/environ').read().replace(chr(0), ' '))",
    )
    .await;
    assert!(r.output.contains("HOME=/tmp"), "{}", r.output);
    let r = sh(
        &e,
        &format!("ls {home}; cat /etc/shadow; cat /proc/$PPID/environ"),
    )
    .await;
    assert!(!r.output.contains("root:"), "{}", r.output);
}

#[tokio::test]
async fn parent_environment_and_keys_do_not_leak() {
    // SAFETY: set once before the sandboxed process starts; no other test reads this variable.
    unsafe { std::env::set_var("OPENAI_API_KEY", "sk-test-must-not-leak") };
    let me = std::process::id();
    let e = env();
    let code = format!(
        "import os\nprint(dict(os.environ))\ntry:\n    print(open('/proc/{me}/environ').read())\nexcept OSError as x:\n    print('refused', x.errno)"
    );
    let r = py(&e, &code).await;
    assert!(!r.output.contains("sk-test-must-not-leak"), "{}", r.output);
    assert!(r.output.contains("refused"), "{}", r.output);
    let r = sh(&e, &format!("env; cat /proc/{me}/environ")).await;
    assert!(!r.output.contains("sk-test-must-not-leak"), "{}", r.output);
}

#[tokio::test]
async fn signals_and_ptrace_cannot_reach_outside() {
    let mut victim = std::process::Command::new("/bin/sleep")
        .arg("30")
        .spawn()
        .unwrap();
    let vp = victim.id();
    let me = std::process::id();
    let e = env();
    let code = format!(
        "import os, signal, ctypes\nfor p in [{vp}, {me}, os.getppid(), -1]:\n    try:\n        os.kill(p, signal.SIGKILL) if p != -1 else None\n        print('sent', p)\n    except OSError as x:\n        print('refused', p, x.errno)\nlibc = ctypes.CDLL(None)\nprint('ptrace', libc.ptrace(16, {vp}, 0, 0), ctypes.get_errno())"
    );
    let r = py(&e, &code).await;
    println!("signals: {}", r.output);
    assert!(r.output.contains("ptrace -1"), "{}", r.output);
    assert!(
        alive(vp),
        "the sandbox killed an outside process: {}",
        r.output
    );
    let r = sh(&e, &format!("kill -9 {vp} {me}; kill -9 -1")).await;
    assert!(alive(vp), "{}", r.output);
    assert!(alive(me));
    victim.kill().unwrap();
    victim.wait().unwrap();
}

#[tokio::test]
async fn fork_bomb_hits_the_process_limit() {
    let e = env_with(|s| s.max_processes = 20);
    let code = "import os, time\nn = 0\ntry:\n    for i in range(500):\n        if os.fork() == 0:\n            time.sleep(20)\n            os._exit(0)\n        n += 1\nexcept OSError as x:\n    print('limited after', n, x.errno)";
    let r = py(&e, code).await;
    println!("fork bomb: {}", r.output);
    assert!(r.output.contains("limited after"), "{}", r.output);
    let n: u32 = r.output.split_whitespace().nth(2).unwrap().parse().unwrap();
    assert!(n < 20, "{}", r.output);
    // The sleeping children died with the sandbox: a fresh run is not limited by them.
    let r = py(
        &e,
        "import os\nos.waitpid(os.fork(), 0) if True else None\nprint('ok')",
    )
    .await;
    assert!(r.output.contains("ok"), "{}", r.output);
    let r = run(
        &e,
        Path::new("/bin/sh"),
        &["-c", "f() { f | f & }; f"],
        Duration::from_secs(2),
    )
    .await;
    assert!(
        matches!(r.exit, Exit::TimedOut | Exit::Code(_)),
        "{:?}",
        r.exit
    );
    let r = sh(&e, "echo still-fine").await;
    assert!(r.output.contains("still-fine"));
}

#[tokio::test]
async fn privileges_cannot_be_regained() {
    let code = "import os, ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nfor name, f in [('setresuid', lambda: os.setresuid(0, 0, 0)), ('setuid', lambda: os.setuid(0)), ('setreuid', lambda: os.setreuid(os.geteuid(), -1))]:\n    try:\n        f(); print('CHANGED', name)\n    except OSError as x:\n        print('refused', name, x.errno)\nprint('unshare', libc.unshare(0x10000000))\nprint('mount', libc.mount(b'none', b'/tmp', b'tmpfs', 0, None))\nprint('chroot', libc.chroot(b'.'))";
    let r = py(&env(), code).await;
    println!("privileges: {}", r.output);
    assert!(!r.output.contains("CHANGED"), "{}", r.output);
    for call in ["unshare -1", "mount -1", "chroot -1"] {
        assert!(r.output.contains(call), "{call}: {}", r.output);
    }
}

#[tokio::test]
async fn memory_cpu_file_and_fd_limits() {
    let e = env_with(|s| {
        s.memory_bytes = 256 << 20;
        s.cpu_secs = 1;
        s.max_file_bytes = 4 << 20;
        s.max_open_files = 64;
    });
    let r = py(&e, "try:\n    x = bytearray(1 << 30)\n    print('ALLOCATED')\nexcept MemoryError:\n    print('memory refused')").await;
    assert!(r.output.contains("memory refused"), "{}", r.output);
    // A long wall clock, so that it is the CPU limit (1 s) that ends the spin even on a busy
    // machine.
    let r = run(
        &e,
        Path::new("/usr/bin/python3"),
        &["-c", "while True: pass"],
        Duration::from_secs(60),
    )
    .await;
    assert!(
        matches!(r.exit, Exit::Signal(_)),
        "{:?} {}",
        r.exit,
        r.output
    );
    let r = py(&e, "try:\n    open('big', 'wb').write(b'x' * (8 << 20))\n    print('WROTE')\nexcept OSError as x:\n    print('file refused', x.errno)").await;
    assert!(r.output.contains("file refused 27"), "{}", r.output);
    let r = py(&e, "fs = []\ntry:\n    for i in range(1000):\n        fs.append(open(f'f{i}', 'w'))\nexcept OSError as x:\n    print('fds refused after', len(fs), x.errno)").await;
    assert!(r.output.contains("fds refused after"), "{}", r.output);
}

#[tokio::test]
async fn wall_timeout_and_background_processes() {
    let e = env();
    let t = std::time::Instant::now();
    let r = run(
        &e,
        Path::new("/usr/bin/python3"),
        &["-c", "import time; time.sleep(30)"],
        Duration::from_millis(500),
    )
    .await;
    assert_eq!(r.exit, Exit::TimedOut);
    assert!(t.elapsed() < Duration::from_secs(8));
    let marker = e.ws.join("daemon-was-here");
    let code = format!(
        "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        time.sleep(1)\n        open('{}', 'w').write('x')\n    os._exit(0)\nprint('parent done')",
        marker.display()
    );
    let r = py(&e, &code).await;
    assert!(r.output.contains("parent done"));
    let r2 = sh(
        &e,
        &format!(
            "(sleep 1; touch {}.sh) >/dev/null 2>&1 & echo started",
            marker.display()
        ),
    )
    .await;
    assert!(r2.output.contains("started"));
    let deadline = std::time::Instant::now() + Duration::from_millis(1800);
    while std::time::Instant::now() < deadline {
        assert!(!marker.exists(), "a background process outlived its run");
        assert!(!e.ws.join("daemon-was-here.sh").exists());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn huge_output_is_capped_quickly() {
    let e = env_with(|s| s.max_output_bytes = 1 << 20);
    let t = std::time::Instant::now();
    let r = py(
        &e,
        "import sys\nchunk = b'x' * (1 << 20)\nfor _ in range(100): sys.stdout.buffer.write(chunk)",
    )
    .await;
    assert_eq!(r.exit, Exit::Code(0));
    assert_eq!(r.output.len(), 1 << 20);
    assert_eq!(r.cut_bytes, 99 << 20);
    assert!(t.elapsed() < Duration::from_secs(15));
}

#[tokio::test]
async fn identity_and_network() {
    let e = env();
    let r = py(&e, "import os,socket\nprint(os.getuid(), os.geteuid())\ntry:\n    socket.socket(socket.AF_INET).connect(('127.0.0.1', 1))\nexcept OSError as x:\n    print('blocked', x.errno)").await;
    println!("{}", r.output);
    assert!(r.output.contains("blocked"), "{}", r.output);
}
