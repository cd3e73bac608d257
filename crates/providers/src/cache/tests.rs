use std::sync::atomic::{AtomicUsize, Ordering};

use llm_repl_core::ProviderErrorKind;

use super::*;

/// Answers with a text, a tool call, usage and a finish; or breaks mid-stream.
struct Server {
    calls: Arc<AtomicUsize>,
    broken: bool,
}

impl Provider for Server {
    fn name(&self) -> &str {
        "openai"
    }

    fn default_model(&self) -> &str {
        "gpt-4o-mini"
    }

    fn stream(&self, _: ChatRequest) -> BoxFuture<'_, Result<ChatStream, ProviderError>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let mut items = vec![
            Ok(StreamItem::Text("4".into())),
            Ok(StreamItem::ToolCallDelta {
                index: 0,
                id: Some("c1".into()),
                name: Some("python".into()),
                arguments: "{}".into(),
            }),
        ];
        if self.broken {
            items.push(Err(ProviderError::new(ProviderErrorKind::Stream, "reset")));
        } else {
            items.push(Ok(StreamItem::Usage(Usage {
                input: 120,
                output: 7,
                ..Usage::default()
            })));
            items.push(Ok(StreamItem::Finish("stop".into())));
        }
        Box::pin(async move { Ok(futures::stream::iter(items).boxed()) })
    }
}

type Setup = (
    Cached,
    Arc<AtomicUsize>,
    Arc<MemoryCache>,
    Arc<Mutex<Vec<CacheHit>>>,
);

fn setup(broken: bool) -> Setup {
    let calls = Arc::new(AtomicUsize::new(0));
    let cache = Arc::new(MemoryCache::default());
    let hits = Arc::new(Mutex::new(Vec::new()));
    let sink = hits.clone();
    let provider = Cached::new(
        Arc::new(Server {
            calls: calls.clone(),
            broken,
        }),
        cache.clone(),
    )
    .with_hit_observer(Arc::new(move |h: &CacheHit| {
        sink.lock().unwrap().push(h.clone())
    }));
    (provider, calls, cache, hits)
}

fn request(temperature: Option<f32>, prompt: &str) -> ChatRequest {
    ChatRequest {
        model: String::new(),
        messages: vec![Message::user(prompt)],
        tools: vec![],
        max_tokens: Some(100),
        temperature,
        prompt_tokens: None,
    }
}

async fn run(p: &Cached, req: ChatRequest) -> Vec<Result<StreamItem, ProviderError>> {
    p.stream(req).await.unwrap().collect().await
}

#[tokio::test]
async fn the_second_identical_request_never_reaches_the_provider() {
    let (p, calls, cache, hits) = setup(false);
    let first = run(&p, request(Some(0.0), "2+2?")).await;
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(cache.len(), 1);
    let second = run(&p, request(Some(0.0), "2+2?")).await;
    assert_eq!(calls.load(Ordering::SeqCst), 1, "answered from the cache");
    // Same answer, but the usage is zero: a hit costs nothing.
    assert_eq!(first.len(), 4);
    assert_eq!(second[..2], first[..2]);
    assert_eq!(second[2], Ok(StreamItem::Usage(Usage::default())));
    assert_eq!(second[3], Ok(StreamItem::Finish("stop".into())));
    let hits = hits.lock().unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(
        (hits[0].provider.as_str(), hits[0].model.as_str()),
        ("openai", "gpt-4o-mini")
    );
    assert_eq!((hits[0].saved.input, hits[0].saved.output), (120, 7));
}

#[tokio::test]
async fn only_deterministic_identical_requests_hit() {
    let (p, calls, cache, _) = setup(false);
    run(&p, request(Some(0.7), "2+2?")).await;
    run(&p, request(Some(0.7), "2+2?")).await;
    run(&p, request(None, "2+2?")).await;
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert!(cache.is_empty());
    run(&p, request(Some(0.0), "2+2?")).await;
    run(&p, request(Some(0.0), "3+3?")).await;
    assert_eq!(
        calls.load(Ordering::SeqCst),
        5,
        "a different prompt is a miss"
    );
}

#[tokio::test]
async fn failed_and_interrupted_streams_are_not_cached() {
    let (p, _, cache, _) = setup(true);
    let items = run(&p, request(Some(0.0), "2+2?")).await;
    assert!(items.last().unwrap().is_err());
    assert!(cache.is_empty());

    let (p, calls, cache, _) = setup(false);
    let mut s = p.stream(request(Some(0.0), "2+2?")).await.unwrap();
    let _first = s.next().await;
    drop(s); // the user interrupted
    assert!(cache.is_empty());
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[test]
fn keys_are_stable_and_cover_every_parameter() {
    let base = request(Some(0.0), "hello");
    let k = cache_key("openai", "gpt-4o-mini", &base).unwrap();
    assert_eq!(k.0.len(), 32);
    assert_eq!(
        Some(k.clone()),
        cache_key("openai", "gpt-4o-mini", &base.clone())
    );
    // An empty model means the provider's default: the same request as naming it.
    let mut named = base.clone();
    named.model = "gpt-4o-mini".into();
    assert_eq!(cache_key("openai", "x", &named), Some(k.clone()));
    let mut other = base.clone();
    other.max_tokens = Some(101);
    assert_ne!(cache_key("openai", "gpt-4o-mini", &other), Some(k.clone()));
    assert_ne!(cache_key("groq", "gpt-4o-mini", &base), Some(k.clone()));
    other = base.clone();
    other.tools.push(ToolSpec {
        name: "python".into(),
        description: String::new(),
        parameters: serde_json::json!({}),
    });
    assert_ne!(cache_key("openai", "gpt-4o-mini", &other), Some(k));
    // The hash function itself is fixed (stored keys must survive upgrades).
    assert_eq!(fnv1a_128(b""), 0x6c62272e07bb014262b821756295c58d);
    assert_eq!(fnv1a_128(b"a"), 0xd228cb696f1a8caf78912b704e4a8964);
}

#[test]
fn recordings_round_trip_through_bytes() {
    let r = RecordedResponse {
        provider: "openai".into(),
        model: "gpt-4o".into(),
        created_ms: 5,
        items: vec![
            RecordedItem::Text { text: "hi".into() },
            RecordedItem::Usage {
                usage: Usage {
                    input: 3,
                    output: 1,
                    ..Usage::default()
                },
            },
            RecordedItem::Finish {
                reason: "stop".into(),
            },
        ],
    };
    assert_eq!(RecordedResponse::from_bytes(&r.to_bytes()), Some(r.clone()));
    assert_eq!(RecordedResponse::from_bytes(b"{not json"), None);
    assert_eq!(r.original_usage().input, 3);
}
