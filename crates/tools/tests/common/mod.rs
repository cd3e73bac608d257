//! Helpers shared by the tools' integration tests.
#![allow(dead_code, clippy::unwrap_used)]

pub mod escape;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use llm_repl_core::config::{SandboxConfig, ToolsConfig};
use llm_repl_core::{OutputSink, Tool, ToolContext, ToolOutcome};
use llm_repl_protocol::OutputStream;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub fn tools_with(timeout_secs: u64, max_output_bytes: usize) -> Vec<Arc<dyn Tool>> {
    let tools = ToolsConfig {
        timeout_secs,
        max_output_bytes,
        ..ToolsConfig::default()
    };
    llm_repl_tools::builtin_tools(&tools, &SandboxConfig::default()).unwrap()
}

pub fn tool(tools: &[Arc<dyn Tool>], name: &str) -> Arc<dyn Tool> {
    tools
        .iter()
        .find(|t| t.spec().name == name)
        .unwrap()
        .clone()
}

pub struct Call {
    pub ctx: ToolContext,
    pub rx: mpsc::UnboundedReceiver<(OutputStream, String)>,
}

static SESSION: AtomicU64 = AtomicU64::new(0);

/// A fresh session id (each test gets its own interpreter).
pub fn new_session() -> String {
    format!(
        "test-{}-{}",
        std::process::id(),
        SESSION.fetch_add(1, Ordering::Relaxed)
    )
}

pub fn call(workdir: &Path) -> Call {
    call_in(workdir, &new_session())
}

pub fn call_in(workdir: &Path, session: &str) -> Call {
    let (tx, rx) = mpsc::unbounded_channel();
    Call {
        ctx: ToolContext {
            call_id: "call-1".into(),
            cancel: CancellationToken::new(),
            output: OutputSink::new(tx),
            workdir: workdir.to_path_buf(),
            session_id: session.to_string(),
        },
        rx,
    }
}

pub async fn run(tool: &Arc<dyn Tool>, workdir: &Path, args: serde_json::Value) -> ToolOutcome {
    tool.run(args, call(workdir).ctx).await
}

pub async fn run_in(
    tool: &Arc<dyn Tool>,
    workdir: &Path,
    session: &str,
    args: serde_json::Value,
) -> ToolOutcome {
    tool.run(args, call_in(workdir, session).ctx).await
}
