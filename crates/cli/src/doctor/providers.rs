//! Provider checks: for the active provider, every `[providers.*]` entry and every preset whose
//! key is set in the environment (`OPENAI_API_KEY`, `GROQ_API_KEY`, ...), the key is present,
//! the server is reachable, the model is listed, and a one-token heartbeat answers (timed).
//! The HTTP is the providers crate's (`models::probe`, `resilient::heartbeat`); this file
//! decides what each answer means for the user and renders it as checks.
//!
//! Entries run concurrently, each network step bounded by the timeout and each entry as a whole
//! by twice that plus a second, so a dead server costs at most that. Problems of entries that
//! are not the active provider are `warn`: they only matter with `--provider NAME`.

use std::time::Duration;

use llm_repl_core::config::Config;
use llm_repl_core::provider::ProviderErrorKind;
use llm_repl_providers::Resolved;
use llm_repl_providers::models::{self, Listing, Unreachable};
use llm_repl_providers::resilient::heartbeat;
use tokio::task::JoinSet;

use super::{Check, Status};
use crate::settings::{Settings, env};

/// The providers to check: the active one first, then every configured entry, then every
/// preset with its key set (configured by the environment alone).
pub fn names(settings: &Settings) -> Vec<String> {
    let mut names = vec![settings.provider.clone()];
    for name in settings.config.providers.keys() {
        if !names.contains(name) {
            names.push(name.clone());
        }
    }
    for preset in llm_repl_core::config::PROVIDER_PRESETS {
        let has_key = llm_repl_providers::resolve(preset, &settings.config, &env)
            .is_ok_and(|r| key_value(&r).is_some());
        if has_key && !names.iter().any(|n| n == preset) {
            names.push(preset.to_string());
        }
    }
    names
}

/// Checks every provider concurrently; lines come back grouped per provider, in [`names`] order.
pub async fn check_all(settings: &Settings, timeout: Duration) -> Vec<Check> {
    let names = names(settings);
    let mut set = JoinSet::new();
    for (index, name) in names.iter().enumerate() {
        let active = *name == settings.provider;
        let config = settings.config.clone();
        let name = name.clone();
        set.spawn(async move {
            let bound = timeout * 2 + Duration::from_secs(1);
            let checks =
                match tokio::time::timeout(bound, check_one(&name, &config, active, timeout)).await
                {
                    Ok(checks) => checks,
                    Err(_) => vec![
                        Check::fail(
                            name.clone(),
                            format!("no result within {}s", bound.as_secs()),
                        )
                        .fix("the server is too slow: raise --timeout or check base_url")
                        .provider(&name),
                    ],
                };
            (index, if active { checks } else { optional(checks) })
        });
    }
    let mut per_provider: Vec<Vec<Check>> = vec![Vec::new(); names.len()];
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok((index, checks)) => per_provider[index] = checks,
            Err(e) => {
                per_provider.push(vec![Check::fail(
                    "providers",
                    format!("a provider check crashed: {e}"),
                )]);
            }
        }
    }
    let mut checks: Vec<Check> = per_provider.into_iter().flatten().collect();
    // The keys were only read to be sent; make sure no line shows one.
    for name in &names {
        if let Ok(resolved) = llm_repl_providers::resolve(name, &settings.config, &env)
            && let Some(key) = key_value(&resolved)
        {
            for check in &mut checks {
                check.scrub(&key);
            }
        }
    }
    checks
}

/// A non-active entry cannot stop the program: its failures are warnings.
fn optional(checks: Vec<Check>) -> Vec<Check> {
    checks
        .into_iter()
        .map(|mut c| {
            if c.status == Status::Fail {
                c.status = Status::Warn;
                c.detail.push_str(" (not the active provider)");
            }
            c
        })
        .collect()
}

fn key_value(resolved: &Resolved) -> Option<String> {
    if resolved.api_key_env.is_empty() {
        return None;
    }
    env(&resolved.api_key_env)
        .map(|k| k.trim().to_string())
        .filter(|k| !k.is_empty())
}

fn ms(d: Duration) -> String {
    format!("{} ms", d.as_millis())
}

