//! Plain-text renderings of sessions for people: the list table, the transcript, search hits.
//! Pure functions from store records to strings, so they are tested without a terminal.

use std::collections::HashMap;
use std::fmt::Write as _;

use llm_repl_core::pricing::format_usd;
use llm_repl_core::pricing::stats::thousands;
use llm_repl_protocol::calendar::Calendar;
use llm_repl_protocol::{Role, SearchHit, SessionSummary, ToolCall, ToolRun, terminal_safe};
use llm_repl_store::{SessionExport, SessionRecord, ToolRunRecord};

/// Widest model column in the list.
const MODEL_WIDTH: usize = 32;

fn cost_of_summary(s: &SessionSummary) -> String {
    match s.cost_usd {
        Some(c) => format_usd(c),
        None if s.usage.total() == 0 => "-".into(),
        None => "unknown".into(),
    }
}

fn cut(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(width.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// A title on one line.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The session list: a table (times in `cal`'s zone), then where the page sits in the whole.
pub fn list(
    page: &[SessionSummary],
    total: usize,
    offset: usize,
    limit: usize,
    cal: &Calendar,
) -> String {
    let mut out = String::new();
    if page.is_empty() {
        if total == 0 {
            out.push_str("No sessions yet.\n");
        } else {
            let _ = writeln!(out, "No sessions at offset {offset} (there are {total}).");
        }
        return out;
    }
    let models: Vec<String> = page
        .iter()
        .map(|s| cut(&format!("{}/{}", s.provider, s.model), MODEL_WIDTH))
        .collect();
    let costs: Vec<String> = page.iter().map(cost_of_summary).collect();
    let id_w = page.iter().map(|s| s.id.len()).max().unwrap_or(2).max(2);
    let model_w = models
        .iter()
        .map(|m| m.chars().count())
        .max()
        .unwrap_or(5)
        .max(5);
    let cost_w = costs.iter().map(String::len).max().unwrap_or(4).max(4);
    let updated_head = format!("UPDATED ({})", cal.zone_name());
    let upd_w = updated_head.chars().count().max(16);
    let _ = writeln!(
        out,
        "{:<id_w$}  {updated_head:<upd_w$}  {:<model_w$}  {:>5}  {:>cost_w$}  TITLE",
        "ID", "MODEL", "MSGS", "COST"
    );
    for ((s, model), cost) in page.iter().zip(&models).zip(&costs) {
        let updated = cal.format_time(s.updated_ms);
        let _ = writeln!(
            out,
            "{:<id_w$}  {updated:<upd_w$}  {model:<model_w$}  {:>5}  {cost:>cost_w$}  {}",
            s.id,
            s.messages,
            match &s.parent {
                Some(p) => format!("{} ⑂ from {}", one_line(&s.title), one_line(&p.title)),
                None => one_line(&s.title),
            }
        );
    }
    let last = offset + page.len();
    if last < total {
        let _ = writeln!(
            out,
            "{}-{last} of {total} sessions; next page: --offset {}",
            offset + 1,
            offset + limit.max(page.len())
        );
    } else {
        let _ = writeln!(out, "{}-{last} of {total} sessions", offset + 1);
    }
    out
}

fn session_cost(s: &SessionRecord) -> String {
    match s.cost_usd {
        Some(c) if s.unknown_cost_calls == 0 => format_usd(c),
        Some(c) => format!(
            "{} + {} calls of unknown price",
            format_usd(c),
            s.unknown_cost_calls
        ),
        None if s.unknown_cost_calls > 0 => "unknown".into(),
        None => "$0.00".into(),
    }
}

fn status_name(run: &ToolRun) -> String {
    serde_json::to_value(run.status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Writes `body` indented by `pad` and a bar, one line per line.
fn block(out: &mut String, pad: &str, body: &str) {
    for line in body.trim_end_matches('\n').lines() {
        let _ = writeln!(out, "{pad}│ {line}");
    }
}

/// A tool call's arguments: `key: value` per field, multi-line strings (code) as blocks.
fn arguments(out: &mut String, call: &ToolCall) {
    match serde_json::from_str::<serde_json::Value>(&call.arguments) {
        Ok(serde_json::Value::Object(map)) => {
            for (k, v) in map {
                match v.as_str() {
                    Some(s) if s.contains('\n') => {
                        let _ = writeln!(out, "    {k}:");
                        block(out, "      ", s);
                    }
                    Some(s) => {
                        let _ = writeln!(out, "    {k}: {s}");
                    }
                    None => {
                        let _ = writeln!(out, "    {k}: {v}");
                    }
                }
            }
        }
        _ => block(out, "    ", &call.arguments),
    }
}

/// A whole session as a readable transcript, times as `cal` shows them.
pub fn transcript(e: &SessionExport, cal: &Calendar) -> String {
    let s = &e.session;
    let mut out = String::new();
    let mock = if s.mock { " (mock provider)" } else { "" };
    let _ = writeln!(out, "{}", one_line(&s.title));
    let _ = writeln!(out, "  id       {}", s.id);
    let _ = writeln!(out, "  model    {}/{}{mock}", s.provider, s.model);
    let _ = writeln!(
        out,
        "  created  {} · updated {}",
        cal.format_stamp(s.created_ms),
        cal.format_stamp(s.updated_ms)
    );
    let est = if s.usage.estimated { "~" } else { "" };
    let _ = writeln!(
        out,
        "  {} messages · {est}{} in / {est}{} out tokens · {}",
        s.messages,
        thousands(s.usage.input),
        thousands(s.usage.output),
        session_cost(s)
    );
    if !s.tags.is_empty() {
        let _ = writeln!(out, "  tags     {}", s.tags.join(", "));
    }
    if let Some(p) = &s.parent {
        let _ = writeln!(out, "  forked   ⑂ from “{}” ({})", one_line(&p.title), p.id);
    }
    let runs: HashMap<&str, &ToolRunRecord> = e
        .tool_runs
        .iter()
        .map(|r| (r.run.call.id.as_str(), r))
        .collect();
    for m in &e.messages {
        for tr in e.turns.iter().filter(|t| t.first_seq == m.seq && t.crashed) {
            let _ = writeln!(
                out,
                "\n!! turn {} was interrupted (the program stopped while it ran)",
                tr.turn
            );
        }
        let msg = &m.message;
        let when = cal.format_stamp(m.at_ms);
        // Dropped from the context by a retry or an edit: shown, and said so.
        let when = if m.superseded {
            format!("{when} · superseded (dropped by a retry or an edit)")
        } else {
            when
        };
        match msg.role {
            Role::Tool => {
                let call = msg.tool_call_id.as_deref().unwrap_or("?");
                // The run's output is shown under its call; repeat it only if the model saw
                // something else (a truncated or reformatted result).
                let shown = runs
                    .get(call)
                    .is_some_and(|r| r.run.output.trim_end() == msg.content.trim_end());
                if !shown {
                    let _ = writeln!(out, "\n── tool result · {call} · {when}");
                    block(&mut out, "  ", &msg.content);
                }
                continue;
            }
            Role::System => {
                let _ = writeln!(out, "\n── system · {when}");
            }
            Role::User => {
                let _ = writeln!(out, "\n── user · {when}");
            }
            Role::Assistant => {
                let _ = writeln!(out, "\n── assistant · {when}");
            }
        }
        if !msg.content.trim().is_empty() {
            let _ = writeln!(out, "{}", msg.content.trim_end());
        }
        for c in &msg.tool_calls {
            let _ = writeln!(out, "  ▶ {} ({})", c.name, c.id);
            arguments(&mut out, c);
            match runs.get(c.id.as_str()) {
                Some(r) => {
                    let _ = writeln!(
                        out,
                        "    ⇒ {} · {} ms",
                        status_name(&r.run),
                        r.run.duration_ms
                    );
                    block(&mut out, "    ", &r.run.output);
                }
                None => {
                    let _ = writeln!(out, "    ⇒ no run recorded");
                }
            }
        }
    }
    for tr in e
        .turns
        .iter()
        .filter(|t| t.first_seq >= s.messages && t.crashed)
    {
        let _ = writeln!(
            out,
            "\n!! turn {} was interrupted before any message was stored",
            tr.turn
        );
    }
    out
}

/// `snippet` with its matched byte ranges marked: ANSI bold yellow on a terminal, `**` otherwise.
/// The snippet's own text is made inert ([`terminal_safe`]) piece by piece, so only our marks
/// are escapes.
pub fn highlight(snippet: &str, ranges: &[(usize, usize)], color: bool) -> String {
    let (on, off) = if color {
        ("\x1b[1;33m", "\x1b[0m")
    } else {
        ("**", "**")
    };
    let mut ranges = ranges.to_vec();
    ranges.sort_unstable();
    let mut out = String::with_capacity(snippet.len() + ranges.len() * 8);
    let mut at = 0;
    for (a, b) in ranges {
        let (Some(before), Some(word)) = (snippet.get(at..a), snippet.get(a..b)) else {
            continue;
        };
        out.push_str(&terminal_safe(before));
        out.push_str(on);
        out.push_str(&terminal_safe(word));
        out.push_str(off);
        at = b;
    }
    out.push_str(&terminal_safe(snippet.get(at..).unwrap_or_default()));
    out
}

fn role_name(r: Role) -> &'static str {
    match r {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
    }
}

/// Search results: per hit, the session and message, then the snippet with matches marked.
pub fn hits(query: &str, hits: &[SearchHit], color: bool) -> String {
    let mut out = String::new();
    if hits.is_empty() {
        let _ = writeln!(out, "No messages match {query:?}.");
        return out;
    }
    let n = hits.len();
    let _ = writeln!(
        out,
        "{n} match{} for {query:?}, best first:",
        if n == 1 { "" } else { "es" }
    );
    for h in hits {
        let _ = writeln!(
            out,
            "\n{}  {} · {} #{}",
            terminal_safe(&h.session_id),
            terminal_safe(&one_line(&h.session_title)),
            role_name(h.role),
            h.seq
        );
        let _ = writeln!(out, "    {}", highlight(&h.snippet, &h.highlights, color));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highlight_marks_each_range_and_skips_bad_ones() {
        let s = "the needle and the Needle";
        assert_eq!(
            highlight(s, &[(19, 25), (4, 10)], false),
            "the **needle** and the **Needle**"
        );
        assert_eq!(highlight(s, &[(4, 100)], false), s);
        assert_eq!(highlight("né x", &[(2, 3)], true), "né x");
    }

    #[test]
    fn cut_keeps_short_and_marks_long() {
        assert_eq!(cut("abc", 5), "abc");
        assert_eq!(cut("abcdef", 4), "abc…");
    }
}
