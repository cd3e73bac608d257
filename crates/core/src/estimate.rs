//! The one token estimator: the prompt size for budget checks, routing and the context-window
//! warning, and the usage of a call whose provider reported none (flagged `estimated`).
//!
//! [`Estimator::for_model`] picks the encoding from the model's name, and every count goes
//! through [`Estimator::count`]; messages, tool definitions and whole prompts are sums of it with
//! the framing tokens below. Encodings (tiktoken-rs, tables compiled in):
//! - `o200k_base` for gpt-4o, gpt-4.1, gpt-5, the o-series (o1, o3, o4-mini) and gpt-oss;
//! - `cl100k_base` for gpt-4 / gpt-3.5 and, as the documented fallback, every other family
//!   (Llama, Qwen, Mistral, Claude, Gemini, ...). Their own tokenizers are not shipped; cl100k
//!   is close for modern BPE vocabularies (Llama 3's 128k vocabulary extends cl100k's, so
//!   cl100k counts at least as many tokens there), which errs on the side of a higher budget
//!   estimate;
//! - [`Encoding::Bytes`], one token per 4 bytes rounded up, for the offline `mock` model (it has
//!   no tokenizer and is free, so an exact count buys nothing, while building a table costs the
//!   first turn tens of milliseconds and megabytes), and whenever an encoder fails to build.
//!
//! Building an encoder parses a multi-megabyte table (measured with `cargo bench -p
//! llm-repl-core --bench economics` on the 2-core development machine: o200k_base about 90 ms,
//! cl100k_base about 35 ms in release; about 0.5 s and 0.25 s in a debug build). It happens once
//! per encoding, lazily, behind a `OnceLock`. Call [`warm_up`] from a blocking task
//! at start-up so the first turn does not pay for it.
//!
//! A conversation is counted incrementally: [`PromptTokens`] keeps each message's count, so a
//! step of the loop counts only the messages added since the last one.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use llm_repl_protocol::{Message, Role, Usage};
use tiktoken_rs::CoreBPE;

use crate::tool::ToolSpec;

mod prompt;
pub use prompt::PromptTokens;

/// Framing tokens per message (`<|start|>role ... <|end|>`), from OpenAI's cookbook.
const PER_MESSAGE: u64 = 3;
/// Tokens priming the reply (`<|start|>assistant<|message|>`), once per request.
const REPLY_PRIMING: u64 = 3;
/// Framing per tool call inside an assistant message.
const PER_TOOL_CALL: u64 = 3;
/// Framing per tool definition (the JSON of each spec is counted as text on top). OpenAI renders
/// tool definitions in an internal format; counting their JSON plus this margin overestimates
/// slightly, which is the safe side for budgets.
const PER_TOOL_SPEC: u64 = 8;

/// A token encoding: a BPE family, or the byte approximation (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    O200kBase,
    Cl100kBase,
    /// One token per 4 bytes, rounded up.
    Bytes,
}

impl Encoding {
    /// The encoding used to count tokens of `model` (see the module doc for the rules).
    pub fn for_model(model: &str) -> Encoding {
        let m = model.to_ascii_lowercase();
        // OpenRouter-style `vendor/model`: the model part decides.
        let m = m.rsplit('/').next().unwrap_or(&m);
        let o_series = m.len() >= 2
            && m.starts_with('o')
            && m.as_bytes()[1].is_ascii_digit()
            && !m.starts_with("o0");
        if m == "mock" {
            Encoding::Bytes
        } else if m.starts_with("gpt-4o")
            || m.starts_with("gpt-4.1")
            || m.starts_with("gpt-4.5")
            || m.starts_with("gpt-5")
            || m.starts_with("gpt-oss")
            || m.starts_with("chatgpt-4o")
            || o_series
        {
            Encoding::O200kBase
        } else {
            Encoding::Cl100kBase
        }
    }
}

fn encoder(encoding: Encoding) -> Option<&'static CoreBPE> {
    static O200K: OnceLock<Option<CoreBPE>> = OnceLock::new();
    static CL100K: OnceLock<Option<CoreBPE>> = OnceLock::new();
    let cell = match encoding {
        Encoding::O200kBase => &O200K,
        Encoding::Cl100kBase => &CL100K,
        Encoding::Bytes => return None,
    };
    cell.get_or_init(|| {
        let built = match encoding {
            Encoding::O200kBase => tiktoken_rs::o200k_base().map_err(|e| e.to_string()),
            _ => tiktoken_rs::cl100k_base().map_err(|e| e.to_string()),
        };
        built
            .map_err(|e| {
                tracing::error!("token encoder {encoding:?} failed to build, counting bytes: {e}")
            })
            .ok()
    })
    .as_ref()
}

/// Builds both encoders now (a blocking call: run it with `spawn_blocking` at start-up) and
/// returns how long it took. Later calls return almost at once.
pub fn warm_up() -> Duration {
    let start = Instant::now();
    let _ = encoder(Encoding::O200kBase);
    let _ = encoder(Encoding::Cl100kBase);
    start.elapsed()
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
    }
}

/// Counts tokens for one model; see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Estimator {
    encoding: Encoding,
}

impl Estimator {
    /// The estimator for `model`'s encoding (an empty name: the cl100k fallback).
    pub fn for_model(model: &str) -> Self {
        Self {
            encoding: Encoding::for_model(model),
        }
    }

    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// Tokens of a piece of text: the encoding's count, or one per 4 bytes (rounded up) for
    /// [`Encoding::Bytes`] and when the encoder could not be built.
    pub fn count(&self, text: &str) -> u64 {
        if text.is_empty() {
            return 0;
        }
        match encoder(self.encoding) {
            Some(bpe) => bpe.encode_ordinary(text).len() as u64,
            None => (text.len() as u64).div_ceil(4),
        }
    }

    /// One message as sent: its framing, role, text, the tool calls it carries and the id of the
    /// call it answers.
    pub fn message(&self, m: &Message) -> u64 {
        let mut n = PER_MESSAGE + self.count(role_name(m.role)) + self.count(&m.content);
        for call in &m.tool_calls {
            n += PER_TOOL_CALL + self.count(&call.name) + self.count(&call.arguments);
        }
        if let Some(id) = &m.tool_call_id {
            n += self.count(id);
        }
        n
    }

    /// The tool definitions of a request.
    pub fn tools(&self, tools: &[ToolSpec]) -> u64 {
        tools
            .iter()
            .map(|spec| {
                PER_TOOL_SPEC
                    + self.count(&spec.name)
                    + self.count(&spec.description)
                    + self.count(&spec.parameters.to_string())
            })
            .sum()
    }

    /// Prompt tokens of a request counted from scratch: every message, the tool definitions and
    /// the reply priming. A loop that sends a growing conversation counts it with
    /// [`PromptTokens`] instead, which gives the same figure.
    pub fn prompt(&self, messages: &[Message], tools: &[ToolSpec]) -> u64 {
        REPLY_PRIMING + messages.iter().map(|m| self.message(m)).sum::<u64>() + self.tools(tools)
    }

    /// The usage of a call whose provider reported none: the prompt (already counted) and the
    /// answer's text and tool calls, flagged `estimated`.
    pub fn usage(&self, prompt_tokens: u64, answer: &Message) -> Usage {
        let mut output = self.count(&answer.content);
        for call in &answer.tool_calls {
            output += PER_TOOL_CALL + self.count(&call.name) + self.count(&call.arguments);
        }
        Usage {
            input: prompt_tokens,
            output,
            cached: 0,
            reasoning: 0,
            estimated: true,
        }
    }
}

#[cfg(test)]
mod tests;
