//! The regions of the chat screen. Each pane owns its data and draws one region.

pub mod conversation;
pub mod input;
pub mod meter;
pub mod trace;
