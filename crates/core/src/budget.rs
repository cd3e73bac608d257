//! Spending limits, enforced before a call is sent.
//!
//! The agent asks [`Budgets::check`] with what has been spent (this session, today, this month;
//! the store sums the usage ledger per user) and the worst case of the next call (every prompt
//! token at the input price, plus the request's `max_tokens` at the output price). A call that
//! could cross a hard limit is refused: no request leaves the machine. Crossing the warning
//! threshold only warns. A model without a known price cannot be budgeted: the policy is to let
//! the call through with a warning, since refusing would lock out every unpriced model.
//!
//! Limits belong to a user: the OS user by default, or the `budget.user` name, whose entry in
//! `budget.profiles` overrides the top-level limits.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::config::BudgetConfig;
use crate::pricing::{ModelPrice, PriceTable, format_usd};
use crate::provider::ChatRequest;

/// Output tokens assumed for the worst case of a request without `max_tokens`. The agent should
/// always set `max_tokens` so that the worst case it budgets is the real one.
pub const DEFAULT_MAX_OUTPUT: u64 = 4096;

/// Which running total a limit applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    Session,
    Day,
    Month,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::Session, Scope::Day, Scope::Month];

    /// The word used in `/budget <scope>` and `Op::SetBudget`.
    pub fn key(self) -> &'static str {
        match self {
            Scope::Session => "session",
            Scope::Day => "day",
            Scope::Month => "month",
        }
    }
}

impl fmt::Display for Scope {
    /// The adjective used in messages: "session", "daily", "monthly".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scope::Session => "session",
            Scope::Day => "daily",
            Scope::Month => "monthly",
        })
    }
}

impl FromStr for Scope {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "session" => Ok(Scope::Session),
            "day" | "daily" | "today" => Ok(Scope::Day),
            "month" | "monthly" => Ok(Scope::Month),
            other => Err(format!(
                "unknown budget scope {other:?}: use session, day or month"
            )),
        }
    }
}

/// One user's limits in `budget.profiles.<user>`; absent fields keep the top-level value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BudgetProfile {
    pub session_usd: Option<f64>,
    pub day_usd: Option<f64>,
    pub month_usd: Option<f64>,
    pub warn_at: Option<f64>,
}

/// Dollars already spent, per scope (known costs only; the store provides the sums).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Spent {
    pub session: f64,
    pub day: f64,
    pub month: f64,
}

impl Spent {
    pub fn get(&self, scope: Scope) -> f64 {
        match scope {
            Scope::Session => self.session,
            Scope::Day => self.day,
            Scope::Month => self.month,
        }
    }
}

/// What the budget says about the next call.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Within every limit (or no limits).
    Allow,
    /// Allowed, but this call's worst case reaches the warning threshold of a limit.
    Warn {
        scope: Scope,
        spent: f64,
        limit: f64,
        estimate: f64,
    },
    /// Allowed, but the model has no known price, so no limit can be enforced for it.
    Unpriced,
    /// Not sent: the worst case would cross a hard limit.
    Refuse {
        scope: Scope,
        spent: f64,
        limit: f64,
        estimate: f64,
    },
}

impl Decision {
    pub fn is_refused(&self) -> bool {
        matches!(self, Decision::Refuse { .. })
    }

    /// The one-line message for the user, if the decision needs one.
    pub fn message(&self) -> Option<String> {
        match *self {
            Decision::Allow => None,
            Decision::Unpriced => Some(
                "Budget: this model has no known price, so the budget cannot be enforced for \
                 it; add its price under [pricing] in the config."
                    .into(),
            ),
            Decision::Warn {
                scope,
                spent,
                limit,
                estimate,
            } => Some(format!(
                "Budget: {}% of the {scope} limit used ({} of {}), and the next call could cost \
                 up to {}.",
                percent(spent, limit),
                format_usd(spent),
                format_usd(limit),
                format_usd(estimate),
            )),
            Decision::Refuse {
                scope,
                spent,
                limit,
                estimate,
            } => Some(format!(
                "Budget: refused before sending. This call could cost up to {}, which would cross \
                 the {scope} limit ({} of {} spent). Raise it with /budget {} <usd>, or switch to \
                 a cheaper model.",
                format_usd(estimate),
                format_usd(spent),
                format_usd(limit),
                scope.key(),
            )),
        }
    }
}

