//! The keys the prompt owns when it has focus, all looked up in the one keymap: the slash-command
//! popup, Ctrl+R search over earlier prompts, readline-style editing, recall, and sending, which
//! queues the prompt while a turn runs (sent when the turn ends, Esc takes it back).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use llm_repl_protocol::Op;
use tui_textarea::CursorMove;

use crate::app::App;
use crate::commands;
use crate::keys::{Action, Context};

impl App {
    /// Keys of the Ctrl+R search; printable keys extend the query.
    pub(crate) fn search_key(&mut self, key: KeyEvent) {
        match self.keymap.lookup(Context::Search, &key) {
            Some(Action::Close) => self.input.search_end(false),
            Some(Action::Accept) => self.input.search_end(true),
            Some(Action::SearchOlder) => self.input.search_older(),
            _ => match self.keymap.lookup(Context::Global, &key) {
                Some(Action::CtrlC) => {
                    self.input.search_end(false);
                    self.ctrl_c();
                }
                _ => match typed(&key) {
                    Some(c) => self.input.search_type(Some(c)),
                    None if key.code == KeyCode::Backspace => self.input.search_type(None),
                    None => {}
                },
            },
        }
    }

    /// Keys the slash-command popup takes while it is open; false when it is closed or the key
    /// is not one of its own.
    pub(crate) fn palette_key(&mut self, key: KeyEvent) -> bool {
        let items = commands::completions(self);
        if items.is_empty() {
            return false;
        }
        let n = items.len();
        match self.keymap.lookup(Context::Palette, &key) {
            Some(Action::LineUp) => self.palette_sel = (self.palette_sel + n - 1) % n,
            Some(Action::LineDown) => self.palette_sel = (self.palette_sel + 1) % n,
            Some(Action::Complete) => {
                let pick = &items[self.palette_sel.min(n - 1)];
                self.input.set_text(&pick.insert);
                self.palette_sel = 0;
            }
            Some(Action::Accept) => {
                let text = self.input.text();
                let pick = items[self.palette_sel.min(n - 1)].insert.clone();
                let line = if text.contains(' ') { text } else { pick };
                self.input.take();
                self.palette_sel = 0;
                commands::run(self, line.trim());
            }
            Some(Action::Close) => {
                self.input.set_text("");
                self.palette_sel = 0;
            }
            _ => return false,
        }
        true
    }

    pub(crate) fn input_key(&mut self, key: KeyEvent) {
        let empty = self.input.is_empty();
        let ta = &mut self.input.textarea;
        match self.keymap.lookup(Context::Input, &key) {
            Some(Action::Submit) => self.submit(),
            Some(Action::Newline) => ta.insert_newline(),
            Some(Action::HistorySearch) => self.input.search_start(),
            Some(Action::ExternalEditor) => self.open_editor(),
            Some(Action::LineUp) => {
                if !(self.input.on_first_row() && self.input.recall_prev()) {
                    self.input.textarea.move_cursor(CursorMove::Up);
                }
            }
            Some(Action::LineDown) => {
                if !(self.input.on_last_row() && self.input.recall_next()) {
                    self.input.textarea.move_cursor(CursorMove::Down);
                }
            }
            // With nothing typed, Home and End move the conversation instead.
            Some(Action::LineStart) if empty => self.conv.scroll.home(),
            Some(Action::LineEnd) if empty => self.conv.scroll.end(),
            Some(Action::LineStart) => ta.move_cursor(CursorMove::Head),
            Some(Action::LineEnd) => ta.move_cursor(CursorMove::End),
            Some(Action::CursorLeft) => ta.move_cursor(CursorMove::Back),
            Some(Action::CursorRight) => ta.move_cursor(CursorMove::Forward),
            Some(Action::WordLeft) => ta.move_cursor(CursorMove::WordBack),
            Some(Action::WordRight) => word_right(ta),
            Some(Action::KillToStart) => {
                ta.delete_line_by_head();
            }
            Some(Action::KillToEnd) => {
                ta.delete_line_by_end();
            }
            Some(Action::KillWordBack) => {
                ta.delete_word();
            }
            Some(Action::KillWordForward) => {
                ta.delete_next_word();
            }
            Some(Action::DeleteForward) => {
                ta.delete_next_char();
            }
            Some(Action::Undo) => {
                ta.undo();
            }
            Some(Action::Redo) => {
                ta.redo();
            }
            _ => {
                // Only plain text editing reaches the text area: its own shortcuts (Ctrl+U undo,
                // Ctrl+R redo, ...) would be a second keymap.
                if key.code != KeyCode::Tab {
                    self.input.textarea.input_without_shortcuts(key);
                }
                self.palette_sel = 0;
            }
        }
    }

    /// Enter on the prompt: runs a /command, sends the prompt, or queues it while a turn runs.
    fn submit(&mut self) {
        let text = self.input.text();
        if text.trim().is_empty() {
            return;
        }
        if text.starts_with('/') && !text.starts_with("//") {
            self.input.take();
            commands::run(self, text.trim());
            return;
        }
        if !self.agent_alive {
            self.flash("the agent stopped: nothing can be sent");
            return;
        }
        if self.meter.busy() && self.queued.is_some() {
            self.flash("a prompt is already queued: Esc takes it back to edit");
            return;
        }
        let text = self.input.take_expanded();
        // "//" sends a prompt that starts with a literal "/".
        let text = match text.strip_prefix("//") {
            Some(rest) => format!("/{rest}"),
            None => text,
        };
        self.conv.scroll.end();
        if self.meter.busy() {
            self.queued = Some(text);
            self.flash("queued: sent when this turn ends (Esc takes it back)");
        } else if std::mem::take(&mut self.rewind.editing) {
            self.send(Op::EditLast { text });
        } else {
            self.send(Op::Submit { text });
        }
    }

    /// Esc with a queued prompt: the prompt goes back to the box (nothing is sent) and the turn
    /// goes on; true when there was one.
    pub(crate) fn unqueue(&mut self) -> bool {
        let Some(text) = self.queued.take() else {
            return false;
        };
        if self.input.is_empty() {
            self.input.set_text(&text);
            self.flash("queued prompt back in the box, not sent · Esc again interrupts");
        } else {
            self.flash("queued prompt dropped · Esc again interrupts");
        }
        true
    }

    /// The turn ended: a queued prompt goes out now.
    pub(crate) fn send_queued(&mut self) {
        if let Some(text) = self.queued.take()
            && self.agent_alive
        {
            self.send(Op::Submit { text });
        }
    }
}

/// The character a key types, if it types one.
pub(crate) fn typed(key: &KeyEvent) -> Option<char> {
    match key.code {
        KeyCode::Char(c)
            if !key
                .modifiers
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
        {
            Some(c)
        }
        _ => None,
    }
}

/// Readline's Alt+F: to the end of the next word (the text area's own word move stops at the
/// start of the next word, as vi's `w` does).
fn word_right(ta: &mut tui_textarea::TextArea<'static>) {
    let tui_textarea::DataCursor(row, col) = ta.cursor();
    let line: Vec<char> = ta.lines()[row].chars().collect();
    if col >= line.len() {
        ta.move_cursor(CursorMove::Forward);
        return;
    }
    let mut i = col;
    while i < line.len() && !line[i].is_alphanumeric() {
        i += 1;
    }
    while i < line.len() && line[i].is_alphanumeric() {
        i += 1;
    }
    // The cursor is a char index within one line; a line longer than u16 stays where it is.
    if let (Ok(r), Ok(c)) = (u16::try_from(row), u16::try_from(i)) {
        ta.move_cursor(CursorMove::Jump(r, c));
    }
}
