//! Windows drawn over the chat screen: help, approval, the slash-command popup, copy mode, the
//! model picker.

pub mod approval;
pub mod command_palette;
pub mod copy_mode;
pub mod help;
pub mod model_picker;

use crossterm::event::KeyEvent;
use ratatui::layout::Rect;

use crate::app::App;
use crate::keys::{Action, Context};

/// The overlay that has the keyboard (approval requests live in `App::approvals` and win over
/// these).
#[derive(Debug, Clone)]
pub enum Overlay {
    Help { scroll: u16 },
    Copy(copy_mode::CopyState),
    Models(model_picker::PickerState),
}

/// Keys of the open overlay (its own context of the keymap); Ctrl+C keeps its global meaning.
pub fn handle_key(app: &mut App, key: KeyEvent, size: (u16, u16)) {
    let Some(overlay) = app.overlay.take() else {
        return;
    };
    if app.keymap.lookup(Context::Global, &key) == Some(Action::CtrlC) {
        app.ctrl_c();
        return;
    }
    app.overlay = match overlay {
        Overlay::Help { scroll } => {
            let max = help::max_scroll(app, size);
            let page = size.1.saturating_sub(6).max(1);
            match app.keymap.lookup(Context::Help, &key) {
                Some(Action::Close) => None,
                Some(Action::LineDown) => Some(scroll.saturating_add(1)),
                Some(Action::LineUp) => Some(scroll.saturating_sub(1)),
                Some(Action::PageDown) => Some(scroll.saturating_add(page)),
                Some(Action::PageUp) => Some(scroll.saturating_sub(page)),
                Some(Action::Top) => Some(0),
                Some(Action::Bottom) => Some(max),
                _ => Some(scroll),
            }
            .map(|s| Overlay::Help { scroll: s.min(max) })
        }
        Overlay::Copy(state) => copy_mode::handle_key(app, state, key),
        Overlay::Models(state) => model_picker::handle_key(app, state, key),
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
