use std::sync::atomic::{AtomicUsize, Ordering};

use futures::stream;
use llm_repl_core::StreamItem;
use llm_repl_core::ToolSpec;
use llm_repl_protocol::Message;

use super::*;

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Answer,
    FailToConnect,
    BreakAtOnce,
}

/// A provider that answers "<name>/<model>" or fails as told, counting its calls.
struct Fake {
    name: String,
    mode: Mode,
    calls: Arc<AtomicUsize>,
}

fn fake(name: &str, mode: Mode) -> (Arc<dyn Provider>, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let p = Fake {
        name: name.into(),
        mode,
        calls: calls.clone(),
    };
    (Arc::new(p), calls)
}

impl Provider for Fake {
    fn name(&self) -> &str {
        &self.name
    }

    fn default_model(&self) -> &str {
        "none"
    }

    fn stream(&self, request: ChatRequest) -> BoxFuture<'_, Result<ChatStream, ProviderError>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let text = format!("{}/{}", self.name, request.model);
        let mode = self.mode;
        Box::pin(async move {
            match mode {
                Mode::FailToConnect => Err(ProviderError::new(
                    ProviderErrorKind::Connect,
                    "connection refused",
                )),
                Mode::BreakAtOnce => Ok(stream::iter([Err(ProviderError::new(
                    ProviderErrorKind::Http { status: 503 },
                    "HTTP 503 overloaded",
                ))])
                .boxed()),
                Mode::Answer => Ok(stream::iter([
                    Ok(StreamItem::Text(text)),
                    Ok(StreamItem::Finish("stop".into())),
                ])
                .boxed()),
            }
        })
    }
}

fn target(provider: Arc<dyn Provider>, model: &str) -> RouteTarget {
    RouteTarget {
        candidate: Candidate::new(provider.name(), model),
        provider,
    }
}

fn request(tools: bool) -> ChatRequest {
    ChatRequest {
        model: "auto".into(),
        messages: vec![Message::user("What is 2+2?")],
        tools: if tools {
            vec![ToolSpec {
                name: "python".into(),
                description: "Run Python".into(),
                parameters: serde_json::json!({"type": "object"}),
            }]
        } else {
            vec![]
        },
        max_tokens: Some(1000),
        temperature: Some(0.0),
        prompt_tokens: None,
    }
}

async fn answer(router: &Router, req: ChatRequest) -> Result<Vec<StreamItem>, ProviderError> {
    let s = router.stream(req).await?;
    s.collect::<Vec<_>>().await.into_iter().collect()
}

fn reports() -> (RouteObserver, Arc<Mutex<Vec<RouteReport>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let observer: RouteObserver = Arc::new(move |r: &RouteReport| {
        sink.lock().unwrap().push(r.clone());
    });
    (observer, seen)
}

#[tokio::test]
async fn cheapest_healthy_capable_answers_after_a_fallback() {
    let (groq, groq_calls) = fake("groq", Mode::FailToConnect);
    let (mini, mini_calls) = fake("openai", Mode::Answer);
    let (big, big_calls) = fake("openrouter", Mode::Answer);
    let targets = vec![
        target(big, "openai/gpt-4o"),
        target(mini, "gpt-4o-mini"),
        target(groq, "llama-3.1-8b-instant"),
    ];
    let (observer, seen) = reports();
    let router = Router::new(
        "auto",
        targets,
        Arc::new(PriceTable::builtin().clone()),
        &RouteConfig::default(),
    )
    .unwrap()
    .with_observer(observer);

    let items = answer(&router, request(true)).await.unwrap();
    assert_eq!(items[0], StreamItem::Text("openai/gpt-4o-mini".into()));
    assert_eq!(
        groq_calls.load(Ordering::SeqCst),
        1,
        "the cheapest was tried first"
    );
    assert_eq!(mini_calls.load(Ordering::SeqCst), 1);
    assert_eq!(
        big_calls.load(Ordering::SeqCst),
        0,
        "the dearest was never needed"
    );
    assert_eq!(
        router.last_choice(),
        Some(Candidate::new("openai", "gpt-4o-mini"))
    );
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(
            seen[0].failures,
            ["groq:llama-3.1-8b-instant failed: connection refused"]
        );
        assert!(
            seen[0].reason.starts_with(
                "route -> openai:gpt-4o-mini: fallback #2 after groq:llama-3.1-8b-instant \
                 failed: connection refused, at most $0.000"
            ),
            "{}",
            seen[0].reason
        );
    }

    // The failed provider rests for the cooldown: the next call goes straight to the next.
    answer(&router, request(true)).await.unwrap();
    assert_eq!(groq_calls.load(Ordering::SeqCst), 1);
    assert_eq!(mini_calls.load(Ordering::SeqCst), 2);
    let seen = seen.lock().unwrap();
    assert!(
        seen[1].reason.contains("cheapest capable"),
        "{}",
        seen[1].reason
    );
}

