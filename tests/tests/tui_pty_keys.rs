//! The real binary in tmux against the fake server, through what a user types: typing in the
//! history browser searches (it fires no action), exports say where they went, deleting the
//! open session starts a new one, a prompt sent during a turn is queued and sent when it ends,
//! and pastes from a terminal without bracketed paste land in the box whole.

use std::time::Duration;

use llm_repl_e2e::fake::{FakeServer, Reply};
use llm_repl_e2e::home::TestHome;
use llm_repl_e2e::pty::Tmux;

/// Generous for a loaded 2-core machine; every wait returns as soon as the screen matches.
const WAIT: Duration = Duration::from_secs(20);

fn exports(home: &TestHome) -> Vec<String> {
    std::fs::read_dir(home.path())
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("llm-repl-"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn typing_in_the_history_browser_searches_and_deleting_the_open_session_sticks() {
    let server = FakeServer::spawn_background(vec![
        Reply::text("alpha-answer").into(),
        Reply::text("beta-answer").into(),
    ]);
    let home = TestHome::new(&server.base_url(), "");
    // Run in the home, where a browser export without a path lands.
    let command = format!(
        "cd {} && {}",
        llm_repl_e2e::home::shell_quote(&home.path().display().to_string()),
        home.shell_line(&[])
    );
    let tmux = Tmux::start(120, 36, &command);
    tmux.wait_text("idle", WAIT);
    tmux.type_text("PROMPT-ALPHA");
    tmux.keys(&["Enter"]);
    tmux.wait_text("alpha-answer", WAIT);
    tmux.wait_text("idle", WAIT);

    // Typing "elephant" searches; nothing is exported, renamed or deleted.
    tmux.keys(&["C-o"]);
    tmux.wait_text("sessions · 1 of 1", WAIT);
    tmux.type_text("elephant");
    let typed = tmux.wait_text("search: elephant", WAIT);
    assert!(!typed.contains("exported"), "{typed}");
    assert!(exports(&home).is_empty(), "{:?}", exports(&home));
    tmux.wait_text("no matches", WAIT);

    // Esc clears the search; Ctrl+E exports and says where.
    tmux.keys(&["Escape"]);
    tmux.wait_for("the cleared search", WAIT, |s| {
        !s.contains("search: elephant")
    });
    tmux.keys(&["C-e"]);
    let exported = tmux.wait_text("exported", WAIT);
    let files = exports(&home);
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(exported.contains(".md"), "no path shown:\n{exported}");

    // Delete the open session: a new one starts.
    tmux.keys(&["DC"]);
    tmux.wait_text("delete this session for good?", WAIT);
    tmux.type_text("y");
    tmux.wait_text("a new session started", WAIT);
    tmux.keys(&["Escape"]);
    tmux.wait_text("idle", WAIT);
    tmux.type_text("PROMPT-BETA");
    tmux.keys(&["Enter"]);
    tmux.wait_text("beta-answer", WAIT);
    tmux.wait_text("idle", WAIT);
    let screen = tmux.screen();
    assert!(!screen.contains("PROMPT-ALPHA"), "{screen}");
    // The browser holds only the new session.
    tmux.keys(&["C-o"]);
    let list = tmux.wait_text("sessions · 1 of 1", WAIT);
    assert!(
        list.contains("PROMPT-BETA") && !list.contains("PROMPT-ALPHA"),
        "{list}"
    );
    // The model never saw the deleted conversation.
    let last = server
        .chat_requests()
        .last()
        .map(|r| r.raw_body.clone())
        .unwrap_or_default();
    assert!(!last.contains("PROMPT-ALPHA"), "{last}");
    tmux.keys(&["Escape"]);
    tmux.keys(&["C-c"]);
    tmux.keys(&["C-c"]);
}

#[test]
fn a_prompt_sent_during_a_turn_is_queued_and_pastes_land_whole() {
    let server = FakeServer::spawn_background(vec![
        Reply::text("slow-one slow-two slow-three slow-four slow-five")
            .chunks(9)
            .delay_ms(300)
            .into(),
        Reply::text("queued-answer").into(),
        Reply::text("paste-answer").into(),
    ]);
    let home = TestHome::new(&server.base_url(), "");
    let tmux = Tmux::start(120, 36, &home.shell_line(&[]));
    tmux.wait_text("idle", WAIT);

    tmux.type_text("talk slowly");
    tmux.keys(&["Enter"]);
    tmux.wait_text("slow-one", WAIT);
    tmux.type_text("QUEUED-PROMPT");
    tmux.keys(&["Enter"]);
    tmux.wait_text("queued: QUEUED-PROMPT", WAIT);
    // Sent by itself when the first turn ends.
    tmux.wait_text("queued-answer", WAIT);
    tmux.wait_text("idle", WAIT);
    let requests = server.chat_requests();
    assert_eq!(requests.len(), 2);
    assert!(requests[1].raw_body.contains("QUEUED-PROMPT"));

    // A paste typed by a terminal without bracketed paste: CRs inside one burst.
    tmux.type_text("PASTE-ONE\rPASTE-TWO\rPASTE-THREE");
    tmux.wait_text("PASTE-THREE", WAIT);
    assert_eq!(server.chat_requests().len(), 2, "a pasted line was sent");
    // A long paste through tmux's buffer (not bracketed): folded in the box, sent whole.
    tmux.keys(&["C-u", "C-u", "C-u"]);
    tmux.keys(&["C-w", "C-w", "C-w", "BSpace", "BSpace", "BSpace"]);
    let long: String = (1..=40).map(|i| format!("pasted line {i}\n")).collect();
    tmux.run(&["set-buffer", "-b", "p", &long]);
    tmux.run(&["paste-buffer", "-b", "p", "-t", "main"]);
    tmux.wait_text("[pasted 40 lines]", WAIT);
    assert_eq!(server.chat_requests().len(), 2);
    tmux.keys(&["Enter"]);
    tmux.wait_text("paste-answer", WAIT);
    let last = server
        .chat_requests()
        .last()
        .map(|r| r.raw_body.clone())
        .unwrap_or_default();
    assert!(
        last.contains("pasted line 1\\n") && last.contains("pasted line 40"),
        "{last}"
    );
    tmux.keys(&["C-c"]);
    tmux.keys(&["C-c"]);
}
