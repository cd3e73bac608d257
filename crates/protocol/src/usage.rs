//! Token counts and money.

use serde::{Deserialize, Serialize};

/// Tokens of one model call (or a sum of calls).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Prompt tokens, cached ones included.
    pub input: u64,
    /// Completion tokens, reasoning ones included.
    pub output: u64,
    /// The part of `input` served from the provider's prompt cache.
    #[serde(default)]
    pub cached: u64,
    /// The part of `output` spent on hidden reasoning, where reported.
    #[serde(default)]
    pub reasoning: u64,
    /// True when any part was counted locally because the provider reported nothing.
    #[serde(default)]
    pub estimated: bool,
}

impl Usage {
    /// Adds another call's usage; the sum is estimated when either part is.
    pub fn add(&mut self, other: &Usage) {
        self.input += other.input;
        self.output += other.output;
        self.cached += other.cached;
        self.reasoning += other.reasoning;
        self.estimated |= other.estimated;
    }

    pub fn total(&self) -> u64 {
        self.input + self.output
    }
}

/// Dollars spent, as far as they are known. `None` means unknown (a model without a price), which
/// a frontend must show as unknown, never as zero.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct CostReport {
    /// The model call this report comes with.
    pub call_usd: Option<f64>,
    /// The current turn so far.
    pub turn_usd: Option<f64>,
    /// The session so far.
    pub session_usd: Option<f64>,
    /// Today (local day) across sessions, where the store knows it.
    pub today_usd: Option<f64>,
}
