//! The help overlay, generated from the keymap table (every context's keys, as bound now, with
//! the user's overrides) and the slash-command table, laid out in two aligned columns whose
//! descriptions wrap to the overlay's width.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph};

use super::centered;
use crate::app::App;
use crate::commands::COMMANDS;
use crate::keys::{Action, Context};
use crate::render::wrap::{width as cells, wrap_spans};

/// The overlay's width on a terminal `cols` wide.
fn overlay_width(cols: u16) -> u16 {
    110.min(cols.saturating_sub(4))
}

/// One aligned row: `left` padded to `col` cells, `right` wrapped beside it. A `left` wider than
/// the column gets its own line and the description goes below it.
fn row(
    out: &mut Vec<Line<'static>>,
    left: &str,
    right: &str,
    col: usize,
    width: usize,
    (ls, rs): (Style, Style),
) {
    let pad = " ".repeat(col);
    let left_w = cells(left);
    // Two cells of indent before the keys and at least one after them.
    let first = if left_w + 3 > col {
        out.push(Line::from(Span::styled(format!("  {left}"), ls)));
        vec![Span::raw(pad.clone())]
    } else {
        vec![Span::styled(
            format!("  {left}{}", " ".repeat(col - left_w - 2)),
            ls,
        )]
    };
    out.extend(wrap_spans(
        &[Span::styled(right.to_string(), rs)],
        width,
        first,
        vec![Span::raw(pad)],
    ));
}

/// The body at an inner width of `width` cells.
pub fn lines(app: &App, width: usize) -> Vec<Line<'static>> {
    let t = &app.theme;
    let rows = app.keymap.help_rows();
    let commands: Vec<(String, &str)> = COMMANDS
        .iter()
        .map(|c| {
            (
                format!("/{} {}", c.name, c.args).trim_end().to_string(),
                c.help,
            )
        })
        .collect();
    let widest = rows
        .iter()
        .map(|r| cells(&r.keys))
        .chain(commands.iter().map(|(c, _)| cells(c)))
        .max()
        .unwrap_or(0);
    // Keys and descriptions both need room: a long key list moves to its own line.
    let col = (widest + 4).min(width * 2 / 5).max(12);
    let mut out = vec![Line::styled("Keys", t.heading)];
    let mut last: Option<Context> = None;
    for r in &rows {
        if last != Some(r.context) {
            out.push(Line::styled(format!(" {}", r.context.label()), t.dim));
            last = Some(r.context);
        }
        let keys = if r.keys.is_empty() {
            "(unbound)"
        } else {
            &r.keys
        };
        row(&mut out, keys, r.help, col, width, (t.accent, t.text));
    }
    out.push(Line::styled(" Mouse (when captured; Alt+M toggles)", t.dim));
    for (what, help) in [
        (
            "wheel",
            "scrolls the pane under the pointer (the report on /stats)",
        ),
        (
            "click",
            "focuses the conversation, the tool trace or the prompt",
        ),
    ] {
        row(&mut out, what, help, col, width, (t.accent, t.text));
    }
    out.push(Line::default());
    out.push(Line::styled(
        "Slash commands (type / for the popup, Tab completes)",
        t.heading,
    ));
    for (name, help) in &commands {
        row(&mut out, name, help, col, width, (t.accent, t.text));
    }
    out.push(Line::default());
    let k = |a| app.keymap.key(Context::Input, a);
    for note in [
        format!(
            "{} / {} at the first / last row of the prompt recall earlier prompts; // sends a leading /.",
            k(Action::LineUp),
            k(Action::LineDown)
        ),
        "A prompt sent while a turn runs is queued and sent when the turn ends; Esc takes it back."
            .to_string(),
        "Copy uses OSC 52: your terminal (or tmux with set-clipboard on) must allow it.".to_string(),
        "Every key above can be changed in the config: [ui.keys] NAME = \"ctrl-x f5\" (names in README)."
            .to_string(),
    ] {
        out.extend(crate::render::wrap::wrap_text(&note, width, t.dim, ""));
    }
    out
}

/// The largest useful scroll offset on a terminal of `size`.
pub fn max_scroll(app: &App, size: (u16, u16)) -> u16 {
    let inner = overlay_width(size.0).saturating_sub(2) as usize;
    let body = lines(app, inner).len() as u16;
    let h = size.1.saturating_sub(2).saturating_sub(2);
    body.saturating_sub(h)
}

pub fn draw(f: &mut Frame<'_>, app: &App, area: Rect, scroll: u16) {
    let w = overlay_width(area.width);
    let body = lines(app, w.saturating_sub(2) as usize);
    let h = (body.len() as u16 + 2).min(area.height.saturating_sub(2));
    let r = centered(area, w, h);
    let max_scroll = (body.len() as u16).saturating_sub(h.saturating_sub(2));
    let footer = app.keymap.footer(
        Context::Help,
        &[
            (&[Action::Close], "closes"),
            (
                &[
                    Action::LineUp,
                    Action::LineDown,
                    Action::PageUp,
                    Action::PageDown,
                ],
                "scroll",
            ),
        ],
    );
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(app.theme.border_focused)
        .title(Span::styled(" Help ", app.theme.title))
        .title_bottom(Line::styled(footer, app.theme.dim).right_aligned());
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(body)
            .block(block)
            .scroll((scroll.min(max_scroll), 0)),
        r,
    );
}
