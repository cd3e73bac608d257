//! Failover along a route, circuit breakers, and the heartbeat, over scripted providers.

use std::time::Duration;

use llm_repl_core::provider::{ProviderErrorKind, StreamItem};
use tokio::time::Instant;

use super::*;

#[tokio::test(start_paused = true)]
async fn fails_over_to_the_next_provider_with_its_own_model() {
    let primary = Scripted::new("primary", (0..2).map(|_| Act::Fail(http(503))).collect());
    let backup = Scripted::new("backup", vec![ok_answer("from backup")]);
    let (on_event, events) = sink();
    let s = ResilienceSettings {
        max_retries: 1,
        max_transient_retries: 1,
        ..settings()
    };
    let r = Resilient::new(vec![primary.clone(), backup.clone()], s, on_event).expect("route");
    let (items, error) = run(&r).await;
    assert_eq!(error, None);
    assert_eq!(texts(&items), "from backup");
    assert_eq!(primary.calls(), 2);
    assert_eq!(*backup.models.lock().expect("lock"), vec!["backup-model"]);
    assert_eq!(
        *primary.models.lock().expect("lock"),
        vec!["primary-model"; 2]
    );
    let events = events.lock().expect("lock").clone();
    assert!(
        matches!(&events[1], ReliabilityEvent::Failover { from, to, .. } if from == "primary" && to == "backup")
    );
    assert_eq!(
        events[1].to_string(),
        "primary failed (HTTP 503); switching to backup"
    );
    // An auth failure fails over at once.
    let primary = Scripted::new(
        "primary",
        vec![Act::Fail(err(ProviderErrorKind::Auth, "401"))],
    );
    let backup = Scripted::new("backup", vec![ok_answer("ok")]);
    let (on_event, _) = sink();
    let r = Resilient::new(vec![primary.clone(), backup], settings(), on_event).expect("route");
    assert_eq!(run(&r).await.1, None);
    assert_eq!(primary.calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn circuit_opens_skips_half_opens_and_closes() {
    let mut acts: Vec<Act> = (0..2).map(|_| Act::Fail(http(500))).collect();
    acts.push(ok_answer("primary is back"));
    let primary = Scripted::new("primary", acts);
    let backup = Scripted::new("backup", vec![ok_answer("b1"), ok_answer("b2")]);
    let (on_event, events) = sink();
    let s = ResilienceSettings {
        circuit: CircuitSettings {
            failure_threshold: 2,
            cooldown: Duration::from_secs(30),
        },
        ..settings()
    };
    let r = Resilient::new(vec![primary.clone(), backup.clone()], s, on_event).expect("route");

    // Call 1: two failures open the primary's circuit; the call fails over.
    assert_eq!(texts(&run(&r).await.0), "b1");
    assert_eq!(primary.calls(), 2);
    assert!(matches!(r.health()[0].1, CircuitState::Open { .. }));
    assert_eq!(
        r.health()[1].1,
        CircuitState::Closed {
            consecutive_failures: 0
        }
    );

    // Call 2: the primary is skipped without a request.
    assert_eq!(texts(&run(&r).await.0), "b2");
    assert_eq!(primary.calls(), 2);

    // After the cool-down the primary is probed, answers, and its circuit closes.
    tokio::time::advance(Duration::from_secs(31)).await;
    assert_eq!(r.health()[0].1, CircuitState::HalfOpen);
    assert_eq!(texts(&run(&r).await.0), "primary is back");
    assert_eq!(
        r.health()[0].1,
        CircuitState::Closed {
            consecutive_failures: 0
        }
    );
    let events = events.lock().expect("lock");
    assert!(events.iter().any(
        |e| matches!(e, ReliabilityEvent::CircuitOpened { provider, .. } if provider == "primary")
    ));
    assert!(
        events.iter().any(
            |e| matches!(e, ReliabilityEvent::Skipped { provider, .. } if provider == "primary")
        )
    );
    assert!(events.iter().any(
        |e| matches!(e, ReliabilityEvent::CircuitClosed { provider } if provider == "primary")
    ));
}

#[tokio::test(start_paused = true)]
async fn with_every_circuit_open_the_next_call_probes_instead_of_being_refused() {
    let mut acts: Vec<Act> = (0..2).map(|_| Act::Fail(http(500))).collect();
    acts.push(ok_answer("back"));
    let inner = Scripted::new("p", acts);
    let (on_event, events) = sink();
    let s = ResilienceSettings {
        max_retries: 0,
        max_transient_retries: 1,
        circuit: CircuitSettings {
            failure_threshold: 2,
            cooldown: Duration::from_secs(30),
        },
        ..settings()
    };
    let r = Resilient::single(inner.clone(), s, on_event);
    assert!(run(&r).await.1.is_some());
    assert_eq!(inner.calls(), 2);
    assert!(matches!(r.health()[0].1, CircuitState::Open { .. }));
    // The user's next prompt, well within the cool-down: let through as a probe.
    let (items, error) = run(&r).await;
    assert_eq!(error, None);
    assert_eq!(texts(&items), "back");
    assert_eq!(inner.calls(), 3);
    assert_eq!(
        r.health()[0].1,
        CircuitState::Closed {
            consecutive_failures: 0
        }
    );
    let events = events.lock().expect("lock");
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, ReliabilityEvent::Skipped { .. }))
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, ReliabilityEvent::CircuitClosed { .. }))
    );
}

