//! Model providers behind `llm_repl_core::Provider`: any OpenAI-compatible API, the offline mock,
//! and the presets that turn a config entry into one of them.
//!
//! This crate owns HTTP to model servers. It must never run tools, touch the store or the
//! terminal, and never put an API key anywhere but the Authorization header (not in logs, errors
//! or Debug output).

pub mod cache;
pub mod mock;
pub mod models;
pub mod openai;
pub mod presets;
pub mod resilient;
pub mod router;
pub mod tls;
mod wire;

use std::sync::Arc;
use std::time::Duration;

use llm_repl_core::Provider;
use llm_repl_core::config::Config;

pub use mock::MockProvider;
pub use openai::{OpenAiProvider, OpenAiSettings};
pub use presets::{Env, Resolved, choose, resolve};

/// Builds the provider for a resolved entry. A missing key is an error that names the variable.
pub fn build(
    resolved: &Resolved,
    config: &Config,
    env: Env<'_>,
) -> Result<Arc<dyn Provider>, String> {
    match resolved.kind.as_str() {
        "mock" => {
            let script = if resolved.script.is_empty() {
                None
            } else {
                Some(MockProvider::load_script(std::path::Path::new(
                    &resolved.script,
                ))?)
            };
            Ok(Arc::new(MockProvider::new(script)))
        }
        _ => {
            let api_key = if resolved.api_key_env.is_empty() {
                None
            } else {
                match env(&resolved.api_key_env).filter(|k| !k.trim().is_empty()) {
                    Some(key) => Some(key.trim().to_string()),
                    None => {
                        return Err(format!(
                            "provider {} needs an API key in {}, which is not set. Export it, \
                             or pick another provider with --provider (mock works offline)",
                            resolved.name, resolved.api_key_env
                        ));
                    }
                }
            };
            let settings = OpenAiSettings {
                name: resolved.name.clone(),
                base_url: resolved.base_url.clone(),
                api_key,
                api_key_env: resolved.api_key_env.clone(),
                model: resolved.model.clone(),
                headers: resolved.headers.clone(),
                connect_timeout: Duration::from_secs(
                    config.reliability.connect_timeout_secs.max(1),
                ),
            };
            Ok(Arc::new(OpenAiProvider::new(settings)?))
        }
    }
}
