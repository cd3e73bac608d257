//! Provider retries show as one status line that updates in place and goes away when the call
//! answers or the turn ends; a streamed answer around it stays one answer.

use llm_repl_protocol::{Event, FinishReason, NoticeLevel};

use super::fixtures::*;
use crate::panes::conversation::ItemKind;

fn status(text: &str) -> Event {
    Event::Status {
        key: "provider-retry".into(),
        level: NoticeLevel::Warn,
        text: text.into(),
    }
}

fn notices(app: &crate::app::App) -> Vec<String> {
    app.conv
        .items
        .iter()
        .filter(|i| matches!(i.kind, ItemKind::Notice(_)))
        .map(|i| i.text.clone())
        .collect()
}

#[test]
fn retries_update_one_line_and_vanish_when_the_call_answers() {
    let mut app = app();
    half_streamed(&mut app);
    let items = app.conv.items.len();
    app.apply_event(status(
        "openai: server error (HTTP 500); retrying in 0.5s (attempt 2 of 9)",
    ));
    app.apply_event(status(
        "openai: server error (HTTP 500); retrying in 1.0s (attempt 3 of 9)",
    ));
    assert_eq!(app.conv.items.len(), items + 1);
    assert_eq!(
        notices(&app),
        vec!["openai: server error (HTTP 500); retrying in 1.0s (attempt 3 of 9)"]
    );
    // The resumed stream goes on in the same answer, not in a new one below the status.
    app.apply_event(Event::TextDelta {
        turn: 1,
        text: " and more".into(),
    });
    assert_eq!(app.conv.items.len(), items + 1);
    let answer = app
        .conv
        .items
        .iter()
        .filter(|i| matches!(i.kind, ItemKind::Assistant { .. }))
        .count();
    assert_eq!(answer, 1);
    app.apply_event(status(""));
    assert!(notices(&app).is_empty());
    assert_eq!(app.conv.items.len(), items);
}

#[test]
fn a_failed_turn_ends_with_the_error_line_only() {
    let mut app = app();
    app.apply_event(Event::TurnStarted {
        turn: 1,
        prompt: "hi".into(),
    });
    app.apply_event(status(
        "openai: cannot connect; retrying in 0.3s (attempt 2 of 4)",
    ));
    app.apply_event(Event::Error {
        message: "openai: cannot connect to http://127.0.0.1:9/v1 (after 3 retries)".into(),
    });
    app.apply_event(Event::TurnFinished {
        turn: 1,
        reason: FinishReason::Failed,
    });
    assert!(notices(&app).is_empty(), "{:?}", notices(&app));
    let errors: Vec<&str> = app
        .conv
        .items
        .iter()
        .filter(|i| i.kind == ItemKind::Error)
        .map(|i| i.text.as_str())
        .collect();
    assert_eq!(
        errors,
        vec!["openai: cannot connect to http://127.0.0.1:9/v1 (after 3 retries)"]
    );
}
