//! Usage analytics for `llm-repl stats` and the TUI's /stats view: pure functions over the
//! store's usage rows (one per model call), rendering plain text.
//!
//! Costs that are unknown are never summed as zero: every group carries the dollars it knows and
//! how many calls had no price, and the text says so. Savings suggestions reprice a model's
//! actual usage on the cheapest model of at least the same tier (and tool support, and a context
//! window large enough for the largest call seen) from the price table.
//!
//! Only priced facts rank or advise: a session whose cost is unknown is never listed among the
//! most expensive (unknown is not spend), and "already the cheapest" is only said of models whose
//! price is known; the others are named as not compared. Columns are padded by display width
//! (a CJK or emoji title takes two cells a character), so they line up in any terminal.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use llm_repl_protocol::Usage;
use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

use super::{ModelPrice, PriceTable, format_usd};

/// One model call as the usage ledger keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageRow {
    /// The local day of the call, `YYYY-MM-DD`.
    pub day: String,
    pub session_id: String,
    pub session_title: String,
    pub provider: String,
    pub model: String,
    pub usage: Usage,
    /// `None` when the model had no known price.
    pub cost_usd: Option<f64>,
}

/// What to group rows by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Day,
    /// `provider:model`.
    Model,
    Provider,
    Session,
}

/// Sums over a set of calls.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Group {
    /// The grouping key (day, `provider:model`, provider, session id).
    pub key: String,
    /// What to show: the key, or a session's title.
    pub label: String,
    pub calls: u64,
    pub usage: Usage,
    /// Dollars of the priced calls.
    pub cost_usd: f64,
    /// Calls whose cost is unknown (not included in `cost_usd`).
    pub unpriced_calls: u64,
}

impl Group {
    fn add(&mut self, row: &UsageRow) {
        self.calls += 1;
        self.usage.add(&row.usage);
        match row.cost_usd {
            Some(c) => self.cost_usd += c,
            None => self.unpriced_calls += 1,
        }
    }

    /// The cost as text: `$1.23`, `$1.23 + 2 unpriced`, or `unknown` when no call was priced.
    pub fn cost_text(&self) -> String {
        match self.unpriced_note() {
            None if self.calls > 0 && self.unpriced_calls == self.calls => "unknown".into(),
            None => format_usd(self.cost_usd),
            Some(note) => format!("{} + {note}", format_usd(self.cost_usd)),
        }
    }

    /// For a table column: the known dollars (or `unknown`), with the unpriced part left to
    /// [`Group::unpriced_note`].
    fn cost_column(&self) -> String {
        if self.calls > 0 && self.unpriced_calls == self.calls {
            "unknown".into()
        } else {
            format_usd(self.cost_usd)
        }
    }

    /// `2 unpriced` when some but not all calls had no price.
    fn unpriced_note(&self) -> Option<String> {
        (self.unpriced_calls > 0 && self.unpriced_calls < self.calls)
            .then(|| format!("{} unpriced", self.unpriced_calls))
    }

    fn calls_text(&self) -> String {
        let s = if self.calls == 1 { "" } else { "s" };
        match self.unpriced_note() {
            Some(note) => format!("{} call{s}, {note}", self.calls),
            None => format!("{} call{s}", self.calls),
        }
    }
}

/// Sums of all rows.
pub fn totals(rows: &[UsageRow]) -> Group {
    let mut g = Group {
        key: "total".into(),
        label: "total".into(),
        ..Group::default()
    };
    rows.iter().for_each(|r| g.add(r));
    g
}

/// Rows grouped. Days come in date order; everything else by cost, highest first (ties by key).
pub fn group(rows: &[UsageRow], by: GroupBy) -> Vec<Group> {
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    for row in rows {
        let (key, label) = match by {
            GroupBy::Day => (row.day.clone(), row.day.clone()),
            GroupBy::Model => {
                let k = format!("{}:{}", row.provider, row.model);
                (k.clone(), k)
            }
            GroupBy::Provider => (row.provider.clone(), row.provider.clone()),
            GroupBy::Session => {
                let label = if row.session_title.is_empty() {
                    row.session_id.clone()
                } else {
                    row.session_title.clone()
                };
                (row.session_id.clone(), label)
            }
        };
        groups
            .entry(key.clone())
            .or_insert_with(|| Group {
                key,
                label,
                ..Group::default()
            })
            .add(row);
    }
    let mut out: Vec<Group> = groups.into_values().collect();
    if by != GroupBy::Day {
        out.sort_by(|a, b| {
            b.cost_usd
                .total_cmp(&a.cost_usd)
                .then_with(|| a.key.cmp(&b.key))
        });
    }
    out
}

