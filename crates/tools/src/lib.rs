//! The built-in tools (python, shell, files) and plugin tools, on top of the sandbox.
//!
//! Each tool implements `llm_repl_core::Tool`. It must never talk to a provider or the store:
//! it gets arguments and a context and returns an observation.
