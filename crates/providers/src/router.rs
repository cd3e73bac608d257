//! A provider that is a route over other providers: `provider = "auto"` or a named route.
//!
//! For each request it ranks the route's candidates with [`llm_repl_core::pricing::route::rank`]
//! (capable of the request's needs, cheapest worst case first), then tries them in that order:
//! candidates that failed recently (within the route's cooldown) go to the back, so a provider
//! that is down costs one failed attempt, not one per call. A candidate counts as answering once
//! its stream yields a first item; an error before that (connect, HTTP status, a stream that
//! breaks at once) falls back to the next one. After the first item the stream belongs to the
//! caller: a mid-answer failure is reported, not retried elsewhere (the text was already shown).
//!
//! Every choice, with its reason, the rejected candidates and the failed attempts, goes to an
//! observer callback so the agent can show it in the trace; [`Router::last_choice`] tells which
//! provider and model served the last call, which is what its usage must be priced as.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::future::BoxFuture;
use llm_repl_core::budget::DEFAULT_MAX_OUTPUT;
use llm_repl_core::pricing::PriceTable;
use llm_repl_core::pricing::route::{Candidate, Needs, RouteConfig, choice_reason, rank};
use llm_repl_core::provider::ChatStream;
use llm_repl_core::{ChatRequest, Provider, ProviderError, ProviderErrorKind};

/// One candidate of a route with the provider that serves it (its `name()` is the candidate's
/// provider, the name prices are looked up by).
#[derive(Clone)]
pub struct RouteTarget {
    pub candidate: Candidate,
    pub provider: Arc<dyn Provider>,
}

/// What the router did for one request, for the trace.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteReport {
    pub route: String,
    /// The candidate that answered.
    pub chosen: Candidate,
    /// One line: `route -> groq:llama-3.3-70b-versatile: cheapest capable, at most $0.0040 ...`.
    pub reason: String,
    /// Candidates that could not serve the request, with why (`provider:model: reason`).
    pub rejected: Vec<String>,
    /// Attempts that failed before the chosen one (`provider:model failed: message`).
    pub failures: Vec<String>,
}

/// Receives every [`RouteReport`].
pub type RouteObserver = Arc<dyn Fn(&RouteReport) + Send + Sync>;

/// See the module documentation.
pub struct Router {
    name: String,
    targets: Vec<RouteTarget>,
    table: Arc<PriceTable>,
    min_tier: u8,
    cooldown: Duration,
    /// Candidate index -> when it failed last.
    failed_at: Mutex<HashMap<usize, Instant>>,
    last_choice: Mutex<Option<Candidate>>,
    observer: Option<RouteObserver>,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let targets: Vec<String> = self
            .targets
            .iter()
            .map(|t| t.candidate.to_string())
            .collect();
        f.debug_struct("Router")
            .field("name", &self.name)
            .field("targets", &targets)
            .field("min_tier", &self.min_tier)
            .finish_non_exhaustive()
    }
}

impl Router {
    /// A route named `name` (what [`Provider::name`] returns) over `targets`, with the route's
    /// minimum tier and cooldown from `config` (its candidate list is the caller's business:
    /// parse it with [`RouteConfig::parse_candidates`] and pair each with its provider).
    pub fn new(
        name: impl Into<String>,
        targets: Vec<RouteTarget>,
        table: Arc<PriceTable>,
        config: &RouteConfig,
    ) -> Result<Self, String> {
        let name = name.into();
        if targets.is_empty() {
            return Err(format!("route {name} has no candidates"));
        }
        if !(1..=3).contains(&config.min_tier) {
            return Err(format!("route {name}: min_tier must be 1, 2 or 3"));
        }
        Ok(Self {
            name,
            targets,
            table,
            min_tier: config.min_tier,
            cooldown: Duration::from_secs(config.cooldown_secs),
            failed_at: Mutex::new(HashMap::new()),
            last_choice: Mutex::new(None),
            observer: None,
        })
    }

    /// Sends every route report to `observer`.
    pub fn with_observer(mut self, observer: RouteObserver) -> Self {
        self.observer = Some(observer);
        self
    }

    /// The provider and model that answered the last request: price its usage as this.
    pub fn last_choice(&self) -> Option<Candidate> {
        self.last_choice
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn recently_failed(&self, index: usize, now: Instant) -> bool {
        self.failed_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&index)
            .is_some_and(|t| now.duration_since(*t) < self.cooldown)
    }

    fn mark(&self, index: usize, failed: bool) {
        let mut map = self
            .failed_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if failed {
            map.insert(index, Instant::now());
        } else {
            map.remove(&index);
        }
    }

