//! Prices: what a model call costs in dollars, and how large a model's context window is.
//!
//! The table ships as `assets/prices.toml` (every entry with its source page and date) and is
//! parsed once, on first use. Users override or add entries in config (`[pricing]`). The one rule
//! that matters most: a model the table does not know has an *unknown* cost (`None`), never zero,
//! so no frontend can show a paid call as free. Local providers (Ollama, llama.cpp, ...) are free
//! by a provider-level rule.

pub mod meter;
pub mod route;
pub mod stats;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use llm_repl_protocol::Usage;
use serde::{Deserialize, Serialize};

/// The shipped table, compiled in.
const BUILTIN: &str = include_str!("../../../assets/prices.toml");

/// Price and metadata of one model. Prices are USD per million tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelPrice {
    pub provider: String,
    pub model: String,
    pub input: f64,
    /// Price of prompt tokens served from the provider's prompt cache; absent: billed at `input`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_input: Option<f64>,
    pub output: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_window: Option<u64>,
    /// Capability tier: 1 small/fast, 2 mid-size, 3 frontier.
    #[serde(default = "default_tier")]
    pub tier: u8,
    /// Whether the model accepts tool calls.
    #[serde(default = "default_true")]
    pub tools: bool,
    /// Where the price was read (a URL, or `config` for user entries).
    #[serde(default)]
    pub source: String,
    /// When the price was known to be in effect (YYYY-MM-DD).
    #[serde(default)]
    pub date: String,
}

fn default_tier() -> u8 {
    2
}

fn default_true() -> bool {
    true
}

impl ModelPrice {
    /// Dollars for this usage: uncached input at `input`, cached input at `cached_input` (or
    /// `input` where the provider has no discount), output (reasoning included) at `output`.
    pub fn cost(&self, usage: &Usage) -> f64 {
        let cached = usage.cached.min(usage.input);
        let uncached = usage.input - cached;
        let cached_price = self.cached_input.unwrap_or(self.input);
        (uncached as f64 * self.input
            + cached as f64 * cached_price
            + usage.output as f64 * self.output)
            / 1_000_000.0
    }

    /// Dollars for a call of `prompt` input tokens (none cached) and `output` output tokens: the
    /// worst case a budget check must assume.
    pub fn worst_case(&self, prompt: u64, output: u64) -> f64 {
        (prompt as f64 * self.input + output as f64 * self.output) / 1_000_000.0
    }

    /// True for a zero price (a local provider's, a `:free` variant's).
    pub fn is_free(&self) -> bool {
        self.input == 0.0 && self.output == 0.0 && self.cached_input.unwrap_or(0.0) == 0.0
    }

    fn validate(&self, require_source: bool) -> Result<(), String> {
        let name = format!("{}:{}", self.provider, self.model);
        if self.provider.trim().is_empty() || self.model.trim().is_empty() {
            return Err(format!("price entry {name:?} needs a provider and a model"));
        }
        for (what, v) in [
            ("input", Some(self.input)),
            ("cached_input", self.cached_input),
            ("output", Some(self.output)),
        ] {
            if let Some(v) = v
                && !(v.is_finite() && v >= 0.0)
            {
                return Err(format!(
                    "price of {name}: {what} must be a number >= 0, not {v}"
                ));
            }
        }
        if !(1..=3).contains(&self.tier) {
            return Err(format!(
                "price of {name}: tier must be 1, 2 or 3, not {}",
                self.tier
            ));
        }
        if require_source && (self.source.is_empty() || self.date.is_empty()) {
            return Err(format!("price of {name} needs a source and a date"));
        }
        Ok(())
    }
}

/// The `[pricing]` section of the config: additions and overrides of the shipped table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PricingConfig {
    /// More providers whose every model is free (local servers under other names).
    pub free_providers: Vec<String>,
    /// Price a provider entry as another: `{ work = "openai" }` for an OpenAI proxy named `work`.
    pub aliases: BTreeMap<String, String>,
    /// Entries replacing a shipped one with the same provider and model, or adding new ones.
    pub models: Vec<ModelPrice>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FreeRule {
    providers: Vec<String>,
    #[allow(dead_code)] // documentation in the asset, checked to be present
    source: String,
    #[allow(dead_code)]
    date: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TableFile {
    free: FreeRule,
    #[serde(default)]
    model: Vec<ModelPrice>,
}

/// The free price every model of a local provider gets.
static FREE: ModelPrice = ModelPrice {
    provider: String::new(),
    model: String::new(),
    input: 0.0,
    cached_input: None,
    output: 0.0,
    context_window: None,
    tier: 1,
    tools: true,
    source: String::new(),
    date: String::new(),
};

/// All known prices: lookups by (provider, model) with normalisation of model ids.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PriceTable {
    models: BTreeMap<(String, String), ModelPrice>,
    free: BTreeSet<String>,
    aliases: BTreeMap<String, String>,
}

