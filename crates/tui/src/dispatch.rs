//! Terminal input -> state changes and Effects: keys (through the one keymap), paste, mouse.

use crossterm::event::{
    Event as TermEvent, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind,
};
use llm_repl_protocol::{ApprovalDecision, Op};
use ratatui::layout::{Position, Rect};

use crate::app::{App, Effect, Focus, QUIT_WINDOW, Screen};
use crate::commands;
use crate::keys::{Action, Context};
use crate::overlays::{self, Overlay};
use crate::panes::meter::Activity;
use crate::screens::{chat, history, stats};

impl App {
    /// Applies one terminal input. `size` is the terminal size (columns, rows).
    pub fn handle_terminal(&mut self, ev: TermEvent, size: (u16, u16)) {
        match ev {
            TermEvent::Key(k) => self.handle_key(k, size),
            TermEvent::Paste(text) => self.handle_paste(&text),
            TermEvent::Mouse(m) => self.handle_mouse(m, size),
            _ => {}
        }
    }

    pub fn handle_paste(&mut self, text: &str) {
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        if self.screen == Screen::History {
            history::paste(self, &text);
            return;
        }
        if self.screen == Screen::Stats || self.overlay.is_some() || !self.approvals.is_empty() {
            return;
        }
        self.input.search_end(false);
        self.focus = Focus::Input;
        // One insert: the textarea records it as a single edit, so one undo removes the paste.
        self.input.textarea.insert_str(&text);
    }

    fn handle_mouse(&mut self, m: MouseEvent, size: (u16, u16)) {
        if self.screen == Screen::Stats {
            match m.kind {
                MouseEventKind::ScrollUp => stats::wheel(self, false, size),
                MouseEventKind::ScrollDown => stats::wheel(self, true, size),
                _ => {}
            }
            return;
        }
        if self.screen != Screen::Chat || self.overlay.is_some() {
            return;
        }
        let layout = chat::layout(self, Rect::new(0, 0, size.0, size.1));
        let pos = Position::new(m.column, m.row);
        let in_trace = layout.trace.is_some_and(|r| r.contains(pos));
        match m.kind {
            MouseEventKind::ScrollUp if in_trace => self.trace.scroll.up(3),
            MouseEventKind::ScrollDown if in_trace => self.trace.scroll.down(3),
            MouseEventKind::ScrollUp => self.conv.scroll.up(3),
            MouseEventKind::ScrollDown => self.conv.scroll.down(3),
            MouseEventKind::Down(_) => {
                if in_trace {
                    self.focus = Focus::Trace;
                } else if layout.conversation.contains(pos) {
                    self.focus = Focus::Conversation;
                } else if layout.input.contains(pos) {
                    self.focus = Focus::Input;
                }
            }
            _ => {}
        }
    }

    pub fn handle_key(&mut self, key: KeyEvent, size: (u16, u16)) {
        if key.kind == KeyEventKind::Release {
            return;
        }
        if let Some(req) = self.approvals.front() {
            let id = req.call.id.clone();
            let decision = match self.keymap.lookup(Context::Approval, &key) {
                Some(Action::Approve) => Some(ApprovalDecision::Approve),
                Some(Action::ApproveSession) => Some(ApprovalDecision::ApproveForSession),
                Some(Action::Deny) => Some(ApprovalDecision::Deny),
                _ => None,
            };
            if let Some(decision) = decision {
                self.approvals.pop_front();
                self.send(Op::Approval {
                    call_id: id,
                    decision,
                });
                if self.approvals.is_empty() {
                    self.meter.activity = Activity::Thinking;
                }
                return;
            }
            if !matches!(
                self.keymap.lookup(Context::Global, &key),
                Some(Action::CtrlC | Action::Suspend)
            ) {
                return;
            }
        }
        if chat::too_small(size) {
            match self.keymap.lookup(Context::Global, &key) {
                Some(Action::CtrlC) => self.ctrl_c(),
                Some(Action::QuitIfEmpty) => self.quit(),
                _ => {}
            }
            return;
        }
        if self.overlay.is_some() {
            overlays::handle_key(self, key);
            return;
        }
        if self.screen == Screen::Stats {
            if matches!(
                self.keymap.lookup(Context::Global, &key),
                Some(Action::CtrlC)
            ) {
                self.ctrl_c();
            } else {
                stats::handle_key(self, key, size);
            }
            return;
        }
        if self.screen == Screen::History {
            if matches!(
                self.keymap.lookup(Context::Global, &key),
                Some(Action::CtrlC)
            ) {
                self.ctrl_c();
            } else {
                history::handle_key(self, key);
            }
            return;
        }
        if self.input.search.is_some() && self.focus == Focus::Input {
            self.search_key(key);
            return;
        }
        if self.focus == Focus::Input && self.palette_key(key) {
            return;
        }
        if let Some(action) = self.keymap.lookup(Context::Global, &key) {
            let typing_question = action == Action::Help
                && key.code == KeyCode::Char('?')
                && self.focus == Focus::Input
                && !self.input.is_empty();
            let ctrl_d_edits = action == Action::QuitIfEmpty && !self.input.is_empty();
            if !typing_question && !ctrl_d_edits {
                self.global(action);
                return;
            }
        }
        match self.focus {
            Focus::Input => self.input_key(key),
            Focus::Conversation | Focus::Trace => self.pane_key(key),
        }
    }

