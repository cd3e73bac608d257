//! Terminal input -> state changes and Effects: routes each key to whatever has the keyboard
//! (approval, overlay, screen, focused pane; each looks its keys up in the one keymap), handles
//! the chat screen's global actions, paste and the mouse.

use crossterm::event::{Event as TermEvent, KeyEvent, KeyEventKind, MouseEvent, MouseEventKind};
use llm_repl_protocol::{ApprovalDecision, Op};
use ratatui::layout::{Position, Rect};

use crate::app::{App, Effect, Focus, QUIT_WINDOW, Screen};
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

    /// Applies inputs that arrived together. A terminal without bracketed paste delivers a
    /// paste as a burst of keys in which Enter is followed by more text; such a run becomes one
    /// paste (it lands in the box whole instead of sending its first line). A lone Enter at the
    /// end of a burst stays a key, so typing ahead and pressing Enter still sends.
    pub fn handle_terminal_batch(&mut self, events: Vec<TermEvent>, size: (u16, u16)) {
        let mut run: Vec<KeyEvent> = Vec::new();
        for ev in events {
            match ev {
                TermEvent::Key(k) if k.kind == KeyEventKind::Release => {}
                TermEvent::Key(k) if text_key(&k).is_some() => run.push(k),
                other => {
                    self.flush_run(std::mem::take(&mut run), size);
                    self.handle_terminal(other, size);
                }
            }
        }
        self.flush_run(run, size);
    }

    fn flush_run(&mut self, run: Vec<KeyEvent>, size: (u16, u16)) {
        let pasted = run
            .iter()
            .position(|k| text_key(k) == Some('\n'))
            .is_some_and(|i| run[i + 1..].iter().any(|k| text_key(k) != Some('\n')));
        if pasted {
            let text: String = run.iter().filter_map(text_key).collect();
            self.handle_paste(&text);
        } else {
            for k in run {
                self.handle_key(k, size);
            }
        }
    }

    pub fn handle_paste(&mut self, text: &str) {
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        if self.screen == Screen::History {
            history::paste(self, &text);
            return;
        }
        if let Some(Overlay::Models(st)) = &mut self.overlay {
            overlays::model_picker::paste(st, &text);
            return;
        }
        if self.screen == Screen::Stats || self.overlay.is_some() || !self.approvals.is_empty() {
            return;
        }
        self.input.search_end(false);
        self.focus = Focus::Input;
        self.input.paste(&text);
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
            overlays::handle_key(self, key, size);
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
            // A global action on a printable key (? for help) is text while one types.
            let typing_question = crate::panes::input_keys::typed(&key).is_some()
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
                if self.unqueue() {
                    // The first Esc takes a queued prompt back; the next one interrupts.
                } else if self.cancel_edit() {
                    // Esc leaves /edit: the box empties, nothing is sent.
                } else if self.meter.busy() {
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

    pub(crate) fn focused_scroll(&mut self) -> &mut crate::render::scroll::Scroll {
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
            self.unqueue();
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
}

/// The text a key of a pasted burst stands for: a typed character, a tab, or a line break.
fn text_key(k: &KeyEvent) -> Option<char> {
    use crossterm::event::{KeyCode, KeyModifiers};
    match k.code {
        KeyCode::Enter if k.modifiers.is_empty() => Some('\n'),
        KeyCode::Char('j') if k.modifiers == KeyModifiers::CONTROL => Some('\n'),
        KeyCode::Tab if k.modifiers.is_empty() => Some('\t'),
        _ => crate::panes::input_keys::typed(k),
    }
}
