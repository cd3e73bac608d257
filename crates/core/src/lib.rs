//! The agent: the reason-act-observe loop and the contracts it runs on.
//!
//! This crate owns the agent task (Op in, Event out), context building, the config types, and
//! the [`Provider`] and [`Tool`] traits that the providers and tools crates implement. It must
//! never name a provider SDK, a terminal library or a process sandbox: those live behind the
//! traits, so the loop can be tested with scripted fakes.

mod accumulate;
pub mod agent;
pub mod budget;
pub mod config;
pub mod estimate;
pub mod framing;
pub mod ids;
mod models;
pub mod observation;
pub mod persist;
pub mod pricing;
pub mod provider;
mod rewind;
mod selection;
mod session_ops;
mod switching;
mod titles;
pub mod tool;
mod tools_run;
mod turn;

pub use accumulate::Accumulator;
pub use agent::{Agent, AgentDeps, AgentHandle, ProviderFactory};
pub use config::Config;
pub use provider::{
    ChatRequest, ChatStream, ListedModel, Provider, ProviderError, ProviderErrorKind, StreamItem,
};
pub use tool::{
    Assessment, OutputSink, Tool, ToolContext, ToolOutcome, ToolRegistry, ToolSource, ToolSpec,
};