fn percent(spent: f64, limit: f64) -> u64 {
    if limit <= 0.0 {
        100
    } else {
        (spent / limit * 100.0).floor() as u64
    }
}

/// The worst-case dollars of a call: every prompt token uncached at the input price and the full
/// `max_output` at the output price. `None` when the model has no known price.
pub fn call_estimate(
    price: Option<&ModelPrice>,
    prompt_tokens: u64,
    max_output: u64,
) -> Option<f64> {
    price.map(|p| p.worst_case(prompt_tokens, max_output))
}

/// Everything the agent needs to decide about a request before sending it.
#[derive(Debug, Clone, PartialEq)]
pub struct Preflight {
    /// Counted prompt tokens (also the context-fill figure).
    pub prompt_tokens: u64,
    /// The output tokens assumed: the request's `max_tokens`, else [`DEFAULT_MAX_OUTPUT`].
    pub max_output: u64,
    /// Worst-case dollars; `None` when the model is unpriced.
    pub estimate: Option<f64>,
    pub decision: Decision,
}

/// Takes the request's prompt size (the agent's incremental count, else counted now), prices its worst case on `provider`/`model` (the request's model,
/// already resolved) and asks the budgets. The model call must not be made when
/// `decision.is_refused()`.
pub fn preflight(
    table: &PriceTable,
    budgets: &Budgets,
    spent: &Spent,
    provider: &str,
    request: &ChatRequest,
) -> Preflight {
    let prompt_tokens = request.estimated_prompt_tokens();
    let max_output = request.max_tokens.map_or(DEFAULT_MAX_OUTPUT, u64::from);
    let estimate = call_estimate(
        table.lookup(provider, &request.model),
        prompt_tokens,
        max_output,
    );
    Preflight {
        prompt_tokens,
        max_output,
        estimate,
        decision: budgets.check(spent, estimate),
    }
}

/// The user budgets belong to: the configured name when not empty, else the OS user (`USER`,
/// then `USERNAME`), else `default`.
pub fn current_user(configured: &str) -> String {
    let configured = configured.trim();
    if !configured.is_empty() {
        return configured.to_string();
    }
    ["USER", "USERNAME"]
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .find(|v| !v.trim().is_empty())
        .unwrap_or_else(|| "default".into())
}

/// One user's limits and warning threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Budgets {
    user: String,
    session: Option<f64>,
    day: Option<f64>,
    month: Option<f64>,
    warn_at: f64,
}

impl Budgets {
    /// The top-level limits, overridden field by field by the user's profile when there is one.
    pub fn new(
        config: &BudgetConfig,
        profile: Option<&BudgetProfile>,
        user: impl Into<String>,
    ) -> Result<Self, String> {
        let p = profile.cloned().unwrap_or_default();
        let budgets = Budgets {
            user: user.into(),
            session: p.session_usd.or(config.session_usd),
            day: p.day_usd.or(config.day_usd),
            month: p.month_usd.or(config.month_usd),
            warn_at: p.warn_at.unwrap_or(config.warn_at),
        };
        if !(budgets.warn_at > 0.0 && budgets.warn_at <= 1.0) {
            return Err(format!(
                "budget.warn_at is {}: use a fraction above 0 and at most 1 (0.8 = 80%)",
                budgets.warn_at
            ));
        }
        for scope in Scope::ALL {
            if let Some(limit) = budgets.limit(scope) {
                check_limit(scope, limit)?;
            }
        }
        Ok(budgets)
    }

    /// No limits at all (the fallback when the configured ones are invalid).
    pub fn none(user: impl Into<String>) -> Self {
        Budgets {
            user: user.into(),
            session: None,
            day: None,
            month: None,
            warn_at: 0.8,
        }
    }

