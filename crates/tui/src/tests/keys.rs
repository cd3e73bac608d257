//! Key handling driven with synthetic key events: the right Ops (and only them) come out.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use llm_repl_protocol::{ApprovalDecision, Event, FinishReason, Op};

use super::fixtures::*;
use crate::app::{Effect, Focus, Screen};
use crate::overlays::Overlay;
use crate::panes::conversation::ItemKind;

#[test]
fn enter_submits_and_newline_keys_do_not() {
    let mut app = app();
    type_str(&mut app, "line one");
    press(&mut app, KeyEvent::new(KeyCode::Enter, KeyModifiers::ALT));
    type_str(&mut app, "two");
    press(&mut app, ctrl('j'));
    type_str(&mut app, "three");
    press(&mut app, KeyEvent::new(KeyCode::Enter, KeyModifiers::SHIFT));
    assert!(ops(&mut app).is_empty());
    press(&mut app, key(KeyCode::Enter));
    assert_eq!(
        ops(&mut app),
        vec![Op::Submit {
            text: "line one\ntwo\nthree\n".into()
        }]
    );
    assert!(app.input.is_empty());
    // Empty input: Enter sends nothing.
    press(&mut app, key(KeyCode::Enter));
    assert!(ops(&mut app).is_empty());
}

#[test]
fn a_prompt_sent_during_a_turn_is_queued_and_sent_when_it_ends() {
    let mut app = app();
    app.apply_event(Event::TurnStarted {
        turn: 1,
        prompt: "x".into(),
    });
    type_str(&mut app, "next");
    press(&mut app, key(KeyCode::Enter));
    assert!(
        ops(&mut app).is_empty(),
        "nothing is sent while the turn runs"
    );
    assert!(app.input.is_empty());
    assert_eq!(app.queued.as_deref(), Some("next"));
    let screen = format!("{}", render(&app, 100, 30).backend());
    assert!(screen.contains("queued: next"), "{screen}");
    // A second one is refused (the first is kept).
    type_str(&mut app, "another");
    press(&mut app, key(KeyCode::Enter));
    assert_eq!(app.queued.as_deref(), Some("next"));
    assert_eq!(app.input.text(), "another");
    app.input.set_text("");
    app.apply_event(Event::TurnFinished {
        turn: 1,
        reason: FinishReason::Completed,
    });
    assert_eq!(
        ops(&mut app),
        vec![Op::Submit {
            text: "next".into()
        }]
    );
    assert!(app.queued.is_none());
}

#[test]
fn esc_takes_a_queued_prompt_back_then_interrupts() {
    let mut app = app();
    app.apply_event(Event::TurnStarted {
        turn: 1,
        prompt: "x".into(),
    });
    type_str(&mut app, "queued one");
    press(&mut app, key(KeyCode::Enter));
    press(&mut app, key(KeyCode::Esc));
    assert!(
        ops(&mut app).is_empty(),
        "the first Esc only drops the queue"
    );
    assert!(app.queued.is_none());
    assert_eq!(app.input.text(), "queued one", "back in the box to edit");
    press(&mut app, key(KeyCode::Esc));
    assert_eq!(ops(&mut app), vec![Op::Interrupt]);
    app.apply_event(Event::TurnFinished {
        turn: 1,
        reason: FinishReason::Interrupted,
    });
    assert!(ops(&mut app).is_empty(), "nothing queued goes out");
}

#[test]
fn esc_interrupts_a_running_turn_only() {
    let mut app = app();
    press(&mut app, key(KeyCode::Esc));
    assert!(ops(&mut app).is_empty());
    app.apply_event(Event::TurnStarted {
        turn: 1,
        prompt: "x".into(),
    });
    press(&mut app, key(KeyCode::Esc));
    assert_eq!(ops(&mut app), vec![Op::Interrupt]);
    app.apply_event(Event::TurnFinished {
        turn: 1,
        reason: FinishReason::Interrupted,
    });
    assert!(!app.meter.busy());
}

