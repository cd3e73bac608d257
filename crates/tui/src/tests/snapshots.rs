//! Snapshots of whole screens through TestBackend (text only; styles are asserted where they
//! carry meaning, e.g. focus).

use insta::assert_snapshot;
use ratatui::style::Modifier;

use super::fixtures::*;
use crate::app::Focus;
use crate::overlays::Overlay;

#[test]
fn empty_start_screen() {
    let app = app();
    assert_snapshot!(render(&app, 100, 30).backend());
}

#[test]
fn answer_half_streamed() {
    let mut app = app();
    half_streamed(&mut app);
    assert_snapshot!(render(&app, 100, 30).backend());
}

#[test]
fn tool_running_with_partial_output() {
    let mut app = app();
    tool_running(&mut app);
    assert_snapshot!(render(&app, 100, 30).backend());
}

#[test]
fn tool_finished_with_status_and_time() {
    let mut app = app();
    tool_finished(&mut app);
    let t = render(&app, 100, 30);
    let text = format!("{}", t.backend());
    assert!(text.contains("✓ ok · 1.2s"), "{text}");
    assert_snapshot!(t.backend());
}

#[test]
fn approval_overlay() {
    let mut app = app();
    approval(&mut app);
    assert_snapshot!(render(&app, 100, 30).backend());
}

#[test]
fn help_overlay() {
    let mut app = app();
    app.overlay = Some(Overlay::Help { scroll: 0 });
    assert_snapshot!(render(&app, 100, 48).backend());
}

#[test]
fn small_terminal_60x20() {
    let mut app = app();
    tool_finished(&mut app);
    assert_snapshot!(render(&app, 60, 20).backend());
}

#[test]
fn large_terminal_200x50() {
    let mut app = app();
    tool_finished(&mut app);
    assert_snapshot!(render(&app, 200, 50).backend());
}

#[test]
fn too_small_terminal() {
    let app = app();
    let text = format!("{}", render(&app, 59, 20).backend());
    assert!(
        text.contains("terminal too small") && text.contains("59x20"),
        "{text}"
    );
    let text = format!("{}", render(&app, 80, 19).backend());
    assert!(text.contains("terminal too small"), "{text}");
}

#[test]
fn slash_popup_and_copy_mode() {
    let mut app = app();
    tool_finished(&mut app);
    type_str(&mut app, "/");
    assert_snapshot!("slash_popup", render(&app, 100, 30).backend());
    app.input.set_text("");
    press(&mut app, ctrl('y'));
    assert_snapshot!("copy_mode", render(&app, 100, 30).backend());
}

#[test]
fn focused_pane_is_marked_without_colour() {
    let mut app = app();
    app.theme = app.theme.clone().without_color();
    app.focus = Focus::Conversation;
    let t = render(&app, 100, 30);
    let text = format!("{}", t.backend());
    assert!(text.contains("┏ ▶ conversation"), "{text}");
    // NO_COLOR: no cell carries a colour.
    let buf = t.backend().buffer();
    assert!(
        buf.content
            .iter()
            .all(|c| c.fg == ratatui::style::Color::Reset && c.bg == ratatui::style::Color::Reset)
    );
    let title = buf.content.iter().find(|c| c.symbol() == "▶");
    assert!(title.is_some_and(|c| c.modifier.contains(Modifier::BOLD)));
}

#[test]
fn scrolled_up_shows_indicator_and_end_resumes() {
    let mut app = app();
    for i in 0..40 {
        app.apply_event(llm_repl_protocol::Event::Notice {
            level: llm_repl_protocol::NoticeLevel::Info,
            text: format!("notice {i}"),
        });
    }
    render(&app, 100, 30);
    app.focus = Focus::Conversation;
    press(&mut app, key(crossterm::event::KeyCode::PageUp));
    let text = format!("{}", render(&app, 100, 30).backend());
    assert!(text.contains("more lines · End follows"), "{text}");
    assert!(!text.contains("notice 39"));
    press(&mut app, key(crossterm::event::KeyCode::End));
    let text = format!("{}", render(&app, 100, 30).backend());
    assert!(
        text.contains("notice 39") && !text.contains("End follows"),
        "{text}"
    );
    // From the empty prompt, PgUp scrolls the conversation and End follows again.
    app.focus = Focus::Input;
    press(&mut app, key(crossterm::event::KeyCode::PageUp));
    assert!(!app.conv.scroll.following());
    press(&mut app, key(crossterm::event::KeyCode::End));
    assert!(app.conv.scroll.following());
}

#[test]
fn long_prompts_wrap_and_grow_the_input() {
    let mut app = app();
    let text: String = (0..40).map(|i| format!("word{i} ")).collect();
    app.input.set_text(text.trim_end());
    let out = format!("{}", render(&app, 100, 30).backend());
    assert!(out.contains("word0 ") && out.contains("word39"), "{out}");
    let input_rows = out.lines().filter(|l| l.contains('┃')).count();
    assert!(input_rows >= 3, "{out}");
}
