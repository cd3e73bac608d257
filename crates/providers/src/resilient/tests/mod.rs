//! Resilient over scripted in-memory providers, with paused tokio time.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use futures::future::BoxFuture;
use llm_repl_core::provider::{
    ChatRequest, ChatStream, Provider, ProviderError, ProviderErrorKind, StreamItem,
};
use tokio::time::Instant;

use super::*;

mod route;

/// What one call of a scripted provider does.
enum Act {
    /// The call fails before any item.
    Fail(ProviderError),
    /// The call never answers.
    Hang,
    /// The stream yields these (an `Err` breaks it), then ends.
    Items(Vec<Result<StreamItem, ProviderError>>),
    /// The stream yields these, then stalls forever.
    ItemsThenStall(Vec<StreamItem>),
}

struct Scripted {
    name: String,
    model: String,
    acts: Mutex<VecDeque<Act>>,
    calls: AtomicUsize,
    models: Mutex<Vec<String>>,
}

impl Scripted {
    fn new(name: &str, acts: Vec<Act>) -> Arc<Self> {
        Arc::new(Self {
            name: name.into(),
            model: format!("{name}-model"),
            acts: Mutex::new(acts.into()),
            calls: AtomicUsize::new(0),
            models: Mutex::new(Vec::new()),
        })
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl Provider for Scripted {
    fn name(&self) -> &str {
        &self.name
    }

    fn default_model(&self) -> &str {
        &self.model
    }

    fn stream(&self, request: ChatRequest) -> BoxFuture<'_, Result<ChatStream, ProviderError>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.models.lock().expect("lock").push(request.model);
        let act = self.acts.lock().expect("lock").pop_front();
        Box::pin(async move {
            match act {
                None => Err(err(ProviderErrorKind::Other, "script exhausted")),
                Some(Act::Fail(e)) => Err(e),
                Some(Act::Hang) => futures::future::pending().await,
                Some(Act::Items(items)) => Ok(futures::stream::iter(items).boxed()),
                Some(Act::ItemsThenStall(items)) => {
                    Ok(futures::stream::iter(items.into_iter().map(Ok))
                        .chain(futures::stream::pending())
                        .boxed())
                }
            }
        })
    }
}

fn err(kind: ProviderErrorKind, message: &str) -> ProviderError {
    ProviderError::new(kind, message)
}

fn http(status: u16) -> ProviderError {
    err(
        ProviderErrorKind::Http { status },
        &format!("HTTP {status}"),
    )
}

fn rate_limited(secs: u64) -> ProviderError {
    let mut e = http(429);
    e.retry_after = Some(Duration::from_secs(secs));
    e
}

fn text(t: &str) -> StreamItem {
    StreamItem::Text(t.into())
}

fn ok_answer(t: &str) -> Act {
    Act::Items(vec![Ok(text(t)), Ok(StreamItem::Finish("stop".into()))])
}

fn settings() -> ResilienceSettings {
    ResilienceSettings {
        first_token_timeout: Duration::from_secs(30),
        idle_timeout: Duration::from_secs(10),
        max_retries: 3,
        max_transient_retries: 3,
        backoff: BackoffSettings {
            base: Duration::from_secs(1),
            max: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
        },
        circuit: CircuitSettings {
            failure_threshold: 100,
            cooldown: Duration::from_secs(30),
        },
        resume_partial: true,
        jitter_seed: Some(1),
    }
}

type Events = Arc<Mutex<Vec<ReliabilityEvent>>>;

fn sink() -> (EventSink, Events) {
    let events: Events = Arc::default();
    let e = events.clone();
    (Arc::new(move |ev| e.lock().expect("lock").push(ev)), events)
}

fn request() -> ChatRequest {
    ChatRequest {
        model: "primary-model".into(),
        messages: Vec::new(),
        tools: Vec::new(),
        max_tokens: None,
        temperature: None,
        prompt_tokens: None,
    }
}

/// Runs one call to the end: (items, final error).
async fn run(p: &Resilient) -> (Vec<StreamItem>, Option<ProviderError>) {
    let mut stream = match p.stream(request()).await {
        Ok(s) => s,
        Err(e) => return (Vec::new(), Some(e)),
    };
    let mut items = Vec::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(i) => items.push(i),
            Err(e) => return (items, Some(e)),
        }
    }
    (items, None)
}

