//! Full screens: the chat (three panes), the history browser and the usage report. `draw` is the one entry the run
//! loop and the snapshot tests call; it reads the state and changes nothing.

pub mod chat;
pub mod history;
pub mod stats;

use ratatui::Frame;

use crate::app::{App, Screen};

/// Draws the whole frame.
pub fn draw(f: &mut Frame<'_>, app: &App) {
    let area = f.area();
    if chat::too_small((area.width, area.height)) {
        chat::draw_too_small(f, app, area);
        return;
    }
    match app.screen {
        Screen::Chat => chat::draw(f, app, area),
        Screen::History => history::draw(f, app, area),
        Screen::Stats => stats::draw(f, app, area),
    }
    // An approval request wins over every screen: the agent is waiting for it.
    if let Some(req) = app.approvals.front() {
        crate::overlays::approval::draw(f, app, area, req);
    }
}
