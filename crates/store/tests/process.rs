//! Real second processes: exclusion with a message naming the owner, read-only snapshots, stale
//! locks of killed owners, and SIGKILL in the middle of writes losing nothing that was
//! acknowledged.
//!
//! The child is the `store-test-child` binary (`src/bin/store_test_child.rs`), which cargo builds
//! for these tests: a helper, not a test of its own.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on setup failures

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{info, open};
use llm_repl_protocol::Message;
use llm_repl_store::{Store, StoreError};

/// A child's `say` lines, read by a thread so a stuck child fails the test instead of hanging it.
/// The scratch directory the child puts its snapshot in lives as long as the lines.
struct Lines(
    mpsc::Receiver<String>,
    #[allow(dead_code)] tempfile::TempDir,
);

fn spawn(mode: &str, dir: &Path) -> (Child, Lines) {
    let scratch = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_store-test-child"))
        .env("STORE_CHILD", mode)
        .env("STORE_DIR", dir)
        .env("STORE_SCRATCH", scratch.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in out.lines() {
            let Ok(line) = line else { break };
            if let Some(pos) = line.find('@')
                && tx.send(line[pos + 1..].to_string()).is_err()
            {
                break;
            }
        }
    });
    (child, Lines(rx, scratch))
}

/// The next line the child wrote with `say` starting with `prefix`; None once the child's
/// output ended. Panics if nothing comes for 60 seconds.
fn next_line(out: &mut Lines, prefix: &str) -> Option<String> {
    loop {
        match out.0.recv_timeout(Duration::from_secs(60)) {
            Ok(l) => {
                if let Some(rest) = l.strip_prefix(prefix) {
                    return Some(rest.to_string());
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => return None,
            Err(mpsc::RecvTimeoutError::Timeout) => panic!("child silent for 60 s"),
        }
    }
}

#[test]
fn second_process_gets_a_clear_message_naming_the_owner_and_can_browse_a_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    s.create_session(&info("main", "owned")).unwrap();
    for i in 0..20 {
        s.append_message("main", &Message::user(format!("m{i}")))
            .unwrap();
    }
    let (mut child, mut out) = spawn("second", dir.path());
    let err = next_line(&mut out, "ERR ").expect("the second open must fail");
    let me = std::process::id();
    assert!(
        err.contains(&format!("is in use by another llm-repl (pid {me}")),
        "{err}"
    );
    assert!(err.contains("--data-dir"), "{err}");
    let snap = next_line(&mut out, "SNAP ").expect("snapshot line");
    assert_eq!(snap, "1 20 true", "sessions, messages, writes refused");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(3));
    // The owner is unharmed.
    assert_eq!(
        s.append_message("main", &Message::user("after")).unwrap(),
        20
    );
    drop(s);
    let s = open(dir.path());
    assert_eq!(s.load_session("main").unwrap().messages.len(), 21);
}

#[test]
fn a_killed_owner_leaves_a_stale_lock_that_the_next_open_takes_over() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, mut out) = spawn("hold", dir.path());
    let pid: u32 = next_line(&mut out, "READY ").unwrap().parse().unwrap();
    assert_eq!(pid, child.id());
    match Store::open(dir.path()) {
        Err(StoreError::Locked { pid: Some(p), .. }) => assert_eq!(p, pid),
        other => panic!("expected Locked, got {other:?}"),
    }
    assert_eq!(Store::owner_of(dir.path()).unwrap().0, Some(pid));
    child.kill().unwrap();
    child.wait().unwrap();
    let s = open(dir.path());
    assert_eq!(s.open_report().stale_lock_pid, Some(pid));
}

#[test]
fn sigkill_mid_writes_loses_no_acknowledged_append() {
    let dir = tempfile::tempdir().unwrap();
    let mut acked_total = 0u64;
    for round in 0..4u64 {
        let (mut child, mut out) = spawn("write", dir.path());
        let want = 5 + round * 17;
        let mut last = None;
        for _ in 0..want {
            let seq: u64 = next_line(&mut out, "ACK ")
                .unwrap_or_else(|| panic!("child stopped early in round {round}"))
                .parse()
                .unwrap();
            last = Some(seq);
        }
        // SIGKILL (std's kill) while the child keeps writing.
        child.kill().unwrap();
        // Appends acknowledged after our last read also count.
        while let Some(l) = next_line(&mut out, "ACK ") {
            last = Some(l.parse().unwrap());
        }
        child.wait().unwrap();
        let last = last.unwrap();
        let s = open(dir.path());
        let l = s.load_session("k").unwrap();
        assert!(
            l.messages.len() as u64 > last,
            "round {round}: seq {last} lost"
        );
        for (i, m) in l.messages.iter().enumerate() {
            assert_eq!(m.seq, i as u64);
            assert!(m.message.content.starts_with(&format!("payload {i} ")));
        }
        assert_eq!(l.session.messages, l.messages.len() as u64);
        assert!(
            !s.open_report().interrupted_turns.is_empty(),
            "round {round}: the running turn is marked"
        );
        assert!(l.turns.iter().any(|t| t.crashed));
        assert!(l.turns.iter().all(|t| t.reason.is_some()));
        // The index is consistent with the messages.
        let hits = s.search(&format!("payload {last}"), 5).unwrap();
        assert!(hits.iter().any(|h| h.seq == last), "round {round}");
        acked_total = last + 1;
    }
    assert!(acked_total >= 5 + 3 * 17);
}
