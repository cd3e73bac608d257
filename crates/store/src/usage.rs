//! The usage ledger (model calls by (day, session), with per-session totals kept on the session
//! record) and the audit log (time-ordered entries of whatever the agent wants on record).
//!
//! Days: a record is keyed by its day in the store's calendar when it was written (local days
//! since the first release; UTC for a store nobody set a calendar on). Readers never trust that
//! key alone: [`Store::usage_records`] re-derives every record's day from its `at_ms` with the
//! calendar in force, reading two days of keys either side of the period (no two zones are
//! more than 26 hours apart). So a ledger written in another zone or under the other `days`
//! setting is counted in the days the user sees now, and budgets, `stats` and the /stats screen
//! agree with each other.

use std::collections::BTreeMap;

use llm_repl_protocol::Usage;
use serde::{Deserialize, Serialize};
use sled::Transactional;

use crate::error::Result;
use crate::index::ab;
use crate::records::{self, AuditRecord, RECORD_VERSION, UsageRecord};
use crate::sessions::{get_in, put_session};
use crate::{Store, keys};

/// Sums over a set of usage records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct UsageTotals {
    /// Number of model calls.
    pub calls: u64,
    pub usage: Usage,
    /// Sum of the known costs.
    pub cost_usd: f64,
    /// Calls whose cost was unknown (not included in `cost_usd`).
    pub unknown_cost_calls: u64,
}

impl UsageTotals {
    pub fn add(&mut self, r: &UsageRecord) {
        self.calls += 1;
        self.usage.add(&r.usage);
        match r.cost_usd {
            Some(c) => self.cost_usd += c,
            None => self.unknown_cost_calls += 1,
        }
    }
}

/// Totals of one (provider, model).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelUsage {
    pub provider: String,
    pub model: String,
    pub totals: UsageTotals,
}

/// How far (days) a stored day key can be from the day the calendar in force gives the same
/// instant: UTC-12 to UTC+14 is 26 hours.
const KEY_MARGIN_DAYS: u32 = 2;

impl Store {
    /// Records one model call's usage and cost (`None` = unknown price) at `at_ms`, and adds it
    /// to the session's totals. Flushed before returning.
    pub fn record_usage(
        &self,
        session: &str,
        model: &str,
        provider: &str,
        usage: &Usage,
        cost_usd: Option<f64>,
        at_ms: u64,
    ) -> Result<()> {
        self.writable()?;
        let day = self.calendar().day_of(at_ms);
        let t = self.t();
        (&t.sessions, &t.by_updated, &t.usage, &t.usage_by_session).transaction(
            |(s, u, ledger, by_sess)| {
                let old = get_in(s, session)?;
                let mut rec = old.clone();
                rec.usage.add(usage);
                match cost_usd {
                    Some(c) => rec.cost_usd = Some(rec.cost_usd.unwrap_or(0.0) + c),
                    None => rec.unknown_cost_calls += 1,
                }
                put_session(s, u, Some(&old), &rec)?;
                let ord = ledger.generate_id()?;
                let ur = UsageRecord {
                    v: RECORD_VERSION,
                    at_ms,
                    day,
                    session: session.to_string(),
                    provider: provider.to_string(),
                    model: model.to_string(),
                    usage: *usage,
                    cost_usd,
                };
                let key = keys::usage(day, session, ord);
                ledger.insert(key.as_slice(), ab(records::encode("usage", &ur))?)?;
                by_sess.insert(keys::sess_u64(session, ord), key)?;
                Ok(())
            },
        )?;
        self.sync()
    }

    /// Every usage record of days `from..=to` (day numbers in the store's calendar, each
    /// record's `day` re-derived from its `at_ms`), in (day, session, recording) order.
    pub fn usage_records(&self, from: u32, to: u32) -> Result<Vec<UsageRecord>> {
        let calendar = self.calendar();
        let lo = from.saturating_sub(KEY_MARGIN_DAYS).to_be_bytes();
        let hi = to
            .saturating_add(KEY_MARGIN_DAYS)
            .saturating_add(1)
            .to_be_bytes();
        let mut out = Vec::new();
        for v in self.t().usage.range(lo..hi).values() {
            let mut r: UsageRecord = records::decode("usage", &v?)?;
            r.day = calendar.day_of(r.at_ms);
            if (from..=to).contains(&r.day) {
                out.push(r);
            }
        }
        // Stable: records of one day and session stay in recording order.
        out.sort_by(|a, b| (a.day, &a.session).cmp(&(b.day, &b.session)));
        Ok(out)
    }

