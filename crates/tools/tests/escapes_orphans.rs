//! Processes must not outlive their call or their session (issue 10, class 3), whatever user
//! code does to the REPL's own clean-up. A FIFO in the workspace is the beacon: a process that
//! holds it open for writing is alive; the test's read sees end-of-file when the last is gone.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use llm_repl_protocol::ToolStatus;
use llm_repl_sandbox::testing::{Beacon, Until};
use serde_json::json;

/// Waits (off the async threads) for the beacon.
async fn wait(beacon: &Arc<Beacon>, until: Until) -> bool {
    let b = beacon.clone();
    tokio::task::spawn_blocking(move || b.wait(until, Duration::from_secs(10)))
        .await
        .unwrap()
}

/// Disables what a REPL might do to clean up, then leaves a session-leading, double-forked
/// daemon that ignores SIGTERM and SIGHUP holding the beacon.
const DAEMON: &str = r#"
import os, signal, time
os.killpg = lambda *a: None
os.kill = lambda *a: None
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        fd = os.open('beacon', os.O_WRONLY)
        os.write(fd, b'up')
        time.sleep(300)
    os._exit(0)
os.wait()
kept = 41
print('started')
"#;

#[tokio::test]
async fn a_daemon_started_by_a_call_dies_with_the_call() {
    let dir = tempfile::tempdir().unwrap();
    let beacon = Arc::new(Beacon::new(dir.path()).unwrap());
    let py = tool(&tools_with(20, 1 << 20), "python");
    let session = new_session();
    let out = run_in(&py, dir.path(), &session, json!({"code": DAEMON})).await;
    assert_eq!(out.status, ToolStatus::Ok, "{}", out.content);
    assert!(wait(&beacon, Until::Up).await, "no daemon");
    assert!(
        wait(&beacon, Until::Gone).await,
        "the daemon outlived its call"
    );
    assert!(out.content.contains("were stopped"), "{}", out.content);
    // The interpreter itself persists, state and all.
    let out = run_in(&py, dir.path(), &session, json!({"code": "kept + 1"})).await;
    assert!(out.content.contains("42"), "{}", out.content);
}

#[tokio::test]
async fn a_background_shell_job_dies_with_the_call() {
    let dir = tempfile::tempdir().unwrap();
    let beacon = Arc::new(Beacon::new(dir.path()).unwrap());
    let sh = tool(&tools_with(20, 1 << 20), "shell");
    let out = run(
        &sh,
        dir.path(),
        json!({"command": "(trap '' TERM HUP; exec 3>beacon; printf up >&3; exec setsid sleep 300 3>&3) & sleep 0.2; echo launched"}),
    )
    .await;
    assert!(out.content.contains("launched"), "{}", out.content);
    assert!(
        wait(&beacon, Until::Gone).await,
        "the job outlived its call"
    );
    let out = run(&sh, dir.path(), json!({"command": "echo fine"})).await;
    assert!(out.content.contains("fine"), "{}", out.content);
}

#[tokio::test]
async fn ending_a_session_ends_its_interpreter() {
    let dir = tempfile::tempdir().unwrap();
    let beacon = Arc::new(Beacon::new(dir.path()).unwrap());
    let py = tool(&tools_with(20, 1 << 20), "python");
    let session = new_session();
    // The interpreter itself holds the beacon.
    let out = run_in(
        &py,
        dir.path(),
        &session,
        json!({"code": "import os\nfd = os.open('beacon', os.O_WRONLY)\nos.write(fd, b'up')"}),
    )
    .await;
    assert_eq!(out.status, ToolStatus::Ok, "{}", out.content);
    assert!(wait(&beacon, Until::Up).await);
    py.end_session(&session);
    assert!(
        wait(&beacon, Until::Gone).await,
        "the interpreter outlived its session"
    );
    let out = run_in(&py, dir.path(), &session, json!({"code": "print('fresh')"})).await;
    assert!(out.content.contains("fresh"), "{}", out.content);
}
