//! The meter (status line): provider and model (mock labelled), what the agent is doing, tokens,
//! cost (unknown is "?", never $0), context-window fill and budget gauges.

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

impl MeterView<'_> {
    fn segments(&self, theme: &Theme) -> Vec<(u8, Vec<Span<'static>>)> {
        let m = self.meter;
        let mut segs: Vec<(u8, Vec<Span<'static>>)> = Vec::new();
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
        segs.push((0, model_seg));
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
        segs.push((0, vec![state]));
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
        segs.push((
            2,
            vec![
                Span::styled("tok ", theme.dim),
                Span::styled(turn, theme.text),
                Span::styled(" Σ", theme.dim),
                Span::styled(session, theme.text),
            ],
        ));
        let c = m.cost.unwrap_or_default();
        segs.push((
            1,
            vec![
                Span::styled("cost ", theme.dim),
                Span::styled(cost(c.turn_usd), theme.text),
                Span::styled(" Σ", theme.dim),
                Span::styled(cost(c.session_usd), theme.text),
                Span::styled(" today ", theme.dim),
                Span::styled(cost(c.today_usd), theme.text),
            ],
        ));
        if let Some((used, window)) = m.context {
            let window = window.or(self.session.and_then(|s| s.context_window));
            let mut v = vec![Span::styled("ctx ", theme.dim)];
            match window {
                Some(w) if w > 0 => {
                    let frac = used as f64 / w as f64;
                    v.extend(gauge(frac, 8, theme));
                    v.push(Span::styled(format!("{:.0}%", frac * 100.0), theme.text));
                }
                _ => v.push(Span::styled(format!("{} / ?", tokens(used)), theme.text)),
            }
            segs.push((1, v));
        }
        if let Some((spent, limit)) = m.budget {
            let mut v = vec![Span::styled("budget ", theme.dim)];
            let frac = if limit > 0.0 { spent / limit } else { 1.0 };
            v.extend(gauge(frac, 6, theme));
            v.push(Span::styled(format!("${spent:.2}/${limit:.2}"), theme.text));
            segs.push((1, v));
        }
        if !m.unhealthy.is_empty() {
            let text = format!("⚠ circuit open: {}", m.unhealthy.join(", "));
            segs.insert(2, (0, vec![Span::styled(text, theme.warn)]));
        }
        if !self.mouse {
            segs.push((4, vec![Span::styled("mouse off", theme.warn)]));
        }
        if let Some(f) = self.flash {
            segs.insert(0, (0, vec![Span::styled(f.to_string(), theme.warn)]));
        }
        segs
    }

    /// The meter laid out in at most `max_rows` lines of `width`: segments flow in order onto
    /// the next line when the first is full; if they still do not fit, the least important
    /// (highest priority number) are dropped first.
    pub fn lines(&self, theme: &Theme, width: u16, max_rows: usize) -> Vec<Line<'static>> {
        let segs = self.segments(theme);
        let avail = (width as usize).saturating_sub(1);
        let seg_w: Vec<usize> = segs
            .iter()
            .map(|(_, spans)| spans.iter().map(|s| width_of(&s.content)).sum())
            .collect();
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
