//! Escape suite, file tools (issue 10 class 2, issue 12 item 14): check-then-use races, FIFOs,
//! cancellation and pathological globs. The file tools run in the app process while sandboxed
//! code keeps running; here a thread of the test plays that code. Every test is bounded in time
//! by its own runtime (so a tool stuck in a blocking call fails the test instead of hanging it)
//! and ends with a working call.

#![allow(clippy::unwrap_used)]

mod common;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use common::*;
use llm_repl_core::{Tool, ToolOutcome};
use llm_repl_protocol::ToolStatus;
use rustix::fs::{CWD, FileType, Mode, RenameFlags};
use serde_json::json;

const SECRET: &str = "OUTSIDE-SECRET-7741";

/// Runs `f` on a runtime of its own for at most `secs`; `None` when it did not finish. The
/// runtime is abandoned, not joined, so a blocked tool thread cannot hang the test.
fn within<T: Send + 'static>(secs: u64, f: impl Future<Output = T> + Send + 'static) -> Option<T> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let out = rt.block_on(async move {
        tokio::time::timeout(Duration::from_secs(secs), f)
            .await
            .ok()
    });
    rt.shutdown_background();
    out
}

/// A workspace beside an outside directory holding a secret, and the file tools.
struct Fx {
    dir: tempfile::TempDir,
    ws: PathBuf,
    outside: PathBuf,
    tools: Vec<Arc<dyn Tool>>,
}

impl Fx {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path().join("ws");
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(&ws).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("f"), format!("{SECRET} token\n")).unwrap();
        std::fs::write(outside.join("secret-name.txt"), SECRET).unwrap();
        Self {
            dir,
            ws,
            outside,
            tools: tools_with(5, 1 << 20),
        }
    }

    fn tool(&self, name: &str) -> Arc<dyn Tool> {
        tool(&self.tools, name)
    }

    fn outside_untouched(&self) {
        assert_eq!(
            std::fs::read_to_string(self.outside.join("f")).unwrap(),
            format!("{SECRET} token\n")
        );
        let names: Vec<_> = std::fs::read_dir(&self.outside).unwrap().collect();
        assert_eq!(names.len(), 2, "something was created outside");
    }

    /// A normal read and write still work afterwards.
    fn still_works(&self) {
        let (r, w, ws) = (
            self.tool("read_file"),
            self.tool("write_file"),
            self.ws.clone(),
        );
        let (read, wrote) = within(10, async move {
            let wrote = run(
                &w,
                &ws,
                json!({"path": "ok/after.txt", "content": "fine\n"}),
            )
            .await;
            (run(&r, &ws, json!({"path": "ok/after.txt"})).await, wrote)
        })
        .unwrap();
        assert_eq!(wrote.status, ToolStatus::Ok, "{}", wrote.content);
        assert_eq!(read.content, "fine\n");
    }
}

/// Keeps exchanging `ws/d` (a real directory) and `ws/x` (a symlink to the outside directory)
/// atomically until dropped, so `d` is one or the other at any moment.
struct Flipper {
    stop: Arc<AtomicBool>,
    flips: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Flipper {
    fn start(fx: &Fx) -> Self {
        let d = fx.ws.join("d");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("f"), "harmless token\n").unwrap();
        std::os::unix::fs::symlink(&fx.outside, fx.ws.join("x")).unwrap();
        let (stop, flips) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicU64::new(0)),
        );
        let (s, n, x) = (stop.clone(), flips.clone(), fx.ws.join("x"));
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                rustix::fs::renameat_with(CWD, &d, CWD, &x, RenameFlags::EXCHANGE).unwrap();
                n.fetch_add(1, Ordering::Relaxed);
            }
        });
        Self {
            stop,
            flips,
            thread: Some(thread),
        }
    }

    /// Stops flipping and leaves `d` as the real directory.
    fn stop(mut self, fx: &Fx) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap();
        if fx.ws.join("d").symlink_metadata().unwrap().is_symlink() {
            rustix::fs::renameat_with(
                CWD,
                fx.ws.join("d"),
                CWD,
                fx.ws.join("x"),
                RenameFlags::EXCHANGE,
            )
            .unwrap();
        }
        self.flips.load(Ordering::Relaxed)
    }
}

fn no_secret(out: &ToolOutcome) {
    assert!(!out.content.contains(SECRET), "leaked: {}", out.content);
    assert!(
        !out.content.contains("secret-name"),
        "leaked: {}",
        out.content
    );
}

