//! `Resilient`: a [`Provider`] wrapped around a route of providers, adding what real APIs need
//! and the inner clients do not do: first-token and idle timeouts, retries by error class
//! ([`class`]: a refused connection fails in seconds, a 5xx, 429 or timeout gets a longer
//! budget) with exponential backoff and jitter honouring Retry-After, resuming a stream that
//! broke after part of the answer was shown (see [`replay`]), failover along the route, and a
//! circuit breaker per provider. Every retry, failover and circuit change is reported through
//! `on_event` (the agent turns retries into one updating status line): nothing here is silent.
//!
//! An open circuit sends calls to the next provider of the route; when every provider left is
//! open, the call goes to the one that half-opens first as a probe rather than being refused
//! (with a single provider, the user's next prompt is that probe).
//!
//! [`heartbeat`] is the one-token liveness check `doctor` shows per provider. Connect timeouts
//! belong to the inner HTTP client. Time is tokio's, so tests run with paused
//! time.

mod backoff;
mod circuit;
mod class;
mod events;
mod heartbeat;
mod replay;
#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::stream::{self, StreamExt};
use llm_repl_core::config::ReliabilityConfig;
use llm_repl_core::provider::{
    ChatRequest, ChatStream, ListedModel, Provider, ProviderError, ProviderErrorKind, StreamItem,
};
use tokio::time::Instant;

pub use backoff::{BackoffSettings, Jitter};
pub use circuit::{Breaker, CircuitSettings, CircuitState, Transition};
pub use class::{RetryClass, class, reason};
pub use events::ReliabilityEvent;
pub use heartbeat::{Heartbeat, heartbeat};
pub use replay::{Delivered, Replay, Step};

/// How hard to try.
#[derive(Debug, Clone, PartialEq)]
pub struct ResilienceSettings {
    /// From sending the request to the first stream item (`ZERO`: no limit).
    pub first_token_timeout: Duration,
    /// Between two stream items (`ZERO`: no limit).
    pub idle_timeout: Duration,
    /// Retries per provider after a failure to connect (refused, unknown host): few, so a wrong
    /// `base_url` or a server that is down fails in seconds.
    pub max_retries: u32,
    /// Retries per provider after a transient failure (5xx, 429, timeout, a stream cut off):
    /// a longer budget, with backoff.
    pub max_transient_retries: u32,
    pub backoff: BackoffSettings,
    pub circuit: CircuitSettings,
    /// Retry a stream that broke after items were passed on, swallowing the repeated part
    /// (see [`replay`]); when false such a break ends the stream with its error.
    pub resume_partial: bool,
    /// A fixed jitter seed (tests); `None` seeds from the clock.
    pub jitter_seed: Option<u64>,
}

impl Default for ResilienceSettings {
    fn default() -> Self {
        Self::from_config(&ReliabilityConfig::default())
    }
}

impl ResilienceSettings {
    pub fn from_config(config: &ReliabilityConfig) -> Self {
        Self {
            first_token_timeout: Duration::from_secs(config.first_token_timeout_secs),
            idle_timeout: Duration::from_secs(config.idle_timeout_secs),
            max_retries: config.max_retries,
            max_transient_retries: config.max_transient_retries,
            backoff: BackoffSettings::default(),
            circuit: CircuitSettings::default(),
            resume_partial: true,
            jitter_seed: None,
        }
    }
}

/// Where [`ReliabilityEvent`]s go.
pub type EventSink = Arc<dyn Fn(ReliabilityEvent) + Send + Sync>;

struct Shared {
    route: Vec<Arc<dyn Provider>>,
    breakers: Mutex<Vec<Breaker>>,
    settings: ResilienceSettings,
    jitter: Jitter,
    on_event: EventSink,
}

impl Shared {
    fn breakers(&self) -> MutexGuard<'_, Vec<Breaker>> {
        // The lock is never held across a panic point that could poison it in a way that
        // matters: a breaker is plain data, so keep using it.
        self.breakers.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn emit(&self, event: ReliabilityEvent) {
        (self.on_event)(event);
    }

    fn name(&self, index: usize) -> String {
        self.route[index].name().to_string()
    }
}

/// A provider route with timeouts, retries, failover and circuit breakers.
#[derive(Clone)]
pub struct Resilient {
    shared: Arc<Shared>,
}

impl fmt::Debug for Resilient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resilient")
            .field("route", &self.route())
            .field("settings", &self.shared.settings)
            .finish()
    }
}

