//! Token counting done locally: the prompt size for budget checks and routing, and the usage of a
//! call whose provider reported none (flagged `estimated`).
//!
//! Encodings (tiktoken-rs, tables compiled in):
//! - `o200k_base` for gpt-4o, gpt-4.1, gpt-5, the o-series (o1, o3, o4-mini) and gpt-oss;
//! - `cl100k_base` for gpt-4 / gpt-3.5 and, as the documented fallback, every other family
//!   (Llama, Qwen, Mistral, Claude, Gemini, ...). Their own tokenizers are not shipped; cl100k
//!   is close for modern BPE vocabularies (Llama 3's 128k vocabulary extends cl100k's, so
//!   cl100k counts at least as many tokens there), which errs on the side of a higher budget
//!   estimate.
//!
//! Building an encoder parses a multi-megabyte table (measured with `cargo bench -p
//! llm-repl-core --bench economics` on the 2-core development machine: o200k_base about 90 ms,
//! cl100k_base about 35 ms in release; about 0.5 s and 0.25 s in a debug build). It happens once
//! per encoding, lazily, behind a `OnceLock`. Call [`warm_up`] from a blocking task
//! at start-up so the first turn does not pay for it. Should an encoder ever fail to build, the
//! count falls back to one token per 4 bytes, rounded up.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use llm_repl_protocol::{Message, Role, Usage};
use tiktoken_rs::CoreBPE;

use crate::tool::ToolSpec;

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

/// A BPE encoding family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    O200kBase,
    Cl100kBase,
}

