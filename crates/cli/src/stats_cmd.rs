//! `llm-repl stats`: cost and tokens over a period of days, from the store's usage ledger, as
//! text with bar charts (core's `pricing::stats` renders) or as JSON.
//!
//! Days are UTC days, as the usage ledger records them. `--until` pins the period's last day so
//! that the output of a given store is reproducible.

use std::path::Path;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use llm_repl_core::pricing::stats::{self, Group, GroupBy, UsageRow};
use llm_repl_core::pricing::{PriceTable, format_usd};
use llm_repl_store::format_day;
use serde_json::{Value, json};

use crate::sessions_cmd::{Access, open, out, report_error};
use crate::settings::Settings;

pub const AFTER_HELP: &str = "Days are UTC days. Costs of models without a known price are \
shown as unknown, never as zero.\n\nExamples:\n  llm-repl stats\n  llm-repl stats --days 7 --by \
model\n  llm-repl stats --days 30 --until 2026-11-30 --json";

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Number of days in the period, ending with --until.
    #[arg(long, default_value_t = 30)]
    pub days: u32,
    /// The period's last day, YYYY-MM-DD (default: today, UTC).
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
    match report(&settings.data_dir(), &args) {
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

/// Day number (days since 1970-01-01) of `YYYY-MM-DD`.
pub fn parse_day(s: &str) -> anyhow::Result<u32> {
    let bad = || anyhow::anyhow!("{s:?} is not a date of the form YYYY-MM-DD");
    let mut parts = s.trim().splitn(3, '-');
    let mut num = || -> anyhow::Result<i64> {
        parts
            .next()
            .and_then(|p| p.parse::<i64>().ok())
            .ok_or_else(bad)
    };
    let (y, m, d) = (num()?, num()?, num()?);
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(bad());
    }
    // Howard Hinnant's days_from_civil.
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let day = u32::try_from(era * 146_097 + doe - 719_468).map_err(|_| bad())?;
    // Reject days a month does not have (2026-02-30 would otherwise roll over).
    if format_day(day) != format!("{y:04}-{m:02}-{d:02}") {
        return Err(bad());
    }
    Ok(day)
}

/// The whole output of `stats` for `args`, text or JSON.
pub fn report(data_dir: &Path, args: &StatsArgs) -> anyhow::Result<String> {
    anyhow::ensure!(args.days >= 1, "--days must be at least 1");
    let to = match &args.until {
        Some(s) => parse_day(s)?,
        None => llm_repl_store::day_of(llm_repl_store::now_ms(), 0),
    };
    let from = to.saturating_sub(args.days - 1);
    let rows = match open(data_dir, Access::Read)? {
        Some(store) => llm_repl_core::persist::usage_rows(&store, from, to)?,
        None => Vec::new(),
    };
    let table = PriceTable::builtin();
    let period = if from == to {
        format!("last day ({}, UTC)", format_day(to))
    } else {
        format!(
            "last {} days ({} to {}, UTC)",
            to - from + 1,
            format_day(from),
            format_day(to)
        )
    };
    if args.json {
        let v = to_json(&rows, table, from, to, args.by);
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

fn to_json(rows: &[UsageRow], table: &PriceTable, from: u32, to: u32, by: Option<By>) -> Value {
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
        "days": to - from + 1,
        "totals": group_json(&t),
        "total_cost": format_usd(t.cost_usd),
        "by": groups,
        "top_sessions": top,
        "savings": savings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dates_and_rejects_impossible_ones() {
        assert_eq!(parse_day("1970-01-01").unwrap(), 0);
        assert_eq!(parse_day("2024-02-29").unwrap(), 19_782);
        assert_eq!(format_day(parse_day("2026-11-26").unwrap()), "2026-11-26");
        for bad in [
            "2023-02-29",
            "2026-13-01",
            "2026-04-31",
            "26-1-1",
            "x",
            "2026-01",
        ] {
            assert!(parse_day(bad).is_err(), "{bad}");
        }
    }
}
