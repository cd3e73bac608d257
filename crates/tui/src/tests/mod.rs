//! Tests that drive the whole state: snapshots through ratatui's TestBackend and key handling
//! that must produce the right Ops. Nothing here reads the real clock for what it renders: the
//! state's clock is set by the test.

mod event_loop;
mod fixtures;
mod help;
mod history;
mod keys;
mod links;
mod meter;
mod models;
mod rewind;
mod slash;
mod snapshots;
mod stats;
mod status;
mod switch;