    /// Totals of one day.
    pub fn usage_for_day(&self, day: u32) -> Result<UsageTotals> {
        let mut tot = UsageTotals::default();
        for r in self.usage_records(day, day)? {
            tot.add(&r);
        }
        Ok(tot)
    }

    /// Known dollars spent today (in the store's calendar).
    pub fn today_usd(&self) -> Result<f64> {
        Ok(self.usage_for_day(self.today())?.cost_usd)
    }

    /// Totals per day of `from..=to`; days without calls are left out.
    pub fn usage_by_day(&self, from: u32, to: u32) -> Result<Vec<(u32, UsageTotals)>> {
        let mut map: BTreeMap<u32, UsageTotals> = BTreeMap::new();
        for r in self.usage_records(from, to)? {
            map.entry(r.day).or_default().add(&r);
        }
        Ok(map.into_iter().collect())
    }

    /// Totals per (provider, model) over `from..=to`, most expensive first.
    pub fn usage_by_model(&self, from: u32, to: u32) -> Result<Vec<ModelUsage>> {
        let mut map: BTreeMap<(String, String), UsageTotals> = BTreeMap::new();
        for r in self.usage_records(from, to)? {
            map.entry((r.provider.clone(), r.model.clone()))
                .or_default()
                .add(&r);
        }
        let mut out: Vec<ModelUsage> = map
            .into_iter()
            .map(|((provider, model), totals)| ModelUsage {
                provider,
                model,
                totals,
            })
            .collect();
        out.sort_by(|a, b| b.totals.cost_usd.total_cmp(&a.totals.cost_usd));
        Ok(out)
    }

    /// Every usage record of one session, in recording order.
    pub fn session_usage(&self, session: &str) -> Result<Vec<UsageRecord>> {
        let t = self.t();
        let mut out = Vec::new();
        for v in t
            .usage_by_session
            .scan_prefix(keys::sess_prefix(session))
            .values()
        {
            if let Some(b) = t.usage.get(v?)? {
                out.push(records::decode("usage", &b)?);
            }
        }
        Ok(out)
    }

    /// Appends an audit entry stamped now. Not flushed on its own: it reaches the disk with the
    /// next flushed write or sled's periodic flush (at most 500 ms later).
    pub fn audit(&self, kind: &str, detail: serde_json::Value) -> Result<()> {
        self.writable()?;
        let t = self.t();
        let rec = AuditRecord {
            v: RECORD_VERSION,
            at_ms: crate::now_ms(),
            kind: kind.to_string(),
            detail,
        };
        let ord = self.inner.db.generate_id()?;
        t.audit
            .insert(keys::audit(rec.at_ms, ord), records::encode("audit", &rec)?)?;
        Ok(())
    }

    /// Audit entries with `from_ms <= at_ms < to_ms`, oldest first, at most `limit`.
    pub fn audit_range(&self, from_ms: u64, to_ms: u64, limit: usize) -> Result<Vec<AuditRecord>> {
        let mut out = Vec::new();
        let range = keys::audit(from_ms, 0)..keys::audit(to_ms, 0);
        for v in self.t().audit.range(range).values().take(limit) {
            out.push(records::decode("audit", &v?)?);
        }
        Ok(out)
    }

    /// The newest `limit` audit entries, newest first.
    pub fn audit_recent(&self, limit: usize) -> Result<Vec<AuditRecord>> {
        let mut out = Vec::new();
        for v in self.t().audit.iter().values().rev().take(limit) {
            out.push(records::decode("audit", &v?)?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn day_range_bounds_are_inclusive() {
        assert!(crate::keys::usage(5, "s", 1).as_slice() < &6u32.to_be_bytes()[..]);
        assert!(crate::keys::usage(5, "s", 1).as_slice() >= &5u32.to_be_bytes()[..]);
    }
}
