//! Attacks from a second review of the new sandbox (issue 10): a race on the protected paths'
//! bind mounts, set-user-id files made by `mknod`, file descriptors inherited from llm-repl's
//! own parent, and persistence through a `.git` the sandbox creates. Each is a real attempt
//! from inside, followed by a call that must still work.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use llm_repl_sandbox::Sandbox;
use tokio_util::sync::CancellationToken;

mod common;

use common::*;

/// A long-lived sandbox (the persistent interpreter, or any sandbox still running) flips a
/// directory on the path of a symlinked `.git` between a real directory and a symlink to a
/// host directory, while new sandboxes are being built: the parent's checks see the real
/// directory, its `open_tree` follows the symlink, and the child attaches the host's tree
/// inside the workspace. The host directory here is a root-only secret beside the workspace.
#[tokio::test]
async fn a_protected_path_swapped_during_setup_never_mounts_a_host_dir() {
    use std::os::unix::fs::PermissionsExt;
    let e = env();
    let secret = e.dir.path().join("secret");
    std::fs::create_dir_all(secret.join("x")).unwrap();
    std::fs::write(secret.join("x/key.txt"), "TOPSECRET").unwrap();
    std::fs::set_permissions(
        secret.join("x/key.txt"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    std::fs::create_dir_all(e.ws.join("real/x")).unwrap();
    std::os::unix::fs::symlink(&secret, e.ws.join("lnk")).unwrap();
    std::os::unix::fs::symlink("real/x", e.ws.join(".git")).unwrap();
    // The flipper: renameat2(RENAME_EXCHANGE) of `real` and `lnk`, as fast as it can.
    let flipper = "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\nprint('flipping', flush=True)\nwhile True:\n    libc.syscall(316, -100, b'real', -100, b'lnk', 2)\n";
    let sandbox = Sandbox::new(e.settings.clone());
    let mut flip = sandbox
        .spawn(&e.job("/usr/bin/python3", &["-I", "-c", flipper]))
        .unwrap();
    {
        use tokio::io::AsyncBufReadExt;
        let mut out = tokio::io::BufReader::new(flip.child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).await.unwrap();
        assert!(line.contains("flipping"), "{line}");
    }
    let reader = "for p in ['real/x/key.txt', 'lnk/x/key.txt']:\n    try:\n        print('READ', open(p).read())\n    except OSError:\n        pass\n";
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut leaked = None;
    let mut tries = 0;
    while Instant::now() < deadline && tries < 80 {
        tries += 1;
        let mut sink = |_, _: &str| {};
        // A start refused because the path changed under it is fine: nothing leaked.
        let Ok(r) = sandbox
            .run(
                &e.job("/usr/bin/python3", &["-I", "-c", reader]),
                &CancellationToken::new(),
                &mut sink,
            )
            .await
        else {
            continue;
        };
        if r.output.contains("TOPSECRET") {
            leaked = Some(r.output);
            break;
        }
    }
    flip.kill();
    let _ = flip.child.wait().await;
    assert!(
        leaked.is_none(),
        "a host directory was mounted into the sandbox after {tries} tries: {leaked:?}"
    );
    // Put the tree back in order, then a normal call works.
    e.still_works().await;
}

/// `mknod` makes regular files too, with any mode: a set-user-id file that, through the
/// id-mapped workspace, the host sees as root's. (Writing to it clears the bit, but a later
/// write by the host's root, e.g. `cp` onto it, keeps it.)
#[tokio::test]
async fn mknod_makes_no_setuid_file() {
    let e = env();
    let r = e
        .py("import os, stat\nfor name, mode in [('m1', 0o4755), ('m2', 0o2755), ('m3', 0o6755)]:\n    try:\n        os.mknod(name, stat.S_IFREG | mode)\n        print('made', name)\n    except OSError as x:\n        print('refused', name, x.errno)\nd = os.open('.', os.O_RDONLY)\ntry:\n    os.mknod('m4', stat.S_IFREG | 0o4755, dir_fd=d)\nexcept OSError as x:\n    print('refused m4', x.errno)")
        .await;
    e.assert_no_setid(&["m1", "m2", "m3", "m4"], &r.output);
    // Plain files and FIFOs by mknod still work.
    let r = e
        .py("import os, stat\nos.mknod('plain', stat.S_IFREG | 0o644)\nos.mkfifo('fifo')\nprint('ok')")
        .await;
    assert!(r.output.contains("ok"), "{}", r.output);
    e.still_works().await;
}

/// A file descriptor llm-repl inherited or opened without close-on-exec (its parent's
/// jobserver pipe, a socket from a launcher, a library's file) must not reach sandboxed code:
/// here a host file outside the workspace, opened by the test without `O_CLOEXEC`.
#[tokio::test]
async fn inherited_file_descriptors_do_not_reach_the_sandbox() {
    let e = env();
    let secret = e.dir.path().join("inherited-secret");
    std::fs::write(&secret, "INHERITED-SECRET").unwrap();
    let c = std::ffi::CString::new(secret.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: open(2) with a valid C string; closed below.
    let fd = unsafe { libc::open(c.as_ptr(), libc::O_RDONLY) };
    assert!(fd > 2);
    let r = e
        .py(&format!(
            "import os\ntry:\n    print('READ', os.pread({fd}, 64, 0))\nexcept OSError as x:\n    print('closed', x.errno)\nprint('FDS', sorted(int(f) for f in os.listdir('/proc/self/fd')))"
        ))
        .await;
    // SAFETY: the fd opened above.
    unsafe { libc::close(fd) };
    assert!(!r.output.contains("INHERITED-SECRET"), "{}", r.output);
    assert!(r.output.contains("closed 9"), "{}", r.output);
    e.still_works().await;
}

/// `.git` and `.llm-repl` are protected only when they exist as the sandbox starts: in a
/// workspace that is not (yet) a repository, sandboxed code makes its own `.git` with a
/// `core.fsmonitor` command, and the user's next `git status` in the workspace runs it on the
/// host, as the user (the files are the user's own, so git's ownership check passes).
/// The same holds for a persistent interpreter started before `git init`, and for nested
/// repositories (`sub/.git`), which are never protected.
#[tokio::test]
async fn a_git_dir_made_by_the_sandbox_runs_nothing_on_the_host() {
    let git = ["/usr/bin/git", "/usr/local/bin/git"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    let Some(git) = git else {
        eprintln!("skipped: no git");
        return;
    };
    let e = env();
    let marker = e.dir.path().join("PWNED");
    let r = e
        .sh(&format!(
            "git init -q . && git config core.fsmonitor 'touch {}; false' && echo planted",
            marker.display()
        ))
        .await;
    let planted = r.output.contains("planted");
    let _ = std::process::Command::new(git)
        .args(["status", "--short"])
        .current_dir(&e.ws)
        .env("GIT_CEILING_DIRECTORIES", e.dir.path())
        .output()
        .unwrap();
    assert!(
        !marker.exists(),
        "the host's git ran a command the sandbox planted (planted: {planted}): {}",
        r.output
    );
    e.still_works().await;
}

/// A `.git` file (`gitdir: .bare`, the bare-repository-with-worktrees layout, or any linked
/// worktree whose git dir lies in the workspace) protects the file but not the git dir it
/// names: hooks and config planted there run on the host's next commit.
#[tokio::test]
async fn the_git_dir_a_git_file_names_is_protected_too() {
    let e = env();
    std::fs::create_dir_all(e.ws.join(".bare/hooks")).unwrap();
    std::fs::write(e.ws.join(".bare/config"), "[core]\n").unwrap();
    std::fs::write(e.ws.join(".git"), "gitdir: ./.bare\n").unwrap();
    let r = e
        .sh("echo evil > .bare/hooks/pre-commit; echo evil >> .bare/config; echo gitdir: /tmp > .git; echo done")
        .await;
    assert!(r.output.contains("done"), "{}", r.output);
    assert!(
        !e.ws.join(".bare/hooks/pre-commit").exists(),
        "a hook was planted: {}",
        r.output
    );
    assert_eq!(
        std::fs::read_to_string(e.ws.join(".bare/config")).unwrap(),
        "[core]\n"
    );
    assert_eq!(
        std::fs::read_to_string(e.ws.join(".git")).unwrap(),
        "gitdir: ./.bare\n"
    );
    e.still_works().await;
}

/// With the network on, the sandbox shares the host's network namespace and with it the
/// abstract Unix socket namespace (X11's `@/tmp/.X11-unix/X0`, container shims, D-Bus): a
/// host service listening on an abstract name must stay out of reach (Landlock scoping).
#[tokio::test]
async fn an_abstract_host_socket_stays_out_of_reach_with_the_network_on() {
    use std::os::linux::net::SocketAddrExt;
    let mut e = env();
    e.settings.network = true;
    let name = format!("llm-repl-attack2-{}", std::process::id());
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let l = std::os::unix::net::UnixListener::bind_addr(&addr).unwrap();
    l.set_nonblocking(true).unwrap();
    let r = e
        .py(&format!(
            "import socket\ns = socket.socket(socket.AF_UNIX)\ntry:\n    s.connect('\\0{name}')\n    print('CONNECTED')\nexcept OSError as x:\n    print('blocked', x.errno)"
        ))
        .await;
    assert!(r.output.contains("blocked"), "{}", r.output);
    assert!(
        matches!(l.accept(), Err(x) if x.kind() == std::io::ErrorKind::WouldBlock),
        "the host service got a connection"
    );
    e.still_works().await;
}

/// An interpreter configured as `~/.local/bin/python3` (where pipx and uv put one) made the
/// sandbox bind its "prefix", `~/.local`, read-only: that is also where llm-repl keeps every
/// past session (`~/.local/share/llm-repl`) and its logs (`~/.local/state`).
#[tokio::test]
async fn a_user_local_interpreter_does_not_expose_the_users_data() {
    let e = env();
    let local = e.dir.path().join("home/.local");
    std::fs::create_dir_all(local.join("bin")).unwrap();
    std::fs::create_dir_all(local.join("share/llm-repl")).unwrap();
    std::fs::create_dir_all(local.join("lib")).unwrap();
    std::fs::write(local.join("share/llm-repl/session.db"), "PAST-SESSIONS").unwrap();
    std::fs::write(local.join("lib/ok.txt"), "LIB-OK").unwrap();
    std::os::unix::fs::symlink("/usr/bin/python3", local.join("bin/python3")).unwrap();
    let program = local.join("bin/python3");
    let code = format!(
        "import sys\nfor p in ['{0}/share/llm-repl/session.db', '{0}/lib/ok.txt']:\n    try:\n        print('READ', open(p).read())\n    except OSError as x:\n        print('refused', x.errno)\nprint('RAN', sys.version_info[0])",
        local.display()
    );
    let r = e
        .run(e.job(program.to_str().unwrap(), &["-I", "-c", &code]))
        .await;
    assert!(r.output.contains("RAN 3"), "{}", r.output);
    assert!(!r.output.contains("PAST-SESSIONS"), "{}", r.output);
    // Its library directory is still there for it.
    assert!(r.output.contains("LIB-OK"), "{}", r.output);
    e.still_works().await;
}
