//! The meter (status line): provider and model (mock labelled), what the agent is doing, tokens,
//! cost (unknown is "?", never $0), context-window fill and budget gauges.
//!
//! The meter stays on one line where it can: when the full segments do not fit, they switch to
//! short forms one by one (gauges without their bars, then session tokens only, then no turn
//! cost), and only then does it take a second line or drop segments.

use llm_repl_protocol::{CostReport, SessionInfo, Usage};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::trace::SPINNER;
use crate::render::{cost, tokens, wrap::width as width_of};
use crate::theme::Theme;

/// What the agent is doing, as far as the events tell.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Activity {
    #[default]
    Idle,
    Thinking,
    RunningTool(String),
    AwaitingApproval,
    Interrupting,
}

/// The numbers the meter shows, updated by Usage events.
#[derive(Debug, Clone, Default)]
pub struct Meter {
    pub activity: Activity,
    pub step: u32,
    pub model: Option<String>,
    pub turn_usage: Option<Usage>,
    pub session_usage: Option<Usage>,
    pub cost: Option<CostReport>,
    pub context: Option<(u64, Option<u64>)>,
    pub budget: Option<(f64, f64)>,
    /// Providers whose circuit breaker is open (calls skip them for a while).
    pub unhealthy: Vec<String>,
}

impl Meter {
    /// Forgets the numbers of the previous session.
    pub fn reset(&mut self) {
        *self = Meter::default();
    }

    pub fn busy(&self) -> bool {
        self.activity != Activity::Idle
    }
}

fn gauge(frac: f64, cells: usize, theme: &Theme) -> Vec<Span<'static>> {
    let frac = frac.clamp(0.0, 1.0);
    let full = ((frac * cells as f64).round() as usize).min(cells);
    let style = if frac >= 0.8 {
        theme.gauge_warn
    } else {
        theme.gauge
    };
    vec![
        Span::styled("▕", theme.dim),
        Span::styled("█".repeat(full), style),
        Span::styled("░".repeat(cells - full), theme.dim),
        Span::styled("▏", theme.dim),
    ]
}

/// Inputs of one meter frame beside the meter itself.
pub struct MeterView<'a> {
    pub meter: &'a Meter,
    pub session: Option<&'a SessionInfo>,
    pub spin: usize,
    /// Transient message (copied, mouse off...), shown first.
    pub flash: Option<&'a str>,
    pub mouse: bool,
    pub agent_alive: bool,
}

/// One part of the meter: its priority (0 is never dropped; higher goes first), its full form
/// and, where it has one, a shorter form used before the meter wraps.
struct Seg {
    prio: u8,
    full: Vec<Span<'static>>,
    short: Option<Vec<Span<'static>>>,
    /// Which short forms are taken first (lowest first): the gauges' bars, then the turn's
    /// tokens, then the turn's cost.
    shrink: u8,
}

