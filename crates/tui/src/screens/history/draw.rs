//! Drawing the history browser: the search bar, the session or hit list, the preview.

use llm_repl_protocol::calendar::Calendar;
use llm_repl_protocol::{NoticeLevel, Role, SearchHit, SessionSummary};
use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::Mode;
use crate::app::App;
use crate::keys::{Action, Context};
use crate::render::{cost, tokens};
use crate::screens::chat::pane_block;
use crate::theme::Theme;

/// The snippet with its matched byte ranges highlighted.
pub fn snippet_spans(hit: &SearchHit, theme: &Theme) -> Vec<Span<'static>> {
    let s = hit.snippet.replace('\n', " ");
    let mut spans = Vec::new();
    let mut at = 0;
    let mut ranges = hit.highlights.clone();
    ranges.sort();
    for (a, b) in ranges {
        let (a, b) = (a.max(at).min(s.len()), b.min(s.len()));
        if a >= b || !s.is_char_boundary(a) || !s.is_char_boundary(b) {
            continue;
        }
        spans.push(Span::styled(s[at..a].to_string(), theme.text));
        spans.push(Span::styled(s[a..b].to_string(), theme.match_hl));
        at = b;
    }
    spans.push(Span::styled(s[at..].to_string(), theme.text));
    spans
}

fn role_label(r: Role) -> &'static str {
    match r {
        Role::User => "you",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
        Role::System => "system",
    }
}

