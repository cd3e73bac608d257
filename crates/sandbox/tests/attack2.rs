//! Attacks from a second review of the new sandbox (issue 10): a race on the protected paths'
//! bind mounts, set-user-id files made by `mknod`, file descriptors inherited from llm-repl's
//! own parent, and persistence through a `.git` the sandbox creates. Each is a real attempt
//! from inside, followed by a call that must still work.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use llm_repl_sandbox::{Exit, Job, Report, Sandbox, Settings};
use tokio_util::sync::CancellationToken;

struct Env {
    dir: tempfile::TempDir,
    ws: PathBuf,
    settings: Settings,
}

fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    std::fs::create_dir(&ws).unwrap();
    let settings = Settings {
        read_write: vec![ws.clone()],
        protected: vec![".git".into(), ".llm-repl".into()],
        ..Settings::default()
    };
    Env { dir, ws, settings }
}

impl Env {
    fn job(&self, program: &str, args: &[&str]) -> Job {
        Job {
            program: program.into(),
            args: args.iter().map(Into::into).collect(),
            cwd: self.ws.clone(),
            env: Vec::new(),
            stdin: Vec::new(),
            timeout: Duration::from_secs(20),
        }
    }

    async fn py(&self, code: &str) -> Report {
        self.run(self.job("/usr/bin/python3", &["-I", "-c", code]))
            .await
    }

    async fn sh(&self, script: &str) -> Report {
        self.run(self.job("/bin/sh", &["-c", script])).await
    }

    async fn run(&self, job: Job) -> Report {
        let mut sink = |_, _: &str| {};
        Sandbox::new(self.settings.clone())
            .run(&job, &CancellationToken::new(), &mut sink)
            .await
            .unwrap()
    }

    async fn still_works(&self) {
        let r = self
            .py("open('after.txt','w').write('ok'); print(open('after.txt').read())")
            .await;
        assert_eq!(r.exit, Exit::Code(0), "{}", r.output);
        assert_eq!(
            std::fs::read_to_string(self.ws.join("after.txt")).unwrap(),
            "ok"
        );
    }
}

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
