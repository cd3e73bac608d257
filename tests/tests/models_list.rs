//! Listing a provider's models (`llm_repl_providers::models`, the one place that asks a server's
//! `GET /models`) against the fake OpenAI-compatible server over real HTTP: what the provider
//! sends, the windows it reads, how a refusal, a missing endpoint and a dead server come back,
//! and the same listing through the wrappers the binary puts around a provider.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use llm_repl_core::config::ReliabilityConfig;
use llm_repl_core::{Config, ListedModel, Provider, ProviderErrorKind};
use llm_repl_e2e::fake::FakeServer;
use llm_repl_providers::models::{self, Listing};
use llm_repl_providers::resilient::{ResilienceSettings, Resilient};
use llm_repl_providers::{OpenAiProvider, OpenAiSettings};

const KEY: &str = "sk-test-models-1234";

fn provider(base_url: &str) -> OpenAiProvider {
    let settings = OpenAiSettings {
        name: "fake".into(),
        base_url: base_url.into(),
        api_key: Some(KEY.into()),
        api_key_env: "FAKE_KEY".into(),
        model: "alpha".into(),
        headers: BTreeMap::from([("x-team".to_string(), "blue".to_string())]),
        connect_timeout: Duration::from_secs(5),
    };
    OpenAiProvider::new(settings).expect("valid settings")
}

fn listed(id: &str, window: Option<u64>) -> ListedModel {
    ListedModel {
        id: id.into(),
        context_window: window,
    }
}

#[tokio::test]
async fn the_provider_lists_models_with_windows_sending_key_and_headers() {
    let server = FakeServer::start().await;
    server.set_models(&["alpha", "beta@32000", "gamma@200000"]);
    let models = provider(&server.base_url()).list_models().await.unwrap();
    assert_eq!(
        models,
        [
            listed("alpha", None),
            listed("beta", Some(32_000)),
            listed("gamma", Some(200_000))
        ]
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let req = &requests[0];
    assert_eq!(
        (req.method.as_str(), req.path.as_str()),
        ("GET", "/v1/models")
    );
    assert_eq!(
        req.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(req.header("x-team"), Some("blue"));
}

#[tokio::test]
async fn the_context_window_comes_from_the_same_listing_asked_once() {
    let server = FakeServer::start().await;
    server.set_models(&["alpha@8192", "beta"]);
    let p = provider(&server.base_url());
    assert_eq!(p.context_window("alpha").await, Some(8192));
    assert_eq!(p.context_window("beta").await, None);
    assert_eq!(p.context_window("nope").await, None);
    assert_eq!(server.request_count(), 1, "windows are asked once");
}

#[tokio::test]
async fn refusal_missing_endpoint_and_dead_server_are_told_apart() {
    let server = FakeServer::start().await;
    let p = provider(&server.base_url());
    server.set_models_error(Some(401));
    let e = p.list_models().await.unwrap_err();
    assert_eq!(e.kind, ProviderErrorKind::Auth, "{e}");
    assert!(e.message.contains("refused the key (HTTP 401)"), "{e}");
    assert!(!e.message.contains(KEY), "the key leaked: {e}");
    server.set_models_error(Some(404));
    let e = p.list_models().await.unwrap_err();
    assert_eq!(e.kind, ProviderErrorKind::Http { status: 404 }, "{e}");
    assert!(e.message.contains("does not list models (HTTP 404"), "{e}");
    server.set_models_error(None);
    assert_eq!(p.list_models().await.unwrap(), []);

    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/v1", listener.local_addr().unwrap())
    };
    let e = provider(&dead).list_models().await.unwrap_err();
    assert_eq!(e.kind, ProviderErrorKind::Connect, "{e}");
    assert!(
        e.message.starts_with("cannot connect to http://127.0.0.1:"),
        "{e}"
    );
}

#[tokio::test]
async fn doctor_probe_reports_the_listing_and_its_latency() {
    let server = FakeServer::start().await;
    server.set_models(&["alpha", "beta@4096"]);
    let config = Config::parse(
        &format!(
            "[providers.fake]\nkind = \"openai\"\nbase_url = \"{}\"\nmodel = \"alpha\"\n",
            server.base_url()
        ),
        Path::new("test.toml"),
    )
    .unwrap();
    let resolved = llm_repl_providers::resolve("fake", &config, &|_| None).unwrap();
    let probe = models::probe(
        &resolved,
        Some(KEY),
        Duration::from_secs(5),
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    match probe.listing {
        Listing::Models(m) => assert_eq!(m, [listed("alpha", None), listed("beta", Some(4096))]),
        other => panic!("not a listing: {other:?}"),
    }
    assert!(probe.latency < Duration::from_secs(5));
    server.set_models_error(Some(403));
    let probe = models::probe(
        &resolved,
        Some(KEY),
        Duration::from_secs(5),
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    assert!(
        matches!(probe.listing, Listing::Refused { status: 403 }),
        "{:?}",
        probe.listing
    );
}

#[tokio::test]
async fn the_resilient_wrapper_passes_the_listing_through() {
    let server = FakeServer::start().await;
    server.set_models(&["alpha@1000"]);
    let inner: Arc<dyn Provider> = Arc::new(provider(&server.base_url()));
    let settings = ResilienceSettings::from_config(&ReliabilityConfig::default());
    let wrapped = Resilient::single(inner, settings, Arc::new(|_| {}));
    assert_eq!(
        wrapped.list_models().await.unwrap(),
        [listed("alpha", Some(1000))]
    );
}
