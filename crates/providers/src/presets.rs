//! Built-in provider presets and the choice of provider from config and environment.

use std::collections::BTreeMap;

use llm_repl_core::config::{Config, ProviderConfig};

/// A provider entry with every default filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    pub name: String,
    /// `openai` or `mock`.
    pub kind: String,
    pub base_url: String,
    pub api_key_env: String,
    pub model: String,
    pub headers: BTreeMap<String, String>,
    pub script: String,
    pub context_window: Option<u64>,
}

/// The preset names, in the order tried when nothing is configured.
pub const PRESETS: [&str; 5] = ["openai", "groq", "openrouter", "ollama", "mock"];

/// Reads an environment variable (injected so tests need not touch the process environment).
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

fn preset(name: &str, env: Env<'_>) -> Option<Resolved> {
    let (kind, base_url, key, model) = match name {
        "openai" => (
            "openai",
            env("OPENAI_BASE_URL")
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| "https://api.openai.com/v1".into()),
            "OPENAI_API_KEY",
            "gpt-4o-mini",
        ),
        "groq" => (
            "openai",
            "https://api.groq.com/openai/v1".into(),
            "GROQ_API_KEY",
            "llama-3.3-70b-versatile",
        ),
        "openrouter" => (
            "openai",
            "https://openrouter.ai/api/v1".into(),
            "OPENROUTER_API_KEY",
            "openai/gpt-4o-mini",
        ),
        "ollama" => ("openai", ollama_base(env("OLLAMA_HOST")), "", "llama3.2"),
        "mock" => ("mock", String::new(), "", "mock"),
        _ => return None,
    };
    Some(Resolved {
        name: name.into(),
        kind: kind.into(),
        base_url,
        api_key_env: key.into(),
        model: model.into(),
        headers: BTreeMap::new(),
        script: String::new(),
        context_window: None,
    })
}

/// OLLAMA_HOST may be `host:port`, `http://host:port` or empty.
fn ollama_base(host: Option<String>) -> String {
    let host = host.map(|h| h.trim().trim_end_matches('/').to_string());
    match host.filter(|h| !h.is_empty()) {
        None => "http://localhost:11434/v1".into(),
        Some(h) if h.starts_with("http://") || h.starts_with("https://") => format!("{h}/v1"),
        Some(h) => format!("http://{h}/v1"),
    }
}

/// Fills an entry from its preset (if its name is one) and checks it is complete.
pub fn resolve(name: &str, config: &Config, env: Env<'_>) -> Result<Resolved, String> {
    let entry = config.providers.get(name);
    let base = preset(name, env);
    let Some(mut out) = base.or_else(|| entry.map(|_| blank(name))) else {
        let configured: Vec<&str> = config.providers.keys().map(String::as_str).collect();
        return Err(format!(
            "unknown provider {name:?}: configure [providers.{name}] or use one of the presets \
             {}{}",
            PRESETS.join(", "),
            if configured.is_empty() {
                String::new()
            } else {
                format!(" or a configured entry ({})", configured.join(", "))
            }
        ));
    };
    if let Some(e) = entry {
        overlay(&mut out, e);
    }
    if out.kind == "openai" && out.base_url.is_empty() {
        return Err(format!(
            "provider {name:?} needs a base_url (e.g. http://127.0.0.1:8080/v1) in \
             [providers.{name}]"
        ));
    }
    if out.model.is_empty() && out.kind == "openai" {
        return Err(format!(
            "provider {name:?} needs a model in [providers.{name}]"
        ));
    }
    Ok(out)
}

fn blank(name: &str) -> Resolved {
    Resolved {
        name: name.into(),
        kind: "openai".into(),
        base_url: String::new(),
        api_key_env: String::new(),
        model: String::new(),
        headers: BTreeMap::new(),
        script: String::new(),
        context_window: None,
    }
}

fn overlay(out: &mut Resolved, e: &ProviderConfig) {
    let set = |dst: &mut String, src: &String| {
        if !src.is_empty() {
            dst.clone_from(src);
        }
    };
    set(&mut out.kind, &e.kind);
    set(&mut out.base_url, &e.base_url);
    set(&mut out.api_key_env, &e.api_key_env);
    set(&mut out.model, &e.model);
    set(&mut out.script, &e.script);
    out.headers.extend(e.headers.clone());
    if e.context_window.is_some() {
        out.context_window = e.context_window;
    }
}

/// Which provider to use: the explicit choice (flag, LLM_REPL_PROVIDER, config), else the first
/// configured entry whose key is present, else the first preset whose key is present, else mock.
pub fn choose(explicit: Option<&str>, config: &Config, env: Env<'_>) -> String {
    if let Some(name) = explicit.filter(|n| !n.trim().is_empty()) {
        return name.trim().to_string();
    }
    if !config.provider.trim().is_empty() {
        return config.provider.trim().to_string();
    }
    let has_key = |r: &Resolved| r.api_key_env.is_empty() || env(&r.api_key_env).is_some();
    for name in config.providers.keys() {
        if resolve(name, config, env).is_ok_and(|r| has_key(&r)) {
            return name.clone();
        }
    }
    for name in ["openai", "groq", "openrouter"] {
        if preset(name, env).is_some_and(|r| env(&r.api_key_env).is_some()) {
            return name.into();
        }
    }
    "mock".into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn nothing_configured_means_mock_and_keys_pick_presets() {
        let c = Config::default();
        assert_eq!(choose(None, &c, &env_of(&[])), "mock");
        assert_eq!(choose(None, &c, &env_of(&[("GROQ_API_KEY", "k")])), "groq");
        assert_eq!(choose(Some("ollama"), &c, &env_of(&[])), "ollama");
    }

    #[test]
    fn presets_honour_their_environment() {
        let c = Config::default();
        let r = resolve(
            "openai",
            &c,
            &env_of(&[("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")]),
        )
        .unwrap();
        assert_eq!(r.base_url, "http://127.0.0.1:9/v1");
        assert_eq!(r.api_key_env, "OPENAI_API_KEY");
        let r = resolve("ollama", &c, &env_of(&[("OLLAMA_HOST", "10.0.0.2:11434")])).unwrap();
        assert_eq!(r.base_url, "http://10.0.0.2:11434/v1");
        assert_eq!(r.api_key_env, "");
    }

    #[test]
    fn entries_overlay_presets_and_custom_entries_need_a_url() {
        let c = Config::parse(
            "[providers.groq]\nmodel = \"llama-3.1-8b-instant\"\n[providers.local]\nmodel = \"x\"\n",
            Path::new("c.toml"),
        )
        .unwrap();
        let r = resolve("groq", &c, &env_of(&[])).unwrap();
        assert_eq!(r.model, "llama-3.1-8b-instant");
        assert_eq!(r.base_url, "https://api.groq.com/openai/v1");
        let err = resolve("local", &c, &env_of(&[])).unwrap_err();
        assert!(err.contains("base_url"), "{err}");
        let err = resolve("nope", &c, &env_of(&[])).unwrap_err();
        assert!(
            err.contains("unknown provider") && err.contains("local"),
            "{err}"
        );
    }
}