#[test]
fn ctrl_c_interrupts_then_quits_within_two_seconds() {
    let mut app = app();
    app.apply_event(Event::TurnStarted {
        turn: 1,
        prompt: "x".into(),
    });
    press(&mut app, ctrl('c'));
    assert_eq!(ops(&mut app), vec![Op::Interrupt]);
    app.now += Duration::from_millis(1900);
    press(&mut app, ctrl('c'));
    assert_eq!(app.drain_effects(), vec![Effect::Quit]);
}

#[test]
fn ctrl_c_twice_too_slowly_does_not_quit() {
    let mut app = app();
    type_str(&mut app, "draft");
    press(&mut app, ctrl('c'));
    assert!(app.input.is_empty(), "first Ctrl+C clears the prompt");
    app.now += Duration::from_millis(2100);
    press(&mut app, ctrl('c'));
    assert!(app.drain_effects().is_empty());
    press(&mut app, ctrl('c'));
    assert_eq!(app.drain_effects(), vec![Effect::Quit]);
}

#[test]
fn ctrl_d_quits_only_on_empty_input() {
    let mut app = app();
    type_str(&mut app, "ab");
    press(&mut app, key(KeyCode::Home));
    press(&mut app, ctrl('d'));
    assert!(app.drain_effects().is_empty());
    assert_eq!(app.input.text(), "b");
    app.input.set_text("");
    press(&mut app, ctrl('d'));
    assert_eq!(app.drain_effects(), vec![Effect::Quit]);
}

#[test]
fn approval_keys_answer_the_request() {
    for (k, decision) in [
        ('y', ApprovalDecision::Approve),
        ('a', ApprovalDecision::ApproveForSession),
        ('n', ApprovalDecision::Deny),
    ] {
        let mut app = app();
        approval(&mut app);
        // Other keys do nothing while the prompt is open.
        press(&mut app, key(KeyCode::Char('x')));
        assert!(ops(&mut app).is_empty());
        assert!(app.input.is_empty());
        press(&mut app, key(KeyCode::Char(k)));
        assert_eq!(
            ops(&mut app),
            vec![Op::Approval {
                call_id: "call-9".into(),
                decision
            }]
        );
        assert!(app.approvals.is_empty());
    }
}

#[test]
fn history_recall_and_search() {
    let mut app = app();
    for p in ["plot a sine", "hello", "plot a cosine"] {
        type_str(&mut app, p);
        press(&mut app, key(KeyCode::Enter));
        app.apply_event(Event::TurnFinished {
            turn: 1,
            reason: FinishReason::Completed,
        });
    }
    ops(&mut app);
    press(&mut app, key(KeyCode::Up));
    assert_eq!(app.input.text(), "plot a cosine");
    press(&mut app, key(KeyCode::Up));
    assert_eq!(app.input.text(), "hello");
    press(&mut app, key(KeyCode::Down));
    press(&mut app, key(KeyCode::Down));
    assert_eq!(app.input.text(), "");
    press(&mut app, ctrl('r'));
    type_str(&mut app, "plot");
    press(&mut app, ctrl('r'));
    press(&mut app, key(KeyCode::Enter));
    assert_eq!(app.input.text(), "plot a sine");
    assert!(ops(&mut app).is_empty());
}

#[test]
fn paste_is_one_edit_and_never_submits() {
    let mut app = app();
    let small: String = (0..5).map(|i| format!("line {i}\r\n")).collect();
    app.handle_paste(&small);
    assert!(ops(&mut app).is_empty());
    assert_eq!(app.input.textarea.lines().len(), 6);
    assert!(app.input.text().starts_with("line 0\nline 1\n"));
    // One undo removes the whole paste.
    press(&mut app, ctrl('_'));
    assert!(app.input.is_empty());
}

