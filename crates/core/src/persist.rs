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

use crate::pricing::CostTally;
use crate::pricing::meter::Tally;
use crate::pricing::stats::UsageRow;
use llm_repl_protocol::calendar::{self, now_ms};

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

    /// Dollars spent today and this month across sessions (known costs only), in the days of
    /// the store's calendar.
    pub fn spent_day_month(&self) -> Option<(f64, f64)> {
        self.spent_on(self.store.as_ref()?.today())
    }

    /// Dollars spent on day number `today` and in its month up to it (known costs only).
    pub fn spent_on(&self, today: u32) -> Option<(f64, f64)> {
        let store = self.store.as_ref()?;
        let month_start = calendar::month_start(today);
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
            day: calendar::format_day(r.day),
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
    use llm_repl_protocol::calendar::{Calendar, Offset, TimeZone, parse_day};

    /// Day and month budgets on a real store: calls at 23:30 UTC on 2026-11-01 and on
    /// 2026-11-30 are the 2nd and December 1st in UTC+2, the 1st and the 30th in UTC mode.
    #[test]
    fn day_and_month_spending_follow_the_calendar() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (tx, _rx) = mpsc::unbounded_channel();
        let rec = Recorder::new(Some(store.clone()), tx);
        store
            .create_session(&SessionInfo {
                id: "s".into(),
                title: "t".into(),
                provider: "p".into(),
                model: "m".into(),
                mock: false,
                context_window: None,
            })
            .unwrap();
        let d = |s: &str| parse_day(s).unwrap();
        let late = |s: &str| u64::from(d(s)) * 86_400_000 + 84_600_000; // 23:30 UTC
        let u = Usage::default();
        for (day, usd) in [("2026-11-01", 1.0), ("2026-11-30", 2.0)] {
            store
                .record_usage("s", "m", "p", &u, Some(usd), late(day))
                .unwrap();
        }
        store.set_calendar(Calendar::local_in(TimeZone::fixed(Offset::constant(2))));
        assert_eq!(rec.spent_on(d("2026-11-01")), Some((0.0, 0.0)));
        assert_eq!(rec.spent_on(d("2026-11-02")), Some((1.0, 1.0)));
        assert_eq!(rec.spent_on(d("2026-11-30")), Some((0.0, 1.0)));
        assert_eq!(rec.spent_on(d("2026-12-01")), Some((2.0, 2.0)));
        store.set_calendar(Calendar::utc());
        assert_eq!(rec.spent_on(d("2026-11-01")), Some((1.0, 1.0)));
        assert_eq!(rec.spent_on(d("2026-11-02")), Some((0.0, 1.0)));
        assert_eq!(rec.spent_on(d("2026-11-30")), Some((2.0, 3.0)));
        assert_eq!(rec.spent_on(d("2026-12-01")), Some((0.0, 0.0)));
        // The stats rows carry the same days.
        let rows = usage_rows(&store, d("2026-11-01"), d("2026-12-01")).unwrap();
        let days: Vec<&str> = rows.iter().map(|r| r.day.as_str()).collect();
        assert_eq!(days, ["2026-11-01", "2026-11-30"]);
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