/// The lines of one provider: key, reachable, model, heartbeat (or one line for the mock).
async fn check_one(name: &str, config: &Config, active: bool, timeout: Duration) -> Vec<Check> {
    let line = |what: &str| format!("{name} {what}");
    let resolved = match llm_repl_providers::resolve(name, config, &env) {
        Ok(r) => r,
        Err(e) => {
            return vec![
                Check::fail(name, e)
                    .fix("fix the [providers] entry or --provider")
                    .provider(name),
            ];
        }
    };
    if resolved.kind == "mock" {
        let check = match llm_repl_providers::build(&resolved, config, &env) {
            Ok(_) => Check::ok(name, "offline mock: ok"),
            Err(e) => Check::fail(name, e).fix("fix the mock script path in the config"),
        };
        return vec![check.provider(name)];
    }
    let model = if active && !config.model.is_empty() {
        config.model.clone()
    } else {
        resolved.model.clone()
    };
    let var = resolved.api_key_env.clone();
    let key = key_value(&resolved);
    // The key line comes first; a refusal found later replaces it.
    let mut checks = vec![match (&key, var.is_empty()) {
        (_, true) => Check::ok(line("key"), "none needed (no api_key_env configured)"),
        (Some(_), false) => Check::ok(line("key"), format!("{var} is set")),
        (None, false) => Check::fail(line("key"), format!("{var} is not set")).fix(format!(
            "export {var}=..., or choose another provider with --provider (mock works offline)"
        )),
    }];
    // Only a key that was sent (or a keyless entry) can be refused; a missing one says so.
    let mark_refused = |checks: &mut Vec<Check>, how: &str| {
        if checks[0].status == Status::Ok {
            checks[0] = refused(line("key"), &var, how, name);
        }
    };
    let base = resolved.base_url.trim_end_matches('/').to_string();
    let connect = Duration::from_secs(config.reliability.connect_timeout_secs.max(1));
    let probe = models::probe(&resolved, key.as_deref(), connect, timeout).await;
    let probe = match probe {
        Ok(p) => p,
        Err(why) => {
            let (detail, fix) = match why {
                Unreachable::Connect(e) => (
                    format!("cannot connect to {base}: {e}"),
                    format!("is the server running? check base_url of [providers.{name}]"),
                ),
                Unreachable::Timeout => (
                    format!("no answer from {base}/models within {}s", timeout.as_secs()),
                    "check the server and base_url, or raise --timeout".to_string(),
                ),
                Unreachable::Other(e) => (
                    format!("{base}: {e}"),
                    format!("check base_url of [providers.{name}]"),
                ),
            };
            checks.push(Check::fail(line("reachable"), detail).fix(fix));
            return tag(checks, name);
        }
    };
    checks.push(
        Check::ok(
            line("reachable"),
            format!("{base} answered in {}", ms(probe.latency)),
        )
        .latency(probe.latency),
    );
    match probe.listing {
        Listing::Models(listed) => {
            let ids: Vec<String> = listed.into_iter().map(|m| m.id).collect();
            checks.push(model_line(line("model"), &model, &ids, name));
        }
        Listing::Refused { status } => {
            mark_refused(&mut checks, &format!("HTTP {status} on /models"));
        }
        Listing::Unlisted { what } => checks.push(
            Check::warn(
                line("model"),
                format!("{model}: the server does not list models ({what} on /models)"),
            )
            .fix("nothing to do if the heartbeat below is ok: it proves the model answers"),
        ),
    }
    if key.is_none() && !var.is_empty() {
        return tag(checks, name);
    }
    let (beat, key_refused) =
        heartbeat_line(&resolved, config, &model, timeout, &line("heartbeat")).await;
    checks.push(beat);
    if key_refused {
        mark_refused(&mut checks, "on the heartbeat");
    }
    tag(checks, name)
}

fn tag(checks: Vec<Check>, name: &str) -> Vec<Check> {
    checks.into_iter().map(|c| c.provider(name)).collect()
}

/// The key line when the server refused the key; `how` says where (`HTTP 401 on /models`).
fn refused(label: String, var: &str, how: &str, name: &str) -> Check {
    if var.is_empty() {
        Check::fail(
            label,
            format!("the server wants a key ({how}) and none is configured"),
        )
        .fix(format!(
            "set api_key_env in [providers.{name}] and export that variable"
        ))
    } else {
        Check::fail(
            label,
            format!("{var} is set but the server refused it ({how})"),
        )
        .fix(format!(
            "put a valid key for this server in {var} (a key of another provider?)"
        ))
    }
}

/// The configured model against the server's list. Absent is a warning, not a failure: lists
/// are often incomplete (aliases, Ollama tags, routers), and the heartbeat is the real test.
fn model_line(label: String, model: &str, ids: &[String], name: &str) -> Check {
    if ids.iter().any(|id| id == model) {
        let n = ids.len();
        return Check::ok(
            label,
            format!(
                "{model} is listed ({n} model{})",
                if n == 1 { "" } else { "s" }
            ),
        );
    }
    let sample: Vec<&str> = ids.iter().take(5).map(String::as_str).collect();
    let listed = if ids.is_empty() {
        "the server lists no models".to_string()
    } else {
        format!(
            "not among the {} models the server lists ({}{})",
            ids.len(),
            sample.join(", "),
            if ids.len() > sample.len() {
                ", ..."
            } else {
                ""
            }
        )
    };
    Check::warn(label, format!("{model}: {listed}")).fix(format!(
        "check the name (--model NAME, or model in [providers.{name}]); if the heartbeat \
         answers, the server accepts it under another name"
    ))
}

/// The heartbeat's line, and whether the key was refused.
async fn heartbeat_line(
    resolved: &Resolved,
    config: &Config,
    model: &str,
    timeout: Duration,
    label: &str,
) -> (Check, bool) {
    let provider = match llm_repl_providers::build(resolved, config, &env) {
        Ok(p) => p,
        Err(e) => return (Check::fail(label, e), false),
    };
    match heartbeat(provider.as_ref(), model, timeout).await {
        Ok(hb) => (
            Check::ok(
                label,
                format!(
                    "{} answered in {} (first token {})",
                    hb.model,
                    ms(hb.total),
                    ms(hb.first_item)
                ),
            )
            .latency(hb.total),
            false,
        ),
        Err(e) => {
            let refused = e.kind == ProviderErrorKind::Auth;
            let fix = match e.kind {
                ProviderErrorKind::Auth => format!(
                    "the key was refused: check {}",
                    if resolved.api_key_env.is_empty() {
                        "api_key_env".to_string()
                    } else {
                        resolved.api_key_env.clone()
                    }
                ),
                ProviderErrorKind::Http { status: 404 } => {
                    format!("the server may not know {model}: pick one it lists (--model NAME)")
                }
                ProviderErrorKind::Timeout => {
                    "the model is slow or stuck: raise --timeout or try later".to_string()
                }
                ProviderErrorKind::Connect => {
                    "check base_url and that the server is running".to_string()
                }
                ProviderErrorKind::Http { .. }
                | ProviderErrorKind::Stream
                | ProviderErrorKind::Other => "see the message; try again later".to_string(),
            };
            (Check::fail(label, e.message).fix(fix), refused)
        }
    }
}
