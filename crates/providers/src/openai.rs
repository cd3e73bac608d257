//! Any OpenAI-compatible chat API (OpenAI, Groq, Ollama's /v1, OpenRouter, vLLM, llama.cpp...).
//!
//! async-openai carries the request, the auth and the SSE framing. We bring our own request and
//! chunk types (its `byot` mode) because compatible servers differ in small ways (missing ids,
//! extra fields, `reasoning_content`) and a strict schema would turn those into failures. Its
//! built-in retry layer is replaced by a plain transport that records Retry-After, so retries
//! are decided (and shown) by the caller, not hidden inside the client.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;
use futures::StreamExt;
use futures::future::BoxFuture;
use llm_repl_core::{
    ChatRequest, ChatStream, ListedModel, Provider, ProviderError, ProviderErrorKind, StreamItem,
};

use crate::wire;

/// Settings of one OpenAI-compatible endpoint.
#[derive(Clone)]
pub struct OpenAiSettings {
    pub name: String,
    /// Without a trailing `/`, e.g. `https://api.openai.com/v1`.
    pub base_url: String,
    /// The key itself (never logged or shown); `None` for keyless servers.
    pub api_key: Option<String>,
    /// The variable the key came from, for messages.
    pub api_key_env: String,
    pub model: String,
    pub headers: BTreeMap<String, String>,
    pub connect_timeout: Duration,
}

impl std::fmt::Debug for OpenAiSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiSettings")
            .field("name", &self.name)
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

/// A provider over an OpenAI-compatible `/chat/completions`.
pub struct OpenAiProvider {
    settings: OpenAiSettings,
    /// Built on first use: creating the HTTP client loads TLS roots, which start-up must not pay.
    http: OnceLock<Result<reqwest::Client, String>>,
    /// Context windows read from `GET /models`, asked once per process.
    windows: tokio::sync::OnceCell<std::collections::HashMap<String, u64>>,
}

impl OpenAiProvider {
    /// Checks the settings (header names and values, key characters) without connecting.
    pub fn new(mut settings: OpenAiSettings) -> Result<Self, String> {
        settings.base_url = settings.base_url.trim_end_matches('/').to_string();
        if !(settings.base_url.starts_with("http://") || settings.base_url.starts_with("https://"))
        {
            return Err(format!(
                "provider {}: base_url {:?} must start with http:// or https://",
                settings.name, settings.base_url
            ));
        }
        if let Some(key) = &settings.api_key
            && (key.is_empty() || !key.bytes().all(|b| b.is_ascii_graphic()))
        {
            return Err(format!(
                "provider {}: the key in {} is empty or contains spaces or control characters",
                settings.name, settings.api_key_env
            ));
        }
        for (name, value) in &settings.headers {
            reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("provider {}: bad header name {name:?}", settings.name))?;
            reqwest::header::HeaderValue::from_str(value).map_err(|_| {
                format!("provider {}: bad value for header {name:?}", settings.name)
            })?;
        }
        Ok(Self {
            settings,
            http: OnceLock::new(),
            windows: tokio::sync::OnceCell::new(),
        })
    }

    pub fn settings(&self) -> &OpenAiSettings {
        &self.settings
    }

    fn http(&self) -> Result<reqwest::Client, ProviderError> {
        self.http
            .get_or_init(|| {
                // The system's CA roots are read on the first https handshake (crate::tls),
                // never for an http:// server.
                reqwest::Client::builder()
                    .tls_backend_preconfigured(crate::tls::client_config()?)
                    .connect_timeout(self.settings.connect_timeout)
                    .build()
                    .map_err(|e| format!("cannot build the HTTP client: {e}"))
            })
            .clone()
            .map_err(|m| ProviderError::new(ProviderErrorKind::Other, m))
    }

    fn client(
        &self,
        slot: RetryAfterSlot,
    ) -> Result<async_openai::Client<OpenAIConfig>, ProviderError> {
        // Both set explicitly: OpenAIConfig::new() would read OPENAI_BASE_URL / OPENAI_API_KEY.
        let mut config = OpenAIConfig::new()
            .with_api_base(self.settings.base_url.clone())
            .with_api_key(self.settings.api_key.clone().unwrap_or_default())
            .with_org_id("")
            .with_project_id("");
        for (name, value) in &self.settings.headers {
            let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| ProviderError::new(ProviderErrorKind::Other, e.to_string()))?;
            config = config
                .with_header(name, value.as_str())
                .map_err(|e| ProviderError::new(ProviderErrorKind::Other, e.to_string()))?;
        }
        let http = self.http()?;
        Ok(async_openai::Client::build(http.clone(), config)
            .with_http_service(Transport { http, slot }))
    }
}