    fn needs(&self, request: &ChatRequest) -> Needs {
        // One count for all candidates, made by the agent as the conversation grew (a route's
        // name counts with the documented fallback encoding, cl100k, close enough to compare
        // context windows and prices); counted here only for a request that carries none.
        Needs {
            tools: !request.tools.is_empty(),
            prompt_tokens: request.estimated_prompt_tokens(),
            max_output: request.max_tokens.map_or(DEFAULT_MAX_OUTPUT, u64::from),
            min_tier: self.min_tier,
        }
    }

    fn candidates(&self) -> Vec<Candidate> {
        self.targets.iter().map(|t| t.candidate.clone()).collect()
    }

    /// The budget's worst case for `request` on this route: the dearest capable candidate (a
    /// fallback may land there). `None` when a capable candidate is unpriced or none is capable.
    pub fn worst_case(&self, request: &ChatRequest) -> Option<f64> {
        let (ranked, _) = rank(&self.candidates(), &self.table, &self.needs(request));
        ranked
            .iter()
            .map(|r| r.estimate)
            .try_fold(None, |max: Option<f64>, e| {
                e.map(|e| Some(max.map_or(e, |m| m.max(e))))
            })
            .flatten()
    }

    async fn route(&self, request: ChatRequest) -> Result<ChatStream, ProviderError> {
        let candidates = self.candidates();
        let (ranked, rejected) = rank(&candidates, &self.table, &self.needs(&request));
        let rejected: Vec<String> = rejected
            .iter()
            .map(|r| format!("{}: {}", candidates[r.index], r.reason))
            .collect();
        if ranked.is_empty() {
            return Err(ProviderError::new(
                ProviderErrorKind::Other,
                format!(
                    "route {}: no candidate can serve this request ({})",
                    self.name,
                    rejected.join("; ")
                ),
            ));
        }
        // Healthy candidates first, each group cheapest first.
        let now = Instant::now();
        let (healthy, resting): (Vec<_>, Vec<_>) = ranked
            .into_iter()
            .partition(|r| !self.recently_failed(r.index, now));
        let mut failures = Vec::new();
        let mut last_error = None;
        for (position, r) in healthy.iter().chain(resting.iter()).enumerate() {
            let target = &self.targets[r.index];
            let mut req = request.clone();
            req.model = target.candidate.model.clone();
            match first_item(target.provider.stream(req).await).await {
                Ok(stream) => {
                    self.mark(r.index, false);
                    *self
                        .last_choice
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner) = Some(target.candidate.clone());
                    let report = RouteReport {
                        route: self.name.clone(),
                        chosen: target.candidate.clone(),
                        reason: choice_reason(&target.candidate, r, position, &failures),
                        rejected,
                        failures,
                    };
                    tracing::info!("{}", report.reason);
                    if let Some(observer) = &self.observer {
                        observer(&report);
                    }
                    return Ok(stream);
                }
                Err(e) => {
                    self.mark(r.index, true);
                    tracing::warn!("route {}: {} failed: {e}", self.name, target.candidate);
                    failures.push(format!("{} failed: {}", target.candidate, e.message));
                    last_error = Some(e);
                }
            }
        }
        let kind = last_error.map_or(ProviderErrorKind::Other, |e| e.kind);
        Err(ProviderError::new(
            kind,
            format!(
                "route {}: every candidate failed ({})",
                self.name,
                failures.join("; ")
            ),
        ))
    }
}

/// Waits for the stream's first item: an error there (or before) is a failed attempt; otherwise
/// the stream is handed back whole, first item included.
async fn first_item(
    started: Result<ChatStream, ProviderError>,
) -> Result<ChatStream, ProviderError> {
    let mut stream = started?;
    match stream.next().await {
        Some(Err(e)) => Err(e),
        Some(Ok(item)) => Ok(futures::stream::once(async move { Ok(item) })
            .chain(stream)
            .boxed()),
        None => Ok(futures::stream::empty().boxed()),
    }
}

impl Provider for Router {
    fn name(&self) -> &str {
        &self.name
    }

    fn default_model(&self) -> &str {
        &self.name
    }

    fn served_by(&self) -> Option<(String, String)> {
        self.last_choice().map(|c| (c.provider, c.model))
    }

    fn uses_prompt_tokens(&self) -> bool {
        true
    }

    fn stream(&self, request: ChatRequest) -> BoxFuture<'_, Result<ChatStream, ProviderError>> {
        Box::pin(self.route(request))
    }
}

#[cfg(test)]
mod tests;