    /// Whether any limit is set (without one, no call needs counting before it is sent).
    pub fn has_limits(&self) -> bool {
        Scope::ALL.iter().any(|s| self.limit(*s).is_some())
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    pub fn limit(&self, scope: Scope) -> Option<f64> {
        match scope {
            Scope::Session => self.session,
            Scope::Day => self.day,
            Scope::Month => self.month,
        }
    }

    /// Sets (or with `None` removes) a limit at run time, as `/budget day 10` does.
    pub fn set_limit(&mut self, scope: Scope, usd: Option<f64>) -> Result<(), String> {
        if let Some(limit) = usd {
            check_limit(scope, limit)?;
        }
        *match scope {
            Scope::Session => &mut self.session,
            Scope::Day => &mut self.day,
            Scope::Month => &mut self.month,
        } = usd;
        Ok(())
    }

    /// Decides about the next call given what is spent and its worst-case cost (`None`: unpriced).
    /// A call is refused when it costs something and `spent + estimate` exceeds a limit; among
    /// several crossed limits the one with the least headroom is reported.
    pub fn check(&self, spent: &Spent, estimate: Option<f64>) -> Decision {
        let limited: Vec<(Scope, f64, f64)> = Scope::ALL
            .iter()
            .filter_map(|&s| self.limit(s).map(|l| (s, spent.get(s), l)))
            .collect();
        if limited.is_empty() {
            return Decision::Allow;
        }
        let Some(estimate) = estimate else {
            return Decision::Unpriced;
        };
        let refused = limited
            .iter()
            .filter(|(_, s, l)| estimate > 0.0 && s + estimate > *l)
            .min_by(|a, b| (a.2 - a.1).total_cmp(&(b.2 - b.1)));
        if let Some(&(scope, spent, limit)) = refused {
            return Decision::Refuse {
                scope,
                spent,
                limit,
                estimate,
            };
        }
        let warned = limited
            .iter()
            .filter(|(_, s, l)| s + estimate >= self.warn_at * l)
            .max_by(|a, b| fraction(a.1 + estimate, a.2).total_cmp(&fraction(b.1 + estimate, b.2)));
        match warned {
            Some(&(scope, spent, limit)) => Decision::Warn {
                scope,
                spent,
                limit,
                estimate,
            },
            None => Decision::Allow,
        }
    }

    /// `(spent, limit)` of the limit closest to exhaustion, for the meter (`Event::Usage.budget`).
    pub fn tightest(&self, spent: &Spent) -> Option<(f64, f64)> {
        Scope::ALL
            .iter()
            .filter_map(|&s| self.limit(s).map(|l| (spent.get(s), l)))
            .max_by(|a, b| fraction(a.0, a.1).total_cmp(&fraction(b.0, b.1)))
    }

    /// One line for `/budget` without arguments.
    pub fn summary(&self, spent: &Spent) -> String {
        let parts: Vec<String> = Scope::ALL
            .iter()
            .map(|&s| {
                let limit = self.limit(s).map_or_else(|| "no limit".into(), format_usd);
                format!("{} {} / {}", s.key(), format_usd(spent.get(s)), limit)
            })
            .collect();
        format!(
            "Budget for {}: {} (warn at {}%)",
            self.user,
            parts.join(", "),
            (self.warn_at * 100.0).round()
        )
    }
}

fn fraction(spent: f64, limit: f64) -> f64 {
    if limit <= 0.0 {
        f64::INFINITY
    } else {
        spent / limit
    }
}

fn check_limit(scope: Scope, limit: f64) -> Result<(), String> {
    if limit.is_finite() && limit >= 0.0 {
        Ok(())
    } else {
        Err(format!(
            "the {} budget must be a dollar amount >= 0, not {limit}",
            scope.key()
        ))
    }
}

/// Parses the arguments of `/budget`: `day 10`, `session 0.5`, `month off`. `Ok(None)` for no
/// arguments (show the summary); `Some((scope, None))` removes a limit.
pub fn parse_budget_command(args: &str) -> Result<Option<(Scope, Option<f64>)>, String> {
    let mut words = args.split_whitespace();
    let Some(scope) = words.next() else {
        return Ok(None);
    };
    let scope: Scope = scope.parse()?;
    let usage = || format!("usage: /budget {} <usd> | off", scope.key());
    let value = words.next().ok_or_else(usage)?;
    if words.next().is_some() {
        return Err(usage());
    }
    let limit = match value.to_ascii_lowercase().as_str() {
        "off" | "none" => None,
        v => Some(
            v.trim_start_matches('$')
                .parse::<f64>()
                .map_err(|_| format!("{value:?} is not a dollar amount; {}", usage()))?,
        ),
    };
    if let Some(l) = limit {
        check_limit(scope, l)?;
    }
    Ok(Some((scope, limit)))
}

#[cfg(test)]
mod tests;
