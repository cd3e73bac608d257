//! A driver of the TUI state without a terminal, for benchmarks and examples. Not a stable API.

use std::time::Instant;

use crossterm::event::KeyEvent;
use llm_repl_protocol::{Event, Op};
use ratatui::Frame;

use crate::app::{App, Effect};
use crate::options::TuiOptions;

/// The state plus a fixed terminal size.
pub struct Harness {
    app: App,
    pub size: (u16, u16),
}

impl Harness {
    pub fn new(options: TuiOptions) -> Harness {
        Harness {
            app: App::new(options, Instant::now()),
            size: (120, 40),
        }
    }

    pub fn apply(&mut self, ev: Event) {
        self.app.apply_event(ev);
    }

    pub fn key(&mut self, key: KeyEvent) {
        let size = self.size;
        self.app.handle_key(key, size);
    }

    pub fn paste(&mut self, text: &str) {
        self.app.handle_paste(text);
    }

    /// The Ops sent since the last call (other effects are dropped).
    pub fn ops(&mut self) -> Vec<Op> {
        self.app
            .drain_effects()
            .into_iter()
            .filter_map(|e| match e {
                Effect::Op(op) => Some(op),
                _ => None,
            })
            .collect()
    }

    pub fn draw(&self, f: &mut Frame<'_>) {
        crate::screens::draw(f, &self.app);
    }
}