    fn global(&mut self, action: Action) {
        match action {
            Action::CtrlC => self.ctrl_c(),
            Action::Interrupt => {
                if self.meter.busy() {
                    self.send(Op::Interrupt);
                    self.meter.activity = Activity::Interrupting;
                } else if self.focus != Focus::Input {
                    self.focus = Focus::Input;
                }
            }
            Action::QuitIfEmpty => self.quit(),
            Action::Suspend => self.effect(Effect::Suspend),
            Action::Help => self.overlay = Some(Overlay::Help { scroll: 0 }),
            Action::FocusNext => self.cycle_focus(true),
            Action::FocusPrev => self.cycle_focus(false),
            Action::ToggleTrace => {
                self.show_trace = !self.show_trace;
                if !self.show_trace && self.focus == Focus::Trace {
                    self.focus = Focus::Input;
                }
            }
            Action::TraceGrow => self.trace_pct = (self.trace_pct + 5).min(80),
            Action::TraceShrink => self.trace_pct = self.trace_pct.saturating_sub(5).max(20),
            Action::Sessions => history::open(self),
            Action::CopyMode => overlays::copy_mode::open(self),
            Action::ToggleMouse => {
                self.mouse = !self.mouse;
                self.effect(Effect::SetMouse(self.mouse));
                self.flash(if self.mouse {
                    "mouse capture on: wheel scrolls"
                } else {
                    "mouse capture off: the terminal's selection works"
                });
            }
            Action::PageUp => self.focused_scroll().page_up(),
            Action::PageDown => self.focused_scroll().page_down(),
            Action::Follow => {
                self.conv.scroll.end();
                self.trace.scroll.end();
            }
            _ => {}
        }
    }

    fn focused_scroll(&mut self) -> &mut crate::render::scroll::Scroll {
        if self.focus == Focus::Trace {
            &mut self.trace.scroll
        } else {
            &mut self.conv.scroll
        }
    }

