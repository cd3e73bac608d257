//! Retry, edit-and-resend and fork from the TUI (issue 11 item 12): the Ops the commands and
//! keys send, the /edit state of the prompt box, how a rewind trims the screen, the prompt
//! numbers of copy mode, and the history browser's fork marker.

use crossterm::event::KeyCode;
use insta::assert_snapshot;
use llm_repl_protocol::{Event, FinishReason, ForkParent, Op, SessionSummary, Usage};

use super::fixtures::*;
use crate::app::{Focus, Screen};
use crate::overlays::Overlay;

fn send_line(app: &mut App, line: &str) {
    type_str(app, line);
    press(app, key(KeyCode::Enter));
}

use crate::app::App;

#[test]
fn retry_and_fork_commands_send_their_ops() {
    let mut app = app();
    tool_finished(&mut app);
    send_line(&mut app, "/retry");
    assert_eq!(ops(&mut app), vec![Op::Retry]);
    send_line(&mut app, "/fork");
    assert_eq!(
        ops(&mut app),
        vec![Op::Fork {
            through_prompt: None
        }]
    );
    send_line(&mut app, "/fork 2");
    assert_eq!(
        ops(&mut app),
        vec![Op::Fork {
            through_prompt: Some(2)
        }]
    );
    send_line(&mut app, "/fork zero");
    assert!(ops(&mut app).is_empty());
    assert!(app.conv.items.last().unwrap().text.contains("usage: /fork"));
}

#[test]
fn the_conversation_pane_keys_retry_edit_and_fork() {
    let mut app = app();
    tool_finished(&mut app);
    press(&mut app, key(KeyCode::Tab));
    assert_eq!(app.focus, Focus::Conversation);
    press(&mut app, key(KeyCode::Char('r')));
    assert_eq!(ops(&mut app), vec![Op::Retry]);
    press(&mut app, key(KeyCode::Char('f')));
    assert_eq!(
        ops(&mut app),
        vec![Op::Fork {
            through_prompt: None
        }]
    );
    press(&mut app, key(KeyCode::Char('e')));
    assert_eq!(app.focus, Focus::Input);
    assert_eq!(app.input.text(), "What are the square roots of 0, 1 and 2?");
}

#[test]
fn edit_puts_the_last_prompt_in_the_box_and_sends_it_in_its_place() {
    let mut app = app();
    tool_finished(&mut app);
    send_line(&mut app, "/edit");
    assert!(ops(&mut app).is_empty());
    assert!(app.rewind.editing);
    let text = format!("{}", render(&app, 120, 30).backend());
    assert!(text.contains("editing the last prompt"), "{text}");
    type_str(&mut app, " Be brief.");
    press(&mut app, key(KeyCode::Enter));
    assert_eq!(
        ops(&mut app),
        vec![Op::EditLast {
            text: "What are the square roots of 0, 1 and 2? Be brief.".into()
        }]
    );
    assert!(!app.rewind.editing);
    // The next prompt is a plain one again.
    send_line(&mut app, "thanks");
    assert_eq!(
        ops(&mut app),
        vec![Op::Submit {
            text: "thanks".into()
        }]
    );
}

#[test]
fn esc_cancels_an_edit_and_nothing_is_sent() {
    let mut app = app();
    tool_finished(&mut app);
    send_line(&mut app, "/edit");
    press(&mut app, key(KeyCode::Esc));
    assert!(!app.rewind.editing);
    assert!(app.input.is_empty());
    assert!(ops(&mut app).is_empty());
}

#[test]
fn edit_is_refused_while_a_turn_runs_and_before_any_prompt() {
    let mut app = app();
    send_line(&mut app, "/edit");
    assert!(
        app.conv
            .items
            .last()
            .unwrap()
            .text
            .contains("nothing to edit")
    );
    half_streamed(&mut app);
    send_line(&mut app, "/edit");
    assert!(!app.rewind.editing);
    assert!(
        app.conv
            .items
            .last()
            .unwrap()
            .text
            .contains("interrupt it first")
    );
}

#[test]
fn a_rewind_drops_the_last_prompt_its_answer_and_its_tool_runs_from_the_screen() {
    let mut app = app();
    tool_finished(&mut app);
    assert_eq!(app.trace.entries.len(), 1);
    reply(&mut app, Event::Rewound { dropped: 4 });
    assert!(app.trace.entries.is_empty());
    assert!(app.conv.last_answer().is_none());
    let last = app.conv.items.last().unwrap();
    assert!(
        last.text.contains("4 messages left the model's context"),
        "{}",
        last.text
    );
    app.apply_event(Event::TurnStarted {
        turn: 2,
        prompt: "What are the square roots of 0, 1 and 2?".into(),
    });
    let prompts = app
        .conv
        .items
        .iter()
        .filter(|i| i.kind == crate::panes::conversation::ItemKind::User)
        .count();
    assert_eq!(prompts, 1, "the prompt shows once");
}

