//! Connects the crates: provider, tools, store and config into the agent's dependencies.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Context;
use llm_repl_core::pricing::PriceTable;
use llm_repl_core::pricing::route::RouteConfig;
use llm_repl_core::{AgentDeps, Provider, ProviderFactory, ToolRegistry};
use llm_repl_protocol::{Event, NoticeLevel};
use llm_repl_providers::cache::{CacheHit, Cached, HitObserver, ResponseCache};
use llm_repl_providers::resilient::{ReliabilityEvent, ResilienceSettings, Resilient};
use llm_repl_providers::router::{RouteObserver, RouteReport, RouteTarget, Router};
use llm_repl_store::Store;
use tokio::sync::mpsc;

use crate::cache_adapter::StoreCache;
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
    let store = if settings.no_store {
        None
    } else {
        Some(open_store(settings)?)
    };
    agent_deps_on(settings, interactive, startup_notices, store)
}

/// [`agent_deps`] on a store already open (the agent service opens it once for every session).
pub fn agent_deps_on(
    settings: &Settings,
    interactive: bool,
    startup_notices: Vec<(NoticeLevel, String)>,
    store: Option<Store>,
) -> anyhow::Result<AgentDeps> {
    let config = &settings.config;
    let (side_tx, side_rx) = mpsc::unbounded_channel();
    for (level, text) in startup_notices {
        let _ = side_tx.send(Event::Notice { level, text });
    }
    let context_window = context_window_of(&settings.provider, config)?;
    let cache = response_cache(config, store.as_ref());
    let provider = build_provider(&settings.provider, config, &side_tx, cache.as_ref())?;
    let factory: ProviderFactory = {
        let config = config.clone();
        let side_tx = side_tx.clone();
        Arc::new(move |name: &str| {
            build_provider(name, &config, &side_tx, cache.as_ref()).map_err(|e| format!("{e:#}"))
        })
    };
    let mut set = llm_repl_tools::toolset(&config.tools, &config.sandbox)?;
    let workdir = settings.workdir()?;
    let config_dir = paths::config_file().parent().map(|p| p.to_path_buf());
    let mut dirs = llm_repl_tools::plugin_dirs(config_dir.as_deref(), &workdir);
    if !settings.workspace_trusted {
        // An untrusted workspace loads nothing of its own (crate::trust).
        let own = workdir.join(".llm-repl").join("tools");
        dirs.retain(|d| *d != own);
    }
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
    if config.mcp.servers.values().any(|s| s.enabled) {
        // Started in the background: their tools join when ready (llm_repl_mcp).
        let timeout = std::time::Duration::from_secs(config.tools.timeout_secs);
        let servers =
            llm_repl_mcp::McpServers::start(&config.mcp, workdir.clone(), timeout, side_tx.clone());
        tools.add_source(servers);
    }
    let resume = match (&settings.resume, settings.continue_last, &store) {
        // The id or a unique prefix of it (as `sessions list` shows them). Refuse before
        // anything is sent: continuing in an empty session is not what was asked.
        (Some(id), _, Some(store)) => Some(
            crate::sessions_cmd::resolve(store, id)
                .with_context(|| format!("cannot resume in {}", store.dir().display()))?
                .id,
        ),
        (Some(id), _, _) => Some(id.clone()),
        (None, true, Some(store)) => store
            .last_session()
            .context("cannot read the last session")?
            .map(|s| s.id),
        _ => None,
    };
    let prices = price_table(config)?;
    Ok(AgentDeps {
        config: config.clone(),
        provider,
        provider_factory: Some(factory),
        prices: Arc::new(prices),
        tools,
        workdir,
        context_window,
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
    // Days (the ledger's, budgets', /stats') are the config's: local or UTC.
    store.set_calendar(settings.calendar());
    Ok(store)
}

/// The provider (or route) `name`, with the response cache around it (the agent sets the
/// configured temperature on each request). A route is built over its candidates; anything else as one configured provider.
fn build_provider(
    name: &str,
    config: &llm_repl_core::Config,
    side: &SideTx,
    cache: Option<&Arc<dyn ResponseCache>>,
) -> anyhow::Result<Arc<dyn Provider>> {
    let mut provider = match config.routes.get(name) {
        Some(route) => build_route(name, route, config, side)?,
        None => build_single(name, config, side)?,
    };
    if let Some(cache) = cache.filter(|_| !provider.is_mock()) {
        if config.temperature != Some(0.0) {
            let _ = side.send(Event::Notice {
                level: NoticeLevel::Warn,
                text: "store.response_cache is on, but only answers at temperature 0 are cached: \
                       set temperature = 0 in the config"
                    .into(),
            });
        }
        let side = side.clone();
        let on_hit: HitObserver = Arc::new(move |hit: &CacheHit| {
            let _ = side.send(Event::Notice {
                level: NoticeLevel::Info,
                text: cache_notice(hit),
            });
        });
        provider = Arc::new(Cached::new(provider, cache.clone()).with_hit_observer(on_hit));
    }
    Ok(provider)
}

/// A configured provider, wrapped in retries, timeouts and the circuit breaker (the mock needs
/// none of that).
fn build_single(
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

/// A [`Router`] over the route's candidates, each provider built once (candidates of one
/// provider share its circuit breaker). A candidate whose provider cannot be built (its key is
/// not set) is left out with a warning; a route left with none is an error.
fn build_route(
    name: &str,
    route: &RouteConfig,
    config: &llm_repl_core::Config,
    side: &SideTx,
) -> anyhow::Result<Arc<dyn Provider>> {
    let candidates = route
        .parse_candidates()
        .map_err(|e| anyhow::anyhow!("route {name}: {e}"))?;
    let mut built: BTreeMap<String, Arc<dyn Provider>> = BTreeMap::new();
    let mut targets = Vec::new();
    let mut left_out = Vec::new();
    for candidate in candidates {
        let provider = match built.get(&candidate.provider) {
            Some(p) => p.clone(),
            None => match build_single(&candidate.provider, config, side) {
                Ok(p) => {
                    built.insert(candidate.provider.clone(), p.clone());
                    p
                }
                Err(e) => {
                    left_out.push(format!("{candidate} ({e:#})"));
                    continue;
                }
            },
        };
        targets.push(RouteTarget {
            candidate,
            provider,
        });
    }
    if targets.is_empty() {
        anyhow::bail!(
            "route {name}: no candidate can be used: {}",
            left_out.join("; ")
        );
    }
    for line in &left_out {
        let _ = side.send(Event::Notice {
            level: NoticeLevel::Warn,
            text: format!("route {name}: left out {line}"),
        });
    }
    let side = side.clone();
    let observer: RouteObserver = Arc::new(move |report: &RouteReport| {
        let level = if report.failures.is_empty() {
            NoticeLevel::Info
        } else {
            NoticeLevel::Warn
        };
        let _ = side.send(Event::Notice {
            level,
            text: route_notice(report),
        });
    });
    let router = Router::new(name, targets, Arc::new(price_table(config)?), route)
        .map_err(anyhow::Error::msg)?
        .with_observer(observer);
    Ok(Arc::new(router))
}

/// One line for the trace: the route's choice and reason, and what it could not use.
fn route_notice(report: &RouteReport) -> String {
    let mut text = format!("{}: {}", report.route, report.reason);
    if !report.rejected.is_empty() {
        text.push_str(&format!(" (not capable: {})", report.rejected.join("; ")));
    }
    text
}

fn cache_notice(hit: &CacheHit) -> String {
    format!(
        "cached: answered from the response cache ({}:{}) at no cost, saving {} input and {} \
         output tokens",
        hit.provider, hit.model, hit.saved.input, hit.saved.output
    )
}

/// The store-backed response cache, when `store.response_cache` is on and there is a store.
fn response_cache(
    config: &llm_repl_core::Config,
    store: Option<&Store>,
) -> Option<Arc<dyn ResponseCache>> {
    let store = store.filter(|_| config.store.response_cache)?;
    Some(Arc::new(StoreCache::new(store.clone())))
}

/// The shipped prices with the config's overrides.
fn price_table(config: &llm_repl_core::Config) -> anyhow::Result<PriceTable> {
    let mut prices = PriceTable::builtin().clone();
    prices.merge(&config.pricing).map_err(anyhow::Error::msg)?;
    Ok(prices)
}

/// The context window to show for `name`: a provider entry's configured one; for a route, the
/// smallest known among its candidates (configured, else from the price table), so the gauge
/// never promises room a fallback does not have.
fn context_window_of(name: &str, config: &llm_repl_core::Config) -> anyhow::Result<Option<u64>> {
    let Some(route) = config.routes.get(name) else {
        let resolved =
            llm_repl_providers::resolve(name, config, &env).map_err(anyhow::Error::msg)?;
        return Ok(resolved.context_window);
    };
    let prices = price_table(config)?;
    let candidates = route
        .parse_candidates()
        .map_err(|e| anyhow::anyhow!("route {name}: {e}"))?;
    Ok(candidates
        .iter()
        .filter_map(|c| {
            let configured = llm_repl_providers::resolve(&c.provider, config, &env)
                .ok()
                .and_then(|r| r.context_window);
            configured.or_else(|| prices.context_window(&c.provider, &c.model))
        })
        .min())
}

/// The key of the one status line a provider's retries update in place.
const RETRY_STATUS_KEY: &str = "provider-retry";

/// How a reliability event reaches the frontend: retries as one updating status line (cleared
/// when the call answers or gives up), circuit changes as health (the meter shows an open
/// circuit; the detail leaves the provider's name to the frontend), the rest as warnings.
fn reliability_event(event: ReliabilityEvent) -> Event {
    match event {
        ReliabilityEvent::Retry { .. } => Event::Status {
            key: RETRY_STATUS_KEY.into(),
            level: NoticeLevel::Warn,
            text: event.to_string(),
        },
        ReliabilityEvent::RetriesOver { .. } => Event::Status {
            key: RETRY_STATUS_KEY.into(),
            level: NoticeLevel::Info,
            text: String::new(),
        },
        ReliabilityEvent::CircuitOpened { ref provider, .. } => Event::ProviderHealth {
            provider: provider.clone(),
            healthy: false,
            detail: event.detail(),
        },
        ReliabilityEvent::CircuitClosed { ref provider } => Event::ProviderHealth {
            provider: provider.clone(),
            healthy: true,
            detail: event.detail(),
        },
        _ => Event::Notice {
            level: NoticeLevel::Warn,
            text: event.to_string(),
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
            max_retries: 8,
            delay: Duration::from_millis(500),
            reason: "server error (HTTP 500)".into(),
            error: "{\"error\":\n{}}".into(),
        });
        assert_eq!(
            retry,
            Event::Status {
                key: RETRY_STATUS_KEY.into(),
                level: NoticeLevel::Warn,
                text: "groq: server error (HTTP 500); retrying in 0.5s (attempt 2 of 9)".into(),
            }
        );
        let over = reliability_event(ReliabilityEvent::RetriesOver {
            provider: "groq".into(),
            recovered: true,
            retries: 1,
        });
        assert!(matches!(over, Event::Status { ref text, .. } if text.is_empty()));
        // The frontend shows "{provider}: {detail}": the name must not be in the detail too.
        let Event::ProviderHealth { detail, .. } = open else {
            unreachable!()
        };
        assert!(!detail.contains("groq"), "{detail}");
    }
}