impl Resilient {
    /// Wraps a route: the first provider is used while healthy, the others in order after it.
    /// Fails when the route is empty.
    pub fn new(
        route: Vec<Arc<dyn Provider>>,
        settings: ResilienceSettings,
        on_event: EventSink,
    ) -> Result<Self, String> {
        if route.is_empty() {
            return Err("a provider route needs at least one provider".into());
        }
        let breakers = route
            .iter()
            .map(|_| Breaker::new(settings.circuit))
            .collect();
        let jitter = settings
            .jitter_seed
            .map_or_else(Jitter::from_clock, Jitter::new);
        Ok(Self {
            shared: Arc::new(Shared {
                route,
                breakers: Mutex::new(breakers),
                settings,
                jitter,
                on_event,
            }),
        })
    }

    /// Wraps one provider.
    pub fn single(
        provider: Arc<dyn Provider>,
        settings: ResilienceSettings,
        on_event: EventSink,
    ) -> Self {
        let breakers = vec![Breaker::new(settings.circuit)];
        let jitter = settings
            .jitter_seed
            .map_or_else(Jitter::from_clock, Jitter::new);
        Self {
            shared: Arc::new(Shared {
                route: vec![provider],
                breakers: Mutex::new(breakers),
                settings,
                jitter,
                on_event,
            }),
        }
    }

    /// The providers' names, in route order.
    pub fn route(&self) -> Vec<String> {
        (0..self.shared.route.len())
            .map(|i| self.shared.name(i))
            .collect()
    }

    /// Each provider's circuit, in route order (for the meter and `doctor`).
    pub fn health(&self) -> Vec<(String, CircuitState)> {
        let now = Instant::now();
        let breakers = self.shared.breakers();
        breakers
            .iter()
            .enumerate()
            .map(|(i, b)| (self.shared.name(i), b.state(now)))
            .collect()
    }
}

impl Provider for Resilient {
    fn name(&self) -> &str {
        self.shared.route[0].name()
    }

    fn default_model(&self) -> &str {
        self.shared.route[0].default_model()
    }

    fn context_window(&self, model: &str) -> BoxFuture<'_, Option<u64>> {
        self.shared.route[0].context_window(model)
    }

    fn list_models(&self) -> BoxFuture<'_, Result<Vec<ListedModel>, ProviderError>> {
        self.shared.route[0].list_models()
    }

    fn is_mock(&self) -> bool {
        self.shared.route[0].is_mock()
    }

    fn uses_prompt_tokens(&self) -> bool {
        self.shared.route.iter().any(|p| p.uses_prompt_tokens())
    }

    fn stream(&self, request: ChatRequest) -> BoxFuture<'_, Result<ChatStream, ProviderError>> {
        let mut call = Call::new(self.shared.clone(), request);
        Box::pin(async move {
            match call.next_item().await {
                None => Ok(stream::empty().boxed()),
                Some(Err(e)) => Err(e),
                Some(Ok(first)) => {
                    let rest = stream::unfold(call, |mut call| async move {
                        call.next_item().await.map(|item| (item, call))
                    });
                    Ok(stream::once(async move { Ok(first) }).chain(rest).boxed())
                }
            }
        })
    }
}

/// One attempt's open stream.
struct Attempt {
    stream: ChatStream,
    got_item: bool,
    started: Instant,
}

/// The state of one `stream` call across its attempts.
struct Call {
    shared: Arc<Shared>,
    request: ChatRequest,
    /// The route index in use.
    provider: usize,
    /// Retries spent on that provider.
    retries: u32,
    /// Retries announced since the last answer (the status line is up while this is > 0).
    announced: u32,
    current: Option<Attempt>,
    delivered: Delivered,
    replay: Option<Replay>,
    done: bool,
}

/// Runs `fut` with an optional limit; `Err(())` when the limit passed.
async fn limited<F: std::future::Future>(limit: Option<Duration>, fut: F) -> Result<F::Output, ()> {
    match limit {
        None => Ok(fut.await),
        Some(limit) => tokio::time::timeout(limit, fut).await.map_err(|_| ()),
    }
}

fn nonzero(d: Duration) -> Option<Duration> {
    (!d.is_zero()).then_some(d)
}

impl Call {
    fn new(shared: Arc<Shared>, request: ChatRequest) -> Self {
        Self {
            shared,
            request,
            provider: 0,
            retries: 0,
            announced: 0,
            current: None,
            delivered: Delivered::default(),
            replay: None,
            done: false,
        }
    }

