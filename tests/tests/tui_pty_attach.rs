//! Two terminals on one session through the agent service (the real binary in tmux, against
//! the fake server): the second attaches to a turn whose python tool is printing, replays it,
//! and keeps receiving its output live after the first terminal has quit (closing a TUI leaves
//! its turn running).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure is a test failure

use std::time::Duration;

use llm_repl_e2e::fake::{FakeServer, Reply};
use llm_repl_e2e::home::TestHome;
use llm_repl_e2e::pty::Tmux;
use llm_repl_e2e::service_home::Svc;

/// Generous for a loaded 2-core machine; every wait returns as soon as the screen matches.
const WAIT: Duration = Duration::from_secs(30);

#[test]
fn a_second_terminal_attaches_and_sees_tool_output_live() {
    // Prints, waits for the test's go-ahead file in the workspace, prints again.
    let code = "import os, time\nprint('first-' + 'output', flush=True)\n\
                while not os.path.exists('go'):\n    time.sleep(0.05)\n\
                print('after-' + 'attach', flush=True)\ntime.sleep(60)";
    let args = serde_json::json!({ "code": code }).to_string();
    let server = FakeServer::spawn_background(vec![
        Reply::text("Running it.")
            .tool_call("call_py", "python", &args)
            .into(),
    ]);
    let home = TestHome::new(&server.base_url(), "[tools]\napproval = \"never\"\n");
    let svc = Svc::on(home);
    let first = Tmux::start(
        120,
        36,
        &format!(
            "{}; echo \"EXITED $?\"; exec sleep 120",
            svc.shell_line(&[])
        ),
    );
    first.wait_text("idle", WAIT);
    first.type_text("PROMPT-ONE run the watcher");
    first.keys(&["Enter"]);
    first.wait_text("first-output", WAIT);

    let second = Tmux::start(
        120,
        36,
        &format!(
            "{}; echo \"EXITED $?\"; exec sleep 120",
            svc.shell_line(&["attach"])
        ),
    );
    // The replay: the prompt and what the tool printed so far.
    let replayed = second.wait_text("first-output", WAIT);
    assert!(replayed.contains("PROMPT-ONE"), "{replayed}");
    assert!(!replayed.contains("in use by"), "{replayed}");

    // The first terminal is closed (its tmux server and the TUI in it go away); the turn goes
    // on in the service.
    drop(first);

    std::fs::write(svc.home.path().join("go"), "").unwrap();
    let live = second.wait_text("after-attach", WAIT);
    assert!(live.contains("first-output"), "{live}");
}
