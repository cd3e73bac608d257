//! Choosing among candidate models by price: the pure half of the router.
//!
//! Given the candidates of a route, the price table and what a request needs (tool calling, a
//! context large enough for the prompt plus the longest answer, a minimum capability tier),
//! [`rank`] orders the capable candidates cheapest first by the worst-case cost of *this*
//! request, and says why each other one was left out. The providers crate's router walks that
//! order, skipping unhealthy providers and falling back on failure. Candidates without a known
//! price come after every priced one (their cost could be anything).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{PriceTable, format_usd};

/// One `[routes.<name>]` section of the config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RouteConfig {
    /// Candidates as `"provider:model"`: a provider entry's name, then the model id (which may
    /// itself contain `:` or `/`, e.g. `"ollama:llama3.2:3b"`, `"openrouter:openai/gpt-4o"`).
    pub candidates: Vec<String>,
    /// The least capability tier accepted: 1 small, 2 mid-size, 3 frontier.
    pub min_tier: u8,
    /// How long a candidate that failed is passed over, in seconds.
    pub cooldown_secs: u64,
}

impl Default for RouteConfig {
    fn default() -> Self {
        Self {
            candidates: Vec::new(),
            min_tier: 1,
            cooldown_secs: 60,
        }
    }
}

impl RouteConfig {
    /// The candidates parsed, or a message naming the bad one.
    pub fn parse_candidates(&self) -> Result<Vec<Candidate>, String> {
        if !(1..=3).contains(&self.min_tier) {
            return Err(format!(
                "route min_tier is {}: use 1, 2 or 3",
                self.min_tier
            ));
        }
        self.candidates.iter().map(|c| c.parse()).collect()
    }
}

/// A provider entry and a model of it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Candidate {
    pub provider: String,
    pub model: String,
}

impl Candidate {
    pub fn new(provider: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            provider: provider.into(),
            model: model.into(),
        }
    }
}

impl fmt::Display for Candidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.provider, self.model)
    }
}

impl FromStr for Candidate {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().split_once(':') {
            Some((p, m)) if !p.is_empty() && !m.is_empty() => Ok(Candidate::new(p, m)),
            _ => Err(format!(
                "route candidate {s:?} must be \"provider:model\" (e.g. \"groq:llama-3.1-8b-instant\")"
            )),
        }
    }
}

/// What one request needs from a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needs {
    /// The request offers tools.
    pub tools: bool,
    /// Counted prompt tokens.
    pub prompt_tokens: u64,
    /// The longest answer allowed (the request's `max_tokens`).
    pub max_output: u64,
    pub min_tier: u8,
}

/// A capable candidate, in the order to try.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    /// Index into the candidate list.
    pub index: usize,
    /// Worst-case dollars of this request on this candidate; `None` when unpriced.
    pub estimate: Option<f64>,
}

/// A candidate that cannot serve the request, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    pub index: usize,
    pub reason: String,
}

