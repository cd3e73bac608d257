//! `llm-repl stats`: cost and tokens over a period of days, from the store's usage ledger, as
//! text with bar charts (core's `pricing::stats` renders) or as JSON.
//!
//! Days are the config's `days` (local by default, or UTC), the same days the usage ledger and
//! the budgets count in; the period line says which. `--until` pins the period's last day so
//! that the output of a given store is reproducible.

use std::path::Path;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use llm_repl_core::pricing::stats::{self, Group, GroupBy, UsageRow};
use llm_repl_core::pricing::{PriceTable, format_usd};
use llm_repl_protocol::calendar::{Calendar, format_day};
use serde_json::{Value, json};

use crate::sessions_cmd::{Access, open, out, report_error};
use crate::settings::Settings;

pub const AFTER_HELP: &str = "Days are local days, or UTC days with `days = \"utc\"` in the \
config; the report says which. Costs of models without a known price are \
shown as unknown, never as zero.\n\nExamples:\n  llm-repl stats\n  llm-repl stats --days 7 --by \
model\n  llm-repl stats --days 30 --until 2026-11-30 --json";

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Number of days in the period, ending with --until.
    #[arg(long, default_value_t = 30)]
    pub days: u32,
    /// The period's last day, YYYY-MM-DD (default: today, in the configured days).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub until: Option<String>,
    /// Show one breakdown instead of the default three (day, model, provider).
    #[arg(long, value_enum)]
    pub by: Option<By>,
    /// Width of the longest bar, in terminal cells.
    #[arg(long, default_value_t = 30)]
    pub width: usize,
    /// Print JSON on stdout instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum By {
    Day,
    Model,
    Provider,
    Session,
}

impl By {
    fn group_by(self) -> GroupBy {
        match self {
            By::Day => GroupBy::Day,
            By::Model => GroupBy::Model,
            By::Provider => GroupBy::Provider,
            By::Session => GroupBy::Session,
        }
    }

    fn name(self) -> &'static str {
        match self {
            By::Day => "day",
            By::Model => "model",
            By::Provider => "provider",
            By::Session => "session",
        }
    }
}

pub fn run(settings: &Settings, args: StatsArgs) -> anyhow::Result<ExitCode> {
    match report(&settings.data_dir(), &settings.calendar(), &args) {
        Ok(text) if args.json => {
            out(&text)?;
            Ok(ExitCode::SUCCESS)
        }
        Ok(text) => {
            // Model names come from servers: made inert before they reach a terminal.
            out(&llm_repl_protocol::terminal_safe(&text))?;
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => Ok(report_error(&err)),
    }
}

/// The whole output of `stats` for `args`, text or JSON, in `cal`'s days.
pub fn report(data_dir: &Path, cal: &Calendar, args: &StatsArgs) -> anyhow::Result<String> {
    anyhow::ensure!(args.days >= 1, "--days must be at least 1");
    let to = match &args.until {
        Some(s) => llm_repl_protocol::calendar::parse_day(s)?,
        None => cal.today(),
    };
    let from = to.saturating_sub(args.days - 1);
    let rows = match open(data_dir, Access::Read, cal)? {
        Some(store) => llm_repl_core::persist::usage_rows(&store, from, to)?,
        None => Vec::new(),
    };
    let table = PriceTable::builtin();
    let days = cal.label();
    let period = if from == to {
        format!("last day ({}, {days})", format_day(to))
    } else {
        format!(
            "last {} days ({} to {}, {days})",
            to - from + 1,
            format_day(from),
            format_day(to)
        )
    };
    if args.json {
        let v = to_json(&rows, table, (from, to), cal, args.by);
        return Ok(format!("{}\n", serde_json::to_string_pretty(&v)?));
    }
    Ok(match args.by {
        None => stats::render_report(&rows, table, &period, args.width),
        Some(by) => render_one(&rows, table, &period, by, args.width),
    })
}

/// The report with one breakdown (`--by`): totals, that chart, top sessions, savings.
fn render_one(rows: &[UsageRow], table: &PriceTable, period: &str, by: By, width: usize) -> String {
    if rows.is_empty() {
        return stats::render_report(rows, table, period, width);
    }
    let full = stats::render_report(rows, table, period, width);
    // The head (totals) and tail (top sessions, savings) are core's; only the charts change.
    let head_end = full.find("\nBy day\n").unwrap_or(full.len());
    let tail_start = full
        .find("\nMost expensive sessions\n")
        .unwrap_or(full.len());
    let title = match by {
        By::Day => "By day",
        By::Model => "By model",
        By::Provider => "By provider",
        By::Session => "By session",
    };
    format!(
        "{}\n{title}\n{}{}",
        &full[..head_end],
        stats::bar_chart(&stats::group(rows, by.group_by()), width),
        &full[tail_start..]
    )
}

fn group_json(g: &Group) -> Value {
    json!({
        "key": g.key,
        "label": g.label,
        "calls": g.calls,
        "usage": g.usage,
        "cost_usd": g.cost_usd,
        "unpriced_calls": g.unpriced_calls,
        "cost": g.cost_text(),
    })
}

fn to_json(
    rows: &[UsageRow],
    table: &PriceTable,
    (from, to): (u32, u32),
    cal: &Calendar,
    by: Option<By>,
) -> Value {
    let all = [By::Day, By::Model, By::Provider, By::Session];
    let chosen: Vec<By> = by.map_or_else(|| all.to_vec(), |b| vec![b]);
    let mut groups = serde_json::Map::new();
    for b in chosen {
        let list: Vec<Value> = stats::group(rows, b.group_by())
            .iter()
            .map(group_json)
            .collect();
        groups.insert(b.name().to_string(), Value::Array(list));
    }
    let savings: Vec<Value> = stats::savings(rows, table)
        .iter()
        .map(|s| {
            json!({
                "from": s.from,
                "to": s.to,
                "actual_usd": s.actual_usd,
                "alternative_usd": s.alternative_usd,
                "saving_usd": s.saving_usd(),
                "text": s.text(),
            })
        })
        .collect();
    let top: Vec<Value> = stats::top_sessions(rows, 5)
        .iter()
        .map(group_json)
        .collect();
    let t = stats::totals(rows);
    json!({
        "from": format_day(from),
        "to": format_day(to),
        "calendar": { "days": cal.days(), "zone": cal.zone_name() },
        "days": to - from + 1,
        "totals": group_json(&t),
        "total_cost": format_usd(t.cost_usd),
        "by": groups,
        "top_sessions": top,
        "savings": savings,
    })
}
