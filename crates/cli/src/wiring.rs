//! Connects the crates: provider, tools and config into the agent's dependencies.

use std::sync::Arc;

use llm_repl_core::{AgentDeps, ProviderFactory, ToolRegistry};

use crate::settings::{Settings, env};

/// Builds everything the agent needs. Nothing expensive happens here: the HTTP client, the
/// interpreter and token encoders are all created on first use.
pub fn agent_deps(settings: &Settings, interactive: bool) -> anyhow::Result<AgentDeps> {
    let config = &settings.config;
    let resolved = llm_repl_providers::resolve(&settings.provider, config, &env)
        .map_err(anyhow::Error::msg)?;
    let provider =
        llm_repl_providers::build(&resolved, config, &env).map_err(anyhow::Error::msg)?;
    let factory: ProviderFactory = {
        let config = config.clone();
        Arc::new(move |name: &str| {
            let resolved = llm_repl_providers::resolve(name, &config, &env)?;
            llm_repl_providers::build(&resolved, &config, &env)
        })
    };
    let mut tools = ToolRegistry::new();
    for tool in llm_repl_tools::builtin_tools(&config.tools, &config.sandbox)? {
        tools.register(tool);
    }
    Ok(AgentDeps {
        config: config.clone(),
        provider,
        provider_factory: Some(factory),
        pricer: None,
        tools,
        workdir: settings.workdir()?,
        context_window: resolved.context_window,
        interactive,
    })
}
