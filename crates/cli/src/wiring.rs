//! Connects the crates: provider, tools, store and config into the agent's dependencies.

use std::sync::Arc;

use anyhow::Context;
use llm_repl_core::pricing::PriceTable;
use llm_repl_core::{AgentDeps, Provider, ProviderFactory, ToolRegistry};
use llm_repl_protocol::{Event, NoticeLevel};
use llm_repl_providers::resilient::{ReliabilityEvent, ResilienceSettings, Resilient};
use llm_repl_store::Store;
use tokio::sync::mpsc;

use crate::paths;
use crate::settings::{Settings, env};

/// Where provider-side events (retries, failover, circuit changes) go before the agent passes
/// them on.
type SideTx = mpsc::UnboundedSender<Event>;

/// Builds everything the agent needs. Nothing expensive happens here: the HTTP client, the
/// interpreter and token encoders are all created on first use. The store is opened (and
/// locked) here, so a second instance on the same data directory stops with a clear message.
pub fn agent_deps(
    settings: &Settings,
    interactive: bool,
    startup_notices: Vec<(NoticeLevel, String)>,
) -> anyhow::Result<AgentDeps> {
    let config = &settings.config;
    let (side_tx, side_rx) = mpsc::unbounded_channel();
    for (level, text) in startup_notices {
        let _ = side_tx.send(Event::Notice { level, text });
    }
    let resolved = llm_repl_providers::resolve(&settings.provider, config, &env)
        .map_err(anyhow::Error::msg)?;
    let provider = build_provider(&settings.provider, config, &side_tx)?;
    let factory: ProviderFactory = {
        let config = config.clone();
        let side_tx = side_tx.clone();
        Arc::new(move |name: &str| {
            build_provider(name, &config, &side_tx).map_err(|e| format!("{e:#}"))
        })
    };
    let mut set = llm_repl_tools::toolset(&config.tools, &config.sandbox)?;
    let workdir = settings.workdir()?;
    let config_dir = paths::config_file().parent().map(|p| p.to_path_buf());
    let dirs = llm_repl_tools::plugin_dirs(config_dir.as_deref(), &workdir);
    for warning in set.load_plugins(&dirs) {
        let _ = side_tx.send(Event::Notice {
            level: NoticeLevel::Warn,
            text: format!("plugin: {warning}"),
        });
    }
    let mut tools = ToolRegistry::new();
    for tool in set.tools {
        tools.register(tool);
    }
    let store = if settings.no_store {
        None
    } else {
        Some(open_store(settings)?)
    };
    let resume = match (&settings.resume, settings.continue_last, &store) {
        // Refuse before anything is sent: continuing in an empty session is not what was asked.
        (Some(id), _, Some(store)) if matches!(store.get_session(id), Ok(None)) => {
            anyhow::bail!(
                "cannot resume: no session {id} in {}",
                store.dir().display()
            )
        }
        (Some(id), _, _) => Some(id.clone()),
        (None, true, Some(store)) => store
            .last_session()
            .context("cannot read the last session")?
            .map(|s| s.id),
        _ => None,
    };
    let mut prices = PriceTable::builtin().clone();
    prices.merge(&config.pricing).map_err(anyhow::Error::msg)?;
    Ok(AgentDeps {
        config: config.clone(),
        provider,
        provider_factory: Some(factory),
        prices: Arc::new(prices),
        tools,
        workdir,
        context_window: resolved.context_window,
        interactive,
        store,
        resume,
        side_events: Some(side_rx),
    })
}

/// Opens the session store; a second instance gets the store's message naming the holder.
pub fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    let dir = settings.data_dir();
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
    let store = Store::open(&dir)?;
    // Days (for "today" and budgets) are the user's local days.
    store.set_utc_offset(local_utc_offset_secs());
    Ok(store)
}

/// The local time zone's offset from UTC now, in seconds (0 when it cannot be read).
fn local_utc_offset_secs() -> i32 {
    let now: libc::time_t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as libc::time_t);
    // SAFETY: localtime_r writes only into the zeroed `tm` we own and reads `now`.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&now, &mut tm).is_null() };
    if ok {
        i32::try_from(tm.tm_gmtoff).unwrap_or(0)
    } else {
        0
    }
}

/// A configured provider, wrapped in retries, timeouts and the circuit breaker (the mock needs
/// none of that).
fn build_provider(
    name: &str,
    config: &llm_repl_core::Config,
    side: &SideTx,
) -> anyhow::Result<Arc<dyn Provider>> {
    let resolved = llm_repl_providers::resolve(name, config, &env).map_err(anyhow::Error::msg)?;
    let provider =
        llm_repl_providers::build(&resolved, config, &env).map_err(anyhow::Error::msg)?;
    if provider.is_mock() {
        return Ok(provider);
    }
    let side = side.clone();
    let sink = Arc::new(move |event: ReliabilityEvent| {
        let _ = side.send(reliability_event(event));
    });
    let settings = ResilienceSettings::from_config(&config.reliability);
    Ok(Arc::new(Resilient::single(provider, settings, sink)))
}

/// How a reliability event reaches the frontend: circuit changes as health (the meter shows an
/// open circuit), everything else as a warning line in the trace.
fn reliability_event(event: ReliabilityEvent) -> Event {
    let text = event.to_string();
    match event {
        ReliabilityEvent::CircuitOpened { provider, .. } => Event::ProviderHealth {
            provider,
            healthy: false,
            detail: text,
        },
        ReliabilityEvent::CircuitClosed { provider } => Event::ProviderHealth {
            provider,
            healthy: true,
            detail: text,
        },
        _ => Event::Notice {
            level: NoticeLevel::Warn,
            text,
        },
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn circuit_changes_become_health_and_retries_notices() {
        let open = reliability_event(ReliabilityEvent::CircuitOpened {
            provider: "groq".into(),
            cooldown: Duration::from_secs(30),
        });
        assert!(
            matches!(open, Event::ProviderHealth { healthy: false, ref provider, .. } if provider == "groq")
        );
        let closed = reliability_event(ReliabilityEvent::CircuitClosed {
            provider: "groq".into(),
        });
        assert!(matches!(
            closed,
            Event::ProviderHealth { healthy: true, .. }
        ));
        let retry = reliability_event(ReliabilityEvent::Retry {
            provider: "groq".into(),
            retry: 1,
            max_retries: 3,
            delay: Duration::from_millis(500),
            error: "429".into(),
        });
        assert!(
            matches!(retry, Event::Notice { level: NoticeLevel::Warn, ref text } if text.contains("groq"))
        );
    }
}
