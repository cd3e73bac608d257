//! Running totals of one session for the meter: tokens and dollars of the call, the turn and the
//! session, turned into the protocol's `CostReport`.
//!
//! The day and month totals across sessions live in the store's usage ledger; the meter only
//! adds what this session spent on top of the figures it was started with.

use llm_repl_protocol::{CostReport, Usage};

use super::{CostTally, PriceTable};

/// Tokens and dollars of a set of calls.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Tally {
    pub usage: Usage,
    pub cost: CostTally,
}

impl Tally {
    pub fn add(&mut self, usage: &Usage, cost: Option<f64>) {
        self.usage.add(usage);
        self.cost.add(cost);
    }
}

/// The meter of one session.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Meter {
    call: Tally,
    turn: Tally,
    session: Tally,
    /// Today across sessions, as the store summed it when the meter started.
    today: Option<CostTally>,
}

impl Meter {
    /// A meter for a resumed session (its stored totals) and today's spending so far, where known.
    pub fn new(session: Tally, today: Option<CostTally>) -> Self {
        Self {
            session,
            today,
            ..Self::default()
        }
    }

    /// A new turn starts from zero.
    pub fn start_turn(&mut self) {
        self.turn = Tally::default();
    }

    /// Records one model call served by `provider`/`model` (for a routed call: the candidate that
    /// answered) and returns its cost (`None`: unpriced).
    pub fn record(
        &mut self,
        table: &PriceTable,
        provider: &str,
        model: &str,
        usage: &Usage,
    ) -> Option<f64> {
        let cost = table.cost(provider, model, usage);
        self.call = Tally::default();
        for tally in [&mut self.call, &mut self.turn, &mut self.session] {
            tally.add(usage, cost);
        }
        if let Some(today) = &mut self.today {
            today.add(cost);
        }
        cost
    }

    pub fn call(&self) -> &Tally {
        &self.call
    }

    pub fn turn(&self) -> &Tally {
        &self.turn
    }

    pub fn session(&self) -> &Tally {
        &self.session
    }

    /// The figures of the `Usage` event. A total with an unpriced call in it is unknown.
    pub fn report(&self) -> CostReport {
        CostReport {
            call_usd: self.call.cost.usd(),
            turn_usd: self.turn.cost.usd(),
            session_usd: self.session.cost.usd(),
            today_usd: self.today.and_then(|t| t.usd()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(input: u64, cached: u64, output: u64, estimated: bool) -> Usage {
        Usage {
            input,
            output,
            cached,
            reasoning: 0,
            estimated,
        }
    }

    #[test]
    fn call_turn_session_and_today() {
        let table = PriceTable::builtin();
        let today = CostTally {
            known_usd: 1.0,
            unknown_calls: 0,
        };
        let mut m = Meter::new(Tally::default(), Some(today));
        m.start_turn();
        // gpt-4o-mini: 800 * 0.15 + 200 * 0.075 + 500 * 0.60 = 435 per million.
        let c = m.record(
            table,
            "openai",
            "gpt-4o-mini",
            &usage(1000, 200, 500, false),
        );
        assert!((c.unwrap() - 0.000435).abs() < 1e-12);
        // llama-3.1-8b on Groq, estimated: 10,000 * 0.05 + 1,000 * 0.08 = 580 per million.
        m.record(
            table,
            "groq",
            "llama-3.1-8b-instant",
            &usage(10_000, 0, 1_000, true),
        );
        let r = m.report();
        assert!((r.call_usd.unwrap() - 0.00058).abs() < 1e-12);
        assert!((r.turn_usd.unwrap() - 0.001015).abs() < 1e-12);
        assert!((r.session_usd.unwrap() - 0.001015).abs() < 1e-12);
        assert!((r.today_usd.unwrap() - 1.001015).abs() < 1e-12);
        assert_eq!(m.turn().usage.input, 11_000);
        assert!(m.turn().usage.estimated, "estimated parts mark the sum");
        assert_eq!(
            m.call().usage.input,
            10_000,
            "the call is the last one only"
        );

        m.start_turn();
        m.record(table, "openai", "gpt-9", &usage(10, 0, 10, false));
        let r = m.report();
        assert_eq!(
            (r.call_usd, r.turn_usd, r.session_usd, r.today_usd),
            (None, None, None, None)
        );
        assert!((m.session().cost.known_usd - 0.001015).abs() < 1e-12);
        assert_eq!(m.session().cost.unknown_calls, 1);
        assert_eq!(m.turn().usage.input, 10);
    }

    #[test]
    fn today_unknown_without_the_store() {
        let mut m = Meter::default();
        m.record(
            PriceTable::builtin(),
            "ollama",
            "qwen",
            &usage(5, 0, 5, false),
        );
        assert_eq!(m.report().today_usd, None);
        assert_eq!(m.report().session_usd, Some(0.0));
    }
}
