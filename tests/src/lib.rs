//! End-to-end test support for llm-repl: a fake OpenAI-compatible server ([`fake`]) that replays
//! scripted SSE streams and faults and records what the client sent, and the script-file format
//! the `fake-openai` binary serves, an incremental SSE parser ([`sse`]) and a socket-level
//! OpenAI-compatible provider ([`raw_provider`]) for driving the reliability layer without an SDK;
//! a throw-away home for runs of the real binary ([`home`]) and a private tmux to drive its
//! full-screen interface in a real terminal ([`pty`]).
//!
//! This crate must never reach a real provider or any network beyond 127.0.0.1.

pub mod binary;
pub mod fake;
pub mod home;
pub mod pty;
pub mod script_file;
pub mod service_home;

pub mod raw_provider;
pub mod sse;
