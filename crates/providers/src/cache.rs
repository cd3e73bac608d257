//! Result caching: an identical deterministic request is answered from a recording.
//!
//! Only requests at temperature 0 are cacheable (anything else asks for variety). The key is a
//! stable 128-bit FNV-1a hash of a versioned JSON rendering of the provider name, the effective
//! model, the messages, the tool specs, `max_tokens` and the temperature; it does not depend on
//! the process, the platform or `HashMap` order. A recording is kept only when its stream ended
//! normally with a finish reason: errors and interrupted streams are never cached.
//!
//! [`ResponseCache`] is the storage contract: the store backs it in the app (a tree of
//! key -> [`RecordedResponse::to_bytes`]), [`MemoryCache`] in tests. A hit is replayed by
//! [`Cached`] with its usage zeroed, so it costs nothing, and reported to the hit observer so the
//! frontend can mark the answer as cached.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use futures::{Stream, StreamExt};
use llm_repl_core::provider::ChatStream;
use llm_repl_core::{ChatRequest, ListedModel, Provider, ProviderError, StreamItem, ToolSpec};
use llm_repl_protocol::{Message, Usage};
use serde::{Deserialize, Serialize};

/// Bumped when the key material or the recording format changes: old entries stop matching.
const KEY_VERSION: u32 = 1;

/// A cache key: 32 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CacheKey(pub String);

#[derive(Serialize)]
struct KeyMaterial<'a> {
    v: u32,
    provider: &'a str,
    model: &'a str,
    messages: &'a [Message],
    tools: &'a [ToolSpec],
    max_tokens: Option<u32>,
    temperature: Option<f32>,
}

/// The key of a request to `provider` (with `model` resolved: the request's, else the
/// provider's default), or `None` when the request is not deterministic (temperature not 0).
pub fn cache_key(provider: &str, default_model: &str, request: &ChatRequest) -> Option<CacheKey> {
    if request.temperature != Some(0.0) {
        return None;
    }
    let model = if request.model.is_empty() {
        default_model
    } else {
        &request.model
    };
    let material = KeyMaterial {
        v: KEY_VERSION,
        provider,
        model,
        messages: &request.messages,
        tools: &request.tools,
        max_tokens: request.max_tokens,
        temperature: request.temperature,
    };
    // Serialising plain data into a Vec cannot fail; if it ever did, not caching is correct.
    let bytes = serde_json::to_vec(&material).ok()?;
    Some(CacheKey(format!("{:032x}", fnv1a_128(&bytes))))
}

/// FNV-1a, 128-bit: stable across runs and platforms, no dependency.
fn fnv1a_128(bytes: &[u8]) -> u128 {
    const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013B;
    bytes
        .iter()
        .fold(OFFSET, |h, &b| (h ^ u128::from(b)).wrapping_mul(PRIME))
}

/// One stream item as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum RecordedItem {
    Text {
        text: String,
    },
    ToolCallDelta {
        index: u32,
        id: Option<String>,
        name: Option<String>,
        arguments: String,
    },
    Usage {
        usage: Usage,
    },
    Finish {
        reason: String,
    },
}

impl From<&StreamItem> for RecordedItem {
    fn from(item: &StreamItem) -> Self {
        match item {
            StreamItem::Text(text) => RecordedItem::Text { text: text.clone() },
            StreamItem::ToolCallDelta {
                index,
                id,
                name,
                arguments,
            } => RecordedItem::ToolCallDelta {
                index: *index,
                id: id.clone(),
                name: name.clone(),
                arguments: arguments.clone(),
            },
            StreamItem::Usage(usage) => RecordedItem::Usage { usage: *usage },
            StreamItem::Finish(reason) => RecordedItem::Finish {
                reason: reason.clone(),
            },
        }
    }
}

impl RecordedItem {
    /// The item replayed from the cache: usage becomes zero (a hit costs nothing).
    fn replay(&self) -> StreamItem {
        match self {
            RecordedItem::Text { text } => StreamItem::Text(text.clone()),
            RecordedItem::ToolCallDelta {
                index,
                id,
                name,
                arguments,
            } => StreamItem::ToolCallDelta {
                index: *index,
                id: id.clone(),
                name: name.clone(),
                arguments: arguments.clone(),
            },
            RecordedItem::Usage { .. } => StreamItem::Usage(Usage::default()),
            RecordedItem::Finish { reason } => StreamItem::Finish(reason.clone()),
        }
    }
}

/// A complete recorded answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedResponse {
    pub provider: String,
    pub model: String,
    /// Milliseconds since the Unix epoch when it was recorded.
    pub created_ms: u64,
    pub items: Vec<RecordedItem>,
}

impl RecordedResponse {
    /// The stored form (JSON).
    pub fn to_bytes(&self) -> Vec<u8> {
        // A struct of strings, numbers and enums always serialises.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads the stored form; `None` for anything unreadable (treated as a miss).
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice(bytes).ok()
    }

    /// The usage the original call reported (summed), e.g. to show what the hit saved.
    pub fn original_usage(&self) -> Usage {
        let mut total = Usage::default();
        for item in &self.items {
            if let RecordedItem::Usage { usage } = item {
                total.add(usage);
            }
        }
        total
    }
}

