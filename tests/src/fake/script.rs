//! What the fake server answers: a serde-friendly script of responses.
//!
//! A [`Scripted`] response is either a high-level [`Reply`] (text, tool calls, usage, finish
//! reason, optional faults) expanded into OpenAI `chat.completion.chunk` frames when served, a
//! low-level [`StreamScript`] of raw frames, an [`HttpError`], or a connection [`Scripted::Reset`].
//! The same types are read from TOML or JSON script files by the `fake-openai` binary.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One response, consumed by one request to `/v1/chat/completions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Scripted {
    /// A streamed answer built from parts (see [`Reply`]).
    Reply(Reply),
    /// A stream of literal frames.
    Stream(StreamScript),
    /// An HTTP error status with an OpenAI-style error body.
    Error(HttpError),
    /// The connection is reset (RST) before any byte of a response.
    Reset,
}

impl Scripted {
    /// A plain text answer in one chunk, finish reason `stop`.
    pub fn text(text: impl Into<String>) -> Self {
        Reply::text(text).into()
    }

    /// An HTTP error with OpenAI's error JSON.
    pub fn error(status: u16, message: impl Into<String>) -> Self {
        Scripted::Error(HttpError::new(status, message))
    }

    /// 401 with `invalid_api_key`.
    pub fn unauthorized() -> Self {
        Scripted::Error(HttpError {
            error_type: "invalid_request_error".into(),
            code: Some("invalid_api_key".into()),
            ..HttpError::new(401, "Incorrect API key provided.")
        })
    }

    /// 429 with a `Retry-After` header of `secs` seconds.
    pub fn rate_limited(secs: u64) -> Self {
        Scripted::Error(HttpError {
            error_type: "requests".into(),
            code: Some("rate_limit_exceeded".into()),
            retry_after: Some(secs.to_string()),
            ..HttpError::new(429, "Rate limit reached, please try again later.")
        })
    }

    /// 429 with `retry-after-ms` (as OpenAI also sends) and `Retry-After: 0`.
    pub fn rate_limited_ms(ms: u64) -> Self {
        Scripted::Error(HttpError {
            error_type: "requests".into(),
            code: Some("rate_limit_exceeded".into()),
            retry_after: Some("0".into()),
            retry_after_ms: Some(ms),
            ..HttpError::new(429, "Rate limit reached, please try again later.")
        })
    }

    /// 500 `server_error`.
    pub fn server_error() -> Self {
        Scripted::Error(HttpError::new(
            500,
            "The server had an error while processing your request.",
        ))
    }
}

impl From<Reply> for Scripted {
    fn from(reply: Reply) -> Self {
        Scripted::Reply(reply)
    }
}

impl From<StreamScript> for Scripted {
    fn from(stream: StreamScript) -> Self {
        Scripted::Stream(stream)
    }
}

impl From<HttpError> for Scripted {
    fn from(error: HttpError) -> Self {
        Scripted::Error(error)
    }
}

/// An HTTP error response: `{"error": {"message", "type", "param", "code"}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HttpError {
    pub status: u16,
    pub message: String,
    #[serde(rename = "type")]
    pub error_type: String,
    pub code: Option<String>,
    /// The `Retry-After` header value, verbatim (seconds, usually).
    pub retry_after: Option<String>,
    /// The `retry-after-ms` header value.
    pub retry_after_ms: Option<u64>,
    /// A literal body instead of the error JSON.
    pub raw_body: Option<String>,
}

impl Default for HttpError {
    fn default() -> Self {
        Self::new(500, "error")
    }
}

impl HttpError {
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        let error_type = match status {
            401 | 403 | 404 => "invalid_request_error",
            429 => "requests",
            _ => "server_error",
        };
        Self {
            status,
            message: message.into(),
            error_type: error_type.into(),
            code: None,
            retry_after: None,
            retry_after_ms: None,
            raw_body: None,
        }
    }
}

/// One frame of a stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Frame {
    /// Written as `data: {json}\n\n`.
    Data(Value),
    /// Written verbatim (for malformed lines, comments, `event:` fields...).
    Raw(String),
    /// A pause before the next frame, in milliseconds (tokio time).
    PauseMs(u64),
}

/// How a stream ends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StreamEnd {
    /// `data: [DONE]` and a clean end of the HTTP body.
    #[default]
    Done,
    /// The connection closes without `[DONE]` and without the final HTTP chunk.
    Cut,
    /// Nothing more is sent; the connection stays open until the client gives up.
    Stall,
}

/// A literal stream: status 200, `text/event-stream`, the frames, then the end.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StreamScript {
    pub frames: Vec<Frame>,
    /// Pause between frames in milliseconds (a slow stream).
    pub chunk_delay_ms: u64,
    pub end: StreamEnd,
}

/// One tool call of a [`Reply`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ToolCallSpec {
    pub id: String,
    pub name: String,
    /// The full arguments text (need not be valid JSON: broken JSON is a fault to script).
    pub arguments: String,
    /// In how many chunks the arguments arrive (at least 1).
    pub pieces: usize,
}