/// The `n` most expensive sessions by known dollars. Sessions with no known spend (every cost
/// unknown, or free) are not ranked: unknown is never spend.
pub fn top_sessions(rows: &[UsageRow], n: usize) -> Vec<Group> {
    let mut sessions = group(rows, GroupBy::Session);
    sessions.retain(|s| s.cost_usd > 0.0);
    sessions.truncate(n);
    sessions
}

/// Terminal cells of `s` (wide characters count two, an emoji sequence is one glyph).
pub fn display_width(s: &str) -> usize {
    s.graphemes(true)
        .map(|g| {
            let w = UnicodeWidthStr::width(g);
            if g.chars().nth(1).is_some() {
                w.min(2)
            } else {
                w
            }
        })
        .sum()
}

/// `s` cut to `w` cells (with `…` when cut) and padded with spaces to exactly `w`.
pub fn pad_display(s: &str, w: usize) -> String {
    let mut out = String::new();
    if display_width(s) <= w {
        out.push_str(s);
    } else {
        let mut used = 0;
        for g in s.graphemes(true) {
            let gw = display_width(g);
            if used + gw + 1 > w {
                break;
            }
            out.push_str(g);
            used += gw;
        }
        out.push('…');
    }
    let fill = w.saturating_sub(display_width(&out));
    out.push_str(&" ".repeat(fill));
    out
}

/// `1234567` -> `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// A bar of `value / max` of `width` cells, in eighths of a cell.
fn bar(value: f64, max: f64, width: usize) -> String {
    const PARTIAL: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
    if max <= 0.0 || value <= 0.0 || width == 0 {
        return String::new();
    }
    let eighths = ((value / max).min(1.0) * width as f64 * 8.0).round() as usize;
    let mut s = "█".repeat(eighths / 8);
    if !eighths.is_multiple_of(8) {
        s.push(PARTIAL[eighths % 8]);
    }
    s
}

/// A plain-text bar chart of cost per group: label, bar (`width` cells for the largest cost),
/// cost, tokens (`~` when partly estimated) and calls.
pub fn bar_chart(groups: &[Group], width: usize) -> String {
    let max = groups.iter().map(|g| g.cost_usd).fold(0.0, f64::max);
    let label_w = groups
        .iter()
        .map(|g| display_width(&g.label))
        .max()
        .unwrap_or(0)
        .min(40);
    let mut out = String::new();
    for g in groups {
        let label = pad_display(&g.label, label_w);
        let tokens = format!(
            "{}{}",
            if g.usage.estimated { "~" } else { "" },
            thousands(g.usage.total())
        );
        let _ = writeln!(
            out,
            "{label}  {:<width$}  {:>9}  {tokens:>11} tok  {}",
            bar(g.cost_usd, max, width),
            g.cost_column(),
            g.calls_text(),
        );
    }
    out
}

/// Repricing one model's usage on a cheaper capable model.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    /// `provider:model` used.
    pub from: String,
    /// `provider:model` suggested.
    pub to: String,
    pub actual_usd: f64,
    pub alternative_usd: f64,
}

impl Suggestion {
    pub fn saving_usd(&self) -> f64 {
        self.actual_usd - self.alternative_usd
    }

    /// One line: `openai:gpt-4o -> openai:o4-mini: $4.00 would have been $1.76 (save $2.24, 56%)`.
    pub fn text(&self) -> String {
        let pct = if self.actual_usd > 0.0 {
            (self.saving_usd() / self.actual_usd * 100.0).round()
        } else {
            0.0
        };
        format!(
            "{} -> {}: {} would have been {} (save {}, {pct}%)",
            self.from,
            self.to,
            format_usd(self.actual_usd),
            format_usd(self.alternative_usd),
            format_usd(self.saving_usd()),
        )
    }
}

/// For each priced model used, the cheapest model in the table of at least its tier, with tool
/// support where it has it, and a context window at least the largest call's tokens: what the
/// same usage would have cost there. Only real savings, largest first. Rows of a model are
/// repriced as recorded (cached input at the alternative's cached price).
pub fn savings(rows: &[UsageRow], table: &PriceTable) -> Vec<Suggestion> {
    let mut by_model: BTreeMap<(String, String), Vec<&UsageRow>> = BTreeMap::new();
    for row in rows.iter().filter(|r| r.cost_usd.is_some()) {
        by_model
            .entry((row.provider.clone(), row.model.clone()))
            .or_default()
            .push(row);
    }
    let mut out = Vec::new();
    for ((provider, model), rows) in by_model {
        let Some(used) = table.lookup(&provider, &model) else {
            continue;
        };
        let actual: f64 = rows.iter().filter_map(|r| r.cost_usd).sum();
        let largest = rows.iter().map(|r| r.usage.total()).max().unwrap_or(0);
        let capable = |p: &&ModelPrice| {
            p.tier >= used.tier
                && (p.tools || !used.tools)
                && p.context_window.is_none_or(|w| w >= largest)
        };
        let reprice = |p: &ModelPrice| rows.iter().map(|r| p.cost(&r.usage)).sum::<f64>();
        let best = table
            .entries()
            .filter(capable)
            .map(|p| (p, reprice(p)))
            .min_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((p, alt)) = best
            && alt < actual
            && !(p.provider == used.provider && p.model == used.model)
        {
            out.push(Suggestion {
                from: format!("{provider}:{model}"),
                to: format!("{}:{}", p.provider, p.model),
                actual_usd: actual,
                alternative_usd: alt,
            });
        }
    }
    out.sort_by(|a, b| b.saving_usd().total_cmp(&a.saving_usd()));
    out
}

