//! The real binary in tmux: Ctrl+G opens `$EDITOR` on the prompt's text with the terminal out
//! of raw mode, the edited text replaces the box without being sent, and an editor that exits
//! non-zero leaves the box as it was and says so.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use llm_repl_e2e::fake::{FakeServer, Reply};
use llm_repl_e2e::home::{TestHome, shell_quote};
use llm_repl_e2e::pty::Tmux;

/// Generous for a loaded 2-core machine; every wait returns as soon as the screen matches.
const WAIT: Duration = Duration::from_secs(20);

/// An editor that records what it was given and the terminal's mode, then writes two known
/// lines, or exits 3 without touching the file when `fail` exists next to it.
fn write_editor(dir: &Path) -> String {
    let d = shell_quote(&dir.display().to_string());
    let script = format!(
        "#!/bin/sh\ncp \"$1\" {d}/seen.txt\nstty -a > {d}/stty.txt\n\
         if [ -e {d}/fail ]; then exit 3; fi\n\
         printf 'EDITED-LINE-ONE\\nEDITED-LINE-TWO\\n' > \"$1\"\n"
    );
    let path = dir.join("editor.sh");
    std::fs::write(&path, script).unwrap_or_else(|e| panic!("{e}"));
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("{e}"));
    path.display().to_string()
}

#[test]
fn ctrl_g_edits_the_prompt_in_the_editor_and_a_failing_editor_changes_nothing() {
    let server = FakeServer::spawn_background(vec![Reply::text("edited-answer").into()]);
    let home = TestHome::new(&server.base_url(), "");
    let tools = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let editor = write_editor(tools.path());
    let line = home.shell_line(&[]).replacen(
        "env -i",
        &format!("env -i EDITOR={}", shell_quote(&editor)),
        1,
    );
    let tmux = Tmux::start(100, 30, &line);
    tmux.wait_text("idle", WAIT);
    tmux.type_text("DRAFT-TEXT");
    tmux.keys(&["C-g"]);
    let screen = tmux.wait_text("EDITED-LINE-TWO", WAIT);
    assert!(screen.contains("EDITED-LINE-ONE"), "{screen}");
    assert!(!screen.contains("DRAFT-TEXT"), "{screen}");
    // The editor got the box's text and a terminal in cooked mode (raw mode was left).
    let seen = std::fs::read_to_string(tools.path().join("seen.txt")).unwrap_or_default();
    assert_eq!(seen, "DRAFT-TEXT");
    let stty = std::fs::read_to_string(tools.path().join("stty.txt")).unwrap_or_default();
    assert!(
        stty.split_whitespace().any(|w| w == "icanon")
            && stty.split_whitespace().any(|w| w == "echo"),
        "the editor ran in raw mode:\n{stty}"
    );
    // Not sent: the fake server saw no chat request.
    assert_eq!(server.chat_requests().len(), 0);

    // A failing editor: the box stays, the status line says why.
    std::fs::write(tools.path().join("fail"), "").unwrap_or_else(|e| panic!("{e}"));
    tmux.keys(&["C-g"]);
    let screen = tmux.wait_text("status 3", WAIT);
    assert!(screen.contains("EDITED-LINE-TWO"), "{screen}");
    let seen = std::fs::read_to_string(tools.path().join("seen.txt")).unwrap_or_default();
    assert_eq!(seen, "EDITED-LINE-ONE\nEDITED-LINE-TWO");

    // The keyboard works after the editor: Enter sends the edited prompt.
    tmux.keys(&["Enter"]);
    tmux.wait_text("edited-answer", WAIT);
    let requests = server.chat_requests();
    assert_eq!(requests.len(), 1);
    let body = requests[0].raw_body.clone();
    assert!(body.contains("EDITED-LINE-ONE\\nEDITED-LINE-TWO"), "{body}");
}
