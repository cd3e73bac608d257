//! The JSON shapes of OpenAI's chat completions API, as lenient as compatible servers need.

use llm_repl_core::{ChatRequest, StreamItem};
use llm_repl_protocol::{Message, Role, Usage};
use serde::Deserialize;
use serde_json::{Value, json};

/// The request body for a streaming call.
pub fn request_body(request: &ChatRequest, default_model: &str) -> Value {
    let model = if request.model.is_empty() {
        default_model
    } else {
        &request.model
    };
    let mut body = json!({
        "model": model,
        "messages": request.messages.iter().map(message).collect::<Vec<_>>(),
        "stream": true,
        "stream_options": { "include_usage": true },
    });
    if !request.tools.is_empty() {
        body["tools"] = request
            .tools
            .iter()
            .map(|t| {
                json!({
                    "type": "function",
                    "function": {
                        "name": t.name,
                        "description": t.description,
                        "parameters": t.parameters,
                    }
                })
            })
            .collect();
    }
    if let Some(max) = request.max_tokens {
        body["max_tokens"] = json!(max);
    }
    if let Some(t) = request.temperature {
        body["temperature"] = json!(t);
    }
    body
}

fn message(m: &Message) -> Value {
    match m.role {
        Role::System => json!({"role": "system", "content": m.content}),
        Role::User => json!({"role": "user", "content": m.content}),
        Role::Tool => json!({
            "role": "tool",
            "tool_call_id": m.tool_call_id.clone().unwrap_or_default(),
            "content": m.content,
        }),
        Role::Assistant => {
            let mut v = json!({"role": "assistant"});
            v["content"] = if m.content.is_empty() && !m.tool_calls.is_empty() {
                Value::Null
            } else {
                json!(m.content)
            };
            if !m.tool_calls.is_empty() {
                v["tool_calls"] = m
                    .tool_calls
                    .iter()
                    .map(|c| {
                        json!({
                            "id": c.id,
                            "type": "function",
                            "function": {"name": c.name, "arguments": c.arguments},
                        })
                    })
                    .collect();
            }
            v
        }
    }
}

/// One `chat.completion.chunk`, every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Chunk {
    pub choices: Vec<Choice>,
    pub usage: Option<RawUsage>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Choice {
    pub delta: Delta,
    pub finish_reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Delta {
    pub content: Option<String>,
    pub tool_calls: Option<Vec<ToolCallChunk>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ToolCallChunk {
    pub index: u32,
    pub id: Option<String>,
    pub function: Option<FunctionChunk>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct FunctionChunk {
    pub name: Option<String>,
    pub arguments: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RawUsage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub prompt_tokens_details: Option<PromptDetails>,
    pub completion_tokens_details: Option<CompletionDetails>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PromptDetails {
    pub cached_tokens: u64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CompletionDetails {
    pub reasoning_tokens: u64,
}

/// The stream items one chunk carries, in order.
pub fn items(chunk: Chunk) -> Vec<StreamItem> {
    let mut out = Vec::new();
    for choice in chunk.choices {
        if let Some(text) = choice.delta.content.filter(|t| !t.is_empty()) {
            out.push(StreamItem::Text(text));
        }
        for call in choice.delta.tool_calls.unwrap_or_default() {
            let (name, arguments) = call
                .function
                .map(|f| (f.name, f.arguments.unwrap_or_default()))
                .unwrap_or_default();
            out.push(StreamItem::ToolCallDelta {
                index: call.index,
                id: call.id,
                name,
                arguments,
            });
        }
        if let Some(reason) = choice.finish_reason {
            out.push(StreamItem::Finish(reason));
        }
    }
    if let Some(u) = chunk.usage {
        out.push(StreamItem::Usage(Usage {
            input: u.prompt_tokens,
            output: u.completion_tokens,
            cached: u.prompt_tokens_details.map_or(0, |d| d.cached_tokens),
            reasoning: u
                .completion_tokens_details
                .map_or(0, |d| d.reasoning_tokens),
            estimated: false,
        }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use llm_repl_core::ToolSpec;
    use llm_repl_protocol::{ToolCall, ToolResult};

    #[test]
    fn request_carries_tools_results_and_usage_option() {
        let call = ToolCall {
            id: "c1".into(),
            name: "python".into(),
            arguments: "{}".into(),
        };
        let req = ChatRequest {
            model: String::new(),
            messages: vec![
                Message::system("s"),
                Message::user("u"),
                Message::assistant("", vec![call]),
                Message::tool(&ToolResult {
                    call_id: "c1".into(),
                    content: "out".into(),
                    is_error: false,
                }),
            ],
            tools: vec![ToolSpec {
                name: "python".into(),
                description: "d".into(),
                parameters: json!({"type": "object"}),
            }],
            max_tokens: None,
            temperature: Some(0.0),
            prompt_tokens: None,
        };
        let body = request_body(&req, "gpt-x");
        assert_eq!(body["model"], "gpt-x");
        assert_eq!(body["stream_options"]["include_usage"], true);
        assert_eq!(body["messages"][2]["content"], Value::Null);
        assert_eq!(
            body["messages"][2]["tool_calls"][0]["function"]["name"],
            "python"
        );
        assert_eq!(body["messages"][3]["tool_call_id"], "c1");
        assert_eq!(body["tools"][0]["function"]["name"], "python");
        assert_eq!(body["temperature"], 0.0);
        assert!(body.get("max_tokens").is_none());
    }

    #[test]
    fn lenient_chunks_become_items() {
        let chunk: Chunk = serde_json::from_str(
            r#"{"choices":[{"delta":{"content":"hi","tool_calls":[{"index":1,"function":{"arguments":"{\"a"}}]},"finish_reason":null}],"x-extra":1}"#,
        )
        .unwrap();
        let got = items(chunk);
        assert_eq!(got[0], StreamItem::Text("hi".into()));
        assert!(
            matches!(&got[1], StreamItem::ToolCallDelta { index: 1, arguments, .. } if arguments == "{\"a")
        );
        let chunk: Chunk = serde_json::from_str(
            r#"{"choices":[],"usage":{"prompt_tokens":10,"completion_tokens":3,"prompt_tokens_details":{"cached_tokens":4}}}"#,
        )
        .unwrap();
        assert_eq!(
            items(chunk),
            vec![StreamItem::Usage(Usage {
                input: 10,
                output: 3,
                cached: 4,
                reasoning: 0,
                estimated: false
            })]
        );
    }
}
