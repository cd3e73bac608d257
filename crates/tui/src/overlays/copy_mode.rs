//! Copy mode: pick a message, a code block or a tool's output/code with the keyboard and put it on
//! the clipboard (OSC 52, which works over ssh and in tmux with `set-clipboard on`).

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph};

use super::{Overlay, centered};
use crate::app::{App, Effect};
use crate::keys::{Action, Context};
use crate::panes::conversation::ItemKind;
use crate::render::markdown::code_blocks;

/// One thing that can be copied.
#[derive(Debug, Clone, PartialEq)]
pub struct CopyTarget {
    pub label: String,
    pub text: String,
    /// The number of the prompt whose turn this item belongs to (what the fork key forks
    /// through), None before the first prompt.
    pub prompt: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct CopyState {
    pub targets: Vec<CopyTarget>,
    pub sel: usize,
}

fn first_line(s: &str, n: usize) -> String {
    let l = s
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    let mut out: String = l.chars().take(n).collect();
    if l.chars().count() > n {
        out.push('…');
    }
    out
}

/// Everything copyable, oldest first.
pub fn targets(app: &App) -> Vec<CopyTarget> {
    let mut out = Vec::new();
    let mut prompt = None;
    for (item, number) in app.conv.items.iter().zip(app.prompt_numbers()) {
        let start = out.len();
        match &item.kind {
            ItemKind::User => {
                prompt = number.or(prompt);
                let label = match number {
                    Some(n) => format!("prompt #{n}: {}", first_line(&item.text, 50)),
                    None => format!("prompt (failed): {}", first_line(&item.text, 50)),
                };
                out.push(CopyTarget {
                    label,
                    text: item.text.clone(),
                    prompt: None,
                });
            }
            ItemKind::Assistant { .. } if !item.text.is_empty() => {
                out.push(CopyTarget {
                    label: format!("answer: {}", first_line(&item.text, 50)),
                    text: item.text.clone(),
                    prompt: None,
                });
                for block in code_blocks(&item.text) {
                    out.push(CopyTarget {
                        label: format!("  code block: {}", first_line(&block, 44)),
                        text: block,
                        prompt: None,
                    });
                }
            }
            ItemKind::Tool { call_id } => {
                if let Some((i, e)) = app.trace.get(call_id) {
                    if let Some((code, _)) = e.code() {
                        out.push(CopyTarget {
                            label: format!(
                                "tool #{} {} code: {}",
                                i + 1,
                                e.call.name,
                                first_line(&code, 36)
                            ),
                            text: code,
                            prompt: None,
                        });
                    }
                    if !e.lines.is_empty() {
                        out.push(CopyTarget {
                            label: format!(
                                "tool #{} {} output ({} lines)",
                                i + 1,
                                e.call.name,
                                e.lines.len()
                            ),
                            text: e.output_text(),
                            prompt: None,
                        });
                    }
                }
            }
            ItemKind::Notice(_) | ItemKind::Error => out.push(CopyTarget {
                label: format!("notice: {}", first_line(&item.text, 50)),
                text: item.text.clone(),
                prompt: None,
            }),
            _ => {}
        }
        for t in &mut out[start..] {
            t.prompt = prompt;
        }
    }
    out
}

pub fn open(app: &mut App) {
    let targets = targets(app);
    if targets.is_empty() {
        app.flash("nothing to copy yet");
        return;
    }
    let sel = targets.len() - 1;
    app.overlay = Some(Overlay::Copy(CopyState { targets, sel }));
}

pub fn handle_key(app: &mut App, mut st: CopyState, key: KeyEvent) -> Option<Overlay> {
    let n = st.targets.len();
    match app.keymap.lookup(Context::Copy, &key) {
        Some(Action::Close) => return None,
        Some(Action::LineUp) => st.sel = st.sel.saturating_sub(1),
        Some(Action::LineDown) => st.sel = (st.sel + 1).min(n.saturating_sub(1)),
        Some(Action::PageUp) => st.sel = st.sel.saturating_sub(10),
        Some(Action::PageDown) => st.sel = (st.sel + 10).min(n.saturating_sub(1)),
        Some(Action::Top) => st.sel = 0,
        Some(Action::Bottom) => st.sel = n.saturating_sub(1),
        Some(Action::Fork) => match st.targets.get(st.sel).and_then(|t| t.prompt) {
            Some(n) => {
                app.fork(Some(n));
                return None;
            }
            None => app.flash("nothing to fork here: pick a prompt or what answered it"),
        },
        Some(Action::Accept) => {
            if let Some(t) = st.targets.get(st.sel) {
                let chars = t.text.chars().count();
                app.effect(Effect::Copy(t.text.clone()));
                app.flash(format!("copied {chars} chars via OSC 52"));
            }
            return None;
        }
        _ => {}
    }
    Some(Overlay::Copy(st))
}

pub fn draw(f: &mut Frame<'_>, app: &App, area: Rect, st: &CopyState) {
    let t = &app.theme;
    let w = 100.min(area.width.saturating_sub(2));
    let h = area.height.saturating_sub(2).min(30);
    let r = centered(area, w, h);
    let list_h = ((h.saturating_sub(2)) / 2).max(3) as usize;
    let first = st.sel.saturating_sub(list_h.saturating_sub(1));
    let mut lines: Vec<Line<'static>> = st
        .targets
        .iter()
        .enumerate()
        .skip(first)
        .take(list_h)
        .map(|(i, c)| {
            let l = Line::styled(format!(" {}", c.label), t.text);
            if i == st.sel {
                l.patch_style(t.selection)
            } else {
                l
            }
        })
        .collect();
    lines.push(Line::styled(
        "─".repeat(w.saturating_sub(2) as usize),
        t.border,
    ));
    if let Some(sel) = st.targets.get(st.sel) {
        for l in sel.text.lines().take(h as usize) {
            lines.push(Line::from(Span::styled(l.replace('\t', "    "), t.dim)));
        }
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(t.border_focused)
        .title(Span::styled(" Copy: pick what to copy ", t.title))
        .title_bottom(
            Line::styled(
                app.keymap.footer(
                    Context::Copy,
                    &[
                        (&[Action::LineUp, Action::LineDown], "select"),
                        (&[Action::Accept], "copy"),
                        (&[Action::Fork], "fork here"),
                        (&[Action::Close], "cancel"),
                    ],
                ),
                t.dim,
            )
            .right_aligned(),
        );
    f.render_widget(Clear, r);
    f.render_widget(Paragraph::new(lines).block(block), r);
}
