//! The full-screen terminal frontend: it renders Events and sends Ops.
//!
//! It depends on the protocol only and must never call the agent or the store directly.
