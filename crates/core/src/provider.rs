//! The contract every model provider implements: one streaming chat call.

use std::time::Duration;

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use llm_repl_protocol::{Message, Usage};

use crate::tool::ToolSpec;

/// One model call.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    pub model: String,
    pub messages: Vec<Message>,
    pub tools: Vec<ToolSpec>,
    pub max_tokens: Option<u32>,
    pub temperature: Option<f32>,
    /// The prompt's size as the agent counted it (incrementally, see
    /// [`crate::estimate::PromptTokens`]), so a provider that needs it (a route ranking its
    /// candidates) does not count the whole conversation again; `None`: not counted.
    pub prompt_tokens: Option<u64>,
}

impl ChatRequest {
    /// The prompt's tokens: the agent's count when it made one, else counted now with the
    /// request model's estimator.
    pub fn estimated_prompt_tokens(&self) -> u64 {
        self.prompt_tokens.unwrap_or_else(|| {
            crate::estimate::Estimator::for_model(&self.model).prompt(&self.messages, &self.tools)
        })
    }
}

/// One piece of a streamed answer.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamItem {
    Text(String),
    /// A piece of a tool call. Calls arrive split across chunks and interleaved by `index`; `id`
    /// and `name` come once (usually first), `arguments` in pieces to be concatenated.
    ToolCallDelta {
        index: u32,
        id: Option<String>,
        name: Option<String>,
        arguments: String,
    },
    Usage(Usage),
    /// The provider's finish reason (`stop`, `tool_calls`, `length`, ...).
    Finish(String),
}

/// Why a provider call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderErrorKind {
    /// No connection could be made (wrong base_url, server down, DNS).
    Connect,
    /// The server answered with an HTTP error status.
    Http { status: u16 },
    /// The key was missing or refused.
    Auth,
    /// The stream broke or sent something undecodable after it started.
    Stream,
    /// No answer in time.
    Timeout,
    /// Anything else (bad config, unsupported request).
    Other,
}

/// A provider failure, with a message fit to show the user in one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ProviderError {
    pub kind: ProviderErrorKind,
    pub message: String,
    /// A server's Retry-After, where it sent one.
    pub retry_after: Option<Duration>,
}

impl ProviderError {
    pub fn new(kind: ProviderErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            retry_after: None,
        }
    }

    /// Whether trying the same request again may succeed (429, 5xx, timeouts, connection
    /// failures, broken streams).
    pub fn is_retryable(&self) -> bool {
        match self.kind {
            ProviderErrorKind::Http { status } => status == 429 || status >= 500,
            ProviderErrorKind::Connect | ProviderErrorKind::Timeout | ProviderErrorKind::Stream => {
                true
            }
            ProviderErrorKind::Auth | ProviderErrorKind::Other => false,
        }
    }
}

/// One model as a provider's server lists it (`GET /models`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedModel {
    pub id: String,
    /// The context window in tokens, where the server reports one (OpenRouter's
    /// `context_length`, vLLM's `max_model_len`, llama.cpp's `meta.n_ctx`, ...).
    pub context_window: Option<u64>,
}

/// A stream of answer pieces.
pub type ChatStream = BoxStream<'static, Result<StreamItem, ProviderError>>;

/// A model behind some API.
pub trait Provider: Send + Sync {
    /// The configured entry's name (`openai`, `groq`, `mock`, ...).
    fn name(&self) -> &str;

    /// The model used when a request does not name one.
    fn default_model(&self) -> &str;

    /// True for the offline mock: frontends must label it.
    fn is_mock(&self) -> bool {
        false
    }

    /// The provider entry and model that served the last call, where that differs from
    /// `name()` and the requested model (a route picks one of several). Prices use it.
    fn served_by(&self) -> Option<(String, String)> {
        None
    }

    /// True when the provider reads [`ChatRequest::prompt_tokens`] (a route ranks its candidates
    /// by it): the agent then counts every request's prompt, incrementally, and sets it. Other
    /// providers are sent it only when the agent counted anyway (budgets, a full window), so a
    /// run that needs no count never builds a tokenizer.
    fn uses_prompt_tokens(&self) -> bool {
        false
    }

    /// The context window of `model` as the provider's model list reports it (OpenRouter's
    /// `context_length`, vLLM's `max_model_len`, ...); `None` when it reports none or cannot be
    /// asked. Asked only when neither the config nor the price table knows the window;
    /// implementations cache the answer.
    fn context_window(&self, _model: &str) -> BoxFuture<'_, Option<u64>> {
        Box::pin(async { None })
    }

    /// The models this provider's server lists, with their windows where it reports them (the
    /// model picker shows them). Empty where the provider lists none (a route, a provider
    /// without a model list); an error when the list was asked for and could not be had.
    /// Not cached here: callers that ask repeatedly keep the answer.
    fn list_models(&self) -> BoxFuture<'_, Result<Vec<ListedModel>, ProviderError>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    /// Starts one streaming call. Errors before the first item (connect, HTTP status) come from
    /// the future; errors after it from the stream.
    fn stream(&self, request: ChatRequest) -> BoxFuture<'_, Result<ChatStream, ProviderError>>;
}
