//! Plugin tools: discovered from decorated functions, schema from hints and docstring, run in
//! the sandboxed interpreter.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use llm_repl_core::config::{SandboxConfig, ToolsConfig};
use llm_repl_protocol::ToolStatus;
use serde_json::json;

const PLUGIN: &str = r#"
from llm_repl import tool
from typing import Literal, Optional

@tool
def word_count(text: str, unique: bool = False) -> int:
    """Count the words in a text.

    Args:
        text: The text to count.
        unique: Count distinct words only.
    """
    words = text.split()
    return len(set(words)) if unique else len(words)

@tool(name="temp_convert")
def convert(value: float, unit: Literal["C", "F"], places: Optional[int] = None):
    "Convert a temperature to the other unit."
    r = value * 9 / 5 + 32 if unit == "C" else (value - 32) * 5 / 9
    return round(r, places) if places is not None else r

@tool
def python(x: int):
    return x

@tool
def peek_home():
    import os
    return sorted(os.listdir(os.path.expanduser("~")))

def not_a_tool():
    pass
"#;

#[tokio::test]
async fn plugins_are_discovered_and_run_sandboxed() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let plugdir = ws.join(".llm-repl/tools");
    std::fs::create_dir_all(&plugdir).unwrap();
    std::fs::write(plugdir.join("text.py"), PLUGIN).unwrap();
    std::fs::write(plugdir.join("broken.py"), "def (:\n").unwrap();
    let mut set =
        llm_repl_tools::toolset(&ToolsConfig::default(), &SandboxConfig::default()).unwrap();
    let warnings = set.load_plugins(&llm_repl_tools::plugin_dirs(None, &ws));
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("broken.py") && w.contains("syntax")),
        "{warnings:?}"
    );
    assert!(
        warnings.iter().any(|w| w.contains("built-in tool")),
        "{warnings:?}"
    );
    let wc = tool(&set.tools, "word_count");
    let spec = wc.spec();
    assert_eq!(spec.description, "Count the words in a text.");
    assert_eq!(
        spec.parameters,
        json!({"type": "object", "additionalProperties": false, "required": ["text"],
               "properties": {"text": {"type": "string", "description": "The text to count."},
                              "unique": {"type": "boolean", "description": "Count distinct words only.", "default": false}}})
    );
    let conv = tool(&set.tools, "temp_convert");
    assert_eq!(
        conv.spec().parameters["properties"]["unit"],
        json!({"enum": ["C", "F"], "type": "string"})
    );
    assert_eq!(conv.spec().parameters["required"], json!(["value", "unit"]));

    let out = run(&wc, &ws, json!({"text": "a b a", "unique": true})).await;
    assert_eq!(out.status, ToolStatus::Ok, "{}", out.content);
    assert!(out.content.contains("Out: 2"), "{}", out.content);
    let out = run(&conv, &ws, json!({"value": 100, "unit": "C"})).await;
    assert!(out.content.contains("Out: 212.0"), "{}", out.content);
    let out = run(&wc, &ws, json!({"txt": "a"})).await;
    assert_eq!(out.status, ToolStatus::Error);
    assert!(out.content.contains("TypeError"), "{}", out.content);
    // Plugins are confined like any code: HOME is the scratch dir, not the user's.
    let out = run(&tool(&set.tools, "peek_home"), &ws, json!({})).await;
    assert_eq!(out.status, ToolStatus::Ok, "{}", out.content);
    assert!(!out.content.contains(".cargo"), "{}", out.content);
}