#[test]
fn a_long_paste_shows_as_a_marker_and_is_sent_whole() {
    let mut app = app();
    type_str(&mut app, "explain: ");
    let big: String = (0..2000).map(|i| format!("line {i}\n")).collect();
    app.handle_paste(&big);
    type_str(&mut app, " thanks");
    assert_eq!(app.input.text(), "explain: [pasted 2000 lines] thanks");
    let screen = format!("{}", render(&app, 100, 30).backend());
    assert!(screen.contains("[pasted 2000 lines]"), "{screen}");
    press(&mut app, key(KeyCode::Enter));
    let sent = ops(&mut app);
    assert_eq!(
        sent,
        vec![Op::Submit {
            text: format!("explain: {big} thanks")
        }]
    );
}

/// A terminal without bracketed paste types the paste: Enter inside the burst is a line break.
#[test]
fn an_unbracketed_multi_line_paste_lands_whole() {
    use crossterm::event::Event as TermEvent;
    let mut app = app();
    let burst: Vec<TermEvent> = "first line\rsecond line\rthird"
        .chars()
        .map(|c| match c {
            '\r' => TermEvent::Key(key(KeyCode::Enter)),
            c => TermEvent::Key(key(KeyCode::Char(c))),
        })
        .collect();
    app.handle_terminal_batch(burst, (120, 40));
    assert!(ops(&mut app).is_empty(), "no line was sent");
    assert_eq!(app.input.text(), "first line\nsecond line\nthird");
    // Typed ahead and Enter in one read still sends.
    app.input.set_text("");
    let burst = vec![
        TermEvent::Key(key(KeyCode::Char('h'))),
        TermEvent::Key(key(KeyCode::Char('i'))),
        TermEvent::Key(key(KeyCode::Enter)),
    ];
    app.handle_terminal_batch(burst, (120, 40));
    assert_eq!(ops(&mut app), vec![Op::Submit { text: "hi".into() }]);
}

#[test]
fn readline_editing_keys() {
    let mut app = app();
    type_str(&mut app, "alpha beta gamma");
    press(&mut app, ctrl('w'));
    assert_eq!(app.input.text(), "alpha beta ");
    press(&mut app, ctrl('a'));
    press(
        &mut app,
        KeyEvent::new(KeyCode::Char('f'), KeyModifiers::ALT),
    );
    press(&mut app, ctrl('k'));
    assert_eq!(app.input.text(), "alpha");
    press(&mut app, ctrl('e'));
    type_str(&mut app, " omega");
    press(
        &mut app,
        KeyEvent::new(KeyCode::Char('b'), KeyModifiers::ALT),
    );
    press(&mut app, ctrl('u'));
    assert_eq!(
        app.input.text(),
        "omega",
        "Ctrl+U deletes to the line start"
    );
    // Undo (Ctrl+_, which terminals send as Ctrl+7) brings it back.
    press(&mut app, ctrl('7'));
    assert_eq!(app.input.text(), "alpha omega");
    press(
        &mut app,
        KeyEvent::new(KeyCode::Char('r'), KeyModifiers::ALT),
    );
    assert_eq!(app.input.text(), "omega");
    assert!(ops(&mut app).is_empty());
    assert!(app.last_ctrl_c.is_none(), "clearing never arms quit");
}

#[test]
fn focus_cycles_and_help_key_depends_on_context() {
    let mut app = app();
    press(&mut app, key(KeyCode::Tab));
    assert_eq!(app.focus, Focus::Conversation);
    press(&mut app, key(KeyCode::Tab));
    assert_eq!(app.focus, Focus::Trace);
    press(
        &mut app,
        KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT),
    );
    assert_eq!(app.focus, Focus::Conversation);
    press(&mut app, key(KeyCode::Char('?')));
    assert!(matches!(app.overlay, Some(Overlay::Help { .. })));
    press(&mut app, key(KeyCode::Esc));
    // Typing in a pane goes to the prompt, where ? is just a character.
    type_str(&mut app, "why?");
    assert_eq!(app.focus, Focus::Input);
    assert_eq!(app.input.text(), "why?");
    assert!(app.overlay.is_none());
    press(&mut app, ctrl('t'));
    assert!(!app.show_trace);
}