impl PriceTable {
    /// The shipped table, parsed on first use. A broken asset is caught by this crate's tests;
    /// should it ever fail at run time anyway, the table is empty (every cost unknown) and the
    /// error is logged, rather than a panic.
    pub fn builtin() -> &'static PriceTable {
        static TABLE: OnceLock<PriceTable> = OnceLock::new();
        TABLE.get_or_init(|| {
            Self::parse(BUILTIN).unwrap_or_else(|e| {
                tracing::error!("assets/prices.toml: {e}");
                PriceTable::default()
            })
        })
    }

    /// The shipped table with the config's overrides and additions merged in.
    pub fn from_config(config: &PricingConfig) -> Result<PriceTable, String> {
        let mut table = Self::builtin().clone();
        table.merge(config)?;
        Ok(table)
    }

    /// Parses a table in the asset's format; every entry must carry a source and a date.
    pub fn parse(text: &str) -> Result<PriceTable, String> {
        let file: TableFile = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut table = PriceTable {
            free: file.free.providers.into_iter().collect(),
            ..PriceTable::default()
        };
        for entry in file.model {
            entry.validate(true)?;
            let key = (entry.provider.clone(), entry.model.clone());
            if table.models.insert(key, entry).is_some() {
                return Err("a model is listed twice in the price table".into());
            }
        }
        Ok(table)
    }

    /// Merges config entries over this table (same provider and model: replaced).
    pub fn merge(&mut self, config: &PricingConfig) -> Result<(), String> {
        for entry in &config.models {
            let mut entry = entry.clone();
            if entry.source.is_empty() {
                entry.source = "config".into();
            }
            entry
                .validate(false)
                .map_err(|e| format!("pricing.models: {e}"))?;
            self.models
                .insert((entry.provider.clone(), entry.model.clone()), entry);
        }
        self.free.extend(config.free_providers.iter().cloned());
        self.aliases
            .extend(config.aliases.iter().map(|(k, v)| (k.clone(), v.clone())));
        Ok(())
    }

    /// The price of a model, or `None` when unknown. Tried in order: the exact id; the id
    /// lower-cased without a date suffix (`gpt-4o-2024-08-06` -> `gpt-4o`); a `vendor/` prefix
    /// resolved against that vendor's own entries (`openai/gpt-4o-mini` on OpenRouter or on
    /// OpenAI itself); then the provider-level rules: `:free` variants and local providers cost
    /// zero. `provider` is the config entry's name; `pricing.aliases` may map it to another.
    pub fn lookup(&self, provider: &str, model: &str) -> Option<&ModelPrice> {
        let provider = self.aliases.get(provider).map_or(provider, String::as_str);
        let model = model.trim();
        let get = |p: &str, m: &str| self.models.get(&(p.to_string(), m.to_string()));
        if let Some(found) = get(provider, model) {
            return Some(found);
        }
        let lower = model.to_ascii_lowercase();
        let base = strip_date_suffix(&lower);
        for m in [lower.as_str(), base] {
            if let Some(found) = get(provider, m) {
                return Some(found);
            }
        }
        if let Some((vendor, rest)) = lower.split_once('/')
            && self.models.keys().any(|(p, _)| p == vendor)
        {
            for m in [rest, strip_date_suffix(rest)] {
                if let Some(found) = get(vendor, m) {
                    return Some(found);
                }
            }
        }
        if lower.ends_with(":free") || self.free.contains(provider) {
            return Some(&FREE);
        }
        None
    }

    /// Dollars of one call, or `None` when the model's price is unknown (never a made-up 0).
    pub fn cost(&self, provider: &str, model: &str, usage: &Usage) -> Option<f64> {
        self.lookup(provider, model).map(|p| p.cost(usage))
    }

    /// The model's context window in tokens, where the table knows it. The window belongs to
    /// the model, not to who serves it: when the provider has no entry for the model (a proxy
    /// under its own name, an aggregator's `vendor/model` id), any entry of the same model
    /// answers (the smallest, if they differ), although its price would not apply.
    pub fn context_window(&self, provider: &str, model: &str) -> Option<u64> {
        if let Some(w) = self.lookup(provider, model).and_then(|p| p.context_window) {
            return Some(w);
        }
        let lower = model.trim().to_ascii_lowercase();
        let bare = lower.rsplit('/').next().unwrap_or(&lower);
        let names = [
            lower.as_str(),
            strip_date_suffix(&lower),
            bare,
            strip_date_suffix(bare),
        ];
        self.models
            .values()
            .filter(|p| {
                let m = p.model.to_ascii_lowercase();
                names.contains(&m.as_str()) || names.contains(&m.rsplit('/').next().unwrap_or(&m))
            })
            .filter_map(|p| p.context_window)
            .min()
    }

    /// True when every model of this provider is free (a local server).
    pub fn is_free_provider(&self, provider: &str) -> bool {
        let provider = self.aliases.get(provider).map_or(provider, String::as_str);
        self.free.contains(provider)
    }

    /// Every priced entry, ordered by provider then model.
    pub fn entries(&self) -> impl Iterator<Item = &ModelPrice> {
        self.models.values()
    }
}

