//! Runs one untrusted process confined: Landlock, a network namespace, rlimits, a wall-clock
//! timeout, a scrubbed environment and capped output.
//!
//! It knows nothing of language models, tools or the agent; it must never read config files or
//! secrets itself.
