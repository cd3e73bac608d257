//! Nothing a tool started survives llm-repl, by any signal (issue 10, class 3). The real binary
//! runs a python call that leaves a session-leading, double-forked daemon ignoring SIGTERM and
//! SIGHUP; llm-repl is then killed. The daemon holds a FIFO beacon open: the test sees
//! end-of-file when it is gone (no sleeps, bounded waits).

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use llm_repl_e2e::fake::{FakeServer, Reply};
use llm_repl_e2e::home::TestHome;
use llm_repl_sandbox::testing::{Beacon, Until};

const DAEMON: &str = "import os, signal, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        signal.signal(signal.SIGTERM, signal.SIG_IGN)\n        signal.signal(signal.SIGHUP, signal.SIG_IGN)\n        fd = os.open('beacon', os.O_WRONLY)\n        os.write(fd, b'up')\n        time.sleep(300)\n    os._exit(0)\nos.wait()\ntime.sleep(300)";

fn killed_mid_tool_leaves_nothing(signal: i32) {
    let args = serde_json::json!({ "code": DAEMON }).to_string();
    let server = FakeServer::spawn_background(vec![
        Reply::text("")
            .tool_call("call_daemon", "python", &args)
            .usage(10, 5, 0)
            .into(),
    ]);
    let home = TestHome::new(&server.base_url(), "[tools]\ntimeout_secs = 600\n");
    let beacon = Arc::new(Beacon::new(home.path()).expect("beacon"));
    let mut child = home
        .command()
        .args(["exec", "--json", "--approval", "never", "start a daemon"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn llm-repl");
    assert!(
        beacon.wait(Until::Up, Duration::from_secs(30)),
        "the daemon never started"
    );
    // SAFETY: kill(2) on our own child.
    unsafe {
        libc::kill(child.id() as i32, signal);
    }
    let _ = child.wait();
    assert!(
        beacon.wait(Until::Gone, Duration::from_secs(10)),
        "a process the tool started survived llm-repl's death by signal {signal}"
    );
}

#[test]
fn sigkill_of_llm_repl_ends_every_tool_process() {
    killed_mid_tool_leaves_nothing(libc::SIGKILL);
}

#[test]
fn sighup_of_llm_repl_ends_every_tool_process() {
    killed_mid_tool_leaves_nothing(libc::SIGHUP);
}

#[test]
fn sigterm_of_llm_repl_ends_every_tool_process() {
    killed_mid_tool_leaves_nothing(libc::SIGTERM);
}
