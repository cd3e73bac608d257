//! Durable sessions in sled: sessions, messages, tool runs, usage, audit and a search index.
//!
//! The only crate that names sled. It must never know about providers, tools or the terminal.
