//! The estimator's encodings, framing and fallback.

use super::*;
use llm_repl_protocol::ToolCall;

fn count(model: &str, text: &str) -> u64 {
    Estimator::for_model(model).count(text)
}

#[test]
fn encodings_by_family() {
    for m in [
        "gpt-4o",
        "gpt-4o-mini-2024-07-18",
        "gpt-4.1-nano",
        "o3",
        "o4-mini",
        "gpt-5",
        "openai/gpt-4o-mini",
        "openai/gpt-oss-120b",
    ] {
        assert_eq!(Encoding::for_model(m), Encoding::O200kBase, "{m}");
    }
    for m in [
        "gpt-4",
        "gpt-3.5-turbo",
        "llama-3.3-70b-versatile",
        "qwen/qwen3-32b",
        "ollama",
        "",
    ] {
        assert_eq!(Encoding::for_model(m), Encoding::Cl100kBase, "{m}");
    }
    assert_eq!(Encoding::for_model("mock"), Encoding::Bytes);
}

#[test]
fn text_counts_are_exact() {
    assert_eq!(count("gpt-4o", ""), 0);
    assert_eq!(count("gpt-4o", "hello world"), 2);
    assert_eq!(count("gpt-3.5-turbo", "hello world"), 2);
    // Same text, different vocabularies.
    let text = "Straße naïve 東京 🙂";
    assert_ne!(count("gpt-4o", text), 0);
    assert_ne!(count("gpt-4", text), 0);
}

#[test]
fn the_byte_fallback_counts_a_token_per_four_bytes_rounded_up() {
    assert_eq!(count("mock", ""), 0);
    assert_eq!(count("mock", "abc"), 1);
    assert_eq!(count("mock", "hello world"), 3);
    // Bytes, not characters: 4 two-byte letters.
    assert_eq!(count("mock", "éééé"), 2);
}

#[test]
fn messages_include_framing_roles_calls_and_tools() {
    let est = Estimator::for_model("gpt-4o");
    // reply priming 3 + framing 3 + "user" 1 + "hello world" 2
    assert_eq!(est.prompt(&[Message::user("hello world")], &[]), 9);
    let call = ToolCall {
        id: "c1".into(),
        name: "python".into(),
        arguments: r#"{"code":"1+1"}"#.into(),
    };
    let with_call = [
        Message::user("hello world"),
        Message::assistant("", vec![call]),
    ];
    let n = est.prompt(&with_call, &[]);
    let call_tokens = PER_TOOL_CALL + est.count("python") + est.count(r#"{"code":"1+1"}"#);
    assert_eq!(n, 9 + PER_MESSAGE + est.count("assistant") + call_tokens);
    let spec = ToolSpec {
        name: "python".into(),
        description: "Run Python".into(),
        parameters: serde_json::json!({"type": "object"}),
    };
    let with_tool = est.prompt(&[Message::user("hello world")], &[spec]);
    let spec_tokens = PER_TOOL_SPEC
        + est.count("python")
        + est.count("Run Python")
        + est.count(r#"{"type":"object"}"#);
    assert_eq!(with_tool, 9 + spec_tokens);
}

#[test]
fn estimated_usage_is_flagged() {
    let est = Estimator::for_model("gpt-4o-mini");
    let prompt = est.prompt(&[Message::user("hello world")], &[]);
    let u = est.usage(prompt, &Message::assistant("hello world", vec![]));
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
    assert!(encoder(Encoding::Bytes).is_none(), "no table for bytes");
}