/// The encoding used to count tokens of `model` (see the module doc for the rules).
pub fn encoding_for_model(model: &str) -> Encoding {
    let m = model.to_ascii_lowercase();
    // OpenRouter-style `vendor/model`: the model part decides.
    let m = m.rsplit('/').next().unwrap_or(&m);
    let o_series = m.len() >= 2
        && m.starts_with('o')
        && m.as_bytes()[1].is_ascii_digit()
        && !m.starts_with("o0");
    if m.starts_with("gpt-4o")
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

fn encoder(encoding: Encoding) -> Option<&'static CoreBPE> {
    static O200K: OnceLock<Option<CoreBPE>> = OnceLock::new();
    static CL100K: OnceLock<Option<CoreBPE>> = OnceLock::new();
    let cell = match encoding {
        Encoding::O200kBase => &O200K,
        Encoding::Cl100kBase => &CL100K,
    };
    cell.get_or_init(|| {
        let built = match encoding {
            Encoding::O200kBase => tiktoken_rs::o200k_base().map_err(|e| e.to_string()),
            Encoding::Cl100kBase => tiktoken_rs::cl100k_base().map_err(|e| e.to_string()),
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

/// Tokens of a piece of text for `model`.
pub fn estimate_text(model: &str, text: &str) -> u64 {
    count(encoding_for_model(model), text)
}

fn count(encoding: Encoding, text: &str) -> u64 {
    if text.is_empty() {
        return 0;
    }
    match encoder(encoding) {
        Some(bpe) => bpe.encode_ordinary(text).len() as u64,
        None => (text.len() as u64).div_ceil(4),
    }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
    }
}

/// Prompt tokens of a request: every message with its framing, the tool calls it carries, the
/// tool definitions, and the reply priming.
pub fn estimate_messages(model: &str, messages: &[Message], tools: &[ToolSpec]) -> u64 {
    let enc = encoding_for_model(model);
    let mut n = REPLY_PRIMING;
    for m in messages {
        n += PER_MESSAGE + count(enc, role_name(m.role)) + count(enc, &m.content);
        for call in &m.tool_calls {
            n += PER_TOOL_CALL + count(enc, &call.name) + count(enc, &call.arguments);
        }
        if let Some(id) = &m.tool_call_id {
            n += count(enc, id);
        }
    }
    for spec in tools {
        n += PER_TOOL_SPEC
            + count(enc, &spec.name)
            + count(enc, &spec.description)
            + count(enc, &spec.parameters.to_string());
    }
    n
}

/// The usage of a call whose provider reported none: the prompt counted, the answer's text and
/// tool-call arguments counted, flagged `estimated`.
pub fn estimate_usage(
    model: &str,
    messages: &[Message],
    tools: &[ToolSpec],
    answer: &Message,
) -> Usage {
    let enc = encoding_for_model(model);
    let mut output = count(enc, &answer.content);
    for call in &answer.tool_calls {
        output += PER_TOOL_CALL + count(enc, &call.name) + count(enc, &call.arguments);
    }
    Usage {
        input: estimate_messages(model, messages, tools),
        output,
        cached: 0,
        reasoning: 0,
        estimated: true,
    }
}

/// A rough token count (about four bytes a token) used when a provider reports no usage.
pub(crate) fn rough_text_tokens(text: &str) -> u64 {
    (text.len() as u64).div_ceil(4)
}

/// The rough count of a whole request, for the same case.
pub(crate) fn rough_request_tokens(request: &crate::provider::ChatRequest) -> u64 {
    let messages: u64 = request
        .messages
        .iter()
        .map(|m| {
            4 + rough_text_tokens(&m.content)
                + m.tool_calls
                    .iter()
                    .map(|c| rough_text_tokens(&c.arguments) + rough_text_tokens(&c.name))
                    .sum::<u64>()
        })
        .sum();
    let tools: u64 = request
        .tools
        .iter()
        .map(|t| rough_text_tokens(&t.parameters.to_string()) + rough_text_tokens(&t.description))
        .sum();
    messages + tools
}

#[cfg(test)]
mod tests {
    use super::*;
    use llm_repl_protocol::ToolCall;

    #[test]
    fn encodings_by_family() {
        for m in [
            "gpt-4o",
            "gpt-4o-mini-2024-07-18",
            "gpt-4.1-nano",
            "o3",
            "o4-mini",
            "gpt-5",
        ] {
            assert_eq!(encoding_for_model(m), Encoding::O200kBase, "{m}");
        }
        assert_eq!(
            encoding_for_model("openai/gpt-4o-mini"),
            Encoding::O200kBase
        );
        assert_eq!(
            encoding_for_model("openai/gpt-oss-120b"),
            Encoding::O200kBase
        );
        for m in [
            "gpt-4",
            "gpt-3.5-turbo",
            "llama-3.3-70b-versatile",
            "qwen/qwen3-32b",
            "ollama",
        ] {
            assert_eq!(encoding_for_model(m), Encoding::Cl100kBase, "{m}");
        }
    }

    #[test]
    fn text_counts_are_exact() {
        assert_eq!(estimate_text("gpt-4o", ""), 0);
        assert_eq!(estimate_text("gpt-4o", "hello world"), 2);
        assert_eq!(estimate_text("gpt-3.5-turbo", "hello world"), 2);
        // Same text, different vocabularies.
        let text = "Straße naïve 東京 🙂";
        assert_ne!(estimate_text("gpt-4o", text), 0);
        assert_ne!(estimate_text("gpt-4", text), 0);
    }

    #[test]
    fn messages_include_framing_roles_calls_and_tools() {
        // reply priming 3 + framing 3 + "user" 1 + "hello world" 2
        assert_eq!(
            estimate_messages("gpt-4o", &[Message::user("hello world")], &[]),
            9
        );
        let call = ToolCall {
            id: "c1".into(),
            name: "python".into(),
            arguments: r#"{"code":"1+1"}"#.into(),
        };
        let with_call = [
            Message::user("hello world"),
            Message::assistant("", vec![call]),
        ];
        let n = estimate_messages("gpt-4o", &with_call, &[]);
        let call_tokens = PER_TOOL_CALL
            + estimate_text("gpt-4o", "python")
            + estimate_text("gpt-4o", r#"{"code":"1+1"}"#);
        assert_eq!(
            n,
            9 + PER_MESSAGE + estimate_text("gpt-4o", "assistant") + call_tokens
        );
        let spec = ToolSpec {
            name: "python".into(),
            description: "Run Python".into(),
            parameters: serde_json::json!({"type": "object"}),
        };
        let with_tool = estimate_messages("gpt-4o", &[Message::user("hello world")], &[spec]);
        let spec_tokens = PER_TOOL_SPEC
            + estimate_text("gpt-4o", "python")
            + estimate_text("gpt-4o", "Run Python")
            + estimate_text("gpt-4o", r#"{"type":"object"}"#);
        assert_eq!(with_tool, 9 + spec_tokens);
    }

    #[test]
    fn estimated_usage_is_flagged() {
        let u = estimate_usage(
            "gpt-4o-mini",
            &[Message::user("hello world")],
            &[],
            &Message::assistant("hello world", vec![]),
        );
        assert_eq!((u.input, u.output, u.cached), (9, 2, 0));
        assert!(u.estimated);
    }

    #[test]
    fn warm_up_builds_once() {
        let _elapsed = warm_up();
        let a = encoder(Encoding::O200kBase).map(|e| e as *const CoreBPE);
        let b = encoder(Encoding::O200kBase).map(|e| e as *const CoreBPE);
        assert!(a.is_some());
        assert_eq!(a, b, "one encoder, built once");
    }
}