#[test]
fn read_tools_racing_a_directory_swapped_for_a_symlink_never_leak() {
    let fx = Fx::new();
    let flipper = Flipper::start(&fx);
    let (r, l, s, ws) = (
        fx.tool("read_file"),
        fx.tool("list_dir"),
        fx.tool("search"),
        fx.ws.clone(),
    );
    let outs = within(120, async move {
        let mut outs = Vec::new();
        for _ in 0..1500 {
            outs.push(run(&r, &ws, json!({"path": "d/f"})).await);
            outs.push(run(&l, &ws, json!({"path": "d"})).await);
            outs.push(run(&s, &ws, json!({"pattern": "token", "path": "d"})).await);
        }
        outs
    })
    .unwrap();
    let flips = flipper.stop(&fx);
    assert!(flips > 100, "the flipper barely ran ({flips})");
    outs.iter().for_each(no_secret);
    assert!(
        outs.iter().any(|o| o.content == "harmless token\n"),
        "no read ever saw the real directory"
    );
    fx.still_works();
}

#[test]
fn write_file_racing_a_directory_swapped_for_a_symlink_never_writes_outside() {
    let fx = Fx::new();
    let flipper = Flipper::start(&fx);
    let (w, ws) = (fx.tool("write_file"), fx.ws.clone());
    let outs = within(120, async move {
        let mut outs = Vec::new();
        for i in 0..3000 {
            let content = format!("pwned {i} token\n");
            outs.push(run(&w, &ws, json!({"path": "d/f", "content": content})).await);
            outs.push(run(&w, &ws, json!({"path": "d/new.txt", "content": "pwned"})).await);
        }
        outs
    })
    .unwrap();
    let flips = flipper.stop(&fx);
    assert!(flips > 100, "the flipper barely ran ({flips})");
    outs.iter().for_each(no_secret);
    assert!(outs.iter().any(|o| o.status == ToolStatus::Ok));
    fx.outside_untouched();
    assert!(
        std::fs::read_to_string(fx.ws.join("d/f"))
            .unwrap()
            .starts_with("pwned")
    );
    fx.still_works();
}

#[test]
fn edit_file_racing_a_directory_swapped_for_a_symlink_never_reads_or_writes_outside() {
    let fx = Fx::new();
    let flipper = Flipper::start(&fx);
    let (e, ws) = (fx.tool("edit_file"), fx.ws.clone());
    let outs = within(120, async move {
        let mut outs = Vec::new();
        for _ in 0..3000 {
            let args = json!({"path": "d/f", "old": "token", "new": "token!"});
            outs.push(run(&e, &ws, args).await);
        }
        outs
    })
    .unwrap();
    let flips = flipper.stop(&fx);
    assert!(flips > 100, "the flipper barely ran ({flips})");
    outs.iter().for_each(no_secret);
    fx.outside_untouched();
    assert!(
        std::fs::read_to_string(fx.ws.join("d/f"))
            .unwrap()
            .contains("token!")
    );
    fx.still_works();
}

fn mkfifo(path: &Path) {
    rustix::fs::mknodat(CWD, path, FileType::Fifo, Mode::from_raw_mode(0o644), 0).unwrap();
}

/// Opens both ends of a FIFO without blocking, releasing a tool that blocked on it.
fn release(path: &Path) {
    use std::os::unix::fs::OpenOptionsExt;
    let nb = libc::O_NONBLOCK;
    let _r = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nb)
        .open(path);
    let _w = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(nb)
        .open(path);
}

#[test]
fn read_file_refuses_a_fifo_without_blocking() {
    let fx = Fx::new();
    mkfifo(&fx.ws.join("pipe"));
    std::os::unix::fs::symlink("pipe", fx.ws.join("pipe-link")).unwrap();
    let _sock = std::os::unix::net::UnixListener::bind(fx.ws.join("sock")).unwrap();
    let (r, ws) = (fx.tool("read_file"), fx.ws.clone());
    let outs = within(10, async move {
        let mut outs = Vec::new();
        for p in ["pipe", "pipe-link", "sock"] {
            outs.push(run(&r, &ws, json!({"path": p})).await);
        }
        outs
    });
    release(&fx.ws.join("pipe"));
    let outs = outs.expect("read_file blocked on a FIFO");
    for o in &outs {
        assert_eq!(o.status, ToolStatus::Error, "{}", o.content);
        assert!(o.content.contains("not a regular file"), "{}", o.content);
    }
    fx.still_works();
}

