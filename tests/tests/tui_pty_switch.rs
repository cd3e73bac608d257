//! The real binary in tmux against the fake server: `/model` in the middle of a turn keeps the
//! screen, says what changed, applies from the next model call, and Esc still interrupts; on
//! quit the shell shows how to resume.

use std::time::Duration;

use llm_repl_e2e::fake::{FakeServer, Reply};
use llm_repl_e2e::home::TestHome;
use llm_repl_e2e::pty::Tmux;

/// Generous for a loaded 2-core machine; every wait returns as soon as the screen matches.
const WAIT: Duration = Duration::from_secs(20);

#[test]
fn model_switch_mid_turn_keeps_the_screen_and_esc_still_interrupts() {
    let code = "print('tool' + '-started', flush=True)\nimport time\ntime.sleep(30)";
    let args = serde_json::json!({ "code": code }).to_string();
    let server = FakeServer::spawn_background(vec![
        Reply::text("Running it.")
            .tool_call("call_py", "python", &args)
            .into(),
        Reply::text("after-interrupt").into(),
        Reply::text("answered-by-the-new-model").into(),
    ]);
    let home = TestHome::new(&server.base_url(), "[tools]\napproval = \"never\"\n");
    let command = format!(
        "{}; echo \"EXITED $?\"; exec sleep 120",
        home.shell_line(&[])
    );
    let tmux = Tmux::start(120, 36, &command);
    tmux.wait_text("idle", WAIT);

    tmux.type_text("PROMPT-ONE run the slow script");
    tmux.keys(&["Enter"]);
    tmux.wait_text("tool-started", WAIT);

    tmux.type_text("/model other-model");
    tmux.keys(&["Enter"]);
    let switched = tmux.wait_text(
        "model: fake-model -> other-model (from the next call)",
        WAIT,
    );
    assert!(
        switched.contains("PROMPT-ONE"),
        "the conversation was wiped:\n{switched}"
    );
    assert!(
        !switched.contains("A language model and sandboxed local tools"),
        "the welcome banner came back:\n{switched}"
    );
    assert!(
        switched.contains("running"),
        "the turn must still show as running:\n{switched}"
    );
    assert!(
        switched.contains("fake/other-model"),
        "status bar:\n{switched}"
    );

    // Esc still interrupts the running tool.
    tmux.keys(&["Escape"]);
    let stopped = tmux.wait_text("interrupted", WAIT);
    assert!(stopped.contains("PROMPT-ONE"), "{stopped}");
    tmux.wait_text("idle", WAIT);

    // The agent and the status bar agree, and the next call uses the new model.
    tmux.type_text("/model");
    tmux.keys(&["Enter"]);
    tmux.wait_text("Model · fake · current other-model", WAIT);
    tmux.keys(&["Escape"]);
    tmux.wait_for("the picker to close", WAIT, |s| !s.contains("filter:"));
    tmux.type_text("PROMPT-TWO");
    tmux.keys(&["Enter"]);
    tmux.wait_text("after-interrupt", WAIT);
    let models: Vec<String> = server
        .chat_requests()
        .iter()
        .map(|r| r.body["model"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(models, ["fake-model", "other-model"]);
    let last = server
        .chat_requests()
        .last()
        .map(|r| r.raw_body.clone())
        .unwrap_or_default();
    assert!(
        last.contains("PROMPT-ONE"),
        "the history went with the switch"
    );

    tmux.keys(&["C-c"]);
    tmux.keys(&["C-c"]);
    // On quit the shell is told how to come back.
    tmux.wait_text("EXITED 0", WAIT);
    let after = tmux.history();
    assert!(
        after.contains("to resume this session: llm-repl --resume "),
        "{after}"
    );
}