/// The whole `llm-repl stats` text over the given rows (already limited to the period, which
/// `period` names, e.g. `last 7 days`).
pub fn render_report(rows: &[UsageRow], table: &PriceTable, period: &str, width: usize) -> String {
    let t = totals(rows);
    let mut out = String::new();
    if rows.is_empty() {
        let _ = writeln!(out, "No model calls in the {period}.");
        return out;
    }
    let _ = writeln!(
        out,
        "Usage, {period}: {} call{}, {} tokens ({} in, {} cached, {} out), {}",
        t.calls,
        if t.calls == 1 { "" } else { "s" },
        thousands(t.usage.total()),
        thousands(t.usage.input),
        thousands(t.usage.cached),
        thousands(t.usage.output),
        t.cost_text(),
    );
    if t.usage.estimated {
        let _ = writeln!(out, "(~ marks token counts partly estimated locally)");
    }
    for (title, by) in [
        ("By day", GroupBy::Day),
        ("By model", GroupBy::Model),
        ("By provider", GroupBy::Provider),
    ] {
        let _ = write!(out, "\n{title}\n{}", bar_chart(&group(rows, by), width));
    }
    let _ = writeln!(out, "\nMost expensive sessions");
    out.push_str(&top_sessions_text(rows));
    out.push_str(&savings_text(rows, table));
    out
}

/// The ranked sessions (known dollars only), and what was left out and why.
fn top_sessions_text(rows: &[UsageRow]) -> String {
    let mut out = String::new();
    let top = top_sessions(rows, 5);
    let label_w = top
        .iter()
        .map(|s| display_width(&s.label))
        .max()
        .unwrap_or(0)
        .min(40);
    for (i, s) in top.iter().enumerate() {
        let _ = writeln!(
            out,
            "{:>2}. {:>9}  {}  ({}, {})",
            i + 1,
            s.cost_column(),
            pad_display(&s.label, label_w),
            s.key,
            s.calls_text(),
        );
    }
    let sessions = group(rows, GroupBy::Session);
    let unknown = sessions
        .iter()
        .filter(|s| s.calls > 0 && s.unpriced_calls == s.calls)
        .count();
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    if top.is_empty() {
        let _ = match unknown {
            0 => writeln!(out, "None: no session spent anything at known prices."),
            n => writeln!(
                out,
                "None ranked: {n} session{} used only models without a known price (unknown \
                 cost is not counted as spend).",
                plural(n)
            ),
        };
    } else if unknown > 0 {
        let _ = writeln!(
            out,
            "({unknown} session{} with unknown cost not ranked)",
            plural(unknown)
        );
    }
    out
}

/// Models used whose calls were not all priced, or that the table no longer knows: savings
/// advice says nothing about them.
pub fn unpriced_models(rows: &[UsageRow], table: &PriceTable) -> Vec<String> {
    let mut out: Vec<String> = rows
        .iter()
        .filter(|r| r.cost_usd.is_none() || table.lookup(&r.provider, &r.model).is_none())
        .map(|r| format!("{}:{}", r.provider, r.model))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The savings section: suggestions, or "already the cheapest" for the priced models only.
fn savings_text(rows: &[UsageRow], table: &PriceTable) -> String {
    let mut out = String::from("\nSavings\n");
    let suggestions = savings(rows, table);
    let unpriced = unpriced_models(rows, table);
    let priced = rows.iter().any(|r| {
        r.cost_usd.is_some()
            && table.lookup(&r.provider, &r.model).is_some()
            && !unpriced.contains(&format!("{}:{}", r.provider, r.model))
    });
    if suggestions.is_empty() {
        if priced {
            let _ = writeln!(
                out,
                "Each priced model used is already the cheapest capable one in the price table."
            );
        } else {
            let _ = writeln!(out, "No advice: none of the models used has a known price.");
        }
    }
    for s in suggestions.iter().take(5) {
        let _ = writeln!(out, "{}", s.text());
    }
    if !unpriced.is_empty() {
        let _ = writeln!(
            out,
            "(not compared, price unknown: {}; add them under [[pricing.models]])",
            unpriced.join(", ")
        );
    }
    out
}

#[cfg(test)]
mod tests;
