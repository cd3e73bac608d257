//! The contract every tool implements, and the registry the agent looks tools up in.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use futures::future::BoxFuture;
use llm_repl_protocol::{CallId, Finding, OutputStream, ToolStatus};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// What the model is told about a tool: its name, what it does, and a JSON schema of its
/// arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    pub parameters: serde_json::Value,
}

/// Where a running tool sends its output as it arrives. Cheap to clone; sending never blocks
/// and never fails loudly (a frontend that went away must not stop a tool).
#[derive(Debug, Clone)]
pub struct OutputSink {
    tx: mpsc::UnboundedSender<(OutputStream, String)>,
}

impl OutputSink {
    pub fn new(tx: mpsc::UnboundedSender<(OutputStream, String)>) -> Self {
        Self { tx }
    }

    /// A sink that drops everything (tests, background calls).
    pub fn discard() -> Self {
        let (tx, _rx) = mpsc::unbounded_channel();
        Self { tx }
    }

    pub fn send(&self, stream: OutputStream, chunk: impl Into<String>) {
        let _ = self.tx.send((stream, chunk.into()));
    }
}

/// Everything a tool gets for one call besides its arguments.
#[derive(Debug, Clone)]
pub struct ToolContext {
    pub call_id: CallId,
    /// Cancelled when the user interrupts: a tool must stop (and kill its processes) promptly.
    pub cancel: CancellationToken,
    pub output: OutputSink,
    /// The workspace the tool is confined to.
    pub workdir: PathBuf,
    /// The session the call belongs to (persistent interpreters are kept per session).
    pub session_id: String,
}

/// The end of one tool call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolOutcome {
    pub status: ToolStatus,
    /// The observation the model sees.
    pub content: String,
}

impl ToolOutcome {
    pub fn ok(content: impl Into<String>) -> Self {
        Self {
            status: ToolStatus::Ok,
            content: content.into(),
        }
    }

    pub fn error(content: impl Into<String>) -> Self {
        Self {
            status: ToolStatus::Error,
            content: content.into(),
        }
    }
}

/// A tool's static view of one call before it runs: the findings drive the approval policy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Assessment {
    pub findings: Vec<Finding>,
    /// Set when the call should be approved under the `on-risk` policy, with the reason.
    pub needs_approval: Option<String>,
}

/// A capability the model can call.
pub trait Tool: Send + Sync {
    fn spec(&self) -> ToolSpec;

    /// Static analysis of a call before it runs (syntax, risk). The default finds nothing, which
    /// suits tools that only read the workspace. A tool that runs code the user did not write
    /// (plugins, MCP and other external tools) must set `needs_approval` unless the user's
    /// config trusts it, so the approval policy covers it like the built-in tools. A panic
    /// here is treated as "needs approval".
    fn assess(&self, _args: &serde_json::Value) -> Assessment {
        Assessment::default()
    }

    /// Runs one call. Must return when `ctx.cancel` fires, with status `Interrupted`.
    fn run(&self, args: serde_json::Value, ctx: ToolContext) -> BoxFuture<'_, ToolOutcome>;

    /// The session ended (another was opened, or the agent stopped): release what the tool
    /// keeps for it (a persistent interpreter and every process it started). Default: nothing.
    fn end_session(&self, _session_id: &str) {}
}

/// Tools that come and go while the agent runs: an MCP server's tools appear when it has
/// started (in the background, so the UI never waits on it) and go while it restarts. The
/// registry asks its sources each time it is read, so a turn sees what is ready now.
pub trait ToolSource: Send + Sync {
    /// The tools available now.
    fn tools(&self) -> Vec<Arc<dyn Tool>>;

    /// Resolves when the source's start-up has settled (each server ready or failed). A
    /// headless run awaits it before its first turn; the TUI never does. Default: settled.
    fn settled(&self) -> BoxFuture<'_, ()> {
        Box::pin(std::future::ready(()))
    }
}

/// The tools the agent offers, by name: the registered (built-in and plugin) tools, then what
/// the sources have ready. A registered tool wins a name clash.
#[derive(Clone, Default)]
pub struct ToolRegistry {
    tools: BTreeMap<String, Arc<dyn Tool>>,
    sources: Vec<Arc<dyn ToolSource>>,
}

impl std::fmt::Debug for ToolRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

impl ToolRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a tool; a later tool of the same name replaces the earlier one.
    pub fn register(&mut self, tool: Arc<dyn Tool>) {
        self.tools.insert(tool.spec().name, tool);
    }

    /// Adds a source of tools that come and go (MCP servers).
    pub fn add_source(&mut self, source: Arc<dyn ToolSource>) {
        self.sources.push(source);
    }

    /// Resolves when every source's start-up has settled (see [`ToolSource::settled`]).
    pub async fn sources_settled(&self) {
        for source in &self.sources {
            source.settled().await;
        }
    }

    /// Every tool available now, by name.
    fn all(&self) -> BTreeMap<String, Arc<dyn Tool>> {
        let mut all = BTreeMap::new();
        for source in &self.sources {
            for tool in source.tools() {
                all.insert(tool.spec().name, tool);
            }
        }
        for (name, tool) in &self.tools {
            all.insert(name.clone(), tool.clone());
        }
        all
    }

    pub fn get(&self, name: &str) -> Option<Arc<dyn Tool>> {
        if let Some(tool) = self.tools.get(name) {
            return Some(tool.clone());
        }
        self.sources
            .iter()
            .flat_map(|s| s.tools())
            .find(|t| t.spec().name == name)
    }

    pub fn specs(&self) -> Vec<ToolSpec> {
        self.all().values().map(|t| t.spec()).collect()
    }

    pub fn names(&self) -> Vec<String> {
        self.all().into_keys().collect()
    }

    /// Tells every tool that `session_id` ended.
    pub fn end_session(&self, session_id: &str) {
        for t in self.all().values() {
            t.end_session(session_id);
        }
    }
}