impl From<(u8, Vec<Span<'static>>)> for Seg {
    fn from((prio, full): (u8, Vec<Span<'static>>)) -> Self {
        Seg {
            prio,
            full,
            short: None,
            shrink: u8::MAX,
        }
    }
}

fn spans_width(spans: &[Span<'_>]) -> usize {
    spans.iter().map(|s| width_of(&s.content)).sum()
}

impl MeterView<'_> {
    fn segments(&self, theme: &Theme) -> Vec<Seg> {
        let m = self.meter;
        let mut segs: Vec<Seg> = Vec::new();
        // Model: the label wins over everything; a mock must never pass for a real model.
        let model_seg = match self.session {
            Some(s) => {
                let model = m.model.clone().unwrap_or_else(|| s.model.clone());
                let mut v = Vec::new();
                if s.mock {
                    v.push(Span::styled(
                        "MOCK ",
                        theme.warn.add_modifier(ratatui::style::Modifier::REVERSED),
                    ));
                }
                v.push(Span::styled(
                    format!("{}/{}", s.provider, model),
                    theme.accent,
                ));
                v
            }
            None => vec![Span::styled("connecting…", theme.dim)],
        };
        segs.push((0, model_seg).into());
        let spin = SPINNER[self.spin % SPINNER.len()];
        let state = match (&m.activity, self.agent_alive) {
            (_, false) => Span::styled("■ agent stopped", theme.error),
            (Activity::Idle, _) => Span::styled("● idle", theme.ok),
            (Activity::Thinking, _) => Span::styled(format!("{spin} thinking"), theme.accent),
            (Activity::RunningTool(t), _) => {
                Span::styled(format!("{spin} running {t}"), theme.tool)
            }
            (Activity::AwaitingApproval, _) => Span::styled("? awaiting approval", theme.warn),
            (Activity::Interrupting, _) => Span::styled(format!("{spin} interrupting"), theme.warn),
        };
        segs.push((0, vec![state]).into());
        // Tokens in and out: this turn, then the session ("~" when counted locally).
        let est = |u: &Usage| if u.estimated { "~" } else { "" };
        let turn = match &m.turn_usage {
            Some(u) => format!("{}{}↑{}↓", est(u), tokens(u.input), tokens(u.output)),
            None => "–".to_string(),
        };
        let session = match &m.session_usage {
            Some(u) => format!("{}{}↑{}↓", est(u), tokens(u.input), tokens(u.output)),
            None => "–".to_string(),
        };
        segs.push(Seg {
            prio: 2,
            full: vec![
                Span::styled("tok ", theme.dim),
                Span::styled(turn, theme.text),
                Span::styled(" Σ", theme.dim),
                Span::styled(session.clone(), theme.text),
            ],
            short: Some(vec![
                Span::styled("tok Σ", theme.dim),
                Span::styled(session, theme.text),
            ]),
            shrink: 2,
        });
        let c = m.cost.unwrap_or_default();
        segs.push(Seg {
            prio: 1,
            full: vec![
                Span::styled("cost ", theme.dim),
                Span::styled(cost(c.turn_usd), theme.text),
                Span::styled(" Σ", theme.dim),
                Span::styled(cost(c.session_usd), theme.text),
                Span::styled(" today ", theme.dim),
                Span::styled(cost(c.today_usd), theme.text),
            ],
            short: Some(vec![
                Span::styled("cost Σ", theme.dim),
                Span::styled(cost(c.session_usd), theme.text),
                Span::styled(" today ", theme.dim),
                Span::styled(cost(c.today_usd), theme.text),
            ]),
            shrink: 3,
        });
        if let Some((used, window)) = m.context {
            let window = window.or(self.session.and_then(|s| s.context_window));
            let mut v = vec![Span::styled("ctx ", theme.dim)];
            let mut short = None;
            match window {
                Some(w) if w > 0 => {
                    let frac = used as f64 / w as f64;
                    let pct = format!("{:.0}%", frac * 100.0);
                    let style = if frac >= 0.8 {
                        theme.gauge_warn
                    } else {
                        theme.text
                    };
                    short = Some(vec![
                        Span::styled("ctx ", theme.dim),
                        Span::styled(pct.clone(), style),
                    ]);
                    v.extend(gauge(frac, 8, theme));
                    v.push(Span::styled(pct, theme.text));
                }
                _ => v.push(Span::styled(format!("{} / ?", tokens(used)), theme.text)),
            }
            segs.push(Seg {
                prio: 1,
                full: v,
                short,
                shrink: 0,
            });
        }
        if let Some((spent, limit)) = m.budget {
            let mut v = vec![Span::styled("budget ", theme.dim)];
            let frac = if limit > 0.0 { spent / limit } else { 1.0 };
            let amount = format!("${spent:.2}/${limit:.2}");
            let style = if frac >= 0.8 {
                theme.gauge_warn
            } else {
                theme.text
            };
            let short = vec![
                Span::styled("budget ", theme.dim),
                Span::styled(amount.clone(), style),
            ];
            v.extend(gauge(frac, 6, theme));
            v.push(Span::styled(amount, theme.text));
            segs.push(Seg {
                prio: 1,
                full: v,
                short: Some(short),
                shrink: 1,
            });
        }
        if !m.unhealthy.is_empty() {
            let text = format!("⚠ circuit open: {}", m.unhealthy.join(", "));
            segs.insert(2, (0, vec![Span::styled(text, theme.warn)]).into());
        }
        if !self.mouse {
            segs.push((4, vec![Span::styled("mouse off", theme.warn)]).into());
        }
        if let Some(f) = self.flash {
            segs.insert(0, (0, vec![Span::styled(f.to_string(), theme.warn)]).into());
        }
        segs
    }

    /// The meter laid out in at most `max_rows` lines of `width`: segments flow in order onto
    /// the next line when the first is full; if they still do not fit, the least important
    /// (highest priority number) are dropped first.
    pub fn lines(&self, theme: &Theme, width: u16, max_rows: usize) -> Vec<Line<'static>> {
        let mut segs = self.segments(theme);
        let avail = (width as usize).saturating_sub(1);
        // Short forms, in their `shrink` order, until the meter fits on one line.
        let one_line = |segs: &[Seg]| {
            segs.iter().map(|s| spans_width(&s.full)).sum::<usize>()
                + 3 * segs.len().saturating_sub(1)
        };
        let mut order: Vec<usize> = (0..segs.len()).collect();
        order.sort_by_key(|&i| segs[i].shrink);
        // Only worth it when the short forms bring the meter onto one line: on two rows either
        // way, the full forms read better.
        let shortest = segs
            .iter()
            .map(|s| spans_width(s.short.as_ref().unwrap_or(&s.full)))
            .sum::<usize>()
            + 3 * segs.len().saturating_sub(1);
        if shortest <= avail {
            for i in order {
                if one_line(&segs) <= avail {
                    break;
                }
                if let Some(short) = segs[i].short.take() {
                    segs[i].full = short;
                }
            }
        }
        let segs: Vec<(u8, Vec<Span<'static>>)> =
            segs.into_iter().map(|s| (s.prio, s.full)).collect();
        let seg_w: Vec<usize> = segs.iter().map(|(_, spans)| spans_width(spans)).collect();
        let mut keep = vec![true; segs.len()];
        let flow = |keep: &[bool]| -> Vec<Vec<usize>> {
            let mut rows: Vec<Vec<usize>> = vec![Vec::new()];
            let mut used = 0;
            for (i, w) in seg_w.iter().enumerate() {
                if !keep[i] {
                    continue;
                }
                let need = if used == 0 { *w } else { used + 3 + w };
                if need > avail && used > 0 {
                    rows.push(vec![i]);
                    used = *w;
                } else {
                    if let Some(r) = rows.last_mut() {
                        r.push(i);
                    }
                    used = need;
                }
            }
            rows
        };
        let mut rows = flow(&keep);
        let mut by_priority: Vec<usize> = (0..segs.len()).collect();
        by_priority.sort_by_key(|&i| std::cmp::Reverse(segs[i].0));
        for i in by_priority {
            if rows.len() <= max_rows.max(1) || segs[i].0 == 0 {
                break;
            }
            keep[i] = false;
            rows = flow(&keep);
        }
        let mut segs: Vec<Option<Vec<Span<'static>>>> =
            segs.into_iter().map(|(_, s)| Some(s)).collect();
        rows.into_iter()
            .take(max_rows.max(1))
            .map(|row| {
                let mut spans = vec![Span::raw(" ")];
                for (n, i) in row.into_iter().enumerate() {
                    if n > 0 {
                        spans.push(Span::styled(" │ ", theme.border));
                    }
                    spans.extend(segs[i].take().unwrap_or_default());
                }
                Line::from(spans)
            })
            .collect()
    }

    pub fn draw(&self, f: &mut Frame<'_>, area: Rect, theme: &Theme) {
        let lines = self.lines(theme, area.width, area.height as usize);
        f.render_widget(Paragraph::new(lines).style(Style::default()), area);
    }
}
