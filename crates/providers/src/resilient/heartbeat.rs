//! The LLM heartbeat for `doctor` and the start-up check: a one-token completion through the
//! real provider path, timed (first item and whole call), bounded by a timeout.

use std::time::Duration;

use futures::StreamExt;
use llm_repl_core::provider::{
    ChatRequest, Provider, ProviderError, ProviderErrorKind, StreamItem,
};
use llm_repl_protocol::Message;
use tokio::time::Instant;

/// A heartbeat that came back.
#[derive(Debug, Clone, PartialEq)]
pub struct Heartbeat {
    /// The model asked.
    pub model: String,
    /// From sending to the first stream item.
    pub first_item: Duration,
    /// From sending to the end of the stream.
    pub total: Duration,
    /// What the model said (usually one token; may be empty).
    pub reply: String,
}

/// Asks `provider` for a one-token answer with `model` (empty: its default) within `timeout`.
pub async fn heartbeat(
    provider: &dyn Provider,
    model: &str,
    timeout: Duration,
) -> Result<Heartbeat, ProviderError> {
    let model = if model.is_empty() {
        provider.default_model().to_string()
    } else {
        model.to_string()
    };
    let request = ChatRequest {
        model: model.clone(),
        messages: vec![Message::user("Reply with the single word: ok")],
        tools: Vec::new(),
        max_tokens: Some(1),
        temperature: Some(0.0),
        prompt_tokens: None,
    };
    let started = Instant::now();
    let call = async {
        let mut stream = provider.stream(request).await?;
        let mut first_item = None;
        let mut reply = String::new();
        while let Some(item) = stream.next().await {
            let item = item?;
            first_item.get_or_insert_with(|| started.elapsed());
            if let StreamItem::Text(t) = item {
                reply.push_str(&t);
            }
        }
        let total = started.elapsed();
        Ok::<_, ProviderError>(Heartbeat {
            model: model.clone(),
            first_item: first_item.unwrap_or(total),
            total,
            reply,
        })
    };
    match tokio::time::timeout(timeout, call).await {
        Ok(result) => result,
        Err(_) => Err(ProviderError::new(
            ProviderErrorKind::Timeout,
            format!(
                "{}: no heartbeat answer from {model} within {}s",
                provider.name(),
                timeout.as_secs_f64()
            ),
        )),
    }
}