/// Where recordings live. Calls are synchronous and quick (a sled get/insert).
pub trait ResponseCache: Send + Sync {
    fn get(&self, key: &CacheKey) -> Option<RecordedResponse>;
    fn put(&self, key: &CacheKey, response: RecordedResponse);
}

/// A cache in memory, for tests and for runs without a store.
#[derive(Debug, Default)]
pub struct MemoryCache {
    entries: Mutex<HashMap<CacheKey, RecordedResponse>>,
}

impl MemoryCache {
    pub fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl ResponseCache for MemoryCache {
    fn get(&self, key: &CacheKey) -> Option<RecordedResponse> {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .cloned()
    }

    fn put(&self, key: &CacheKey, response: RecordedResponse) {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key.clone(), response);
    }
}

/// A cache hit, for the trace and the meter.
#[derive(Debug, Clone, PartialEq)]
pub struct CacheHit {
    pub key: CacheKey,
    pub provider: String,
    pub model: String,
    /// What the original call used (and this one did not pay for).
    pub saved: Usage,
}

/// Receives every [`CacheHit`].
pub type HitObserver = Arc<dyn Fn(&CacheHit) + Send + Sync>;

/// A provider wrapper answering identical deterministic requests from a [`ResponseCache`].
pub struct Cached {
    inner: Arc<dyn Provider>,
    cache: Arc<dyn ResponseCache>,
    on_hit: Option<HitObserver>,
}

impl Cached {
    pub fn new(inner: Arc<dyn Provider>, cache: Arc<dyn ResponseCache>) -> Self {
        Self {
            inner,
            cache,
            on_hit: None,
        }
    }

    /// Reports every hit to `observer`.
    pub fn with_hit_observer(mut self, observer: HitObserver) -> Self {
        self.on_hit = Some(observer);
        self
    }
}

impl Provider for Cached {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn default_model(&self) -> &str {
        self.inner.default_model()
    }

    fn is_mock(&self) -> bool {
        self.inner.is_mock()
    }

    fn context_window(&self, model: &str) -> BoxFuture<'_, Option<u64>> {
        self.inner.context_window(model)
    }

    fn list_models(&self) -> BoxFuture<'_, Result<Vec<ListedModel>, ProviderError>> {
        self.inner.list_models()
    }

    fn served_by(&self) -> Option<(String, String)> {
        self.inner.served_by()
    }

    fn uses_prompt_tokens(&self) -> bool {
        self.inner.uses_prompt_tokens()
    }

    fn stream(&self, request: ChatRequest) -> BoxFuture<'_, Result<ChatStream, ProviderError>> {
        Box::pin(async move {
            let key = cache_key(self.inner.name(), self.inner.default_model(), &request);
            let Some(key) = key else {
                return self.inner.stream(request).await;
            };
            if let Some(hit) = self.cache.get(&key) {
                tracing::debug!("response cache hit {}", key.0);
                if let Some(observer) = &self.on_hit {
                    observer(&CacheHit {
                        key,
                        provider: hit.provider.clone(),
                        model: hit.model.clone(),
                        saved: hit.original_usage(),
                    });
                }
                let items: Vec<Result<StreamItem, ProviderError>> =
                    hit.items.iter().map(|i| Ok(i.replay())).collect();
                return Ok(futures::stream::iter(items).boxed());
            }
            let model = if request.model.is_empty() {
                self.inner.default_model().to_string()
            } else {
                request.model.clone()
            };
            let inner = self.inner.stream(request).await?;
            Ok(Recorder {
                inner,
                items: Vec::new(),
                failed: false,
                finished: false,
                sink: Some((
                    self.cache.clone(),
                    key,
                    self.inner.name().to_string(),
                    model,
                )),
            }
            .boxed())
        })
    }
}

/// Passes a stream through while recording it; stores the recording when the stream ends cleanly.
struct Recorder {
    inner: ChatStream,
    items: Vec<RecordedItem>,
    failed: bool,
    finished: bool,
    sink: Option<(Arc<dyn ResponseCache>, CacheKey, String, String)>,
}

impl Stream for Recorder {
    type Item = Result<StreamItem, ProviderError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let polled = this.inner.poll_next_unpin(cx);
        match &polled {
            Poll::Ready(Some(Ok(item))) => {
                this.finished |= matches!(item, StreamItem::Finish(_));
                this.items.push(RecordedItem::from(item));
            }
            Poll::Ready(Some(Err(_))) => this.failed = true,
            Poll::Ready(None) => {
                if !this.failed
                    && this.finished
                    && let Some((cache, key, provider, model)) = this.sink.take()
                {
                    let created_ms = llm_repl_protocol::calendar::now_ms();
                    cache.put(
                        &key,
                        RecordedResponse {
                            provider,
                            model,
                            created_ms,
                            items: std::mem::take(&mut this.items),
                        },
                    );
                }
            }
            Poll::Pending => {}
        }
        polled
    }
}

#[cfg(test)]
mod tests;
