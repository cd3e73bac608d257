//! `/model` and `/provider` during and between turns: nothing on screen is lost, one line says
//! what changed, the status bar names the new model, and Esc still interrupts a running turn.

use insta::assert_snapshot;
use llm_repl_protocol::{Event, Op, SessionInfo};

use super::fixtures::*;
use crate::panes::conversation::ItemKind;

fn switched(model: &str) -> Event {
    Event::ModelSwitched {
        info: SessionInfo {
            model: model.into(),
            ..info()
        },
        from_provider: "mock".into(),
        from_model: "mock-scripted".into(),
    }
}

#[test]
fn model_switch_mid_turn_keeps_the_screen_and_esc_interrupts() {
    let mut app = app();
    tool_running(&mut app);
    type_str(&mut app, "/model gpt-4o");
    press(&mut app, key(crossterm::event::KeyCode::Enter));
    assert_eq!(
        ops(&mut app),
        vec![Op::SetModel {
            model: "gpt-4o".into()
        }]
    );
    let before = app.conv.items.len();
    let runs = app.trace.entries.len();
    app.apply_event(switched("gpt-4o"));
    // Nothing was wiped: the conversation gained one line, the trace kept its run.
    assert_eq!(app.conv.items.len(), before + 1);
    assert_eq!(app.trace.entries.len(), runs);
    let last = app
        .conv
        .items
        .last()
        .map(|i| (i.kind.clone(), i.text.clone()));
    assert!(
        matches!(&last, Some((ItemKind::Notice(_), t)) if t == "model: mock-scripted -> gpt-4o (from the next call)"),
        "{last:?}"
    );
    assert!(app.meter.busy(), "the turn still runs");
    assert_eq!(
        app.session.as_ref().map(|s| s.model.as_str()),
        Some("gpt-4o")
    );
    press(&mut app, key(crossterm::event::KeyCode::Esc));
    assert_eq!(ops(&mut app), vec![Op::Interrupt]);
    // `/model` without a name opens the picker, which names what the status bar shows.
    type_str(&mut app, "/model");
    press(&mut app, key(crossterm::event::KeyCode::Enter));
    let text = format!("{}", render(&app, 100, 30).backend());
    assert!(text.contains("current gpt-4o"), "{text}");
}

#[test]
fn model_switch_after_a_turn() {
    let mut app = app();
    tool_finished(&mut app);
    app.apply_event(switched("gpt-4o"));
    let t = render(&app, 100, 30);
    let text = format!("{}", t.backend());
    assert!(text.contains("mock/gpt-4o"), "status bar: {text}");
    assert!(text.contains("1.414"), "the answer stays: {text}");
    assert_snapshot!(t.backend());
}

#[test]
fn provider_switch_names_both_ends() {
    let mut app = app();
    app.apply_event(Event::ModelSwitched {
        info: SessionInfo {
            provider: "openai".into(),
            model: "gpt-4o".into(),
            mock: false,
            ..info()
        },
        from_provider: "mock".into(),
        from_model: "mock-scripted".into(),
    });
    let last = app
        .conv
        .items
        .last()
        .map(|i| i.text.clone())
        .unwrap_or_default();
    assert_eq!(
        last,
        "provider: mock/mock-scripted -> openai/gpt-4o (from the next call)"
    );
}