#[tokio::test(start_paused = true)]
async fn after_a_partial_answer_failover_resumes_and_checks_the_replay() {
    let primary = Scripted::new(
        "primary",
        vec![
            Act::Items(vec![Ok(text("Hello, ")), Err(http(500))]),
            Act::Fail(http(500)),
        ],
    );
    // The same model behind another endpoint: the replay matches and the answer completes.
    let backup = Scripted::new("backup", vec![ok_answer("Hello, world")]);
    let (on_event, events) = sink();
    let s = ResilienceSettings {
        max_retries: 1,
        max_transient_retries: 1,
        ..settings()
    };
    let r =
        Resilient::new(vec![primary.clone(), backup.clone()], s.clone(), on_event).expect("route");
    let (items, error) = run(&r).await;
    assert_eq!(error, None);
    assert_eq!(
        items,
        vec![
            text("Hello, "),
            text("world"),
            StreamItem::Finish("stop".into())
        ]
    );
    assert!(events.lock().expect("lock").iter().any(|e| matches!(
        e,
        ReliabilityEvent::Resuming { provider, delivered_chars: 7 } if provider == "backup"
    )));

    // Another model answers differently: the stream ends with the partial text kept.
    let primary = Scripted::new(
        "primary",
        vec![
            Act::Items(vec![Ok(text("Hello, ")), Err(http(500))]),
            Act::Fail(http(500)),
        ],
    );
    let backup = Scripted::new("backup", vec![ok_answer("Hi there")]);
    let (on_event, _) = sink();
    let r = Resilient::new(vec![primary, backup], s, on_event).expect("route");
    let (items, error) = run(&r).await;
    assert_eq!(texts(&items), "Hello, ");
    assert!(error.expect("diverged").message.contains("differs"));
}

#[tokio::test(start_paused = true)]
async fn heartbeat_times_a_one_token_answer_and_bounds_a_hang() {
    let inner = Scripted::new("p", vec![ok_answer("ok"), Act::Hang, Act::Fail(http(401))]);
    let hb = heartbeat(inner.as_ref(), "", Duration::from_secs(5))
        .await
        .expect("answers");
    assert_eq!(hb.reply, "ok");
    assert_eq!(hb.model, "p-model");
    assert!(hb.first_item <= hb.total);
    let t0 = Instant::now();
    let e = heartbeat(inner.as_ref(), "other", Duration::from_secs(5))
        .await
        .expect_err("hangs");
    assert_eq!(e.kind, ProviderErrorKind::Timeout);
    assert_eq!(e.message, "p: no heartbeat answer from other within 5s");
    assert_eq!(t0.elapsed(), Duration::from_secs(5));
    let e = heartbeat(inner.as_ref(), "", Duration::from_secs(5))
        .await
        .expect_err("refused");
    assert_eq!(e.kind, ProviderErrorKind::Http { status: 401 });
    assert_eq!(
        *inner.models.lock().expect("lock"),
        vec!["p-model", "other", "p-model"]
    );
}