    /// The next item for the consumer; `None` at the end. An `Err` is final.
    async fn next_item(&mut self) -> Option<Result<StreamItem, ProviderError>> {
        loop {
            if self.done {
                return None;
            }
            let step = if self.current.is_none() {
                self.connect().await.map(|()| None)
            } else {
                self.read().await
            };
            match step {
                Ok(Some(item)) => return Some(Ok(item)),
                Ok(None) => {}
                Err(error) => {
                    if let Some(fatal) = self.on_failure(error).await {
                        self.done = true;
                        self.retries_over(false);
                        return Some(Err(fatal));
                    }
                }
            }
        }
    }

    /// The request as provider `index` gets it: providers after the first use their own model.
    fn request_for(&self, index: usize) -> ChatRequest {
        let mut request = self.request.clone();
        if index > 0 {
            request.model = self.shared.route[index].default_model().to_string();
        }
        request
    }

    /// Picks a provider whose circuit lets calls through, from the current one on. When every
    /// one left is open, the one that half-opens first gets the call as a probe: refusing would
    /// leave the user nothing to do but wait (a success closes its circuit).
    fn pick(&mut self) -> usize {
        let now = Instant::now();
        let mut breakers = self.shared.breakers();
        let mut skipped = Vec::new();
        let mut chosen = None;
        for index in self.provider..self.shared.route.len() {
            if breakers[index].allow(now) {
                chosen = Some(index);
                break;
            }
            let retry_in = breakers[index]
                .opens_at()
                .map_or(Duration::ZERO, |t| t.saturating_duration_since(now));
            skipped.push((index, retry_in));
        }
        drop(breakers);
        let chosen = match chosen {
            Some(index) => index,
            None => {
                let probe = skipped
                    .iter()
                    .min_by_key(|(_, retry_in)| *retry_in)
                    .map_or(self.provider, |(i, _)| *i);
                skipped.retain(|(i, _)| *i != probe);
                probe
            }
        };
        for (i, retry_in) in &skipped {
            self.shared.emit(ReliabilityEvent::Skipped {
                provider: self.shared.name(*i),
                retry_in: *retry_in,
            });
        }
        chosen
    }

    async fn connect(&mut self) -> Result<(), ProviderError> {
        let index = self.pick();
        if index != self.provider {
            self.shared.emit(ReliabilityEvent::Failover {
                from: self.shared.name(self.provider),
                to: self.shared.name(index),
                error: "circuit open".into(),
            });
            self.provider = index;
            self.retries = 0;
        }
        let provider = self.shared.route[index].clone();
        let started = Instant::now();
        let limit = nonzero(self.shared.settings.first_token_timeout);
        match limited(limit, provider.stream(self.request_for(index))).await {
            Err(()) => Err(self.timeout_error(true)),
            Ok(Err(e)) => Err(e),
            Ok(Ok(stream)) => {
                self.current = Some(Attempt {
                    stream,
                    got_item: false,
                    started,
                });
                Ok(())
            }
        }
    }

    fn timeout_error(&self, first: bool) -> ProviderError {
        // No provider name: whoever shows the error puts it in front once.
        let s = &self.shared.settings;
        let message = if first {
            format!("no answer within {}s", s.first_token_timeout.as_secs_f64())
        } else {
            format!("stream idle for {}s", s.idle_timeout.as_secs_f64())
        };
        ProviderError::new(ProviderErrorKind::Timeout, message)
    }

