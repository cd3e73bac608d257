//! The agent's side of the store: every completed item is written (and flushed) before the
//! frontend sees it as final.
//!
//! A store is optional (tests, `--no-store`): without one every method is a no-op. A failed write
//! (full disk, a broken database) never stops the conversation: it is reported once per kind as
//! an Event and the turn goes on in memory.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use llm_repl_protocol::{
    Event, FinishReason, Message, SessionInfo, ToolCall, ToolRun, ToolStatus, TurnId, Usage,
};
use llm_repl_store::Store;
use tokio::sync::mpsc;

use crate::ids::now_ms;
use crate::pricing::CostTally;
use crate::pricing::meter::Tally;
use crate::pricing::stats::UsageRow;

/// A handle the agent and its turns share.
#[derive(Clone)]
pub struct Recorder {
    store: Option<Store>,
    events: mpsc::UnboundedSender<Event>,
    /// Kinds of failure already reported, so a full disk is one message, not one per token.
    reported: Arc<Mutex<HashSet<&'static str>>>,
}

impl Recorder {
    pub fn new(store: Option<Store>, events: mpsc::UnboundedSender<Event>) -> Self {
        Self {
            store,
            events,
            reported: Arc::default(),
        }
    }

    pub fn store(&self) -> Option<&Store> {
        self.store.as_ref()
    }

    fn check<T>(
        &self,
        what: &'static str,
        result: Result<T, llm_repl_store::StoreError>,
    ) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                tracing::error!("store: {what}: {e}");
                let first = self
                    .reported
                    .lock()
                    .map(|mut r| r.insert(what))
                    .unwrap_or(true);
                if first {
                    let _ = self.events.send(Event::Error {
                        message: format!(
                            "could not save ({what}): {e}. The conversation goes on, but what \
                             follows may not be kept"
                        ),
                    });
                }
                None
            }
        }
    }

    /// Creates the session record if it does not exist yet.
    pub fn ensure_session(&self, info: &SessionInfo) {
        let Some(store) = &self.store else { return };
        if matches!(store.get_session(&info.id), Ok(Some(_))) {
            return;
        }
        self.check("session", store.create_session(info));
    }

    pub fn rename(&self, id: &str, title: &str) {
        if let Some(store) = &self.store {
            self.check("title", store.rename_session(id, title));
        }
    }

    pub fn begin_turn(&self, session: &str, turn: TurnId) {
        if let Some(store) = &self.store {
            self.check("turn start", store.begin_turn(session, turn));
        }
    }

    pub fn end_turn(&self, session: &str, turn: TurnId, reason: FinishReason) {
        if let Some(store) = &self.store {
            self.check("turn end", store.end_turn(session, turn, reason));
        }
    }

    pub fn message(&self, session: &str, message: &Message) {
        if let Some(store) = &self.store {
            self.check("message", store.append_message(session, message));
        }
    }

    pub fn tool_run(
        &self,
        session: &str,
        call: &ToolCall,
        status: ToolStatus,
        duration_ms: u64,
        output: &str,
    ) {
        let Some(store) = &self.store else { return };
        let run = ToolRun {
            call: call.clone(),
            status,
            duration_ms,
            output: output.to_string(),
            findings: Vec::new(),
        };
        self.check("tool run", store.record_tool_run(session, &run));
    }

    pub fn usage(
        &self,
        session: &str,
        provider: &str,
        model: &str,
        usage: &Usage,
        cost: Option<f64>,
    ) {
        if let Some(store) = &self.store {
            self.check(
                "usage",
                store.record_usage(session, model, provider, usage, cost, now_ms()),
            );
        }
    }

    pub fn audit(&self, kind: &str, detail: serde_json::Value) {
        if let Some(store) = &self.store {
            self.check("audit", store.audit(kind, detail));
        }
    }

    /// Dollars spent today and this month across sessions (known costs only).
    pub fn spent_day_month(&self) -> Option<(f64, f64)> {
        let store = self.store.as_ref()?;
        let today = store.today();
        let month_start = month_start_day(today);
        let days = store.usage_by_day(month_start, today).ok()?;
        let month: f64 = days.iter().map(|(_, t)| t.cost_usd).sum();
        let day: f64 = days
            .iter()
            .filter(|(d, _)| *d == today)
            .map(|(_, t)| t.cost_usd)
            .sum();
        Some((day, month))
    }

    /// Today's spending as a tally, for the meter.
    pub fn today_tally(&self) -> Option<CostTally> {
        let (day, _) = self.spent_day_month()?;
        Some(CostTally {
            known_usd: day,
            unknown_calls: 0,
        })
    }

    /// A stored session's totals, for a resumed meter.
    pub fn session_tally(&self, id: &str) -> Tally {
        let Some(store) = &self.store else {
            return Tally::default();
        };
        match store.get_session(id) {
            Ok(Some(rec)) => Tally {
                usage: rec.usage,
                cost: CostTally {
                    known_usd: rec.cost_usd.unwrap_or(0.0),
                    unknown_calls: rec.unknown_cost_calls,
                },
            },
            _ => Tally::default(),
        }
    }
}

