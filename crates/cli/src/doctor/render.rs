//! The two renderings of the checks: aligned text lines and one JSON document.

use serde_json::{Value, json};

use super::{Check, Status};

fn counts(checks: &[Check]) -> (usize, usize, usize) {
    let n = |s: Status| checks.iter().filter(|c| c.status == s).count();
    (n(Status::Ok), n(Status::Warn), n(Status::Fail))
}

/// One line per check (`status  name  detail`), the fix indented below it, and a summary.
/// Details carry server-sent text (model ids, error bodies): the whole is made inert with
/// [`llm_repl_protocol::terminal_safe`].
pub fn human(checks: &[Check]) -> String {
    let width = checks
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(0)
        .min(28);
    let mut out = String::new();
    for c in checks {
        out.push_str(&format!(
            "{:<4}  {:<width$}  {}\n",
            c.status.as_str(),
            c.name,
            one_line(&c.detail)
        ));
        if let Some(fix) = &c.fix
            && c.status != Status::Ok
        {
            out.push_str(&format!(
                "{:<4}  {:<width$}  -> {}\n",
                "",
                "",
                one_line(fix)
            ));
        }
    }
    let (ok, warn, fail) = counts(checks);
    out.push_str(&format!("\n{ok} ok, {warn} warn, {fail} fail"));
    if fail > 0 {
        out.push_str(": fix the fail lines, then run llm-repl doctor again\n");
    } else if warn > 0 {
        out.push_str(": llm-repl can run; the warn lines say what is degraded\n");
    } else {
        out.push_str(": all good\n");
    }
    llm_repl_protocol::terminal_safe(&out).into_owned()
}

/// Keeps a message on its line (server errors can contain newlines).
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `{"ok": bool, "counts": {...}, "checks": [{name, provider, status, detail, fix, latency_ms}]}`;
/// `ok` is false when any check failed (the exit code is then 1).
pub fn json(checks: &[Check]) -> Value {
    let (ok, warn, fail) = counts(checks);
    let list: Vec<Value> = checks
        .iter()
        .map(|c| {
            json!({
                "name": c.name,
                "provider": c.provider,
                "status": c.status.as_str(),
                "detail": c.detail,
                "fix": c.fix,
                "latency_ms": c.latency.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            })
        })
        .collect();
    json!({
        "ok": fail == 0,
        "counts": {"ok": ok, "warn": warn, "fail": fail},
        "checks": list,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn sample() -> Vec<Check> {
        vec![
            Check::ok("config", "defaults"),
            Check::warn("sandbox", "landlock ABI 4").fix("newer kernel"),
            Check::fail("x heartbeat", "down\nreally")
                .fix("start it")
                .provider("x")
                .latency(Duration::from_millis(7)),
        ]
    }

    #[test]
    fn human_aligns_names_puts_fixes_under_and_summarises() {
        let text = human(&sample());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "ok    config       defaults");
        assert_eq!(lines[1], "warn  sandbox      landlock ABI 4");
        assert_eq!(lines[2], "                   -> newer kernel");
        assert_eq!(lines[3], "fail  x heartbeat  down really");
        assert!(text.ends_with(
            "1 ok, 1 warn, 1 fail: fix the fail lines, then run llm-repl doctor again\n"
        ));
    }

    #[test]
    fn json_has_counts_and_fields() {
        let v = json(&sample());
        assert_eq!(v["ok"], false);
        assert_eq!(v["counts"]["warn"], 1);
        assert_eq!(v["checks"][2]["provider"], "x");
        assert_eq!(v["checks"][2]["latency_ms"], 7);
        assert_eq!(v["checks"][0]["fix"], Value::Null);
    }
}
