//! The real binary in tmux against the fake server (issue 11 item 12): `/retry` regenerates the
//! last answer without sending the old one, `/edit` resends the last prompt changed in its
//! place, and `/fork` makes a new session the history browser shows linked to its parent.

use std::time::Duration;

use llm_repl_e2e::fake::{FakeServer, Reply};
use llm_repl_e2e::home::TestHome;
use llm_repl_e2e::pty::Tmux;

/// Generous for a loaded 2-core machine; every wait returns as soon as the screen matches.
const WAIT: Duration = Duration::from_secs(20);

fn command(tmux: &Tmux, line: &str) {
    tmux.type_text(line);
    tmux.keys(&["Enter"]);
}

#[test]
fn retry_edit_and_fork_from_the_prompt() {
    let server = FakeServer::spawn_background(vec![
        Reply::text("ANSWER-ONE").into(),
        Reply::text("ANSWER-TWO").into(),
        Reply::text("ANSWER-THREE").into(),
    ]);
    let home = TestHome::new(&server.base_url(), "");
    let tmux = Tmux::start(120, 36, &home.shell_line(&[]));
    tmux.wait_text("idle", WAIT);

    command(&tmux, "PROMPT-ONE");
    tmux.wait_text("ANSWER-ONE", WAIT);
    tmux.wait_text("idle", WAIT);

    // Retry: the old answer leaves the screen and the context.
    command(&tmux, "/retry");
    let screen = tmux.wait_text("ANSWER-TWO", WAIT);
    assert!(
        !screen.contains("ANSWER-ONE"),
        "old answer still shown:\n{screen}"
    );
    assert!(screen.contains("left the model's context"), "{screen}");
    assert_eq!(screen.matches("PROMPT-ONE").count(), 1, "{screen}");
    tmux.wait_text("idle", WAIT);
    let requests = server.chat_requests();
    assert_eq!(requests.len(), 2);
    let second = &requests[1].raw_body;
    assert!(second.contains("PROMPT-ONE"), "{second}");
    assert!(
        !second.contains("ANSWER-ONE"),
        "the retried request still carried the first answer: {second}"
    );

    // Edit: the last prompt comes back into the box; sent, it replaces the old one.
    command(&tmux, "/edit");
    tmux.wait_text("editing the last prompt", WAIT);
    tmux.type_text(" EDITED");
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_text("ANSWER-THREE", WAIT);
    assert!(screen.contains("PROMPT-ONE EDITED"), "{screen}");
    assert!(!screen.contains("ANSWER-TWO"), "{screen}");
    tmux.wait_text("idle", WAIT);
    let requests = server.chat_requests();
    assert_eq!(requests.len(), 3);
    let third = &requests[2];
    assert!(third.raw_body.contains("PROMPT-ONE EDITED"));
    assert!(!third.raw_body.contains("ANSWER-TWO"), "{}", third.raw_body);
    let users = third
        .messages()
        .iter()
        .filter(|m| m["role"] == "user")
        .count();
    assert_eq!(
        users, 1,
        "the old prompt went with the edit: {}",
        third.raw_body
    );

    // Fork: a new session, listed as a fork of this one.
    command(&tmux, "/fork");
    let forked = tmux.wait_text("into the new session", WAIT);
    assert!(
        forked.contains("PROMPT-ONE EDITED"),
        "the fork lost the history:\n{forked}"
    );
    assert!(!forked.contains("resumed session"), "{forked}");
    tmux.keys(&["C-o"]);
    let browser = tmux.wait_text("⑂ from", WAIT);
    assert!(
        browser.contains("PROMPT-ONE ⑂ from PROMPT-ONE"),
        "the browser does not show the fork:\n{browser}"
    );
    assert!(browser.contains("parent id"), "{browser}");
    tmux.keys(&["Escape"]);
    tmux.keys(&["C-c"]);
    tmux.keys(&["C-c"]);
}