    /// Reads one item of the open attempt: `Ok(Some)` to pass on, `Ok(None)` nothing to pass
    /// on (swallowed by the replay, or the end), `Err` a failure of the attempt.
    async fn read(&mut self) -> Result<Option<StreamItem>, ProviderError> {
        let settings = &self.shared.settings;
        let Some(attempt) = self.current.as_mut() else {
            return Ok(None);
        };
        let limit = if attempt.got_item {
            nonzero(settings.idle_timeout)
        } else {
            nonzero(settings.first_token_timeout)
                .map(|t| t.saturating_sub(attempt.started.elapsed()))
        };
        let first = !attempt.got_item;
        let next = match limited(limit, attempt.stream.next()).await {
            Err(()) => return Err(self.timeout_error(first)),
            Ok(next) => next,
        };
        match next {
            None => {
                self.current = None;
                self.done = true;
                self.record_success();
                if let Some(replay) = &self.replay {
                    replay
                        .finish(&self.delivered)
                        .map_err(|m| ProviderError::new(ProviderErrorKind::Stream, m))?;
                }
                Ok(None)
            }
            Some(Err(e)) => Err(e),
            Some(Ok(item)) => {
                attempt.got_item = true;
                if first {
                    self.record_success();
                }
                match self.replay.as_mut() {
                    None => {
                        self.delivered.record(&item);
                        Ok(Some(item))
                    }
                    Some(replay) => match replay.filter(&mut self.delivered, item) {
                        Step::Suppress => Ok(None),
                        Step::Forward(item) => Ok(Some(item)),
                        Step::Diverged(message) => {
                            // Final: retrying again would diverge again.
                            self.done = true;
                            Err(ProviderError::new(ProviderErrorKind::Stream, message))
                        }
                    },
                }
            }
        }
    }

    fn record_success(&mut self) {
        let transition = self.shared.breakers()[self.provider].record_success();
        if transition == Transition::Closed {
            self.shared.emit(ReliabilityEvent::CircuitClosed {
                provider: self.shared.name(self.provider),
            });
        }
        self.retries_over(true);
    }

    /// Ends the retry status line, if one is up.
    fn retries_over(&mut self, recovered: bool) {
        if self.announced > 0 {
            self.shared.emit(ReliabilityEvent::RetriesOver {
                provider: self.shared.name(self.provider),
                recovered,
                retries: self.announced,
            });
            self.announced = 0;
        }
    }

    /// Handles a failed attempt: `None` when another attempt follows (after its delay), or
    /// the error to end the call with.
    async fn on_failure(&mut self, error: ProviderError) -> Option<ProviderError> {
        self.current = None;
        if self.done {
            return Some(error);
        }
        let settings = self.shared.settings.clone();
        let name = self.shared.name(self.provider);
        let (transition, open) = {
            let mut breakers = self.shared.breakers();
            let t = breakers[self.provider].record_failure(Instant::now());
            (t, breakers[self.provider].opens_at().is_some())
        };
        if transition == Transition::Opened {
            self.shared.emit(ReliabilityEvent::CircuitOpened {
                provider: name.clone(),
                cooldown: settings.circuit.cooldown,
            });
        }
        let partial = !self.delivered.is_empty();
        if partial && !settings.resume_partial {
            return Some(error);
        }
        let budget = match class::class(&error) {
            RetryClass::Connect => settings.max_retries,
            RetryClass::Transient => settings.max_transient_retries,
            RetryClass::Final => 0,
        };
        let can_fail_over = self.provider + 1 < self.shared.route.len();
        // An open circuit moves the call on when there is somewhere to move it; the last
        // provider of the route keeps its retry budget.
        if self.retries < budget && !(open && can_fail_over) {
            let delay = backoff::delay(
                &settings.backoff,
                self.retries,
                error.retry_after,
                &self.shared.jitter,
            );
            if let Some(delay) = delay {
                self.retries += 1;
                self.announced += 1;
                self.shared.emit(ReliabilityEvent::Retry {
                    provider: name.clone(),
                    retry: self.retries,
                    max_retries: budget,
                    delay,
                    reason: class::reason(&error),
                    error: error.message.clone(),
                });
                tokio::time::sleep(delay).await;
                if partial {
                    self.replay = Some(Replay::new());
                    self.shared.emit(ReliabilityEvent::Resuming {
                        provider: name,
                        delivered_chars: self.delivered.chars(),
                    });
                }
                return None;
            }
        }
        // After a partial answer, failing over is a resume like any retry: the replay check
        // ends the stream cleanly if the next provider answers differently (as another model
        // usually will; the same model behind another endpoint often will not).
        if can_fail_over {
            let to = self.provider + 1;
            self.shared.emit(ReliabilityEvent::Failover {
                from: name,
                to: self.shared.name(to),
                error: error.message.clone(),
            });
            self.provider = to;
            self.retries = 0;
            if partial {
                self.replay = Some(Replay::new());
                self.shared.emit(ReliabilityEvent::Resuming {
                    provider: self.shared.name(to),
                    delivered_chars: self.delivered.chars(),
                });
            }
            return None;
        }
        if self.retries > 0 {
            let mut error = error;
            error.message = format!("{} (after {} retries)", error.message, self.retries);
            return Some(error);
        }
        Some(error)
    }
}
