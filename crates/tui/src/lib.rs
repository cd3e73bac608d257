//! The full-screen terminal frontend: it renders Events and sends Ops.
//!
//! It owns only the screen. It depends on the protocol only and must never call the agent or
//! the store directly: everything the user asks becomes an [`Op`](llm_repl_protocol::Op) on the channel, and everything
//! shown comes from an [`Event`](llm_repl_protocol::Event). The entry point is [`run`]; the state is one struct
//! (`app.rs`) changed only by Events, keys and the frame tick, and drawn by `screens/`; the
//! select! loop is `event_loop.rs`, the real terminal's setup and restore `terminal.rs`.

mod app;
mod clipboard;
mod commands;
mod dispatch;
mod editor;
mod event_loop;
mod keys;
mod options;
mod overlays;
mod panes;
mod render;
mod rewind;
mod screens;
mod terminal;
mod theme;

#[cfg(test)]
mod tests;

pub use options::{SlashInfo, TuiOptions};
pub use terminal::{Exit, run};

#[doc(hidden)]
pub mod harness;