#[test]
fn bad_settings_are_shown_on_the_start_screen() {
    let mut options = crate::options::TuiOptions {
        theme: "no-such-theme".into(),
        ..Default::default()
    };
    options.keys.insert("frobnicate".into(), "ctrl-q".into());
    let mut app = crate::app::App::new(options, std::time::Instant::now());
    app.apply_event(Event::SessionStarted { info: info() });
    let text = format!("{}", render(&app, 120, 40).backend());
    assert!(text.contains("not a built-in theme"), "{text}");
    assert!(text.contains("unknown action \"frobnicate\""), "{text}");
}

#[test]
fn approval_keys_stay_visible_at_60x20() {
    let mut app = app();
    approval(&mut app);
    let text = format!("{}", render(&app, 60, 20).backend());
    assert!(text.contains("approve") && text.contains(" deny"), "{text}");
}

#[test]
fn approval_shows_and_answers_on_the_history_screen_too() {
    let mut app = app();
    press(&mut app, ctrl('o'));
    ops(&mut app);
    approval(&mut app);
    let text = format!("{}", render(&app, 120, 40).backend());
    assert!(text.contains("Approve tool call?"), "{text}");
    press(&mut app, key(KeyCode::Char('n')));
    assert_eq!(
        ops(&mut app),
        vec![Op::Approval {
            call_id: "call-9".into(),
            decision: ApprovalDecision::Deny
        }]
    );
}

#[test]
fn key_overrides_apply() {
    let mut options = crate::options::TuiOptions::default();
    options.keys.insert("toggle_trace".into(), "ctrl-g".into());
    let mut app = crate::app::App::new(options, std::time::Instant::now());
    press(&mut app, ctrl('t'));
    assert!(app.show_trace);
    press(&mut app, ctrl('g'));
    assert!(!app.show_trace);
}

#[test]
fn ctrl_o_opens_the_browser_and_mouse_toggle_is_an_effect() {
    let mut app = app();
    press(&mut app, ctrl('o'));
    assert_eq!(app.screen, Screen::History);
    assert_eq!(
        ops(&mut app),
        vec![Op::ListSessions {
            offset: 0,
            limit: 50
        }]
    );
    press(&mut app, key(KeyCode::Esc));
    assert_eq!(app.screen, Screen::Chat);
    press(
        &mut app,
        KeyEvent::new(KeyCode::Char('m'), KeyModifiers::ALT),
    );
    assert_eq!(app.drain_effects(), vec![Effect::SetMouse(false)]);
    press(&mut app, ctrl('z'));
    assert_eq!(app.drain_effects(), vec![Effect::Suspend]);
}

#[test]
fn copy_mode_copies_a_code_block() {
    let mut app = app();
    tool_finished(&mut app);
    press(&mut app, ctrl('y'));
    let Some(Overlay::Copy(st)) = &app.overlay else {
        panic!("copy mode not open")
    };
    let idx = st
        .targets
        .iter()
        .position(|t| t.label.contains("code block"))
        .unwrap_or(0);
    let last = st.targets.len() - 1;
    for _ in idx..last {
        press(&mut app, key(KeyCode::Up));
    }
    press(&mut app, key(KeyCode::Enter));
    assert_eq!(
        app.drain_effects(),
        vec![Effect::Copy("import math\nprint(math.sqrt(2))\n".into())]
    );
    assert!(app.overlay.is_none());
}

#[test]
fn session_loaded_rebuilds_conversation_and_trace() {
    use llm_repl_protocol::{Message, ToolResult, ToolRun, ToolStatus};
    let mut app = app();
    tool_finished(&mut app);
    let call = python_call("old-1");
    app.apply_event(Event::SessionLoaded {
        info: info(),
        messages: vec![
            Message::user("q"),
            Message::assistant("", vec![call.clone()]),
            Message::tool(&ToolResult {
                call_id: "old-1".into(),
                content: "7".into(),
                is_error: false,
            }),
            Message::assistant("seven", vec![]),
        ],
        tool_runs: vec![ToolRun {
            call,
            status: ToolStatus::Ok,
            duration_ms: 5,
            output: "7\n".into(),
            findings: vec![],
        }],
    });
    let kinds: Vec<&ItemKind> = app.conv.items.iter().map(|i| &i.kind).collect();
    assert_eq!(kinds.len(), 4, "{kinds:?}");
    assert!(matches!(kinds[1], ItemKind::Tool { .. }));
    assert_eq!(app.trace.entries.len(), 1);
    assert_eq!(app.trace.entries[0].lines.len(), 1);
    assert_eq!(app.conv.last_answer(), Some("seven"));
}

