//! A minimal OpenAI-compatible [`Provider`] written straight on a TCP socket (HTTP/1.1,
//! chunked bodies, [`SseParser`]), for driving `Resilient` against the fake server without any
//! SDK. Errors map to [`ProviderErrorKind`] as a real client's would: refused connection ->
//! Connect, 401 -> Auth, other statuses -> Http (with Retry-After / retry-after-ms), anything
//! broken after the status line -> Stream.

use std::collections::VecDeque;
use std::time::Duration;

use futures::StreamExt;
use futures::future::BoxFuture;
use llm_repl_core::provider::{
    ChatRequest, ChatStream, Provider, ProviderError, ProviderErrorKind, StreamItem,
};
use llm_repl_protocol::Usage;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::sse::SseParser;

/// A provider entry pointing at `base_url` (`http://127.0.0.1:PORT/v1`).
#[derive(Debug, Clone)]
pub struct RawProvider {
    pub name: String,
    pub model: String,
    pub base_url: String,
    pub api_key: String,
}

impl RawProvider {
    pub fn new(name: &str, model: &str, base_url: &str) -> Self {
        Self {
            name: name.into(),
            model: model.into(),
            base_url: base_url.into(),
            api_key: "sk-raw".into(),
        }
    }
}

fn error(kind: ProviderErrorKind, message: impl Into<String>) -> ProviderError {
    ProviderError::new(kind, message)
}

fn stream_error(message: impl Into<String>) -> ProviderError {
    error(ProviderErrorKind::Stream, message)
}

