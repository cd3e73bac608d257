//! The response cache backed by the session store, the layer the binary adds around the
//! configured provider. (The configured sampling temperature is set on each request by the
//! agent in core, so the cache sees the request as it is sent.)
//!
//! The providers crate defines the cache ([`Cached`], the key, the recording format) but must not
//! know the store, and the store must not know providers: this adapter is where the two meet.

use llm_repl_providers::cache::{CacheKey, RecordedResponse, ResponseCache};
use llm_repl_store::Store;

/// A [`ResponseCache`] over the store's `response_cache` tree (key bytes = the key's hex,
/// value = [`RecordedResponse::to_bytes`]). Store errors are logged and treated as misses: a
/// cache must never make a call fail.
pub struct StoreCache {
    store: Store,
}

impl StoreCache {
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

impl ResponseCache for StoreCache {
    fn get(&self, key: &CacheKey) -> Option<RecordedResponse> {
        match self.store.cache_get(key.0.as_bytes()) {
            Ok(bytes) => bytes.and_then(|b| RecordedResponse::from_bytes(&b)),
            Err(e) => {
                tracing::warn!("response cache read failed: {e}");
                None
            }
        }
    }

    fn put(&self, key: &CacheKey, response: RecordedResponse) {
        if let Err(e) = self.store.cache_put(key.0.as_bytes(), &response.to_bytes()) {
            tracing::warn!("response cache write failed: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use futures::StreamExt;
    use futures::future::BoxFuture;
    use llm_repl_core::provider::ChatStream;
    use llm_repl_core::{ChatRequest, Provider, ProviderError, StreamItem};
    use llm_repl_protocol::{Message, Usage};
    use llm_repl_providers::cache::{Cached, cache_key};

    use super::*;

    /// Answers "hi" with usage, remembering each request's temperature.
    #[derive(Default)]
    struct Echo {
        seen: Mutex<Vec<Option<f32>>>,
    }

    impl Provider for Echo {
        fn name(&self) -> &str {
            "echo"
        }

        fn default_model(&self) -> &str {
            "echo-1"
        }

        fn stream(&self, request: ChatRequest) -> BoxFuture<'_, Result<ChatStream, ProviderError>> {
            self.seen.lock().unwrap().push(request.temperature);
            let usage = Usage {
                input: 10,
                output: 2,
                ..Usage::default()
            };
            Box::pin(async move {
                Ok(futures::stream::iter([
                    Ok(StreamItem::Text("hi".into())),
                    Ok(StreamItem::Usage(usage)),
                    Ok(StreamItem::Finish("stop".into())),
                ])
                .boxed())
            })
        }
    }

    /// A request as the agent sends it with `temperature = 0` configured.
    fn request() -> ChatRequest {
        ChatRequest {
            model: String::new(),
            messages: vec![Message::user("hello")],
            tools: Vec::new(),
            max_tokens: None,
            temperature: Some(0.0),
            prompt_tokens: None,
        }
    }

    async fn drain(p: &dyn Provider) -> Vec<StreamItem> {
        let stream = p.stream(request()).await.unwrap();
        stream.map(|i| i.unwrap()).collect().await
    }

    #[tokio::test]
    async fn store_backed_cache_answers_the_second_identical_call_for_free() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let echo = Arc::new(Echo::default());
        let cached: Arc<dyn Provider> = Arc::new(Cached::new(
            echo.clone(),
            Arc::new(StoreCache::new(store.clone())),
        ));
        let first = drain(cached.as_ref()).await;
        let second = drain(cached.as_ref()).await;
        assert_eq!(*echo.seen.lock().unwrap(), vec![Some(0.0)], "one call only");
        assert_eq!(first[0], second[0]);
        assert_eq!(second[1], StreamItem::Usage(Usage::default()));
        let key = cache_key("echo", "echo-1", &request()).unwrap();
        let stored = store.cache_get(key.0.as_bytes()).unwrap().unwrap();
        let rec = RecordedResponse::from_bytes(&stored).unwrap();
        assert_eq!(
            (rec.provider.as_str(), rec.model.as_str()),
            ("echo", "echo-1")
        );
        assert_eq!(rec.original_usage().input, 10);
    }

    #[tokio::test]
    async fn other_temperatures_are_not_cached_and_unreadable_entries_are_misses() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let echo = Arc::new(Echo::default());
        let cached = Cached::new(echo.clone(), Arc::new(StoreCache::new(store)));
        let mut warm = request();
        warm.temperature = Some(0.7);
        let _ = cached.stream(warm.clone()).await.unwrap();
        let _ = cached.stream(warm).await.unwrap();
        assert_eq!(
            *echo.seen.lock().unwrap(),
            vec![Some(0.7), Some(0.7)],
            "both calls reached the provider"
        );

        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.cache_put(b"0123", b"not json").unwrap();
        let cache = StoreCache::new(store);
        assert!(cache.get(&CacheKey("0123".into())).is_none());
    }
}
