//! The agent task.
pub struct Agent;
pub struct AgentHandle;