/// Turns a client error into a one-line message that names the server (never the key).
fn map_error(s: &OpenAiSettings, err: OpenAIError, retry_after: Option<Duration>) -> ProviderError {
    let mut out = match err {
        OpenAIError::Reqwest(e) if e.is_connect() => ProviderError::new(
            ProviderErrorKind::Connect,
            format!("cannot connect to {} ({})", s.base_url, root_cause(&e)),
        ),
        OpenAIError::Reqwest(e) if e.is_timeout() => ProviderError::new(
            ProviderErrorKind::Timeout,
            format!("{} did not answer in time", s.base_url),
        ),
        OpenAIError::Reqwest(e) => ProviderError::new(
            ProviderErrorKind::Stream,
            format!("request to {} failed: {}", s.base_url, root_cause(&e)),
        ),
        OpenAIError::ApiError(api) => {
            let status = api.status_code.as_u16();
            let detail = one_line(&api.api_error.message);
            if status == 401 || status == 403 {
                let hint = if s.api_key_env.is_empty() {
                    "this provider has no api_key_env configured".to_string()
                } else {
                    format!("check the key in {}", s.api_key_env)
                };
                ProviderError::new(
                    ProviderErrorKind::Auth,
                    format!(
                        "{} refused the key ({status}: {detail}); {hint}",
                        s.base_url
                    ),
                )
            } else if status == 404 {
                ProviderError::new(
                    ProviderErrorKind::Http { status },
                    format!(
                        "{} answered 404 for model {:?} ({detail}); check base_url and model",
                        s.base_url, s.model
                    ),
                )
            } else {
                ProviderError::new(
                    ProviderErrorKind::Http { status },
                    format!("{} answered {status}: {detail}", s.base_url),
                )
            }
        }
        OpenAIError::StreamError(e) => ProviderError::new(
            ProviderErrorKind::Stream,
            format!(
                "the stream from {} broke: {}",
                s.base_url,
                one_line(&e.to_string())
            ),
        ),
        OpenAIError::JSONDeserialize(e, _) => ProviderError::new(
            ProviderErrorKind::Stream,
            format!("{} sent a chunk that is not valid JSON ({e})", s.base_url),
        ),
        other => ProviderError::new(ProviderErrorKind::Other, one_line(&other.to_string())),
    };
    out.retry_after = retry_after;
    out
}

impl OpenAiProvider {
    /// `GET {base_url}/models` on this provider's client (see [`crate::models`]).
    async fn fetch_models(&self, timeout: Duration) -> Result<Vec<ListedModel>, ProviderError> {
        let http = self.http()?;
        let outcome = crate::models::list_with(
            &http,
            &self.settings.base_url,
            self.settings.api_key.as_deref(),
            &self.settings.headers,
            timeout,
        )
        .await;
        crate::models::into_result(outcome, &self.settings.base_url)
    }

    /// Each listed model's window, where the server reports one; any failure is an empty map
    /// (the window then stays unknown). Asked within a few seconds: a turn waits for it.
    async fn list_windows(&self) -> std::collections::HashMap<String, u64> {
        self.fetch_models(Duration::from_secs(5))
            .await
            .unwrap_or_default()
            .into_iter()
            .filter_map(|m| Some((m.id, m.context_window?)))
            .collect()
    }
}

impl Provider for OpenAiProvider {
    fn context_window(&self, model: &str) -> BoxFuture<'_, Option<u64>> {
        let model = model.to_string();
        Box::pin(async move {
            self.windows
                .get_or_init(|| self.list_windows())
                .await
                .get(&model)
                .copied()
        })
    }

    fn list_models(&self) -> BoxFuture<'_, Result<Vec<ListedModel>, ProviderError>> {
        Box::pin(self.fetch_models(Duration::from_secs(10)))
    }

    fn name(&self) -> &str {
        &self.settings.name
    }

    fn default_model(&self) -> &str {
        &self.settings.model
    }

    fn stream(&self, request: ChatRequest) -> BoxFuture<'_, Result<ChatStream, ProviderError>> {
        Box::pin(async move {
            let slot = RetryAfterSlot::default();
            let client = self.client(slot.clone())?;
            let body = wire::request_body(&request, &self.settings.model);
            let stream = client
                .chat()
                .create_stream_byot::<serde_json::Value, wire::Chunk>(body)
                .await
                .map_err(|e| map_error(&self.settings, e, slot.take()))?;
            let settings = self.settings.clone();
            let mapped = stream.map(move |chunk| match chunk {
                Ok(chunk) => Ok(wire::items(chunk)),
                Err(e) => Err(map_error(&settings, e, None)),
            });
            Ok(finish_guard(mapped, self.settings.base_url.clone()))
        })
    }
}