#[test]
fn every_event_variant_is_applied() {
    use llm_repl_protocol::{NoticeLevel, SessionSummary, Usage};
    let mut app = app();
    tool_finished(&mut app);
    app.apply_event(Event::SessionList {
        sessions: vec![SessionSummary {
            id: "a".into(),
            title: "t".into(),
            created_ms: 0,
            updated_ms: 0,
            provider: "p".into(),
            model: "m".into(),
            messages: 1,
            usage: Usage::default(),
            cost_usd: None,
            parent: None,
        }],
        total: 1,
    });
    app.apply_event(Event::SearchResults {
        query: "q".into(),
        hits: vec![],
    });
    app.apply_event(Event::Exported {
        id: "a".into(),
        path: "/tmp/x.md".into(),
    });
    app.apply_event(Event::Notice {
        level: NoticeLevel::Warn,
        text: "careful".into(),
    });
    app.apply_event(Event::Error {
        message: "boom".into(),
    });
    app.apply_event(Event::ShutdownComplete);
    assert!(!app.agent_alive);
    assert_eq!(app.history.sessions.len(), 1);
    let text = format!("{}", render(&app, 100, 30).backend());
    assert!(text.contains("exported to /tmp/x.md"), "{text}");
    assert!(text.contains("✗ error: boom"));
    assert!(text.contains("agent stopped"));
    // Unknown cost is "?" in the meter, never $0.
    assert!(text.contains("cost ? Σ? today $0.012"), "{text}");
}

#[test]
fn mouse_wheel_scrolls_the_pane_under_the_pointer_and_clicks_focus() {
    use crossterm::event::{MouseEvent, MouseEventKind};
    let mut app = app();
    for i in 0..60 {
        app.apply_event(Event::Notice {
            level: llm_repl_protocol::NoticeLevel::Info,
            text: format!("n{i}"),
        });
    }
    render(&app, 120, 40);
    let wheel = |kind, column| {
        crossterm::event::Event::Mouse(MouseEvent {
            kind,
            column,
            row: 5,
            modifiers: KeyModifiers::NONE,
        })
    };
    app.handle_terminal(wheel(MouseEventKind::ScrollUp, 10), (120, 40));
    assert!(!app.conv.scroll.following());
    assert!(app.trace.scroll.following());
    app.handle_terminal(wheel(MouseEventKind::ScrollDown, 10), (120, 40));
    assert!(app.conv.scroll.following());
    app.handle_terminal(
        wheel(
            MouseEventKind::Down(crossterm::event::MouseButton::Left),
            110,
        ),
        (120, 40),
    );
    assert_eq!(app.focus, Focus::Trace);
    assert!(ops(&mut app).is_empty());
}

#[test]
fn trace_selection_moves_with_keys_in_the_trace_pane() {
    let mut app = app();
    tool_finished(&mut app);
    app.apply_event(Event::ToolCallStarted {
        turn: 1,
        call: python_call("call-2"),
    });
    assert_eq!(app.trace.selected_index(), Some(1));
    app.focus = Focus::Trace;
    press(&mut app, key(KeyCode::Up));
    assert_eq!(app.trace.selected_index(), Some(0));
    let text = format!("{}", render(&app, 120, 40).backend());
    assert!(
        text.contains("▾ #1 python") && text.contains("▸ #2 python"),
        "{text}"
    );
    press(&mut app, key(KeyCode::Down));
    assert_eq!(app.trace.selected, None, "back to following the newest run");
}