    fn cycle_focus(&mut self, forward: bool) {
        let order: &[Focus] = if self.show_trace {
            &[Focus::Input, Focus::Conversation, Focus::Trace]
        } else {
            &[Focus::Input, Focus::Conversation]
        };
        let i = order.iter().position(|f| *f == self.focus).unwrap_or(0);
        let n = order.len();
        self.focus = order[if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        }];
    }

    pub(crate) fn ctrl_c(&mut self) {
        if let Some(t) = self.last_ctrl_c
            && self.now.saturating_duration_since(t) <= QUIT_WINDOW
        {
            self.quit();
            return;
        }
        self.last_ctrl_c = Some(self.now);
        if self.meter.busy() {
            self.send(Op::Interrupt);
            self.meter.activity = Activity::Interrupting;
            self.flash("interrupting · Ctrl+C again to quit");
        } else {
            if !self.input.is_empty() {
                self.input.set_text("");
            }
            self.flash("Ctrl+C again to quit");
        }
    }

    pub(crate) fn quit(&mut self) {
        if !self.quitting {
            self.quitting = true;
            self.effect(Effect::Quit);
        }
    }

    fn search_key(&mut self, key: KeyEvent) {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Esc => self.input.search_end(false),
            KeyCode::Enter => self.input.search_end(true),
            KeyCode::Backspace => self.input.search_type(None),
            KeyCode::Char('r') if ctrl => self.input.search_older(),
            KeyCode::Char('c') if ctrl => {
                self.input.search_end(false);
                self.ctrl_c();
            }
            KeyCode::Char(c) if !ctrl => self.input.search_type(Some(c)),
            _ => {}
        }
    }

    /// Keys the slash-command popup takes while it is open.
    fn palette_key(&mut self, key: KeyEvent) -> bool {
        let items = commands::completions(self);
        if items.is_empty() {
            return false;
        }
        let n = items.len();
        match key.code {
            KeyCode::Up => self.palette_sel = (self.palette_sel + n - 1) % n,
            KeyCode::Down => self.palette_sel = (self.palette_sel + 1) % n,
            KeyCode::Tab => {
                let pick = &items[self.palette_sel.min(n - 1)];
                self.input.set_text(&pick.insert);
                self.palette_sel = 0;
            }
            KeyCode::Enter if key.modifiers.is_empty() => {
                let text = self.input.text();
                let pick = items[self.palette_sel.min(n - 1)].insert.clone();
                let line = if text.contains(' ') { text } else { pick };
                self.input.take();
                self.palette_sel = 0;
                commands::run(self, line.trim());
            }
            KeyCode::Esc => {
                self.input.set_text("");
                self.palette_sel = 0;
            }
            _ => return false,
        }
        true
    }

    fn input_key(&mut self, key: KeyEvent) {
        match self.keymap.lookup(Context::Input, &key) {
            Some(Action::Submit) => {
                let text = self.input.text();
                if text.trim().is_empty() {
                    return;
                }
                if text.starts_with('/') && !text.starts_with("//") {
                    self.input.take();
                    commands::run(self, text.trim());
                } else if self.meter.busy() {
                    self.flash("a turn is running: Esc interrupts it");
                } else if !self.agent_alive {
                    self.flash("the agent stopped: nothing can be sent");
                } else {
                    let text = self.input.take();
                    // "//" sends a prompt that starts with a literal "/".
                    let text = match text.strip_prefix("//") {
                        Some(rest) => format!("/{rest}"),
                        None => text,
                    };
                    self.conv.scroll.end();
                    self.send(Op::Submit { text });
                }
            }
            Some(Action::Newline) => self.input.textarea.insert_newline(),
            Some(Action::HistorySearch) => self.input.search_start(),
            _ => {
                let recalled = match key.code {
                    KeyCode::Up if key.modifiers.is_empty() && self.input.on_first_row() => {
                        self.input.recall_prev()
                    }
                    KeyCode::Down if key.modifiers.is_empty() && self.input.on_last_row() => {
                        self.input.recall_next()
                    }
                    // With nothing typed, Home and End move the conversation instead.
                    KeyCode::Home if key.modifiers.is_empty() && self.input.is_empty() => {
                        self.conv.scroll.home();
                        true
                    }
                    KeyCode::End if key.modifiers.is_empty() && self.input.is_empty() => {
                        self.conv.scroll.end();
                        true
                    }
                    _ => false,
                };
                if !recalled {
                    self.input.textarea.input(key);
                    self.palette_sel = 0;
                }
            }
        }
    }

    fn pane_key(&mut self, key: KeyEvent) {
        let trace = self.focus == Focus::Trace;
        match self.keymap.lookup(Context::Pane, &key) {
            Some(Action::LineUp) if trace => self.trace.select_prev(),
            Some(Action::LineDown) if trace => self.trace.select_next(),
            Some(Action::LineUp) => self.conv.scroll.up(1),
            Some(Action::LineDown) => self.conv.scroll.down(1),
            Some(Action::Top) => self.focused_scroll().home(),
            Some(Action::Bottom) => self.focused_scroll().end(),
            _ => {
                // Typing in a pane goes to the prompt.
                if let KeyCode::Char(_) = key.code
                    && !key
                        .modifiers
                        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
                {
                    self.focus = Focus::Input;
                    self.input.textarea.input(key);
                }
            }
        }
        if trace
            && matches!(
                key.code,
                KeyCode::Up | KeyCode::Down | KeyCode::Char('j' | 'k')
            )
        {
            // A newly selected run shows from its header.
            if let Some(i) = self.trace.selected_index() {
                self.trace.scroll.reveal(i);
            }
        }
    }
}
