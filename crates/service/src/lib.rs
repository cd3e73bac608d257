//! The agent service: one process per user and data directory that owns the session store and
//! runs one agent per open session, serving frontends (the TUI, `exec`, `attach`) over a Unix
//! socket with the same Op/Event protocol they use in-process.
//!
//! It owns the socket and its private directory ([`paths`]), the wire format and handshake
//! ([`wire`]), the sessions and their fan-out to attached clients ([`hub`]), the accept loop,
//! idle exit and stop ([`server`]), and the client end that turns the socket back into the
//! Op/Event channel pair of an in-process agent ([`client`]). It must never contain loop logic
//! (that is [`llm_repl_core::Agent`], spawned unchanged), name sled (the store crate does),
//! read config files or choose providers (the binary supplies an [`server::AgentFactory`]), or
//! render anything.

pub mod client;
pub mod hub;
pub mod paths;
pub mod server;
pub mod wire;

pub use client::{ConnectError, Connection, connect, ensure_running};
pub use paths::ServicePaths;
pub use server::{AgentFactory, ServiceConfig, bind};
pub use wire::{Open, Opened, PROTOCOL_VERSION, SessionSpec, Status};
