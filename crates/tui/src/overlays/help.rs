//! The help overlay, generated from the keymap table and the slash-command table.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph};

use super::centered;
use crate::app::App;
use crate::commands::COMMANDS;

pub fn lines(app: &App) -> Vec<Line<'static>> {
    let t = &app.theme;
    let mut out = vec![Line::styled("Keys", t.heading)];
    let mut last_ctx = "";
    for (ctx, keys, help) in app.keymap.help_rows() {
        if ctx != last_ctx {
            out.push(Line::styled(format!(" {ctx}"), t.dim));
            last_ctx = ctx;
        }
        out.push(Line::from(vec![
            Span::styled(format!("  {keys:<29} "), t.accent),
            Span::styled(help.to_string(), t.text),
        ]));
    }
    out.push(Line::default());
    out.push(Line::styled(
        "Slash commands (type / for the popup, Tab completes)",
        t.heading,
    ));
    for c in COMMANDS {
        out.push(Line::from(vec![
            Span::styled(
                format!("  /{:<28}", format!("{} {}", c.name, c.args).trim_end()),
                t.accent,
            ),
            Span::styled(c.help.to_string(), t.text),
        ]));
    }
    out.push(Line::default());
    out.push(Line::styled(
        "Up/Down at the edge of the prompt recall earlier prompts; // sends a leading /.",
        t.dim,
    ));
    out.push(Line::styled(
        "Copy uses OSC 52: your terminal (or tmux with set-clipboard on) must allow it.",
        t.dim,
    ));
    out
}

pub fn draw(f: &mut Frame<'_>, app: &App, area: Rect, scroll: u16) {
    let body = lines(app);
    let w = 96.min(area.width.saturating_sub(4));
    let h = (body.len() as u16 + 2).min(area.height.saturating_sub(2));
    let r = centered(area, w, h);
    let max_scroll = (body.len() as u16).saturating_sub(h.saturating_sub(2));
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(app.theme.border_focused)
        .title(Span::styled(" Help ", app.theme.title))
        .title_bottom(
            Line::styled(" Esc closes · ↑↓ PgUp PgDn scroll ", app.theme.dim).right_aligned(),
        );
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(body)
            .block(block)
            .scroll((scroll.min(max_scroll), 0)),
        r,
    );
}
