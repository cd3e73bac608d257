//! `Op::ListModels` through the real agent: the answer carries the request's id, holds the
//! provider's listed models, the priced ones it did not list and the routes; a failed listing
//! says why and is asked again next time; a listing that came back is kept for the session.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::future::BoxFuture;
use llm_repl_core::config::Config;
use llm_repl_core::pricing::route::RouteConfig;
use llm_repl_core::{
    Agent, AgentDeps, AgentHandle, ChatRequest, ChatStream, ListedModel, Provider, ProviderError,
    ProviderErrorKind, ToolRegistry,
};
use llm_repl_protocol::{Event, ModelChoice, ModelSource, Op};

/// Lists nothing the first time (its server is "down"), then two models.
#[derive(Default)]
struct Listing {
    asked: AtomicUsize,
}

impl Provider for Listing {
    fn name(&self) -> &str {
        "scripted"
    }
    fn default_model(&self) -> &str {
        "script-1"
    }
    fn list_models(&self) -> BoxFuture<'_, Result<Vec<ListedModel>, ProviderError>> {
        let n = self.asked.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            if n == 0 {
                return Err(ProviderError::new(
                    ProviderErrorKind::Connect,
                    "cannot connect to http://127.0.0.1:9/v1 (refused)",
                ));
            }
            Ok(vec![
                ListedModel {
                    id: "m-a".into(),
                    context_window: Some(500),
                },
                ListedModel {
                    id: "script-1".into(),
                    context_window: None,
                },
            ])
        })
    }
    fn stream(&self, _request: ChatRequest) -> BoxFuture<'_, Result<ChatStream, ProviderError>> {
        Box::pin(async {
            Err(ProviderError::new(
                ProviderErrorKind::Other,
                "no calls here",
            ))
        })
    }
}

fn start(provider: Arc<Listing>) -> AgentHandle {
    let mut config = Config::default();
    config.routes.insert(
        "auto".into(),
        RouteConfig {
            candidates: vec!["mock:mock".into()],
            ..RouteConfig::default()
        },
    );
    Agent::spawn(AgentDeps {
        config,
        provider,
        provider_factory: None,
        prices: Arc::new(common::prices()),
        tools: ToolRegistry::new(),
        workdir: PathBuf::from("."),
        context_window: None,
        interactive: true,
        store: None,
        resume: None,
        side_events: None,
    })
}

/// The next `ModelList` answering `request` (other events are skipped).
async fn answer(h: &mut AgentHandle, request: u64) -> (Vec<ModelChoice>, Option<String>) {
    loop {
        let event = tokio::time::timeout(Duration::from_secs(10), h.events.recv())
            .await
            .expect("an answer in time")
            .expect("agent alive");
        if let Event::Reply {
            request: r,
            body: ref inner,
        } = event
            && let Event::ModelList {
                provider,
                models,
                error,
            } = inner.as_ref()
        {
            assert_eq!(r, request, "the answer carries the request's id");
            assert_eq!(provider, "scripted");
            return (models.clone(), error.clone());
        }
    }
}

fn choice(name: &str, source: ModelSource, window: Option<u64>) -> ModelChoice {
    ModelChoice {
        name: name.into(),
        source,
        context_window: window,
    }
}

#[tokio::test]
async fn listing_answers_the_request_keeps_successes_and_retries_failures() {
    let provider = Arc::new(Listing::default());
    let mut h = start(provider.clone());

    h.ops.send(Op::ListModels.tagged(7)).unwrap();
    let (models, error) = answer(&mut h, 7).await;
    assert_eq!(
        error.as_deref(),
        Some("cannot connect to http://127.0.0.1:9/v1 (refused)")
    );
    assert_eq!(
        models,
        [
            choice("script-1", ModelSource::Priced, Some(1000)),
            choice("auto", ModelSource::Route, None)
        ]
    );

    h.ops.send(Op::ListModels.tagged(8)).unwrap();
    let (models, error) = answer(&mut h, 8).await;
    assert_eq!(error, None);
    let want = [
        choice("m-a", ModelSource::Listed, Some(500)),
        // Listed, with the window the price table knows.
        choice("script-1", ModelSource::Listed, Some(1000)),
        choice("auto", ModelSource::Route, None),
    ];
    assert_eq!(models, want);
    assert_eq!(
        provider.asked.load(Ordering::SeqCst),
        2,
        "the failure was asked again"
    );

    h.ops.send(Op::ListModels.tagged(9)).unwrap();
    let (models, _) = answer(&mut h, 9).await;
    assert_eq!(models, want);
    assert_eq!(
        provider.asked.load(Ordering::SeqCst),
        2,
        "a listing that came back is kept for the session"
    );
}
