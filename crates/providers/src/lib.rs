//! placeholder

pub mod cache;
pub mod router;
