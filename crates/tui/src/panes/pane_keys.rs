//! The keys the conversation and trace panes own when focused (scrolling, picking a tool run),
//! looked up in the keymap's `Pane` context. Typing in a pane goes to the prompt.

use crossterm::event::KeyEvent;

use crate::app::{App, Focus};
use crate::keys::{Action, Context};
use crate::panes::input_keys::typed;

impl App {
    pub(crate) fn pane_key(&mut self, key: KeyEvent) {
        let trace = self.focus == Focus::Trace;
        let action = self.keymap.lookup(Context::Pane, &key);
        match action {
            Some(Action::LineUp) if trace => self.trace.select_prev(),
            Some(Action::LineDown) if trace => self.trace.select_next(),
            Some(Action::LineUp) => self.conv.scroll.up(1),
            Some(Action::LineDown) => self.conv.scroll.down(1),
            Some(Action::Top) => self.focused_scroll().home(),
            Some(Action::Bottom) => self.focused_scroll().end(),
            Some(Action::Retry) => self.retry(),
            Some(Action::EditLast) => self.edit_last(),
            Some(Action::Fork) => self.fork(None),
            _ => {
                // Typing in a pane goes to the prompt.
                if typed(&key).is_some() {
                    self.focus = Focus::Input;
                    self.input.textarea.input_without_shortcuts(key);
                }
            }
        }
        if trace && matches!(action, Some(Action::LineUp | Action::LineDown)) {
            // A newly selected run shows from its header.
            if let Some(i) = self.trace.selected_index() {
                self.trace.scroll.reveal(i);
            }
        }
    }
}