#[tokio::test]
async fn a_stream_that_breaks_before_its_first_item_falls_back() {
    let (groq, _) = fake("groq", Mode::BreakAtOnce);
    let (openai, _) = fake("openai", Mode::Answer);
    let router = Router::new(
        "auto",
        vec![
            target(groq, "llama-3.1-8b-instant"),
            target(openai, "gpt-4.1-nano"),
        ],
        Arc::new(PriceTable::builtin().clone()),
        &RouteConfig::default(),
    )
    .unwrap();
    let items = answer(&router, request(false)).await.unwrap();
    assert_eq!(items[0], StreamItem::Text("openai/gpt-4.1-nano".into()));
}

#[tokio::test]
async fn the_agents_prompt_count_is_used_not_recounted() {
    let (openai, calls) = fake("openai", Mode::Answer);
    let router = Router::new(
        "small",
        vec![target(openai, "gpt-3.5-turbo")],
        Arc::new(PriceTable::builtin().clone()),
        &RouteConfig::default(),
    )
    .unwrap();
    assert!(
        router.uses_prompt_tokens(),
        "the agent must count for a route"
    );
    // A one-line prompt the agent counted as 20,000 tokens (its incremental count of a long
    // history): the route judges by that figure, so the 16k model cannot take it.
    let mut req = request(false);
    req.prompt_tokens = Some(20_000);
    let err = answer(&router, req).await.unwrap_err();
    assert!(
        err.message.contains("context window 16385"),
        "{}",
        err.message
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    // Without a count the request is counted here: a few tokens, served.
    let items = answer(&router, request(false)).await.unwrap();
    assert_eq!(items[0], StreamItem::Text("openai/gpt-3.5-turbo".into()));
}

#[tokio::test]
async fn minimum_tier_and_context_filter_candidates() {
    let (groq, groq_calls) = fake("groq", Mode::Answer);
    let (openai, _) = fake("openai", Mode::Answer);
    let config = RouteConfig {
        min_tier: 3,
        ..RouteConfig::default()
    };
    let router = Router::new(
        "best",
        vec![
            target(groq, "llama-3.1-8b-instant"),
            target(openai.clone(), "gpt-4.1"),
        ],
        Arc::new(PriceTable::builtin().clone()),
        &config,
    )
    .unwrap();
    let items = answer(&router, request(true)).await.unwrap();
    assert_eq!(items[0], StreamItem::Text("openai/gpt-4.1".into()));
    assert_eq!(groq_calls.load(Ordering::SeqCst), 0);

    // Nothing can hold a 20k-token answer on a 16k-context model.
    let only_small = Router::new(
        "small",
        vec![target(openai, "gpt-3.5-turbo")],
        Arc::new(PriceTable::builtin().clone()),
        &RouteConfig::default(),
    )
    .unwrap();
    let mut req = request(false);
    req.max_tokens = Some(20_000);
    let err = answer(&only_small, req).await.unwrap_err();
    assert_eq!(err.kind, ProviderErrorKind::Other);
    assert!(
        err.message.contains("no candidate can serve"),
        "{}",
        err.message
    );
    assert!(
        err.message.contains("context window 16385"),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn when_every_candidate_fails_the_error_lists_them() {
    let (a, _) = fake("groq", Mode::FailToConnect);
    let (b, _) = fake("openai", Mode::BreakAtOnce);
    let router = Router::new(
        "auto",
        vec![target(a, "llama-3.1-8b-instant"), target(b, "gpt-4o-mini")],
        Arc::new(PriceTable::builtin().clone()),
        &RouteConfig::default(),
    )
    .unwrap();
    let err = answer(&router, request(false)).await.unwrap_err();
    assert_eq!(err.kind, ProviderErrorKind::Http { status: 503 });
    assert_eq!(
        err.message,
        "route auto: every candidate failed (groq:llama-3.1-8b-instant failed: connection \
         refused; openai:gpt-4o-mini failed: HTTP 503 overloaded)"
    );
    assert_eq!(router.last_choice(), None);
}

#[test]
fn worst_case_is_the_dearest_capable_candidate() {
    let (a, _) = fake("groq", Mode::Answer);
    let (b, _) = fake("openai", Mode::Answer);
    let table = Arc::new(PriceTable::builtin().clone());
    let router = Router::new(
        "auto",
        vec![
            target(a.clone(), "llama-3.1-8b-instant"),
            target(b, "gpt-4.1-mini"),
        ],
        table.clone(),
        &RouteConfig::default(),
    )
    .unwrap();
    let mut req = request(false);
    req.messages = vec![];
    // Prompt: the reply priming only (3 tokens). gpt-4.1-mini: 3 * 0.40 + 1000 * 1.60.
    let w = router.worst_case(&req).unwrap();
    assert!(
        (w - (3.0 * 0.40 + 1000.0 * 1.60) / 1e6).abs() < 1e-12,
        "{w}"
    );
    let unpriced = Router::new(
        "auto",
        vec![
            target(a, "llama-3.1-8b-instant"),
            target(fake("x", Mode::Answer).0, "m"),
        ],
        table,
        &RouteConfig::default(),
    )
    .unwrap();
    assert_eq!(unpriced.worst_case(&req), None);
}

#[test]
fn a_route_needs_candidates() {
    let table = Arc::new(PriceTable::default());
    let err = Router::new("auto", vec![], table, &RouteConfig::default()).unwrap_err();
    assert_eq!(err, "route auto has no candidates");
}