fn texts(items: &[StreamItem]) -> String {
    items
        .iter()
        .filter_map(|i| match i {
            StreamItem::Text(t) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn retries_429_honouring_retry_after_then_succeeds() {
    let inner = Scripted::new("p", vec![Act::Fail(rate_limited(7)), ok_answer("hi")]);
    let (on_event, events) = sink();
    let r = Resilient::single(inner.clone(), settings(), on_event);
    let t0 = Instant::now();
    let (items, error) = run(&r).await;
    assert_eq!(error, None);
    assert_eq!(texts(&items), "hi");
    assert_eq!(inner.calls(), 2);
    assert!(t0.elapsed() >= Duration::from_secs(7));
    let events = events.lock().expect("lock");
    assert!(matches!(
        &events[..],
        [
            ReliabilityEvent::Retry { retry: 1, max_retries: 3, delay, .. },
            ReliabilityEvent::RetriesOver { recovered: true, retries: 1, .. },
        ] if *delay == Duration::from_secs(7)
    ));
    assert_eq!(
        events[0].to_string(),
        "p: rate limited (HTTP 429); retrying in 7.0s (attempt 2 of 4)"
    );
}

#[tokio::test(start_paused = true)]
async fn backoff_grows_and_gives_up_after_max_retries() {
    let acts = (0..4).map(|_| Act::Fail(http(500))).collect();
    let inner = Scripted::new("p", acts);
    let (on_event, events) = sink();
    let r = Resilient::single(inner.clone(), settings(), on_event);
    let (_, error) = run(&r).await;
    let error = error.expect("fails");
    assert_eq!(error.kind, ProviderErrorKind::Http { status: 500 });
    assert!(
        error.message.contains("after 3 retries"),
        "{}",
        error.message
    );
    assert_eq!(inner.calls(), 4);
    let delays: Vec<Duration> = events
        .lock()
        .expect("lock")
        .iter()
        .filter_map(|e| match e {
            ReliabilityEvent::Retry { delay, .. } => Some(*delay),
            _ => None,
        })
        .collect();
    assert_eq!(delays.len(), 3);
    for (i, d) in delays.iter().enumerate() {
        let full = Duration::from_secs(1 << i);
        assert!(*d >= full / 2 && *d <= full, "retry {i}: {d:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn non_retryable_errors_are_not_retried() {
    let inner = Scripted::new(
        "p",
        vec![Act::Fail(err(ProviderErrorKind::Auth, "bad key"))],
    );
    let (on_event, events) = sink();
    let r = Resilient::single(inner.clone(), settings(), on_event);
    let (_, error) = run(&r).await;
    assert_eq!(error.expect("fails").message, "bad key");
    assert_eq!(inner.calls(), 1);
    assert!(events.lock().expect("lock").is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_break_before_the_first_item_is_retried() {
    let inner = Scripted::new(
        "p",
        vec![
            Act::Items(vec![Err(err(ProviderErrorKind::Stream, "cut"))]),
            ok_answer("whole"),
        ],
    );
    let (on_event, _) = sink();
    let r = Resilient::single(inner.clone(), settings(), on_event);
    let (items, error) = run(&r).await;
    assert_eq!(error, None);
    assert_eq!(texts(&items), "whole");
    assert_eq!(inner.calls(), 2);
}

fn broken_then_whole() -> Vec<Act> {
    vec![
        Act::Items(vec![
            Ok(text("Hello")),
            Ok(text(", wo")),
            Err(err(ProviderErrorKind::Stream, "connection closed")),
        ]),
        Act::Items(vec![
            Ok(text("Hel")),
            Ok(text("lo, world")),
            Ok(StreamItem::Finish("stop".into())),
        ]),
    ]
}

#[tokio::test(start_paused = true)]
async fn a_break_after_text_resumes_without_repeating() {
    let inner = Scripted::new("p", broken_then_whole());
    let (on_event, events) = sink();
    let r = Resilient::single(inner.clone(), settings(), on_event);
    let (items, error) = run(&r).await;
    assert_eq!(error, None);
    assert_eq!(
        items,
        vec![
            text("Hello"),
            text(", wo"),
            text("rld"),
            StreamItem::Finish("stop".into())
        ]
    );
    assert!(events.lock().expect("lock").iter().any(|e| matches!(
        e,
        ReliabilityEvent::Resuming {
            delivered_chars: 9,
            ..
        }
    )));
}

#[tokio::test(start_paused = true)]
async fn a_break_after_text_surfaces_when_resume_is_off() {
    let inner = Scripted::new("p", broken_then_whole());
    let (on_event, _) = sink();
    let s = ResilienceSettings {
        resume_partial: false,
        ..settings()
    };
    let r = Resilient::single(inner.clone(), s, on_event);
    let (items, error) = run(&r).await;
    assert_eq!(texts(&items), "Hello, wo");
    assert_eq!(error.expect("error").message, "connection closed");
    assert_eq!(inner.calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_divergent_retry_ends_with_the_partial_text_kept() {
    let inner = Scripted::new(
        "p",
        vec![
            Act::Items(vec![
                Ok(text("The answer is 4")),
                Err(err(ProviderErrorKind::Stream, "cut")),
            ]),
            ok_answer("Something else entirely"),
        ],
    );
    let (on_event, _) = sink();
    let r = Resilient::single(inner.clone(), settings(), on_event);
    let (items, error) = run(&r).await;
    assert_eq!(texts(&items), "The answer is 4");
    let error = error.expect("diverged");
    assert_eq!(error.kind, ProviderErrorKind::Stream);
    assert!(error.message.contains("differs"), "{}", error.message);
    assert_eq!(inner.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn first_token_and_idle_timeouts() {
    let inner = Scripted::new(
        "p",
        vec![
            Act::Hang,
            Act::ItemsThenStall(vec![]),
            Act::ItemsThenStall(vec![text("par")]),
            ok_answer("partial"),
        ],
    );
    let (on_event, events) = sink();
    let r = Resilient::single(inner.clone(), settings(), on_event);
    let t0 = Instant::now();
    let (items, error) = run(&r).await;
    assert_eq!(error, None);
    assert_eq!(texts(&items), "partial");
    assert_eq!(inner.calls(), 4);
    // Two first-token timeouts (30 s each), one idle timeout (10 s), backoff 0.5..1 + 1..2 + 2..4.
    let waited = t0.elapsed();
    assert!(
        waited >= Duration::from_secs(73) && waited <= Duration::from_secs(77),
        "{waited:?}"
    );
    let errors: Vec<String> = events
        .lock()
        .expect("lock")
        .iter()
        .filter_map(|e| match e {
            ReliabilityEvent::Retry { error, .. } => Some(error.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        errors,
        vec![
            "no answer within 30s",
            "no answer within 30s",
            "stream idle for 10s"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn dropping_the_call_during_backoff_stops_it() {
    let inner = Scripted::new("p", vec![Act::Fail(rate_limited(10)), ok_answer("late")]);
    let (on_event, _) = sink();
    let r = Resilient::single(inner.clone(), settings(), on_event);
    let fut = r.stream(request());
    // Interrupt after 1 s of the 10 s wait.
    assert!(
        tokio::time::timeout(Duration::from_secs(1), fut)
            .await
            .is_err()
    );
    tokio::time::advance(Duration::from_secs(60)).await;
    assert_eq!(inner.calls(), 1);
}

#[test]
fn empty_route_is_refused_and_settings_follow_the_config() {
    let (on_event, _) = sink();
    assert!(Resilient::new(Vec::new(), settings(), on_event).is_err());
    let s = ResilienceSettings::from_config(&llm_repl_core::config::ReliabilityConfig::default());
    assert_eq!(s.first_token_timeout, Duration::from_secs(120));
    assert_eq!(s.idle_timeout, Duration::from_secs(60));
    assert_eq!(s.max_retries, 3);
    assert_eq!(s.max_transient_retries, 8);
}

/// A provider that always fails with `error`, counting calls.
fn always(name: &str, error: ProviderError, n: usize) -> Arc<Scripted> {
    Scripted::new(name, (0..n).map(|_| Act::Fail(error.clone())).collect())
}

#[tokio::test(start_paused = true)]
async fn a_refused_connection_fails_in_seconds_at_the_defaults() {
    let refused = err(
        ProviderErrorKind::Connect,
        "cannot connect to http://127.0.0.1:9/v1 (Connection refused)",
    );
    let inner = always("p", refused, 20);
    let (on_event, events) = sink();
    let r = Resilient::single(inner.clone(), ResilienceSettings::default(), on_event);
    let t0 = Instant::now();
    let error = run(&r).await.1.expect("fails");
    assert_eq!(error.kind, ProviderErrorKind::Connect);
    assert_eq!(inner.calls(), 4, "the first attempt and max_retries (3)");
    assert!(t0.elapsed() <= Duration::from_secs(4), "{:?}", t0.elapsed());
    assert!(!error.message.contains('\n'));
    let events = events.lock().expect("lock");
    assert!(matches!(
        events.last(),
        Some(ReliabilityEvent::RetriesOver {
            recovered: false,
            retries: 3,
            ..
        })
    ));
}

#[tokio::test(start_paused = true)]
async fn server_errors_get_the_longer_budget_with_growing_backoff_at_the_defaults() {
    // Eight 500s in a row, then an answer: within the transient budget (8 retries).
    let mut acts: Vec<Act> = (0..8).map(|_| Act::Fail(http(500))).collect();
    acts.push(ok_answer("made it"));
    let inner = Scripted::new("p", acts);
    let (on_event, events) = sink();
    let r = Resilient::single(inner.clone(), ResilienceSettings::default(), on_event);
    let t0 = Instant::now();
    let (items, error) = run(&r).await;
    assert_eq!(error, None);
    assert_eq!(texts(&items), "made it");
    assert_eq!(inner.calls(), 9);
    // 0.5, 1, 2, 4, 8, 16, 20, 20 s before jitter (equal jitter: at least half of each).
    let waited = t0.elapsed();
    assert!(
        waited >= Duration::from_millis(35_750) && waited <= Duration::from_millis(71_500),
        "{waited:?}"
    );
    let events = events.lock().expect("lock").clone();
    let attempts: Vec<String> = events
        .iter()
        .filter(|e| matches!(e, ReliabilityEvent::Retry { .. }))
        .map(ToString::to_string)
        .collect();
    assert_eq!(attempts.len(), 8);
    assert!(
        attempts[0].starts_with("p: server error (HTTP 500); retrying in "),
        "{}",
        attempts[0]
    );
    assert!(attempts[7].ends_with("(attempt 9 of 9)"), "{}", attempts[7]);
    // Opened at the fifth failure; the only provider keeps its budget, then closes again.
    assert!(
        events
            .iter()
            .any(|e| matches!(e, ReliabilityEvent::CircuitOpened { .. }))
    );
    assert!(matches!(
        &events[events.len() - 2..],
        [
            ReliabilityEvent::CircuitClosed { .. },
            ReliabilityEvent::RetriesOver {
                recovered: true,
                retries: 8,
                ..
            }
        ]
    ));

    // One more 500 than the budget: the call fails after 9 attempts, in one line.
    let inner = always("p", http(503), 20);
    let (on_event, _) = sink();
    let r = Resilient::single(inner.clone(), ResilienceSettings::default(), on_event);
    let error = run(&r).await.1.expect("fails");
    assert_eq!(inner.calls(), 9);
    assert_eq!(error.message, "HTTP 503 (after 8 retries)");
}
