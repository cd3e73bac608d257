//! MCP client: the tools of Model Context Protocol servers, offered to the model like any other.
//!
//! Each `[mcp.servers.NAME]` of the config is started in the background ([`McpServers::start`]),
//! spoken to with the maintained Rust SDK (`rmcp`: stdio child processes and streamable HTTP),
//! and its tools join the agent's registry as `NAME__tool` through core's
//! [`ToolSource`](llm_repl_core::ToolSource) once it is ready. Calls go through the same
//! approval policy as the built-in tools ([`tool`]); a crashed server is restarted with
//! back-off ([`server`]).
//!
//! Why a crate of its own beside `tools`, with the same arrows (mcp -> core, protocol): the SDK
//! and its HTTP stack are a large build that the built-in tools, their benches and their tests
//! do not need, and nothing here touches the sandbox yet. `llm-repl mcp serve` (exposing the
//! sandboxed Python) will add the arrow mcp -> tools, which the design allows.

mod connect;
mod content;
pub mod server;
pub mod tool;

pub use connect::{Probe, probe};
pub use server::{McpServers, ServerState};

/// Separates a server's name from its tool's in the registry (`everything__echo`), as Codex
/// and Claude Code do.
pub const NAME_SEPARATOR: &str = "__";