/// The request body, in OpenAI's shape.
fn body(request: &ChatRequest, model: &str) -> Value {
    let messages: Vec<Value> = request
        .messages
        .iter()
        .map(|m| serde_json::to_value(m).unwrap_or(Value::Null))
        .collect();
    let tools: Vec<Value> = request
        .tools
        .iter()
        .map(|t| json!({"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}))
        .collect();
    let model = if request.model.is_empty() {
        model
    } else {
        &request.model
    };
    let mut v = json!({"model": model, "messages": messages, "stream": true,
        "stream_options": {"include_usage": true}});
    if !tools.is_empty() {
        v["tools"] = Value::Array(tools);
    }
    if let Some(n) = request.max_tokens {
        v["max_tokens"] = json!(n);
    }
    if let Some(t) = request.temperature {
        v["temperature"] = json!(t);
    }
    v
}

/// Host:port and path prefix of an `http://` base URL.
fn split_url(base: &str) -> Result<(String, String), ProviderError> {
    let rest = base
        .strip_prefix("http://")
        .ok_or_else(|| error(ProviderErrorKind::Other, "raw provider: http:// only"))?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    Ok((host.to_string(), format!("/{path}")))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Incremental `Transfer-Encoding: chunked` decoding.
#[derive(Debug, Default)]
struct Chunked {
    buf: Vec<u8>,
    finished: bool,
}

impl Chunked {
    /// Decodes what is complete in the buffer.
    fn decode(&mut self) -> Result<Vec<u8>, ProviderError> {
        let mut out = Vec::new();
        loop {
            if self.finished {
                return Ok(out);
            }
            let Some(eol) = find(&self.buf, b"\r\n") else {
                return Ok(out);
            };
            let size_text = String::from_utf8_lossy(&self.buf[..eol]);
            let size = usize::from_str_radix(size_text.trim(), 16)
                .map_err(|_| stream_error("bad chunk size"))?;
            if size == 0 {
                self.finished = true;
                return Ok(out);
            }
            if self.buf.len() < eol + 2 + size + 2 {
                return Ok(out);
            }
            out.extend_from_slice(&self.buf[eol + 2..eol + 2 + size]);
            self.buf.drain(..eol + 2 + size + 2);
        }
    }
}

/// One chunk's JSON as stream items.
fn items_of(chunk: &Value) -> Vec<StreamItem> {
    let mut out = Vec::new();
    if let Some(choice) = chunk["choices"].get(0) {
        let delta = &choice["delta"];
        if let Some(t) = delta["content"].as_str().filter(|t| !t.is_empty()) {
            out.push(StreamItem::Text(t.to_string()));
        }
        for call in delta["tool_calls"].as_array().into_iter().flatten() {
            out.push(StreamItem::ToolCallDelta {
                index: call["index"].as_u64().unwrap_or(0) as u32,
                id: call["id"].as_str().map(String::from),
                name: call["function"]["name"].as_str().map(String::from),
                arguments: call["function"]["arguments"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            });
        }
        if let Some(reason) = choice["finish_reason"].as_str() {
            out.push(StreamItem::Finish(reason.to_string()));
        }
    }
    let usage = &chunk["usage"];
    if usage.is_object() {
        out.push(StreamItem::Usage(Usage {
            input: usage["prompt_tokens"].as_u64().unwrap_or(0),
            output: usage["completion_tokens"].as_u64().unwrap_or(0),
            cached: usage["prompt_tokens_details"]["cached_tokens"]
                .as_u64()
                .unwrap_or(0),
            ..Usage::default()
        }));
    }
    out
}

/// The open body of a 200 answer.
struct Body {
    conn: TcpStream,
    chunked: Chunked,
    sse: SseParser,
    ready: VecDeque<StreamItem>,
    /// An error to surface once the items before it are out.
    failed: Option<ProviderError>,
    done: bool,
}

impl Body {
    async fn next(&mut self) -> Option<Result<StreamItem, ProviderError>> {
        loop {
            if let Some(item) = self.ready.pop_front() {
                return Some(Ok(item));
            }
            if let Some(e) = self.failed.take() {
                return Some(Err(e));
            }
            if self.done {
                return None;
            }
            let data = match self.chunked.decode() {
                Ok(d) => d,
                Err(e) => return self.fail(e),
            };
            for event in self.sse.feed(&data) {
                if event.data == "[DONE]" {
                    self.done = true;
                    break;
                }
                match serde_json::from_str::<Value>(&event.data) {
                    Ok(chunk) => self.ready.extend(items_of(&chunk)),
                    Err(e) => {
                        self.failed = Some(stream_error(format!("malformed chunk: {e}")));
                        self.done = true;
                        break;
                    }
                }
            }
            if !self.ready.is_empty() || self.done || self.failed.is_some() {
                continue;
            }
            if self.chunked.finished {
                return self.fail(stream_error("stream ended without [DONE]"));
            }
            let mut buf = [0u8; 8192];
            match self.conn.read(&mut buf).await {
                Ok(0) => return self.fail(stream_error("connection closed mid-stream")),
                Ok(n) => self.chunked.buf.extend_from_slice(&buf[..n]),
                Err(e) => return self.fail(stream_error(format!("connection lost: {e}"))),
            }
        }
    }

    fn fail(&mut self, e: ProviderError) -> Option<Result<StreamItem, ProviderError>> {
        self.done = true;
        self.ready.clear();
        Some(Err(e))
    }
}

fn retry_after(head: &str) -> Option<Duration> {
    let header = |name: &str| {
        head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    };
    if let Some(ms) = header("retry-after-ms").and_then(|v| v.parse::<u64>().ok()) {
        return Some(Duration::from_millis(ms));
    }
    let secs: f64 = header("retry-after")?.parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(3600.0)))
}

impl RawProvider {
    async fn open(&self, request: ChatRequest) -> Result<ChatStream, ProviderError> {
        let (host, prefix) = split_url(&self.base_url)?;
        let mut conn = TcpStream::connect(&host).await.map_err(|e| {
            error(
                ProviderErrorKind::Connect,
                format!("{}: cannot connect to {host}: {e}", self.name),
            )
        })?;
        let payload = body(&request, &self.model).to_string();
        let head = format!(
            "POST {prefix}/chat/completions HTTP/1.1\r\nhost: {host}\r\nauthorization: Bearer {}\r\n\
             content-type: application/json\r\naccept: text/event-stream\r\nconnection: close\r\n\
             content-length: {}\r\n\r\n",
            self.api_key,
            payload.len()
        );
        let sent = async {
            conn.write_all(head.as_bytes()).await?;
            conn.write_all(payload.as_bytes()).await
        };
        sent.await
            .map_err(|e| stream_error(format!("{}: sending failed: {e}", self.name)))?;
        // Read the head.
        let mut buf = Vec::new();
        let end = loop {
            if let Some(end) = find(&buf, b"\r\n\r\n") {
                break end;
            }
            let mut tmp = [0u8; 8192];
            match conn.read(&mut tmp).await {
                Ok(0) => {
                    return Err(stream_error(format!(
                        "{}: connection closed before the response",
                        self.name
                    )));
                }
                Ok(n) => buf.extend_from_slice(&tmp[..n]),
                Err(e) => return Err(stream_error(format!("{}: connection lost: {e}", self.name))),
            }
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        let rest = buf[end + 4..].to_vec();
        let status: u16 = head
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| stream_error("bad status line"))?;
        if status != 200 {
            let mut body = rest;
            let _ = conn.read_to_end(&mut body).await;
            let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let message = parsed["error"]["message"]
                .as_str()
                .map_or_else(|| String::from_utf8_lossy(&body).into_owned(), String::from);
            let kind = if status == 401 {
                ProviderErrorKind::Auth
            } else {
                ProviderErrorKind::Http { status }
            };
            let mut e = error(kind, format!("{}: HTTP {status}: {message}", self.name));
            e.retry_after = retry_after(&head);
            return Err(e);
        }
        let body = Body {
            conn,
            chunked: Chunked {
                buf: rest,
                finished: false,
            },
            sse: SseParser::new(),
            ready: VecDeque::new(),
            failed: None,
            done: false,
        };
        Ok(
            futures::stream::unfold(body, |mut b| async move { b.next().await.map(|i| (i, b)) })
                .boxed(),
        )
    }
}

impl Provider for RawProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn default_model(&self) -> &str {
        &self.model
    }

    fn stream(&self, request: ChatRequest) -> BoxFuture<'_, Result<ChatStream, ProviderError>> {
        Box::pin(self.open(request))
    }
}
