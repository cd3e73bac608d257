//! The usage report screen (/stats): the agent's rendered report — totals, bar charts by day,
//! model and provider, the most expensive sessions, savings — shown whole on its own screen,
//! scrollable both ways, instead of as one long notice in the conversation.
//!
//! The report arrives as its own `Event::UsageReport`; the text is kept as sent and only styled
//! here: headings, the summary line, and the bars. Its keys are the keymap's `Stats` context.

use crossterm::event::KeyEvent;

use crate::keys::{Action, Context};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Paragraph};

use crate::app::{App, Screen};
use crate::render::wrap::width;
use crate::theme::Theme;

/// The section titles of the report, drawn as headings.
const SECTIONS: [&str; 5] = [
    "By day",
    "By model",
    "By provider",
    "Most expensive sessions",
    "Savings",
];

/// Columns moved per Left/Right.
const PAN: u16 = 8;

/// The report shown and where it is scrolled to.
#[derive(Debug, Clone, Default)]
pub struct StatsScreen {
    /// The report, line by line.
    pub lines: Vec<String>,
    /// First line shown.
    pub scroll: u16,
    /// First column shown.
    pub pan: u16,
}

impl StatsScreen {
    /// Shows `report` from its top.
    pub fn set(&mut self, report: &str) {
        self.lines = report.lines().map(str::to_string).collect();
        self.scroll = 0;
        self.pan = 0;
    }

    /// The widest line in terminal cells (what panning is measured in).
    pub(crate) fn widest(&self) -> u16 {
        let w = self.lines.iter().map(|l| width(l)).max();
        u16::try_from(w.unwrap_or(0)).unwrap_or(u16::MAX)
    }

    fn len(&self) -> u16 {
        u16::try_from(self.lines.len()).unwrap_or(u16::MAX)
    }
}

/// Opens the screen on `report`.
pub fn show(app: &mut App, report: &str) {
    app.stats.set(report);
    app.screen = Screen::Stats;
}

/// The report's body rows on a terminal of `size` (borders excluded).
fn page(size: (u16, u16)) -> (u16, u16) {
    (size.0.saturating_sub(2), size.1.saturating_sub(2))
}

pub fn handle_key(app: &mut App, key: KeyEvent, size: (u16, u16)) {
    let (cols, rows) = page(size);
    let action = app.keymap.lookup(Context::Stats, &key);
    let s = &mut app.stats;
    let max_scroll = s.len().saturating_sub(rows);
    let max_pan = s.widest().saturating_sub(cols);
    match action {
        Some(Action::Close) => app.screen = Screen::Chat,
        Some(Action::LineDown) => s.scroll = (s.scroll + 1).min(max_scroll),
        Some(Action::LineUp) => s.scroll = s.scroll.saturating_sub(1),
        Some(Action::PageDown) => {
            s.scroll = s.scroll.saturating_add(rows.max(1)).min(max_scroll);
        }
        Some(Action::PageUp) => s.scroll = s.scroll.saturating_sub(rows.max(1)),
        Some(Action::Top) => s.scroll = 0,
        Some(Action::Bottom) => s.scroll = max_scroll,
        Some(Action::Right) => s.pan = (s.pan + PAN).min(max_pan),
        Some(Action::Left) => s.pan = s.pan.saturating_sub(PAN),
        _ => {}
    }
}

/// Mouse wheel: three lines at a time.
pub fn wheel(app: &mut App, down: bool, size: (u16, u16)) {
    let (_, rows) = page(size);
    let s = &mut app.stats;
    let max_scroll = s.len().saturating_sub(rows);
    s.scroll = if down {
        (s.scroll + 3).min(max_scroll)
    } else {
        s.scroll.saturating_sub(3)
    };
}

/// One report line with its role's style; bar characters in the accent colour.
fn styled(index: usize, line: &str, theme: &Theme) -> Line<'static> {
    if index == 0 {
        return Line::styled(line.to_string(), theme.heading);
    }
    if SECTIONS.contains(&line) {
        return Line::styled(line.to_string(), theme.heading);
    }
    if line.starts_with('(') {
        return Line::styled(line.to_string(), theme.dim);
    }
    let is_bar = |c: char| ('\u{2588}'..='\u{258F}').contains(&c);
    let mut spans = Vec::new();
    let mut run = String::new();
    let mut run_is_bar = false;
    for c in line.chars() {
        if is_bar(c) != run_is_bar && !run.is_empty() {
            let style = if run_is_bar { theme.accent } else { theme.text };
            spans.push(Span::styled(std::mem::take(&mut run), style));
        }
        run_is_bar = is_bar(c);
        run.push(c);
    }
    if !run.is_empty() {
        let style = if run_is_bar { theme.accent } else { theme.text };
        spans.push(Span::styled(run, style));
    }
    Line::from(spans)
}

pub fn draw(f: &mut Frame<'_>, app: &App, area: Rect) {
    let s = &app.stats;
    let t = &app.theme;
    let (cols, rows) = page((area.width, area.height));
    let scroll = s.scroll.min(s.len().saturating_sub(rows));
    let pan = s.pan.min(s.widest().saturating_sub(cols));
    let body: Vec<Line<'static>> = s
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| styled(i, l, t))
        .collect();
    let shown_to = (scroll + rows).min(s.len());
    let position = if s.len() > rows {
        format!(" lines {}-{shown_to} of {} ", scroll + 1, s.len())
    } else {
        String::new()
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(t.border_focused)
        .title(Span::styled(" Usage and cost (/stats) ", t.title))
        .title(Line::styled(position, t.dim).right_aligned())
        .title_bottom(
            Line::styled(
                app.keymap.footer(
                    Context::Stats,
                    &[
                        (&[Action::Close], "closes"),
                        (&[Action::LineUp, Action::LineDown], "scroll"),
                        (&[Action::PageUp, Action::PageDown], "page"),
                        (&[Action::Top, Action::Bottom], "top/bottom"),
                        (&[Action::Left, Action::Right], "pan"),
                    ],
                ),
                t.dim,
            )
            .right_aligned(),
        );
    f.render_widget(
        Paragraph::new(body).block(block).scroll((scroll, pan)),
        area,
    );
}
