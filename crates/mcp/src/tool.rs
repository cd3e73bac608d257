//! One MCP server tool as a [`Tool`]: its spec under the registry name `SERVER__tool`, its
//! approval needs (untrusted servers ask, like plugin tools), and a call that ends promptly on
//! Interrupt, sending the server MCP's `notifications/cancelled`.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use llm_repl_core::{Assessment, Tool, ToolContext, ToolOutcome, ToolSpec};
use llm_repl_protocol::{OutputStream, ToolStatus};
use rmcp::model::{CallToolRequestParams, Tool as Remote};

use crate::NAME_SEPARATOR;
use crate::content::observation;
use crate::server::{Server, ServerState};

/// A server's tool in the registry.
pub struct McpTool {
    server: Arc<Server>,
    remote: Remote,
    spec: ToolSpec,
}

impl McpTool {
    pub(crate) fn new(server: Arc<Server>, remote: Remote) -> Self {
        let name = format!("{}{NAME_SEPARATOR}{}", server.name, remote.name);
        let description = remote
            .description
            .as_deref()
            .or(remote.title.as_deref())
            .unwrap_or("")
            .to_string();
        let spec = ToolSpec {
            name,
            description: format!("{description} (MCP server {})", server.name),
            parameters: serde_json::Value::Object((*remote.input_schema).clone()),
        };
        Self {
            server,
            remote,
            spec,
        }
    }

    fn timeout(&self) -> Duration {
        match self.server.config.tool_timeout_secs {
            0 => self.server.default_timeout,
            secs => Duration::from_secs(secs),
        }
    }
}

impl Tool for McpTool {
    fn spec(&self) -> ToolSpec {
        self.spec.clone()
    }

    /// An untrusted server's tool runs code the user did not write: it needs approval under
    /// `on-risk`, like a plugin tool. `approval = "always"` asks even for a trusted server.
    fn assess(&self, _args: &serde_json::Value) -> Assessment {
        let config = &self.server.config;
        let needs_approval = if config.approval == "always" {
            Some(format!(
                "MCP server {} is set to ask before every call",
                self.server.name
            ))
        } else if !config.trusted {
            Some(format!(
                "{} is a tool of the MCP server {}, which is not trusted (set trusted = true \
                 in [mcp.servers.{}] to stop asking)",
                self.remote.name, self.server.name, self.server.name
            ))
        } else {
            None
        };
        Assessment {
            findings: Vec::new(),
            needs_approval,
        }
    }

    fn run(&self, args: serde_json::Value, ctx: ToolContext) -> BoxFuture<'_, ToolOutcome> {
        Box::pin(async move {
            let Some(peer) = self.server.peer() else {
                let why = match self.server.state() {
                    ServerState::Restarting { .. } => "is restarting".to_string(),
                    ServerState::Failed(reason) => format!("failed: {reason}"),
                    other => format!("is not ready ({other:?})"),
                };
                return ToolOutcome::error(format!(
                    "error: the MCP server {} {why}; try again later or use another tool",
                    self.server.name
                ));
            };
            let arguments = match args {
                serde_json::Value::Object(map) => map,
                _ => serde_json::Map::new(),
            };
            let params =
                CallToolRequestParams::new(self.remote.name.clone()).with_arguments(arguments);
            let timeout = self.timeout();
            // Dropping the call (on Interrupt or time-out) makes rmcp send
            // notifications/cancelled for it, so the server can stop its work too.
            let outcome = tokio::select! {
                // An interrupt that came first never sends the call.
                biased;
                () = ctx.cancel.cancelled() => ToolOutcome {
                    status: ToolStatus::Interrupted,
                    content: "interrupted by the user (the MCP server was told to cancel)".into(),
                },
                result = peer.call_tool(params) => match result {
                    Ok(result) => {
                        let text = observation(&result);
                        let failed = result.is_error == Some(true);
                        let stream = if failed { OutputStream::Stderr } else { OutputStream::Stdout };
                        ctx.output.send(stream, format!("{text}\n"));
                        if failed { ToolOutcome::error(text) } else { ToolOutcome::ok(text) }
                    }
                    Err(e) => ToolOutcome::error(format!(
                        "error: the MCP call to {} failed: {e}",
                        self.server.name
                    )),
                },
                () = tokio::time::sleep(timeout) => ToolOutcome {
                    status: ToolStatus::TimedOut,
                    content: format!(
                        "timed out after {}s (the MCP server was told to cancel)",
                        timeout.as_secs()
                    ),
                },
            };
            outcome
        })
    }
}
