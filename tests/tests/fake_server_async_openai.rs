//! Self-tests of the fake server against async-openai 0.43: proves the chunks have the shape
//! the real client parses (text, interleaved tool calls, usage, finish reason, errors).

use std::collections::BTreeMap;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::chat::CreateChatCompletionRequest;
use futures::StreamExt;
use llm_repl_e2e::fake::{FakeServer, Reply, Scripted};
use serde_json::json;

fn client(server: &FakeServer) -> Client<OpenAIConfig> {
    Client::with_config(
        OpenAIConfig::new()
            .with_api_base(server.base_url())
            .with_api_key("sk-fake"),
    )
}

fn request() -> CreateChatCompletionRequest {
    serde_json::from_value(json!({
        "model": "gpt-fake",
        "messages": [
            {"role": "user", "content": "use tools"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "call_0", "type": "function",
                "function": {"name": "python", "arguments": "{\"code\":\"1\"}"}}]},
            {"role": "tool", "tool_call_id": "call_0", "content": "1"},
        ],
        "tools": [{"type": "function", "function": {"name": "python", "description": "run",
            "parameters": {"type": "object", "properties": {"code": {"type": "string"}}}}}],
        // Explicit: with async-openai's `byot` feature on (the workspace enables it),
        // `create_stream` no longer sets it.
        "stream": true,
        "stream_options": {"include_usage": true},
    }))
    .expect("request json")
}

#[derive(Default, Debug)]
struct Collected {
    text: String,
    /// index -> (id, name, arguments)
    calls: BTreeMap<u32, (String, String, String)>,
    finish: Vec<String>,
    usage: Option<(u32, u32, Option<u32>)>,
}

async fn collect(client: &Client<OpenAIConfig>) -> Result<Collected, OpenAIError> {
    let mut stream = client.chat().create_stream(request()).await?;
    let mut out = Collected::default();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        for choice in chunk.choices {
            if let Some(text) = choice.delta.content {
                out.text.push_str(&text);
            }
            for call in choice.delta.tool_calls.unwrap_or_default() {
                let entry = out.calls.entry(call.index).or_default();
                if let Some(id) = call.id {
                    entry.0 = id;
                }
                if let Some(f) = call.function {
                    if let Some(name) = f.name {
                        entry.1 = name;
                    }
                    entry.2.push_str(&f.arguments.unwrap_or_default());
                }
            }
            if let Some(reason) = choice.finish_reason {
                out.finish.push(format!("{reason:?}"));
            }
        }
        if let Some(u) = chunk.usage {
            out.usage = Some((
                u.prompt_tokens,
                u.completion_tokens,
                u.prompt_tokens_details.and_then(|d| d.cached_tokens),
            ));
        }
    }
    Ok(out)
}

#[tokio::test]
async fn async_openai_parses_text_tool_calls_and_usage() {
    let server = FakeServer::start().await;
    server.push(
        Reply::text("Let me compute.")
            .chunks(4)
            .tool_call_in("call_a", "python", r#"{"code": "print(2**64)"}"#, 4)
            .tool_call_in("call_b", "read_file", r#"{"path": "x.txt"}"#, 2)
            .interleaved()
            .usage(120, 30, 64),
    );
    let got = collect(&client(&server)).await.expect("stream parses");
    assert_eq!(got.text, "Let me compute.");
    assert_eq!(
        got.calls[&0],
        (
            "call_a".into(),
            "python".into(),
            r#"{"code": "print(2**64)"}"#.into()
        )
    );
    assert_eq!(
        got.calls[&1],
        (
            "call_b".into(),
            "read_file".into(),
            r#"{"path": "x.txt"}"#.into()
        )
    );
    assert_eq!(got.finish, vec!["ToolCalls"]);
    assert_eq!(got.usage, Some((120, 30, Some(64))));

    // What the client sent.
    let sent = server.chat_requests();
    assert_eq!(sent.len(), 1);
    let body = &sent[0].body;
    assert_eq!(sent[0].header("authorization"), Some("Bearer sk-fake"));
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"]["include_usage"], true);
    assert_eq!(body["tools"][0]["function"]["name"], "python");
    assert_eq!(body["messages"][2]["role"], "tool");
    assert_eq!(body["messages"][2]["tool_call_id"], "call_0");
}

#[tokio::test]
async fn async_openai_sees_stop_errors_and_cut_streams() {
    let server = FakeServer::start().await;
    server.push(Reply::text("plain").chunks(2).finish("length"));
    server.push(Scripted::unauthorized());
    server.push(Reply::text("abcdef").chunks(6).cut_after(4));
    server.push(Reply::text("abc").chunks(3).malformed_at(2));
    let client = client(&server);

    let ok = collect(&client).await.expect("plain stream");
    assert_eq!(ok.text, "plain");
    assert_eq!(ok.finish, vec!["Length"]);
    assert_eq!(ok.usage, None);

    match collect(&client).await {
        Err(OpenAIError::ApiError(e)) => {
            assert_eq!(e.status_code.as_u16(), 401);
            assert_eq!(e.api_error.code.as_deref(), Some("invalid_api_key"));
        }
        other => panic!("expected a 401 ApiError, got {other:?}"),
    }

    let cut = collect(&client).await;
    assert!(cut.is_err(), "a cut stream must be an error: {cut:?}");

    let malformed = collect(&client).await;
    assert!(
        matches!(malformed, Err(OpenAIError::JSONDeserialize(..))),
        "{malformed:?}"
    );
    assert_eq!(server.chat_requests().len(), 4);
}
