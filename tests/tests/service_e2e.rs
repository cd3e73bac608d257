//! The agent service through the real binary: `exec` starts it in the background and runs its
//! turn there; two `exec`s at once start one service; `exec` works while another client's turn
//! runs; `service status|stop`; the service exits when idle; a service killed with SIGKILL
//! mid-turn is reported by its client, and on restart the interrupted turn is marked and nothing
//! completed is lost.
//!
//! Every test has its own XDG_RUNTIME_DIR and data directory, and [`Svc`]'s Drop kills any
//! service a test started, so no background process outlives a test.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure is a test failure

use std::io::{BufRead, BufReader};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use llm_repl_e2e::service_home::Svc;
use serde_json::Value;

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "status {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Polls `cond` until true or 30 s (for state that changes in another process, e.g. a socket
/// file going away), and says whether it came true.
fn eventually(mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// A prompt the mock model turns into a python call that prints, then sleeps for a minute.
const LONG_TURN: &str = "```python\nprint('tick', flush=True)\nimport time\ntime.sleep(60)\n```";

#[test]
fn two_execs_at_once_start_one_service_which_runs_both_turns() {
    let svc = Svc::mock(600);
    let children: Vec<_> = (0..2)
        .map(|_| {
            svc.command()
                .args(["exec", "compute 2**64 with python"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        ok(&out);
        assert!(String::from_utf8_lossy(&out.stdout).contains("18446744073709551616"));
    }
    // One service: one pid file, and no second one failed against the first.
    assert_eq!(svc.pids().len(), 1, "{:?}", svc.pids());
    let log = svc.log();
    assert!(!log.contains("error"), "{log}");
    let status = svc.run(&["service", "status"]);
    ok(&status);
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains(&format!("pid {}", svc.pids()[0])), "{text}");
    // Both sessions were stored by the service.
    ok(&svc.run(&["service", "stop"]));
    assert!(!svc.socket_exists());
    let list = svc.run(&["sessions", "list", "--json"]);
    ok(&list);
    let n = String::from_utf8_lossy(&list.stdout)
        .matches("\"id\"")
        .count();
    assert_eq!(n, 2, "{}", String::from_utf8_lossy(&list.stdout));
}

#[test]
fn the_service_exits_by_itself_when_idle() {
    let svc = Svc::mock(1);
    ok(&svc.run(&["exec", "hello"]));
    assert!(svc.socket_exists());
    assert!(
        eventually(|| !svc.socket_exists()),
        "the idle service did not exit"
    );
    let status = svc.run(&["service", "status"]);
    assert_eq!(status.status.code(), Some(3));
}

#[test]
fn exec_runs_while_another_turn_runs_and_a_killed_service_loses_nothing_completed() {
    let svc = Svc::mock(600);
    // A turn that keeps running: its exec prints events as JSON lines.
    let mut long = svc
        .command()
        .args(["exec", "--json", "--approval", "never", LONG_TURN])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(long.stdout.take().unwrap()).lines();
    let mut session = String::new();
    loop {
        let line = lines.next().expect("exec ended early").unwrap();
        let v: Value = serde_json::from_str(&line).unwrap();
        if v["event"] == "session_started" {
            session = v["info"]["id"].as_str().unwrap().to_string();
        }
        if v["event"] == "tool_output" && v["chunk"].as_str().is_some_and(|c| c.contains("tick")) {
            break;
        }
    }
    // Another exec runs its own turn meanwhile.
    let other = svc.run(&["exec", "compute 2**64 with python"]);
    ok(&other);
    assert!(String::from_utf8_lossy(&other.stdout).contains("18446744073709551616"));
    let status = svc.run(&["service", "status"]);
    let text = String::from_utf8_lossy(&status.stdout).to_string();
    assert!(
        text.contains(&format!("session {session}  running")),
        "{text}"
    );
    // The service dies mid-turn.
    let pid = svc.pids()[0];
    // SAFETY: kill(2) on the service this test started.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let out = long.wait_with_output().unwrap();
    assert!(!out.status.success());
    let said = rest.join("\n") + &String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("the agent service stopped"), "{said}");
    // A new service (started by the next client) marks the turn and keeps what completed.
    let resumed = svc.run(&["exec", "--json", "--resume", &session, "hello again"]);
    ok(&resumed);
    let stdout = String::from_utf8_lossy(&resumed.stdout);
    assert!(stdout.contains("cut short last time"), "{stdout}");
    let loaded: Value = stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|v| v["event"] == "session_loaded")
        .expect("no session_loaded");
    let prompt_kept = loaded["messages"].as_array().unwrap().iter().any(|m| {
        m["content"]
            .as_str()
            .is_some_and(|c| c.contains("print('tick'"))
    });
    assert!(prompt_kept, "{loaded}");
}

#[test]
fn a_terminal_with_another_key_than_the_service_is_told() {
    // The fake provider reads FAKE_KEY; nothing listens at its URL, so turns fail fast.
    let svc = Svc::on(llm_repl_e2e::home::TestHome::new("http://127.0.0.1:9", ""));
    let first = svc.run(&["exec", "hello"]);
    let said = String::from_utf8_lossy(&first.stderr).to_string();
    assert!(!said.contains("differs from this terminal"), "{said}");
    // Same service, another key in this terminal's environment.
    let other = svc
        .command()
        .env("FAKE_KEY", "another-key")
        .args(["exec", "hello"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&other.stderr);
    assert!(
        said.contains("uses the FAKE_KEY it read when it started, which differs"),
        "{said}"
    );
    assert!(
        !said.contains("another-key"),
        "the key itself was shown: {said}"
    );
}