/// Cuts `s` to `w` columns with an ellipsis, padded to exactly `w`.
fn fit(s: &str, w: usize) -> String {
    let n = s.chars().count();
    if n <= w {
        format!("{s:<w$}")
    } else {
        let mut out: String = s.chars().take(w.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// One session in fixed columns: marker, title (the rest), date (in `cal`'s zone), model,
/// messages, cost.
fn session_row(
    s: &SessionSummary,
    t: &Theme,
    cal: &Calendar,
    width: usize,
    selected: bool,
) -> Line<'static> {
    // Narrow lists drop the model and the year so the title keeps some room.
    let wide = width >= 90;
    let model_w = if wide { 16 } else { 0 };
    let date_w = if wide { 16 } else { 11 };
    let fixed = 2 + (date_w + 1) + if wide { model_w + 1 } else { 0 } + 9 + 9;
    let title_w = width.saturating_sub(fixed).max(8);
    let marker = if selected { "▸ " } else { "  " };
    let full_date = cal.format_time(s.updated_ms);
    let shown_date = if wide {
        full_date
    } else {
        full_date.chars().skip(5).collect()
    };
    // A fork names its parent after its title ("⑂ from <parent title>").
    let title = match &s.parent {
        Some(p) => format!("{} ⑂ from {}", s.title, p.title),
        None => s.title.clone(),
    };
    let mut spans = vec![
        Span::styled(marker, t.accent),
        Span::styled(fit(&title, title_w), t.text),
        Span::styled(format!(" {shown_date}"), t.dim),
    ];
    if wide {
        spans.push(Span::styled(format!(" {}", fit(&s.model, model_w)), t.dim));
    }
    spans.push(Span::styled(
        format!("{:>9}", format!("{} msgs", s.messages)),
        t.dim,
    ));
    spans.push(Span::styled(format!("{:>9}", cost(s.cost_usd)), t.text));
    let line = Line::from(spans);
    if selected {
        line.patch_style(t.selection)
    } else {
        line
    }
}

fn list_lines(app: &App, width: usize, height: usize) -> Vec<Line<'static>> {
    let h = &app.history;
    let t = &app.theme;
    let first = h.sel.saturating_sub(height.saturating_sub(1));
    if h.searching() {
        let hits = h.hit_rows();
        if hits.is_empty() {
            let msg = if h.waiting_search {
                "searching…"
            } else {
                "no matches"
            };
            return vec![Line::styled(
                format!(" {msg} for “{}”", h.query.trim()),
                t.dim,
            )];
        }
        // Each hit takes two rows: session and snippet.
        let per = 2;
        let first = h.sel.saturating_sub((height / per).saturating_sub(1));
        let mut out = Vec::new();
        for (i, hit) in hits.iter().enumerate().skip(first).take(height / per) {
            let marker = if i == h.sel { "▸ " } else { "  " };
            let head = Line::from(vec![
                Span::styled(marker, t.accent),
                Span::styled(hit.session_title.clone(), t.title),
                Span::styled(
                    format!("  · {} · #{}", role_label(hit.role), hit.seq),
                    t.dim,
                ),
            ]);
            let mut snip = vec![Span::raw("    ")];
            snip.extend(snippet_spans(hit, t));
            let (head, snip) = if i == h.sel {
                (
                    head.patch_style(t.selection),
                    Line::from(snip).patch_style(Style::default()),
                )
            } else {
                (head, Line::from(snip))
            };
            out.push(head);
            out.push(snip);
        }
        return out;
    }
    if h.sessions.is_empty() {
        return vec![Line::styled(" no stored sessions yet", t.dim)];
    }
    h.sessions
        .iter()
        .enumerate()
        .skip(first)
        .take(height)
        .map(|(i, s)| session_row(s, t, &app.options.calendar, width, i == h.sel))
        .collect()
}

fn preview_lines(app: &App) -> Vec<Line<'static>> {
    let h = &app.history;
    let t = &app.theme;
    let Some(id) = h.selected_id() else {
        return vec![Line::styled("nothing selected", t.dim)];
    };
    let mut out = Vec::new();
    match h.summary(&id) {
        Some(s) => {
            out.push(Line::styled(s.title.clone(), t.heading));
            let kv = |k: &str, v: String| {
                Line::from(vec![
                    Span::styled(format!("{k:<10}"), t.dim),
                    Span::styled(v, t.text),
                ])
            };
            let cal = &app.options.calendar;
            out.push(kv("created", cal.format_time(s.created_ms)));
            out.push(kv("updated", cal.format_time(s.updated_ms)));
            out.push(kv("model", format!("{}/{}", s.provider, s.model)));
            out.push(kv("messages", s.messages.to_string()));
            out.push(kv(
                "tokens",
                format!(
                    "{} in · {} out",
                    tokens(s.usage.input),
                    tokens(s.usage.output)
                ),
            ));
            out.push(kv("cost", cost(s.cost_usd)));
            out.push(kv("id", s.id.clone()));
            if let Some(p) = &s.parent {
                out.push(kv("⑂ from", p.title.clone()));
                out.push(kv("parent id", p.id.clone()));
            }
        }
        None => {
            let title = h
                .hit_rows()
                .iter()
                .find(|x| x.session_id == id)
                .map(|x| x.session_title.clone())
                .unwrap_or_default();
            out.push(Line::styled(title, t.heading));
            out.push(Line::styled(format!("id {id}"), t.dim));
        }
    }
    let matches: Vec<&SearchHit> = h.hit_rows().iter().filter(|x| x.session_id == id).collect();
    if !matches.is_empty() {
        out.push(Line::default());
        out.push(Line::styled(
            format!("{} matching messages", matches.len()),
            t.title,
        ));
        for m in matches.iter().take(8) {
            let mut spans = vec![Span::styled(format!("{:>9}: ", role_label(m.role)), t.dim)];
            spans.extend(snippet_spans(m, t));
            out.push(Line::from(spans));
        }
    }
    if let Some((_, messages)) = h.preview.as_ref().filter(|(p, _)| *p == id) {
        out.push(Line::default());
        out.push(Line::styled("conversation", t.title));
        for m in messages.iter().filter(|m| m.role != Role::System) {
            let text = if m.content.trim().is_empty() && !m.tool_calls.is_empty() {
                let names: Vec<&str> = m.tool_calls.iter().map(|c| c.name.as_str()).collect();
                format!("(calls {})", names.join(", "))
            } else {
                m.content.split_whitespace().collect::<Vec<_>>().join(" ")
            };
            let short: String = text.chars().take(160).collect();
            out.push(Line::from(vec![
                Span::styled(format!("{:>9}: ", role_label(m.role)), t.dim),
                Span::styled(short, t.text),
            ]));
        }
    }
    out.push(Line::default());
    out.push(Line::styled(
        "Enter resumes it with its conversation and tool trace.",
        t.dim,
    ));
    out
}