/// Capable candidates cheapest first (config order breaks ties; unpriced ones last), and the
/// rejected ones with their reasons.
pub fn rank(
    candidates: &[Candidate],
    table: &PriceTable,
    needs: &Needs,
) -> (Vec<Ranked>, Vec<Rejected>) {
    let mut ranked = Vec::new();
    let mut rejected = Vec::new();
    let needed_ctx = needs.prompt_tokens + needs.max_output;
    for (index, c) in candidates.iter().enumerate() {
        let price = table.lookup(&c.provider, &c.model);
        let reason = match price {
            Some(p) if p.tier < needs.min_tier => Some(format!(
                "tier {} is below the route's minimum {}",
                p.tier, needs.min_tier
            )),
            None if needs.min_tier > 1 => Some(format!(
                "no price entry, so its tier is unknown (the route needs tier {})",
                needs.min_tier
            )),
            Some(p) if needs.tools && !p.tools => Some("does not support tool calls".into()),
            Some(p) => match p.context_window {
                Some(w) if w < needed_ctx => Some(format!(
                    "context window {w} < {needed_ctx} needed ({} prompt + {} output)",
                    needs.prompt_tokens, needs.max_output
                )),
                _ => None,
            },
            None => None,
        };
        match reason {
            Some(reason) => rejected.push(Rejected { index, reason }),
            None => ranked.push(Ranked {
                index,
                estimate: price.map(|p| p.worst_case(needs.prompt_tokens, needs.max_output)),
            }),
        }
    }
    // Stable sort: ties keep config order.
    ranked.sort_by(|a, b| match (a.estimate, b.estimate) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
    (ranked, rejected)
}

/// Why a candidate was chosen, in one line for the trace: its worst-case cost for this request
/// and the position it had (`cheapest capable`, or `fallback #2 after ...`).
pub fn choice_reason(
    candidate: &Candidate,
    ranked: &Ranked,
    position: usize,
    skipped: &[String],
) -> String {
    let cost = ranked.estimate.map_or_else(
        || "unknown cost".to_string(),
        |e| format!("at most {}", format_usd(e)),
    );
    let why = if position == 0 {
        "cheapest capable".to_string()
    } else {
        format!("fallback #{} after {}", position + 1, skipped.join("; "))
    };
    format!("route -> {candidate}: {why}, {cost} for this request")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cands(list: &[&str]) -> Vec<Candidate> {
        list.iter().map(|c| c.parse().unwrap()).collect()
    }

    fn needs(tools: bool, prompt: u64, max_output: u64, min_tier: u8) -> Needs {
        Needs {
            tools,
            prompt_tokens: prompt,
            max_output,
            min_tier,
        }
    }

    #[test]
    fn candidates_parse_at_the_first_colon() {
        let c: Candidate = "ollama:llama3.2:3b".parse().unwrap();
        assert_eq!(
            (c.provider.as_str(), c.model.as_str()),
            ("ollama", "llama3.2:3b")
        );
        assert_eq!(c.to_string(), "ollama:llama3.2:3b");
        assert!(
            "gpt-4o"
                .parse::<Candidate>()
                .unwrap_err()
                .contains("provider:model")
        );
        assert!(":x".parse::<Candidate>().is_err());
        let bad = RouteConfig {
            min_tier: 4,
            ..RouteConfig::default()
        };
        assert!(bad.parse_candidates().unwrap_err().contains("min_tier"));
    }

    #[test]
    fn cheapest_first_by_this_requests_worst_case() {
        let t = PriceTable::builtin();
        let c = cands(&[
            "openai:gpt-4o",
            "openai:gpt-4o-mini",
            "groq:llama-3.3-70b-versatile",
        ]);
        let (ranked, rejected) = rank(&c, t, &needs(true, 10_000, 1_000, 2));
        assert!(rejected.is_empty());
        let order: Vec<usize> = ranked.iter().map(|r| r.index).collect();
        // gpt-4o-mini: 10k*0.15 + 1k*0.60 = 2100/1M; llama 70b: 5900 + 790 = 6690/1M;
        // gpt-4o: 25000 + 10000 = 35000/1M.
        assert_eq!(order, vec![1, 2, 0]);
        assert!((ranked[0].estimate.unwrap() - 0.0021).abs() < 1e-12);
        assert!((ranked[1].estimate.unwrap() - 0.00669).abs() < 1e-12);
    }

    #[test]
    fn a_long_answer_can_change_the_order() {
        // Output-heavy: llama-3.1-8b's cheap output wins over gpt-4.1-nano.
        let t = PriceTable::builtin();
        let c = cands(&["openai:gpt-4.1-nano", "groq:llama-3.1-8b-instant"]);
        let (ranked, _) = rank(&c, t, &needs(false, 100, 10_000, 1));
        assert_eq!(ranked[0].index, 1);
    }

    #[test]
    fn tier_tools_and_context_reject_with_reasons() {
        let mut table = PriceTable::builtin().clone();
        table
            .merge(&crate::pricing::PricingConfig {
                models: vec![crate::pricing::ModelPrice {
                    provider: "acme".into(),
                    model: "no-tools".into(),
                    input: 0.01,
                    cached_input: None,
                    output: 0.01,
                    context_window: Some(1_000_000),
                    tier: 3,
                    tools: false,
                    source: String::new(),
                    date: String::new(),
                }],
                ..Default::default()
            })
            .unwrap();
        let c = cands(&[
            "groq:llama-3.1-8b-instant",
            "openai:gpt-3.5-turbo",
            "acme:no-tools",
            "mystery:model-x",
            "openai:gpt-4.1",
        ]);
        let (ranked, rejected) = rank(&c, &table, &needs(true, 20_000, 4_000, 1));
        let order: Vec<usize> = ranked.iter().map(|r| r.index).collect();
        assert_eq!(order, vec![0, 4, 3], "unpriced last");
        assert_eq!(rejected.len(), 2);
        assert_eq!(rejected[0].index, 1);
        assert_eq!(
            rejected[0].reason,
            "context window 16385 < 24000 needed (20000 prompt + 4000 output)"
        );
        assert_eq!(rejected[1].reason, "does not support tool calls");

        let (ranked, rejected) = rank(&c, &table, &needs(false, 100, 100, 3));
        let order: Vec<usize> = ranked.iter().map(|r| r.index).collect();
        assert_eq!(order, vec![2, 4]);
        assert_eq!(rejected[0].reason, "tier 1 is below the route's minimum 3");
        assert!(rejected[2].reason.contains("tier is unknown"));
    }

    #[test]
    fn local_models_are_free_and_first() {
        let t = PriceTable::builtin();
        let c = cands(&["groq:llama-3.1-8b-instant", "ollama:qwen2.5:7b"]);
        let (ranked, _) = rank(&c, t, &needs(true, 1000, 1000, 1));
        assert_eq!(ranked[0].index, 1);
        assert_eq!(ranked[0].estimate, Some(0.0));
        let reason = choice_reason(&c[1], &ranked[0], 0, &[]);
        assert_eq!(
            reason,
            "route -> ollama:qwen2.5:7b: cheapest capable, at most $0.00 for this request"
        );
        let reason = choice_reason(
            &c[0],
            &ranked[1],
            1,
            &["ollama:qwen2.5:7b failed: down".into()],
        );
        assert_eq!(
            reason,
            "route -> groq:llama-3.1-8b-instant: fallback #2 after ollama:qwen2.5:7b failed: \
             down, at most $0.0001 for this request"
        );
    }
}