impl Default for ToolCallSpec {
    fn default() -> Self {
        Self {
            id: String::new(),
            name: String::new(),
            arguments: String::new(),
            pieces: 3,
        }
    }
}

/// Token usage sent in a final chunk with `choices: []`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UsageSpec {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cached_tokens: u64,
}

/// A streamed answer described by its parts. Frames, in order: a role chunk, the text in
/// `text_chunks` pieces, the tool calls (interleaved by index when `interleave`), a chunk with
/// the finish reason, the usage chunk when `usage` is set, then the end. Faults apply to the
/// frame list (0-based frame positions, the role chunk being frame 0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Reply {
    /// The model named in the chunks; `None` echoes the request's model.
    pub model: Option<String>,
    pub text: String,
    pub text_chunks: usize,
    pub tool_calls: Vec<ToolCallSpec>,
    /// Interleave the tool calls' chunks by index instead of sending them one after another.
    pub interleave: bool,
    pub usage: Option<UsageSpec>,
    /// `None`: `tool_calls` when there are tool calls, else `stop`.
    pub finish_reason: Option<String>,
    pub chunk_delay_ms: u64,
    /// Pause before the first frame (time to first token), in milliseconds.
    pub first_delay_ms: u64,
    pub end: StreamEnd,
    /// Cut the connection after this many frames (no `[DONE]`).
    pub cut_after: Option<usize>,
    /// Stall after this many frames.
    pub stall_after: Option<usize>,
    /// Insert a malformed SSE line before this frame position.
    pub malformed_at: Option<usize>,
}

impl Default for Reply {
    fn default() -> Self {
        Self {
            model: None,
            text: String::new(),
            text_chunks: 1,
            tool_calls: Vec::new(),
            interleave: false,
            usage: None,
            finish_reason: None,
            chunk_delay_ms: 0,
            first_delay_ms: 0,
            end: StreamEnd::Done,
            cut_after: None,
            stall_after: None,
            malformed_at: None,
        }
    }
}

/// The malformed line injected by [`Reply::malformed_at`].
pub const MALFORMED_LINE: &str = "data: {\"id\":\"chatcmpl-broken\",\"choices\":[{\"delta\":\n\n";

impl Reply {
    /// A reply with this text in one chunk.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            ..Self::default()
        }
    }

    /// A reply with no text (add tool calls).
    pub fn empty() -> Self {
        Self::default()
    }

    /// Split the text into `n` chunks (by characters, as evenly as possible).
    pub fn chunks(mut self, n: usize) -> Self {
        self.text_chunks = n.max(1);
        self
    }

    /// Add a tool call whose arguments arrive in 3 pieces.
    pub fn tool_call(
        mut self,
        id: impl Into<String>,
        name: impl Into<String>,
        arguments: impl Into<String>,
    ) -> Self {
        self.tool_calls.push(ToolCallSpec {
            id: id.into(),
            name: name.into(),
            arguments: arguments.into(),
            pieces: 3,
        });
        self
    }

    /// Add a tool call whose arguments arrive in `pieces` pieces.
    pub fn tool_call_in(
        mut self,
        id: impl Into<String>,
        name: impl Into<String>,
        arguments: impl Into<String>,
        pieces: usize,
    ) -> Self {
        self.tool_calls.push(ToolCallSpec {
            id: id.into(),
            name: name.into(),
            arguments: arguments.into(),
            pieces: pieces.max(1),
        });
        self
    }

    /// Interleave several tool calls' chunks by index.
    pub fn interleaved(mut self) -> Self {
        self.interleave = true;
        self
    }

    pub fn usage(mut self, prompt: u64, completion: u64, cached: u64) -> Self {
        self.usage = Some(UsageSpec {
            prompt_tokens: prompt,
            completion_tokens: completion,
            cached_tokens: cached,
        });
        self
    }

    pub fn finish(mut self, reason: impl Into<String>) -> Self {
        self.finish_reason = Some(reason.into());
        self
    }

    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// A slow stream: this pause between frames.
    pub fn delay_ms(mut self, ms: u64) -> Self {
        self.chunk_delay_ms = ms;
        self
    }

    /// A pause before the first frame.
    pub fn first_delay_ms(mut self, ms: u64) -> Self {
        self.first_delay_ms = ms;
        self
    }

    /// Close the connection after `frames` frames, without `[DONE]`.
    pub fn cut_after(mut self, frames: usize) -> Self {
        self.cut_after = Some(frames);
        self
    }

    /// Send `frames` frames, then nothing while keeping the connection open.
    pub fn stall_after(mut self, frames: usize) -> Self {
        self.stall_after = Some(frames);
        self
    }

    /// Insert a malformed SSE data line before frame `position`.
    pub fn malformed_at(mut self, position: usize) -> Self {
        self.malformed_at = Some(position);
        self
    }
}