pub fn draw(f: &mut Frame<'_>, app: &App, area: Rect) {
    let t = &app.theme;
    let h = &app.history;
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(3),
            Constraint::Min(5),
            Constraint::Length(1),
        ])
        .split(area);
    // The search box always has the keyboard's text; the list has the selection.
    let searching = h.mode == Mode::List;
    let mut q = vec![
        Span::styled("search: ", t.dim),
        Span::styled(h.query.clone(), t.match_hl),
    ];
    if searching {
        q.push(Span::styled("▏", t.accent));
    }
    if h.query.is_empty() {
        q.push(Span::styled("type to search all messages", t.dim));
    }
    let count = if h.searching() {
        format!("sessions · {} hits", h.hit_rows().len())
    } else {
        format!("sessions · {} of {}", h.sessions.len(), h.total)
    };
    f.render_widget(
        Paragraph::new(Line::from(q)).block(pane_block(app, count, searching)),
        rows[0],
    );
    let wide = area.width >= 100;
    let parts = Layout::default()
        .direction(if wide {
            Direction::Horizontal
        } else {
            Direction::Vertical
        })
        .constraints([Constraint::Percentage(66), Constraint::Percentage(34)])
        .split(rows[1]);
    let mut list_block = pane_block(app, "history".into(), true);
    if let Some((level, text)) = &h.status {
        let style = match level {
            NoticeLevel::Info => t.info,
            NoticeLevel::Warn => t.warn,
            NoticeLevel::Error => t.error,
        };
        let text: String = text
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(parts[0].width.saturating_sub(4) as usize)
            .collect();
        list_block = list_block.title_bottom(Line::styled(format!(" {text} "), style));
    }
    let inner = list_block.inner(parts[0]);
    let lines = list_lines(app, inner.width as usize, inner.height as usize);
    f.render_widget(Paragraph::new(lines).block(list_block), parts[0]);
    let preview = Paragraph::new(preview_lines(app))
        .wrap(Wrap { trim: false })
        .block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(t.border)
                .title(Span::styled(" preview ", t.title)),
        );
    f.render_widget(preview, parts[1]);
    let km = &app.keymap;
    let help = match &h.mode {
        Mode::List => Line::styled(
            km.footer(
                Context::History,
                &[
                    (&[Action::LineUp, Action::LineDown], "select"),
                    (&[Action::Accept], "resume"),
                    (&[Action::Rename], "rename"),
                    (&[Action::Delete], "delete"),
                    (&[Action::ExportMarkdown], "export md"),
                    (&[Action::ExportJson], "json"),
                    (
                        &[Action::Close],
                        if h.searching() { "clears" } else { "back" },
                    ),
                ],
            ),
            t.dim,
        ),
        Mode::Rename(title) => Line::from(vec![
            Span::styled(" new title: ", t.accent),
            Span::styled(title.clone(), t.text),
            Span::styled(
                format!(
                    "▏ {}",
                    km.footer(
                        Context::Edit,
                        &[(&[Action::Accept], "saves"), (&[Action::Close], "cancels")]
                    )
                ),
                t.dim,
            ),
        ]),
        Mode::ConfirmDelete => Line::styled(
            format!(
                " delete this session for good? {} deletes · any other key keeps it",
                km.key(Context::Confirm, Action::Accept)
            ),
            t.error,
        ),
    };
    f.render_widget(Paragraph::new(help), rows[2]);
}
