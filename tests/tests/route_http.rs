//! `Resilient` over HTTP with two fake servers: failover, the circuit breaker opening, skipping,
//! half-opening and closing; Retry-After honoured; the heartbeat. Real time, tiny durations.

use llm_repl_providers::resilient;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use llm_repl_core::provider::{ChatRequest, Provider, StreamItem};
use llm_repl_e2e::fake::{FakeServer, Scripted};
use llm_repl_e2e::raw_provider::RawProvider;
use llm_repl_protocol::Message;
use resilient::{
    BackoffSettings, CircuitSettings, CircuitState, ReliabilityEvent, ResilienceSettings,
    Resilient, heartbeat,
};

type Events = Arc<Mutex<Vec<ReliabilityEvent>>>;

fn route(servers: &[(&str, &FakeServer)], cooldown: Duration) -> (Resilient, Events) {
    let events: Events = Arc::default();
    let sink = events.clone();
    let providers: Vec<Arc<dyn Provider>> = servers
        .iter()
        .map(|(name, s)| {
            Arc::new(RawProvider::new(
                name,
                &format!("{name}-model"),
                &s.base_url(),
            )) as Arc<dyn Provider>
        })
        .collect();
    let settings = ResilienceSettings {
        first_token_timeout: Duration::from_secs(5),
        idle_timeout: Duration::from_secs(5),
        max_retries: 1,
        max_transient_retries: 1,
        backoff: BackoffSettings {
            base: Duration::from_millis(1),
            max: Duration::from_millis(5),
            max_retry_after: Duration::from_secs(2),
        },
        circuit: CircuitSettings {
            failure_threshold: 2,
            cooldown,
        },
        resume_partial: true,
        jitter_seed: Some(3),
    };
    let r = Resilient::new(
        providers,
        settings,
        Arc::new(move |e| sink.lock().expect("lock").push(e)),
    )
    .expect("route");
    (r, events)
}

async fn ask(r: &Resilient) -> Result<String, String> {
    let request = ChatRequest {
        model: String::new(),
        messages: vec![Message::user("hi")],
        tools: Vec::new(),
        max_tokens: None,
        temperature: None,
        prompt_tokens: None,
    };
    let mut stream = r.stream(request).await.map_err(|e| e.to_string())?;
    let mut text = String::new();
    while let Some(item) = stream.next().await {
        if let StreamItem::Text(t) = item.map_err(|e| e.to_string())? {
            text.push_str(&t);
        }
    }
    Ok(text)
}

#[tokio::test]
async fn failover_and_circuit_breaker_with_two_servers() {
    let primary = FakeServer::start().await;
    let backup = FakeServer::start().await;
    primary.set_fallback(Scripted::server_error());
    backup.set_fallback(Scripted::text("from backup"));
    let cooldown = Duration::from_millis(300);
    let (r, events) = route(&[("primary", &primary), ("backup", &backup)], cooldown);

    // Two 500s open the primary's circuit; the call fails over with the backup's own model.
    assert_eq!(ask(&r).await.as_deref(), Ok("from backup"));
    assert_eq!(primary.chat_requests().len(), 2);
    assert_eq!(backup.chat_requests()[0].body["model"], "backup-model");
    assert!(matches!(r.health()[0].1, CircuitState::Open { .. }));

    // While open, the primary gets no request at all.
    assert_eq!(ask(&r).await.as_deref(), Ok("from backup"));
    assert_eq!(primary.chat_requests().len(), 2);

    // After the cool-down one probe goes through; it succeeds and closes the circuit.
    primary.push(Scripted::text("primary is back"));
    let deadline = Instant::now() + Duration::from_secs(5);
    while r.health()[0].1 != CircuitState::HalfOpen {
        assert!(Instant::now() < deadline, "never half-opened");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(ask(&r).await.as_deref(), Ok("primary is back"));
    assert_eq!(
        r.health()[0].1,
        CircuitState::Closed {
            consecutive_failures: 0
        }
    );
    let kinds: Vec<String> = events
        .lock()
        .expect("lock")
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(
        kinds
            .iter()
            .any(|e| e.starts_with("primary: circuit opened")),
        "{kinds:?}"
    );
    assert!(
        kinds
            .iter()
            .any(|e| e.starts_with("primary failed (primary: HTTP 500")),
        "{kinds:?}"
    );
    assert!(
        kinds
            .iter()
            .any(|e| e.starts_with("primary: skipped, circuit open")),
        "{kinds:?}"
    );
    assert!(
        kinds
            .iter()
            .any(|e| e == "primary: answering again; circuit closed"),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn retry_after_is_honoured_and_auth_errors_fail_over_at_once() {
    let primary = FakeServer::start().await;
    let backup = FakeServer::start().await;
    primary.push(Scripted::rate_limited_ms(150));
    primary.push(Scripted::text("after the wait"));
    let (r, events) = route(&[("primary", &primary)], Duration::from_secs(30));
    let t0 = Instant::now();
    assert_eq!(ask(&r).await.as_deref(), Ok("after the wait"));
    assert!(t0.elapsed() >= Duration::from_millis(150));
    assert!(matches!(
        &events.lock().expect("lock")[..],
        [
            ReliabilityEvent::Retry { delay, .. },
            ReliabilityEvent::RetriesOver { recovered: true, retries: 1, .. },
        ] if *delay == Duration::from_millis(150)
    ));

    primary.push(Scripted::unauthorized());
    backup.push(Scripted::text("backup ok"));
    let (r, _) = route(
        &[("primary", &primary), ("backup", &backup)],
        Duration::from_secs(30),
    );
    assert_eq!(ask(&r).await.as_deref(), Ok("backup ok"));
    assert_eq!(primary.chat_requests().len(), 3);

    // Nothing left anywhere: a clear error naming the last failure.
    primary.push(Scripted::unauthorized());
    let (r, _) = route(&[("primary", &primary)], Duration::from_secs(30));
    let e = ask(&r).await.expect_err("401");
    assert!(e.contains("HTTP 401") && !e.contains('\n'), "{e}");
}

#[tokio::test]
async fn heartbeat_over_http_sends_a_one_token_request() {
    let server = FakeServer::start().await;
    server.push(Scripted::text("ok"));
    let p = RawProvider::new("fake", "fake-model", &server.base_url());
    let hb = heartbeat(&p, "", Duration::from_secs(5))
        .await
        .expect("heartbeat");
    assert_eq!(hb.reply, "ok");
    assert!(hb.first_item <= hb.total && hb.total < Duration::from_secs(5));
    let sent = &server.chat_requests()[0].body;
    assert_eq!(sent["max_tokens"], 1);
    assert_eq!(sent["model"], "fake-model");

    server.push(Scripted::Reply(
        llm_repl_e2e::fake::Reply::text("ok").stall_after(0),
    ));
    let e = heartbeat(&p, "", Duration::from_millis(200))
        .await
        .expect_err("stalls");
    assert!(e.message.contains("no heartbeat answer"), "{}", e.message);
}