/// The day number of the first day of the month containing `day` (days since 1970-01-01).
pub fn month_start_day(day: u32) -> u32 {
    let (y, m, _) = civil_from_days(i64::from(day));
    let first = days_from_civil(y, m, 1);
    u32::try_from(first).unwrap_or(0)
}

/// The usage rows of days `from..=to` for the stats report, each with its session's title
/// (one lookup per session, titles on one line).
pub fn usage_rows(
    store: &Store,
    from: u32,
    to: u32,
) -> Result<Vec<UsageRow>, llm_repl_store::StoreError> {
    let mut titles: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    let mut out = Vec::new();
    for r in store.usage_records(from, to)? {
        let title = match titles.get(&r.session) {
            Some(t) => t.clone(),
            None => {
                let t = store
                    .get_session(&r.session)?
                    .map(|s| s.title.split_whitespace().collect::<Vec<_>>().join(" "))
                    .unwrap_or_default();
                titles.insert(r.session.clone(), t.clone());
                t
            }
        };
        out.push(UsageRow {
            day: llm_repl_store::format_day(r.day),
            session_id: r.session,
            session_title: title,
            provider: r.provider,
            model: r.model,
            usage: r.usage,
            cost_usd: r.cost_usd,
        });
    }
    Ok(out)
}

// Howard Hinnant's civil calendar algorithms.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Makes a stored history valid for a model API: every assistant tool call gets an answer. A crash
/// between a call and its result would otherwise leave a history every provider rejects.
pub fn repair_history(messages: &mut Vec<Message>) -> usize {
    let answered: HashSet<String> = messages
        .iter()
        .filter_map(|m| m.tool_call_id.clone())
        .collect();
    let mut repaired = 0;
    let mut out = Vec::with_capacity(messages.len());
    for m in messages.drain(..) {
        let missing: Vec<ToolCall> = m
            .tool_calls
            .iter()
            .filter(|c| !answered.contains(&c.id))
            .cloned()
            .collect();
        out.push(m);
        for call in missing {
            repaired += 1;
            out.push(Message::tool(&llm_repl_protocol::ToolResult {
                call_id: call.id,
                content: "interrupted: llm-repl stopped before this call finished; its result is \
                          unknown"
                    .into(),
                is_error: true,
            }));
        }
    }
    *messages = out;
    repaired
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_start_is_the_first_of_the_month() {
        // 2026-11-26 is day 20783; 2026-11-01 is 20758.
        assert_eq!(days_from_civil(2026, 11, 26), 20_783);
        assert_eq!(month_start_day(20_783), 20_758);
        assert_eq!(civil_from_days(20_758), (2026, 11, 1));
        assert_eq!(month_start_day(0), 0);
    }

    #[test]
    fn unanswered_tool_calls_get_an_interrupted_result() {
        let call = ToolCall {
            id: "c1".into(),
            name: "python".into(),
            arguments: "{}".into(),
        };
        let mut history = vec![Message::user("q"), Message::assistant("", vec![call])];
        assert_eq!(repair_history(&mut history), 1);
        assert_eq!(history[2].tool_call_id.as_deref(), Some("c1"));
        assert_eq!(repair_history(&mut history), 0);
    }
}
