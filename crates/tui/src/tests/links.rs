//! URLs in the conversation become OSC 8 hyperlinks when the option is on, and only then.

use llm_repl_protocol::Event;
use ratatui::buffer::{Buffer, CellDiffOption};
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};

use super::fixtures::{app, render};
use crate::app::App;

const OSC8: &str = "\x1b]8;;https://example.com/docs\x1b\\https://example.com/docs\x1b]8;;\x1b\\";

fn answered(hyperlinks: bool) -> App {
    let mut a = app();
    a.options.hyperlinks = hyperlinks;
    a.apply_event(Event::TurnStarted {
        turn: 1,
        prompt: "where are the docs?".into(),
    });
    a.apply_event(Event::StepStarted { turn: 1, step: 1 });
    a.apply_event(Event::TextDelta {
        turn: 1,
        text: "Read [the docs](https://example.com/docs) first.".into(),
    });
    a
}

fn link_cells(buf: &Buffer) -> Vec<String> {
    buf.content
        .iter()
        .filter(|c| matches!(c.diff_option, CellDiffOption::ForcedWidth(_)))
        .map(|c| c.symbol().to_string())
        .collect()
}

#[test]
fn a_markdown_link_is_clickable_when_hyperlinks_are_on() {
    let t = render(&answered(true), 120, 30);
    assert_eq!(link_cells(t.backend().buffer()), vec![OSC8.to_string()]);
}

#[test]
fn nothing_changes_when_hyperlinks_are_off() {
    let t = render(&answered(false), 120, 30);
    assert!(link_cells(t.backend().buffer()).is_empty());
}

#[test]
fn the_terminal_receives_the_sequence_and_the_columns_stay_put() {
    let a = answered(true);
    let area = Rect::new(0, 0, 120, 30);
    let sink = Sink::default();
    let backend = ratatui::backend::CrosstermBackend::new(sink.clone());
    let mut t = Terminal::with_options(
        backend,
        TerminalOptions {
            viewport: Viewport::Fixed(area),
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    t.draw(|f| crate::screens::draw(f, &a))
        .unwrap_or_else(|e| panic!("{e}"));
    let out = sink.text();
    assert!(out.contains(OSC8), "no OSC 8 sequence in the output");
    // What follows the link is drawn at its own column (a cursor move after the link cell),
    // so nothing after it shifts.
    let after = out.split(OSC8).nth(1).unwrap_or("");
    assert!(
        after.starts_with("\x1b["),
        "no cursor move after the link: {after:?}"
    );
}

/// What the backend wrote, kept where the test can read it.
#[derive(Clone, Default)]
struct Sink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Sink {
    fn text(&self) -> String {
        let bytes = self.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl std::io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut b) = self.0.lock() {
            b.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