#[test]
fn write_file_refuses_a_fifo_without_blocking() {
    let fx = Fx::new();
    mkfifo(&fx.ws.join("pipe"));
    let (w, ws) = (fx.tool("write_file"), fx.ws.clone());
    let out = within(10, async move {
        run(&w, &ws, json!({"path": "pipe", "content": "x"})).await
    });
    release(&fx.ws.join("pipe"));
    let out = out.expect("write_file blocked on a FIFO");
    assert_eq!(out.status, ToolStatus::Error, "{}", out.content);
    assert!(out.content.contains("FIFO"), "{}", out.content);
    let st = std::fs::symlink_metadata(fx.ws.join("pipe")).unwrap();
    assert!(std::os::unix::fs::FileTypeExt::is_fifo(&st.file_type()));
    fx.still_works();
}

#[test]
fn edit_file_refuses_a_fifo_without_blocking() {
    let fx = Fx::new();
    mkfifo(&fx.ws.join("pipe"));
    let (e, ws) = (fx.tool("edit_file"), fx.ws.clone());
    let out = within(10, async move {
        run(&e, &ws, json!({"path": "pipe", "old": "a", "new": "b"})).await
    });
    release(&fx.ws.join("pipe"));
    let out = out.expect("edit_file blocked on a FIFO");
    assert_eq!(out.status, ToolStatus::Error, "{}", out.content);
    assert!(out.content.contains("FIFO"), "{}", out.content);
    fx.still_works();
}

/// Files whose names make a backtracking `*` matcher take forever.
fn long_names(fx: &Fx, n: usize) {
    let d = fx.ws.join("long");
    std::fs::create_dir_all(&d).unwrap();
    for i in 0..n {
        std::fs::write(d.join(format!("{}{i}", "a".repeat(200))), "token\n").unwrap();
    }
}

const BAD_GLOB: &str = "a*a*a*a*a*a*a*a*a*b";

#[test]
fn a_pathological_glob_finishes() {
    let fx = Fx::new();
    long_names(&fx, 20);
    let (s, ws) = (fx.tool("search"), fx.ws.clone());
    let out = within(20, async move {
        run(&s, &ws, json!({"pattern": "token", "glob": BAD_GLOB})).await
    })
    .expect("the glob never finished");
    assert_eq!(out.status, ToolStatus::Ok, "{}", out.content);
    assert!(out.content.starts_with("no matches"), "{}", out.content);
    let (s, ws) = (fx.tool("search"), fx.ws.clone());
    let out = within(20, async move {
        run(&s, &ws, json!({"pattern": "token", "glob": "a*a*0"})).await
    })
    .unwrap();
    assert!(out.content.contains("long/aaaa"), "{}", out.content);
    fx.still_works();
}

#[test]
fn interrupt_stops_a_search_that_is_running() {
    let fx = Fx::new();
    long_names(&fx, 300);
    let (s, ws) = (fx.tool("search"), fx.ws.clone());
    let out = within(20, async move {
        let c = call(&ws);
        let cancel = c.ctx.cancel.clone();
        let task = tokio::spawn(async move {
            s.run(json!({"pattern": "token", "glob": BAD_GLOB}), c.ctx)
                .await
        });
        cancel.cancel();
        task.await.unwrap()
    })
    .expect("the search ignored the interrupt");
    assert_eq!(out.status, ToolStatus::Interrupted, "{}", out.content);
    fx.still_works();
}

#[test]
fn an_interrupted_write_changes_nothing() {
    let fx = Fx::new();
    std::fs::write(fx.ws.join("keep.txt"), "old\n").unwrap();
    let tools = ["write_file", "edit_file", "read_file", "list_dir"].map(|n| fx.tool(n));
    let ws = fx.ws.clone();
    let outs = within(10, async move {
        let args = [
            json!({"path": "created.txt", "content": "x"}),
            json!({"path": "keep.txt", "old": "old", "new": "new"}),
            json!({"path": "keep.txt"}),
            json!({}),
        ];
        let mut outs = Vec::new();
        for (t, a) in tools.iter().zip(args) {
            let c = call(&ws);
            c.ctx.cancel.cancel();
            outs.push(t.run(a, c.ctx).await);
        }
        outs
    })
    .unwrap();
    for o in &outs {
        assert_eq!(o.status, ToolStatus::Interrupted, "{}", o.content);
    }
    assert!(!fx.ws.join("created.txt").exists());
    assert_eq!(
        std::fs::read_to_string(fx.ws.join("keep.txt")).unwrap(),
        "old\n"
    );
    let _ = fx.dir.path();
    fx.still_works();
}
