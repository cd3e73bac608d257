//! OpenAI `chat.completion.chunk` JSON, and the expansion of a [`Reply`] into frames.
//!
//! The shapes follow OpenAI's streaming API exactly (and are checked against async-openai's
//! types by the self-tests), so a client that parses these parses the real thing.

use serde_json::{Value, json};

use super::script::{Frame, MALFORMED_LINE, Reply, StreamEnd, StreamScript, UsageSpec};

/// The `created` timestamp of every chunk (fixed: tests compare output).
pub const CREATED: u64 = 1_700_000_000;

/// A chunk with one choice carrying `delta` (and `finish_reason`).
pub fn choice_chunk(id: &str, model: &str, delta: Value, finish_reason: Option<&str>) -> Value {
    json!({
        "id": id,
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": model,
        "system_fingerprint": "fp_fake",
        "choices": [{
            "index": 0,
            "delta": delta,
            "logprobs": null,
            "finish_reason": finish_reason,
        }],
        "usage": null,
    })
}

/// The final usage chunk: `choices: []`, `usage: {...}`.
pub fn usage_chunk(id: &str, model: &str, usage: UsageSpec) -> Value {
    json!({
        "id": id,
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": model,
        "system_fingerprint": "fp_fake",
        "choices": [],
        "usage": {
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "total_tokens": usage.prompt_tokens + usage.completion_tokens,
            "prompt_tokens_details": {"cached_tokens": usage.cached_tokens, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
        },
    })
}

/// A text delta.
pub fn text_delta(text: &str) -> Value {
    json!({"content": text})
}

/// A tool-call delta: `id`, `type` and `name` only when given (the first chunk of a call).
pub fn tool_delta(index: usize, id: Option<&str>, name: Option<&str>, arguments: &str) -> Value {
    let mut call = json!({"index": index, "function": {"arguments": arguments}});
    if let Some(id) = id {
        call["id"] = json!(id);
        call["type"] = json!("function");
    }
    if let Some(name) = name {
        call["function"]["name"] = json!(name);
    }
    json!({"tool_calls": [call]})
}

/// Splits `text` into `n` pieces of nearly equal character counts (never splitting a char).
/// Empty pieces are dropped; an empty text gives no pieces.
pub fn split_chars(text: &str, n: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let n = n.max(1).min(chars.len().max(1));
    let mut out = Vec::with_capacity(n);
    let base = chars.len() / n;
    let extra = chars.len() % n;
    let mut at = 0;
    for i in 0..n {
        let len = base + usize::from(i < extra);
        let piece: String = chars[at..at + len].iter().collect();
        at += len;
        if !piece.is_empty() {
            out.push(piece);
        }
    }
    out
}

/// The frames of a reply's tool calls, one after another or interleaved by index.
fn tool_frames(reply: &Reply, id: &str, model: &str) -> Vec<Frame> {
    // Each call: its chunks in order; the first carries id + name (+ first argument piece).
    let per_call: Vec<Vec<Value>> = reply
        .tool_calls
        .iter()
        .enumerate()
        .map(|(index, call)| {
            let mut pieces = split_chars(&call.arguments, call.pieces);
            if pieces.is_empty() {
                pieces.push(String::new());
            }
            pieces
                .iter()
                .enumerate()
                .map(|(i, piece)| {
                    let delta = if i == 0 {
                        tool_delta(index, Some(&call.id), Some(&call.name), piece)
                    } else {
                        tool_delta(index, None, None, piece)
                    };
                    choice_chunk(id, model, delta, None)
                })
                .collect()
        })
        .collect();
    let mut frames = Vec::new();
    if reply.interleave {
        let longest = per_call.iter().map(Vec::len).max().unwrap_or(0);
        for round in 0..longest {
            for call in &per_call {
                if let Some(chunk) = call.get(round) {
                    frames.push(Frame::Data(chunk.clone()));
                }
            }
        }
    } else {
        frames.extend(per_call.into_iter().flatten().map(Frame::Data));
    }
    frames
}

/// Expands a reply into a literal stream. `request_model` is used when the reply names none.
pub fn expand(reply: &Reply, request_model: &str, serial: u64) -> StreamScript {
    let id = format!("chatcmpl-fake{serial:06}");
    let model = reply.model.as_deref().unwrap_or(request_model);
    let mut frames = vec![Frame::Data(choice_chunk(
        &id,
        model,
        json!({"role": "assistant", "content": ""}),
        None,
    ))];
    for piece in split_chars(&reply.text, reply.text_chunks) {
        frames.push(Frame::Data(choice_chunk(
            &id,
            model,
            text_delta(&piece),
            None,
        )));
    }
    frames.extend(tool_frames(reply, &id, model));
    let finish = reply.finish_reason.clone().unwrap_or_else(|| {
        if reply.tool_calls.is_empty() {
            "stop".into()
        } else {
            "tool_calls".into()
        }
    });
    frames.push(Frame::Data(choice_chunk(
        &id,
        model,
        json!({}),
        Some(&finish),
    )));
    if let Some(usage) = reply.usage {
        frames.push(Frame::Data(usage_chunk(&id, model, usage)));
    }
    let mut end = reply.end;
    if let Some(at) = reply.malformed_at {
        let at = at.min(frames.len());
        frames.insert(at, Frame::Raw(MALFORMED_LINE.into()));
    }
    if let Some(n) = reply.cut_after {
        frames.truncate(n);
        end = StreamEnd::Cut;
    } else if let Some(n) = reply.stall_after {
        frames.truncate(n);
        end = StreamEnd::Stall;
    }
    if reply.first_delay_ms > 0 {
        frames.insert(0, Frame::PauseMs(reply.first_delay_ms));
    }
    StreamScript {
        frames,
        chunk_delay_ms: reply.chunk_delay_ms,
        end,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_even_and_lossless() {
        assert_eq!(split_chars("abcdefg", 3), vec!["abc", "de", "fg"]);
        assert_eq!(split_chars("héllo", 5).concat(), "héllo");
        assert_eq!(split_chars("ab", 5), vec!["a", "b"]);
        assert!(split_chars("", 3).is_empty());
    }

    #[test]
    fn interleaved_calls_alternate_by_index() {
        let reply = Reply::empty()
            .tool_call_in("a", "f", "123456", 3)
            .tool_call_in("b", "g", "xy", 2)
            .interleaved();
        let script = expand(&reply, "m", 1);
        let indexes: Vec<u64> = script
            .frames
            .iter()
            .filter_map(|f| match f {
                Frame::Data(v) => v["choices"][0]["delta"]["tool_calls"][0]["index"].as_u64(),
                _ => None,
            })
            .collect();
        assert_eq!(indexes, vec![0, 1, 0, 1, 0]);
    }

    #[test]
    fn cut_truncates_and_ends_without_done() {
        let script = expand(&Reply::text("hello").chunks(5).cut_after(3), "m", 1);
        assert_eq!(script.frames.len(), 3);
        assert_eq!(script.end, StreamEnd::Cut);
    }
}