/// `gpt-4o-2024-08-06` -> `gpt-4o`, `claude-3-5-sonnet-20241022` -> `claude-3-5-sonnet`,
/// `gpt-4-0613` -> `gpt-4`; anything else unchanged.
fn strip_date_suffix(model: &str) -> &str {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    // -YYYY-MM-DD
    if model.len() > 11 {
        let (head, tail) = model.split_at(model.len() - 11);
        let parts: Vec<&str> = tail.split('-').collect();
        if parts.len() == 4
            && parts[0].is_empty()
            && parts[1].len() == 4
            && parts[2].len() == 2
            && parts[3].len() == 2
            && parts[1..].iter().all(|p| digits(p))
        {
            return head;
        }
    }
    // -YYYYMMDD or -MMDD
    if let Some((head, tail)) = model.rsplit_once('-')
        && !head.is_empty()
        && digits(tail)
        && (tail.len() == 8 || tail.len() == 4)
    {
        return head;
    }
    model
}

/// A running sum of call costs that keeps unknown ones apart: the turn, session or day total
/// behind a `CostReport` field.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CostTally {
    /// Dollars of the calls with a known price.
    pub known_usd: f64,
    /// Calls whose price is unknown.
    pub unknown_calls: u64,
}

impl CostTally {
    pub fn add(&mut self, cost: Option<f64>) {
        match cost {
            Some(c) => self.known_usd += c,
            None => self.unknown_calls += 1,
        }
    }

    /// The total, or `None` when any call in it is unpriced (so it is never understated).
    pub fn usd(&self) -> Option<f64> {
        (self.unknown_calls == 0).then_some(self.known_usd)
    }

    /// For display: `$0.0123`, or `>= $0.0123 (2 calls unpriced)`, or `unknown`.
    pub fn text(&self) -> String {
        match (self.unknown_calls, self.known_usd) {
            (0, usd) => format_usd(usd),
            (n, usd) if usd > 0.0 => format!(
                ">= {} ({n} call{} unpriced)",
                format_usd(usd),
                if n == 1 { "" } else { "s" }
            ),
            _ => "unknown".into(),
        }
    }
}

/// Dollars for display: `$0.00` for zero, four decimals under a dollar (`<$0.0001` for dust),
/// two from a dollar up.
pub fn format_usd(usd: f64) -> String {
    if usd == 0.0 {
        "$0.00".into()
    } else if usd < 0.0001 {
        "<$0.0001".into()
    } else if usd < 1.0 {
        format!("${usd:.4}")
    } else {
        format!("${usd:.2}")
    }
}

/// Like [`format_usd`], with `unknown` for a cost nobody knows.
pub fn format_cost(usd: Option<f64>) -> String {
    usd.map_or_else(|| "unknown".into(), format_usd)
}

#[cfg(test)]
mod tests;
