//! Helpers shared by the store's integration tests.
#![allow(dead_code)]
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on setup failures

use llm_repl_protocol::{SessionInfo, ToolCall};
use llm_repl_store::Store;

pub fn info(id: &str, title: &str) -> SessionInfo {
    SessionInfo {
        id: id.to_string(),
        title: title.to_string(),
        provider: "mock".into(),
        model: "mock-1".into(),
        mock: true,
        context_window: Some(8192),
    }
}

pub fn call(id: &str, code: &str) -> ToolCall {
    ToolCall {
        id: id.into(),
        name: "python".into(),
        arguments: serde_json::json!({ "code": code }).to_string(),
    }
}

pub fn open(dir: &std::path::Path) -> Store {
    Store::open(dir).expect("open store")
}
