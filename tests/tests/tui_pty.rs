//! The real binary's full-screen interface in a real terminal (tmux) against the fake server:
//! a tool's output shows in the trace pane while the tool still runs, the answer arrives, the
//! conversation scrolls up and back, Esc interrupts a slow stream and keeps the partial text,
//! Ctrl+C twice quits with status 0, and the terminal is restored afterwards.

use std::time::Duration;

use llm_repl_e2e::fake::{FakeServer, Reply};
use llm_repl_e2e::home::TestHome;
use llm_repl_e2e::pty::Tmux;

/// Generous for a loaded 2-core machine; every wait returns as soon as the screen matches.
const WAIT: Duration = Duration::from_secs(15);

fn answer() -> String {
    let mut text = String::from("ANSWER-TOP the tool printed two lines.\n\n");
    for i in 1..=60 {
        text.push_str(&format!("- item {i:02}\n"));
    }
    text.push_str("\nANSWER-END");
    text
}

#[test]
fn tool_output_streams_live_scroll_interrupt_and_quit_restore_the_terminal() {
    // The printed words are built at run time, so the code shown in the trace never matches them.
    let code = "print('first' + '-out', flush=True)\nimport time\ntime.sleep(2.5)\nprint('second' + '-out')";
    let args = serde_json::json!({ "code": code }).to_string();
    let server = FakeServer::spawn_background(vec![
        Reply::text("Running it.")
            .tool_call("call_py", "python", &args)
            .into(),
        Reply::text(answer()).chunks(8).into(),
        Reply::text("slow-one slow-two slow-three slow-four slow-five slow-six slow-seven")
            .chunks(14)
            .delay_ms(400)
            .into(),
    ]);
    let home = TestHome::new(&server.base_url(), "");
    // The shell runs the app, then reports its exit status and the tty's mode, and stays (so
    // the pane's cursor and mouse flags are the app's leftovers, not a dead pane's).
    let command = format!(
        "{}; echo \"EXITED $?\"; \
         stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e -icanon -e echo -e -echo | \
         tr '\\n' ' '; echo; echo STTY-DONE; exec sleep 120",
        home.shell_line(&[])
    );
    let tmux = Tmux::start(120, 36, &command);

    // The full-screen interface is on the alternate screen (tmux's own record of it).
    tmux.wait_text("idle", WAIT);
    assert_eq!(tmux.format("#{alternate_on}"), "1");

    tmux.type_text("run the slow script");
    tmux.keys(&["Enter"]);

    // The first line is in the trace pane while the tool still runs.
    let live = tmux.wait_text("first-out", WAIT);
    assert!(!live.contains("second-out"), "{live}");
    assert!(
        live.contains("running"),
        "no running state while the tool runs:\n{live}"
    );
    assert!(live.contains("time.sleep(2.5)"), "code not shown:\n{live}");

    // The tool finishes, its second line arrives, then the answer.
    let done = tmux.wait_for("the answer and the finished tool", WAIT, |s| {
        s.contains("ANSWER-END") && s.contains("second-out") && s.contains("idle")
    });
    assert!(done.contains("✓ ok"), "no ok status:\n{done}");
    assert!(
        !done.contains("ANSWER-TOP"),
        "the answer should overflow:\n{done}"
    );

    // Scroll up: the view changes and says how to follow again.
    tmux.keys(&["PPage"]);
    let up = tmux.wait_for("scrolled view", WAIT, |s| s.contains("End follows"));
    assert!(!up.contains("ANSWER-END"), "{up}");
    tmux.keys(&["PPage", "PPage", "PPage"]);
    tmux.wait_text("ANSWER-TOP", WAIT);
    // And back to the tail.
    tmux.keys(&["C-End"]);
    let back = tmux.wait_for("the tail again", WAIT, |s| {
        s.contains("ANSWER-END") && !s.contains("End follows")
    });
    assert!(!back.contains("ANSWER-TOP"), "{back}");

    // A second turn streams slowly; Esc interrupts it and the partial text stays.
    tmux.type_text("talk slowly");
    tmux.keys(&["Enter"]);
    tmux.wait_text("slow-two", WAIT);
    tmux.keys(&["Escape"]);
    let stopped = tmux.wait_text("interrupted", WAIT);
    assert!(stopped.contains("slow-one"), "{stopped}");
    assert!(!stopped.contains("slow-seven"), "{stopped}");
    tmux.wait_text("idle", WAIT);
    assert!(tmux.screen().contains("slow-one"));
    // Only the three scripted requests were made.
    assert_eq!(server.chat_requests().len(), 3);

    // Ctrl+C twice quits.
    tmux.keys(&["C-c"]);
    tmux.keys(&["C-c"]);
    tmux.wait_text("STTY-DONE", WAIT);
    let after = tmux.history();
    assert!(after.contains("EXITED 0"), "{after}");
    // Restored: the alternate screen was left (tmux's own flag; its saved primary screen is not
    // a reliable witness when a pane starts and exits quickly), the tty is cooked again
    // (canonical input and echo), the cursor shows and the mouse is no longer captured.
    assert_eq!(tmux.format("#{alternate_on}"), "0");
    let modes = after
        .lines()
        .find(|l| l.contains("icanon"))
        .unwrap_or_else(|| panic!("no stty line:\n{after}"));
    let modes: Vec<&str> = modes.split_whitespace().collect();
    assert!(
        modes.contains(&"icanon") && modes.contains(&"echo"),
        "{modes:?}"
    );
    assert_eq!(tmux.format("#{cursor_flag}"), "1");
    assert_eq!(tmux.format("#{mouse_any_flag}"), "0");
}

