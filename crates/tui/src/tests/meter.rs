//! The meter's layout: a full status line stays on one row at 160 columns (short forms before a
//! second row), and narrow terminals still keep the model and the state.

use insta::assert_snapshot;
use llm_repl_protocol::{CostReport, Event, SessionInfo, Usage};

use super::fixtures::*;
use crate::app::App;
use crate::screens::chat::meter_view;

/// A busy session on a long model name with a budget: every segment is there.
fn busy() -> App {
    let mut app = app();
    app.apply_event(Event::SessionStarted {
        info: SessionInfo {
            id: "s-2".into(),
            title: "t".into(),
            provider: "openrouter".into(),
            model: "anthropic/claude-sonnet-4".into(),
            mock: false,
            context_window: Some(200_000),
        },
    });
    tool_running(&mut app);
    let turn = Usage {
        input: 12_345,
        output: 1_234,
        ..Usage::default()
    };
    app.apply_event(Event::Usage {
        turn: 1,
        model: "anthropic/claude-sonnet-4".into(),
        usage: turn,
        turn_usage: turn,
        session_usage: Usage {
            input: 193_400,
            output: 12_000,
            ..Usage::default()
        },
        cost: CostReport {
            call_usd: Some(0.0123),
            turn_usd: Some(0.0123),
            session_usd: Some(0.582),
            today_usd: Some(1.234),
        },
        context_tokens: 180_000,
        context_window: Some(200_000),
        budget: Some((12.34, 20.0)),
    });
    app
}

fn meter_text(app: &App, width: u16) -> Vec<String> {
    meter_view(app)
        .lines(&app.theme, width, 2)
        .iter()
        .map(|l| {
            assert!(l.width() <= usize::from(width), "{l}");
            l.to_string()
        })
        .collect()
}

#[test]
fn a_full_meter_fits_one_row_at_160_columns() {
    let app = busy();
    let rows = meter_text(&app, 160);
    assert_eq!(rows.len(), 1, "{rows:#?}");
    for part in [
        "openrouter/anthropic/claude-sonnet-4",
        "running",
        "tok",
        "cost",
        "ctx",
        "$12.34/$20.00",
    ] {
        assert!(rows[0].contains(part), "{part} missing: {rows:#?}");
    }
    assert_snapshot!(rows.join("\n"));
}

#[test]
fn a_wide_terminal_shows_the_full_forms() {
    let app = busy();
    let rows = meter_text(&app, 220);
    assert_eq!(rows.len(), 1);
    assert!(rows[0].contains("today $1.23"), "{rows:#?}");
    assert!(rows[0].contains("▕"), "gauges drawn: {rows:#?}");
}

#[test]
fn a_narrow_terminal_keeps_model_and_state() {
    let app = busy();
    let rows = meter_text(&app, 80);
    assert!(rows.len() <= 2);
    assert!(
        rows[0].contains("openrouter/anthropic/claude-sonnet-4"),
        "{rows:#?}"
    );
    assert!(rows[0].contains("running"), "{rows:#?}");
}
