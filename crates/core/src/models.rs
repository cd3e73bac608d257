//! What the model picker offers (`Op::ListModels` -> `Event::ModelList`): the current
//! provider's models as its server lists them, the price table's models of that provider that
//! the server did not list, and the config's routes.
//!
//! The server's list is asked through [`Provider::list_models`] (for OpenAI-compatible servers
//! the providers crate's one `GET /models`), once per provider per session: a list that came
//! back is kept, a failure is not (the next open asks again). It runs as its own task, so the
//! agent keeps answering Ops (and a turn keeps streaming) while a slow server thinks.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use llm_repl_protocol::{Event, ModelChoice, ModelSource};

use crate::agent::Agent;
use crate::pricing::PriceTable;
use crate::provider::{ListedModel, ProviderError};

/// Server lists by provider name, kept for the session.
pub(crate) type ListCache = Arc<Mutex<HashMap<String, Vec<ListedModel>>>>;

impl Agent {
    /// Answers `Op::ListModels` from a task of its own (tagged with the request's id, if any).
    pub(crate) fn list_models(&self) {
        let provider = self.deps.provider.clone();
        let name = self.info.provider.clone();
        let cache = self.model_lists.clone();
        let priced = priced_models(&self.deps.prices, &name);
        let routes: Vec<String> = self.deps.config.routes.keys().cloned().collect();
        let request = self.answering;
        let events = self.events.clone();
        tokio::spawn(async move {
            let cached = cache
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(&name)
                .cloned();
            let listed = match cached {
                Some(listed) => Ok(listed),
                None => provider.list_models().await,
            };
            if let Ok(listed) = &listed {
                cache
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(name.clone(), listed.clone());
            }
            let event = model_list(name, listed, priced, routes);
            let _ = events.send(match request {
                Some(request) => Event::Reply {
                    request,
                    body: Box::new(event),
                },
                None => event,
            });
        });
    }
}

/// The price table's models of `provider` (aliases followed), with their windows.
fn priced_models(prices: &PriceTable, provider: &str) -> Vec<(String, Option<u64>)> {
    prices
        .entries()
        .filter(|p| {
            prices
                .lookup(provider, &p.model)
                .is_some_and(|found| std::ptr::eq(found, *p))
        })
        .map(|p| (p.model.clone(), p.context_window))
        .collect()
}

/// The picker's entries: listed first (in the server's order), then priced ones the server did
/// not list, then routes; a name appears once.
fn model_list(
    provider: String,
    listed: Result<Vec<ListedModel>, ProviderError>,
    priced: Vec<(String, Option<u64>)>,
    routes: Vec<String>,
) -> Event {
    let windows: HashMap<&str, u64> = priced
        .iter()
        .filter_map(|(m, w)| Some((m.as_str(), (*w)?)))
        .collect();
    let mut seen = HashSet::new();
    let mut models = Vec::new();
    let (listed, error) = match listed {
        Ok(listed) => (listed, None),
        Err(e) => (Vec::new(), Some(e.message)),
    };
    for m in listed {
        if seen.insert(m.id.clone()) {
            let context_window = m
                .context_window
                .or_else(|| windows.get(m.id.as_str()).copied());
            models.push(ModelChoice {
                name: m.id,
                source: ModelSource::Listed,
                context_window,
            });
        }
    }
    for (name, context_window) in priced {
        if seen.insert(name.clone()) {
            models.push(ModelChoice {
                name,
                source: ModelSource::Priced,
                context_window,
            });
        }
    }
    for name in routes {
        if name != provider && seen.insert(name.clone()) {
            models.push(ModelChoice {
                name,
                source: ModelSource::Route,
                context_window: None,
            });
        }
    }
    Event::ModelList {
        provider,
        models,
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::ProviderErrorKind;

    fn listed(id: &str, w: Option<u64>) -> ListedModel {
        ListedModel {
            id: id.into(),
            context_window: w,
        }
    }

    #[test]
    fn listed_then_priced_then_routes_each_name_once() {
        let event = model_list(
            "openai".into(),
            Ok(vec![listed("gpt-4o", None), listed("custom", Some(1000))]),
            vec![
                ("gpt-4o".into(), Some(128_000)),
                ("gpt-4o-mini".into(), Some(128_000)),
            ],
            vec!["auto".into(), "openai".into()],
        );
        let Event::ModelList { models, error, .. } = event else {
            panic!("not a model list: {event:?}");
        };
        assert_eq!(error, None);
        let got: Vec<(&str, ModelSource, Option<u64>)> = models
            .iter()
            .map(|m| (m.name.as_str(), m.source, m.context_window))
            .collect();
        assert_eq!(
            got,
            [
                ("gpt-4o", ModelSource::Listed, Some(128_000)),
                ("custom", ModelSource::Listed, Some(1000)),
                ("gpt-4o-mini", ModelSource::Priced, Some(128_000)),
                ("auto", ModelSource::Route, None),
            ]
        );
    }

    #[test]
    fn a_failed_listing_keeps_the_other_entries_and_says_why() {
        let event = model_list(
            "groq".into(),
            Err(ProviderError::new(
                ProviderErrorKind::Connect,
                "cannot connect to http://x/v1 (refused)",
            )),
            vec![("llama".into(), None)],
            vec![],
        );
        let Event::ModelList { models, error, .. } = event else {
            panic!("not a model list: {event:?}");
        };
        assert_eq!(
            error.as_deref(),
            Some("cannot connect to http://x/v1 (refused)")
        );
        assert_eq!(models.len(), 1);
        assert_eq!(models[0].source, ModelSource::Priced);
    }

    #[test]
    fn priced_models_follow_the_provider_and_its_alias() {
        let mut prices = PriceTable::builtin().clone();
        let config: crate::pricing::PricingConfig =
            toml::from_str("aliases = { work = \"openai\" }").unwrap();
        prices.merge(&config).unwrap();
        let openai = priced_models(&prices, "openai");
        assert!(openai.iter().any(|(m, _)| m == "gpt-4o"), "{openai:?}");
        assert_eq!(priced_models(&prices, "work"), openai);
        assert!(priced_models(&prices, "nowhere").is_empty());
    }
}