/// Display width as the terminal lays it out (emoji ZWJ sequences are one 2-cell glyph in
/// tmux 3.3+ and current terminals).
fn cells(s: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(s)
}

#[test]
fn emoji_zwj_sequences_do_not_push_the_pane_borders() {
    // Flags and skin tones are left out: tmux 3.3 draws them wider than one glyph.
    let emoji = "family 👨‍👩‍👧 coder 👩‍💻 technologist 🧑‍💻 end";
    let mut answer = format!("ZWJ-START {emoji}\n\n");
    for i in 0..3 {
        answer.push_str(&format!("{i}: {}\n", "👩‍💻👨‍👩‍👧 ".repeat(20)));
    }
    answer.push_str("\nZWJ-END");
    let args = serde_json::json!({ "code": "print('👩‍💻👨‍👩‍👧 ' * 12)" }).to_string();
    let server = FakeServer::spawn_background(vec![
        Reply::text("Printing.")
            .tool_call("c1", "python", &args)
            .into(),
        Reply::text(answer).into(),
    ]);
    let home = TestHome::new(&server.base_url(), "");
    let tmux = Tmux::start(
        100,
        40,
        &format!("{}; exec sleep 120", home.shell_line(&[])),
    );
    tmux.wait_text("idle", WAIT);
    tmux.type_text("show emoji");
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("the answer", WAIT, |s| {
        s.contains("ZWJ-END") && s.contains("idle")
    });
    // Every row of the side-by-side panes ends its conversation pane at the same cell: the
    // row's first right border (│, ╮ or ╯ after the left one) sits at one column everywhere.
    let mut columns = std::collections::BTreeMap::new();
    for row in screen.lines().filter(|l| l.starts_with(['│', '╭', '╰'])) {
        let Some((i, _)) = row
            .char_indices()
            .skip(1)
            .find(|(_, c)| matches!(c, '│' | '╮' | '╯'))
        else {
            continue;
        };
        columns
            .entry(cells(&row[..i]))
            .or_insert_with(Vec::new)
            .push(row.to_string());
    }
    assert_eq!(
        columns.len(),
        1,
        "the conversation pane's right border moves: {:?}\n{screen}",
        columns
            .iter()
            .map(|(c, rows)| (c, rows.len(), rows.last()))
            .collect::<Vec<_>>()
    );
    assert!(screen.contains("👩‍💻"), "{screen}");
}
