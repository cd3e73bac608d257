//! Windows drawn over the chat screen: help, approval, the slash-command popup, copy mode.

pub mod approval;
pub mod command_palette;
pub mod copy_mode;
pub mod help;

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;

use crate::app::App;
use crate::keys::Action;

/// The overlay that has the keyboard (approval requests live in `App::approvals` and win over
/// these).
#[derive(Debug, Clone)]
pub enum Overlay {
    Help { scroll: u16 },
    Copy(copy_mode::CopyState),
}

pub fn handle_key(app: &mut App, key: KeyEvent) {
    let Some(overlay) = app.overlay.take() else {
        return;
    };
    let global = app.keymap.lookup(crate::keys::Context::Global, &key);
    if global == Some(Action::CtrlC) {
        app.ctrl_c();
        return;
    }
    app.overlay = match overlay {
        Overlay::Help { scroll } => match key.code {
            KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('?') | KeyCode::F(1) => None,
            KeyCode::Down | KeyCode::Char('j') => Some(Overlay::Help {
                scroll: (scroll + 1).min(help::lines(app).len() as u16),
            }),
            KeyCode::Up | KeyCode::Char('k') => Some(Overlay::Help {
                scroll: scroll.saturating_sub(1),
            }),
            KeyCode::PageDown | KeyCode::Char(' ') => Some(Overlay::Help {
                scroll: (scroll + 10).min(help::lines(app).len() as u16),
            }),
            KeyCode::PageUp => Some(Overlay::Help {
                scroll: scroll.saturating_sub(10),
            }),
            KeyCode::Home => Some(Overlay::Help { scroll: 0 }),
            _ => Some(Overlay::Help { scroll }),
        },
        Overlay::Copy(state) => copy_mode::handle_key(app, state, key),
    };
}

/// A rectangle of at most `w` x `h` centred in `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}