#[test]
fn copy_mode_numbers_prompts_and_forks_at_the_selected_one() {
    let mut app = app();
    tool_finished(&mut app);
    // A second prompt whose turn failed before any answer is not in the context: no number.
    app.apply_event(Event::TurnStarted {
        turn: 2,
        prompt: "second".into(),
    });
    app.apply_event(Event::TurnFinished {
        turn: 2,
        reason: FinishReason::Failed,
    });
    app.apply_event(Event::TurnStarted {
        turn: 3,
        prompt: "third".into(),
    });
    app.apply_event(Event::AssistantMessage {
        turn: 3,
        message: llm_repl_protocol::Message::assistant("third answer", vec![]),
    });
    app.apply_event(Event::TurnFinished {
        turn: 3,
        reason: FinishReason::Completed,
    });
    press(&mut app, ctrl('y'));
    let Some(Overlay::Copy(st)) = &app.overlay else {
        panic!("copy mode not open")
    };
    let labels: Vec<&str> = st.targets.iter().map(|t| t.label.as_str()).collect();
    assert!(
        labels.iter().any(|l| l.starts_with("prompt #1: What are")),
        "{labels:?}"
    );
    assert!(
        labels
            .iter()
            .any(|l| l.starts_with("prompt (failed): second")),
        "{labels:?}"
    );
    assert!(
        labels.iter().any(|l| l.starts_with("prompt #2: third")),
        "{labels:?}"
    );
    // The selection starts on the last item (the third answer): f forks through prompt 2.
    press(&mut app, key(KeyCode::Char('f')));
    assert!(app.overlay.is_none());
    assert_eq!(
        ops(&mut app),
        vec![Op::Fork {
            through_prompt: Some(2)
        }]
    );
    // /clear keeps the numbering: the next prompt is #3.
    send_line(&mut app, "/clear");
    app.apply_event(Event::TurnStarted {
        turn: 4,
        prompt: "fourth".into(),
    });
    assert_eq!(app.prompt_numbers().into_iter().flatten().last(), Some(3));
}

fn summary(id: &str, title: &str, parent: Option<ForkParent>) -> SessionSummary {
    SessionSummary {
        id: id.into(),
        title: title.into(),
        created_ms: 1_764_000_000_000,
        updated_ms: 1_764_000_000_000,
        provider: "mock".into(),
        model: "mock-scripted".into(),
        messages: 4,
        usage: Usage::default(),
        cost_usd: Some(0.0),
        parent,
    }
}

#[test]
fn the_browser_shows_a_fork_linked_to_its_parent() {
    let mut app = app();
    press(&mut app, ctrl('o'));
    assert_eq!(app.screen, Screen::History);
    let parent = ForkParent {
        id: "s-parent".into(),
        title: "Plot the primes".into(),
    };
    app.apply_event(Event::SessionList {
        sessions: vec![
            summary("s-fork", "Plot the primes", Some(parent)),
            summary("s-parent", "Plot the primes", None),
        ],
        total: 2,
    });
    let t = render(&app, 120, 20);
    let text = format!("{}", t.backend());
    assert!(
        text.contains("Plot the primes ⑂ from Plot the primes"),
        "{text}"
    );
    assert!(text.contains("parent id s-parent"), "{text}");
    assert_snapshot!(t.backend());
}

#[test]
fn the_session_a_fork_loads_is_not_announced_as_resumed() {
    let mut app = app();
    tool_finished(&mut app);
    send_line(&mut app, "/fork");
    ops(&mut app);
    reply(
        &mut app,
        Event::SessionLoaded {
            info: info(),
            messages: vec![llm_repl_protocol::Message::user("q")],
            tool_runs: vec![],
        },
    );
    assert!(
        !app.conv
            .items
            .iter()
            .any(|i| i.text.contains("resumed session")),
        "a fork is not a resume"
    );
    // A resume from the browser still says so.
    app.apply_event(Event::SessionLoaded {
        info: info(),
        messages: vec![llm_repl_protocol::Message::user("q")],
        tool_runs: vec![],
    });
    assert!(
        app.conv
            .items
            .iter()
            .any(|i| i.text.contains("resumed session"))
    );
}