/// Wraps the mapped stream: flattens item batches and turns an early end (no finish reason
/// seen) into a `Stream` error so the caller never mistakes a cut stream for a complete answer.
fn finish_guard(
    inner: impl futures::Stream<Item = Result<Vec<StreamItem>, ProviderError>> + Send + 'static,
    base_url: String,
) -> ChatStream {
    let state = (
        Box::pin(inner),
        std::collections::VecDeque::new(),
        false,
        false,
    );
    futures::stream::unfold(state, move |(mut inner, mut queue, mut finished, mut ended)| {
        let base_url = base_url.clone();
        async move {
            loop {
                if let Some(item) = queue.pop_front() {
                    return Some((Ok(item), (inner, queue, finished, ended)));
                }
                if ended {
                    return None;
                }
                match inner.next().await {
                    Some(Ok(items)) => {
                        finished |= items.iter().any(|i| matches!(i, StreamItem::Finish(_)));
                        queue.extend(items);
                    }
                    Some(Err(e)) => {
                        ended = true;
                        return Some((Err(e), (inner, queue, finished, ended)));
                    }
                    None => {
                        ended = true;
                        if !finished {
                            let err = ProviderError::new(
                                ProviderErrorKind::Stream,
                                format!("the stream from {base_url} ended before the answer was complete"),
                            );
                            return Some((Err(err), (inner, queue, finished, ended)));
                        }
                    }
                }
            }
        }
    })
    .boxed()
}

fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause: &(dyn std::error::Error + 'static) = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    one_line(&cause.to_string())
}

fn one_line(text: &str) -> String {
    let folded = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if folded.chars().count() > 300 {
        let mut cut: String = folded.chars().take(300).collect();
        cut.push('…');
        cut
    } else {
        folded
    }
}

/// Where the transport leaves a server's Retry-After for the call that got it.
#[derive(Clone, Default)]
struct RetryAfterSlot(Arc<Mutex<Option<Duration>>>);

impl RetryAfterSlot {
    fn set(&self, value: Option<Duration>) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = value;
        }
    }

    fn take(&self) -> Option<Duration> {
        self.0.lock().ok().and_then(|mut s| s.take())
    }
}

/// A plain reqwest transport: no hidden retries; remembers Retry-After of error answers.
#[derive(Clone)]
struct Transport {
    http: reqwest::Client,
    slot: RetryAfterSlot,
}

impl tower::Service<HttpRequestFactory> for Transport {
    type Response = reqwest::Response;
    type Error = OpenAIError;
    type Future = BoxFuture<'static, Result<reqwest::Response, OpenAIError>>;

    fn poll_ready(
        &mut self,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: HttpRequestFactory) -> Self::Future {
        let http = self.http.clone();
        let slot = self.slot.clone();
        Box::pin(async move {
            let request = request.build().await?;
            let response = http.execute(request).await.map_err(OpenAIError::Reqwest)?;
            if !response.status().is_success() {
                slot.set(parse_retry_after(response.headers()));
            }
            Ok(response)
        })
    }
}

/// Retry-After in seconds (the HTTP-date form is rare for APIs and is ignored).
fn parse_retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    let secs: f64 = value.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(3600.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: &str) -> OpenAiSettings {
        OpenAiSettings {
            name: "t".into(),
            base_url: url.into(),
            api_key: Some("sk-secret".into()),
            api_key_env: "T_KEY".into(),
            model: "m".into(),
            headers: BTreeMap::new(),
            connect_timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn settings_are_checked_and_the_key_is_redacted() {
        assert!(OpenAiProvider::new(settings("ftp://x")).is_err());
        let mut bad = settings("http://x/v1/");
        bad.api_key = Some("sk bad".into());
        assert!(OpenAiProvider::new(bad).err().unwrap().contains("T_KEY"));
        let ok = OpenAiProvider::new(settings("http://x/v1/")).unwrap();
        assert_eq!(ok.settings().base_url, "http://x/v1");
        assert!(!format!("{:?}", ok.settings()).contains("sk-secret"));
    }

    #[test]
    fn retry_after_is_read_in_seconds() {
        let mut h = reqwest::header::HeaderMap::new();
        assert_eq!(parse_retry_after(&h), None);
        h.insert(reqwest::header::RETRY_AFTER, "2".parse().unwrap());
        assert_eq!(parse_retry_after(&h), Some(Duration::from_secs(2)));
    }
}
