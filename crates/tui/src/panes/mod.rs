//! The regions of the chat screen. Each pane owns its data and draws one region; the keys a pane
//! owns when focused are handled beside it (`input_keys.rs`, `pane_keys.rs`).

pub mod conversation;
pub mod input;
pub mod input_keys;
pub mod meter;
pub mod pane_keys;
pub mod trace;
