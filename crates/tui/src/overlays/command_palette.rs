//! The slash-command popup shown above the input while a `/command` is typed.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use crate::app::App;
use crate::commands::completions;

/// Draws the popup just above `input`, if there is anything to offer.
pub fn draw(f: &mut Frame<'_>, app: &App, input: Rect, bounds: Rect) {
    let items = completions(app);
    if items.is_empty() {
        return;
    }
    let t = &app.theme;
    let sel = app.palette_sel.min(items.len() - 1);
    let h = (items.len() as u16 + 2)
        .min(input.y.saturating_sub(bounds.y))
        .min(12);
    if h < 3 {
        return;
    }
    let w = 76.min(bounds.width);
    let r = Rect::new(input.x, input.y - h, w, h);
    let visible = (h - 2) as usize;
    let first = sel.saturating_sub(visible.saturating_sub(1));
    let lines: Vec<Line<'static>> = items
        .iter()
        .enumerate()
        .skip(first)
        .take(visible)
        .map(|(i, c)| {
            let line = Line::from(vec![
                Span::styled(format!(" {:<26} ", c.label), t.accent),
                Span::styled(c.help.clone(), t.dim),
            ]);
            if i == sel {
                line.patch_style(t.selection)
            } else {
                line
            }
        })
        .collect();
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border_focused)
        .title(Span::styled(
            " commands · Tab completes · Enter runs ",
            t.dim,
        ));
    f.render_widget(Clear, r);
    f.render_widget(Paragraph::new(lines).block(block), r);
}
