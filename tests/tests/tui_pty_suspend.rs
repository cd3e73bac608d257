//! Ctrl+Z and `fg` in a real interactive shell (tmux): the interface comes back with the prompt
//! box as it was, and every key typed after `fg` reaches it, also one typed while the program
//! is still resuming (a first key lost after `fg` was reported; the host now drops crossterm's
//! reader across the suspension, as it does around the external editor).

use std::time::Duration;

use llm_repl_e2e::fake::{FakeServer, Reply};
use llm_repl_e2e::home::TestHome;
use llm_repl_e2e::pty::Tmux;

/// Generous for a loaded 2-core machine; every wait returns as soon as the screen matches.
const WAIT: Duration = Duration::from_secs(20);

#[test]
fn the_first_key_after_fg_reaches_the_prompt() {
    let server = FakeServer::spawn_background(vec![Reply::text("unused").into()]);
    let home = TestHome::new(&server.base_url(), "");
    // An interactive shell with job control, so Ctrl+Z stops the program and `fg` resumes it.
    let tmux = Tmux::start(
        120,
        36,
        "env -i PATH=/usr/bin:/bin TERM=xterm-256color PS1='SHELL-READY> ' bash --norc --noprofile -i",
    );
    tmux.wait_text("SHELL-READY>", WAIT);
    tmux.type_text(&home.shell_line(&[]));
    tmux.keys(&["Enter"]);
    tmux.wait_text("idle", WAIT);
    tmux.type_text("before");
    tmux.wait_text("before", WAIT);

    tmux.keys(&["C-z"]);
    tmux.wait_text("Stopped", WAIT);
    tmux.type_text("fg");
    tmux.keys(&["Enter"]);
    // Typed at once, while the program resumes.
    tmux.type_text("Q");
    // The interface is back (its frame redrawn) before any key is pressed.
    let back = tmux.wait_for("the interface after fg", WAIT, |s| {
        s.contains("idle") && !s.contains("Stopped")
    });
    assert!(
        back.contains("before"),
        "the prompt box lost its text:\n{back}"
    );

    // One key, then another: both must land, the first one included.
    tmux.type_text("X");
    let screen = tmux.wait_for("the first key after fg", WAIT, |s| s.contains("beforeQX"));
    assert!(screen.contains("beforeQX"), "{screen}");
    tmux.type_text("Y");
    tmux.wait_text("beforeQXY", WAIT);
    tmux.keys(&["C-c"]);
    tmux.keys(&["C-c"]);
    tmux.keys(&["C-c"]);
}
