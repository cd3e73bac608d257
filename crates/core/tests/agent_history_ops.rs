//! The agent's answers to the history and settings Ops a frontend sends between turns: list,
//! search, preview, rename, open (and resume), stats, budgets, approvals, provider switches, and
//! the clear notices when there is no store or nothing to act on. Real sled in a temp dir.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on setup failures

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use llm_repl_core::config::Config;
use llm_repl_core::{Agent, AgentDeps, AgentHandle, Provider, ToolRegistry};
use llm_repl_protocol::{
    ApprovalDecision, ApprovalPolicy, BudgetScope, Event, NoticeLevel, Op, Role,
};

async fn next_event(h: &mut AgentHandle) -> Event {
    tokio::time::timeout(Duration::from_secs(10), h.events.recv())
        .await
        .expect("event in time")
        .expect("agent alive")
}

/// The first event `pick` accepts (events before it are dropped).
async fn wait_for<T>(h: &mut AgentHandle, pick: impl Fn(Event) -> Option<T>) -> T {
    loop {
        if let Some(t) = pick(next_event(h).await) {
            return t;
        }
    }
}

/// Sends `op` and returns the first Notice or Error it causes, as (level, text).
async fn answer(h: &mut AgentHandle, op: Op) -> (Option<NoticeLevel>, String) {
    h.ops.send(op).unwrap();
    wait_for(h, |e| match e {
        Event::Notice { level, text } => Some((Some(level), text)),
        Event::Error { message } => Some((None, message)),
        _ => None,
    })
    .await
}

#[tokio::test]
async fn list_search_preview_rename_open_and_stats_answer_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = llm_repl_store::Store::open(dir.path()).unwrap();
    let (mut h, _p) = start_with_store(
        vec![text("the answer about zebras")],
        Config::default(),
        true,
        Some(store.clone()),
    );
    submit(&h, "tell me about zebras");
    let (events, _) = until_finished(&mut h).await;
    let first = session_id(&events);

    h.ops
        .send(Op::ListSessions {
            offset: 0,
            limit: 10,
        })
        .unwrap();
    let (sessions, total) = wait_for(&mut h, |e| match e {
        Event::SessionList { sessions, total } => Some((sessions, total)),
        _ => None,
    })
    .await;
    assert_eq!(total, 1);
    assert_eq!(sessions[0].id, first);
    assert_eq!(sessions[0].messages, 2);

    h.ops
        .send(Op::Search {
            query: "zebras".into(),
            limit: 5,
        })
        .unwrap();
    let (query, hits) = wait_for(&mut h, |e| match e {
        Event::SearchResults { query, hits } => Some((query, hits)),
        _ => None,
    })
    .await;
    assert_eq!(query, "zebras");
    assert!(hits.iter().any(|hit| hit.session_id == first), "{hits:?}");

    h.ops
        .send(Op::PreviewSession { id: first.clone() })
        .unwrap();
    let (id, messages) = wait_for(&mut h, |e| match e {
        Event::SessionPreview { id, messages } => Some((id, messages)),
        _ => None,
    })
    .await;
    assert_eq!(id, first);
    assert_eq!(messages[0].content, "tell me about zebras");

    let (_, err) = answer(&mut h, Op::PreviewSession { id: "nope".into() }).await;
    assert!(err.contains("cannot preview nope"), "{err}");

    h.ops
        .send(Op::RenameSession {
            id: first.clone(),
            title: "Zebra facts".into(),
        })
        .unwrap();
    // The rename is durable once the next answer (a list) arrives: Ops are handled in order.
    h.ops
        .send(Op::ListSessions {
            offset: 0,
            limit: 10,
        })
        .unwrap();
    let listed = wait_for(&mut h, |e| match e {
        Event::SessionList { sessions, .. } => Some(sessions),
        _ => None,
    })
    .await;
    assert_eq!(listed[0].title, "Zebra facts");
    assert_eq!(
        store.get_session(&first).unwrap().unwrap().title,
        "Zebra facts"
    );
    let (_, err) = answer(
        &mut h,
        Op::RenameSession {
            id: "ghost".into(),
            title: "x".into(),
        },
    )
    .await;
    assert!(err.contains("cannot rename ghost"), "{err}");

    // A new session, then back to the first one: its conversation comes back.
    h.ops.send(Op::NewSession).unwrap();
    let second = wait_for(&mut h, |e| match e {
        Event::SessionStarted { info } => Some(info.id),
        _ => None,
    })
    .await;
    assert_ne!(second, first);
    h.ops.send(Op::OpenSession { id: first.clone() }).unwrap();
    let (info, messages) = wait_for(&mut h, |e| match e {
        Event::SessionLoaded { info, messages, .. } => Some((info, messages)),
        _ => None,
    })
    .await;
    assert_eq!(info.id, first);
    assert_eq!(info.title, "Zebra facts");
    let roles: Vec<Role> = messages.iter().map(|m| m.role).collect();
    assert_eq!(roles, [Role::User, Role::Assistant]);
    assert_eq!(messages[1].content, "the answer about zebras");

    let (_, err) = answer(&mut h, Op::OpenSession { id: "ghost".into() }).await;
    assert!(err.contains("ghost"), "{err}");

    for (days, period) in [(1, "today"), (7, "last 7 days")] {
        h.ops.send(Op::Stats { days }).unwrap();
        let (d, p, text) = wait_for(&mut h, |e| match e {
            Event::UsageReport {
                days, period, text, ..
            } => Some((days, period, text)),
            _ => None,
        })
        .await;
        assert_eq!(d, days);
        // The period names the calendar too ("today (UTC)").
        assert!(p.starts_with(period), "{p}");
        // The scripted turn's usage is in the report, under the session's title.
        assert!(
            text.contains("script-1") || text.contains("Zebra"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn history_ops_without_a_store_say_so_instead_of_failing() {
    let (mut h, _p) = start(vec![], Config::default(), true);
    let ops = [
        Op::ListSessions {
            offset: 0,
            limit: 10,
        },
        Op::Search {
            query: "x".into(),
            limit: 5,
        },
        Op::Stats { days: 7 },
        Op::OpenSession { id: "any".into() },
        Op::RenameSession {
            id: "any".into(),
            title: "t".into(),
        },
    ];
    for op in ops {
        let (level, text) = answer(&mut h, op.clone()).await;
        assert_eq!(level, Some(NoticeLevel::Warn), "{op:?}: {text}");
        assert!(text.contains("not being stored"), "{op:?}: {text}");
    }
}

#[tokio::test]
async fn budgets_approvals_interrupt_and_provider_switch_answer_with_notices() {
    let (mut h, _p) = start(vec![], Config::default(), true);

    let (_, t) = answer(
        &mut h,
        Op::SetBudget {
            scope: BudgetScope::Session,
            limit_usd: 2.5,
        },
    )
    .await;
    assert!(t.contains("session limit set to $2.50"), "{t}");
    let (_, t) = answer(&mut h, Op::ShowBudget).await;
    assert!(t.contains("session $2.50"), "{t}");
    assert!(t.contains("day none"), "{t}");
    let (_, t) = answer(
        &mut h,
        Op::SetBudget {
            scope: BudgetScope::Session,
            limit_usd: 0.0,
        },
    )
    .await;
    assert!(t.contains("session limit removed"), "{t}");
    let (_, t) = answer(&mut h, Op::ShowBudget).await;
    assert!(t.contains("session none"), "{t}");

    let (_, t) = answer(
        &mut h,
        Op::SetApprovals {
            policy: ApprovalPolicy::Always,
        },
    )
    .await;
    assert!(t.contains("approvals: always"), "{t}");
    let (_, t) = answer(&mut h, Op::ShowApprovals).await;
    assert!(t.starts_with("approvals: always"), "{t}");

    let (level, t) = answer(&mut h, Op::Interrupt).await;
    assert_eq!(level, Some(NoticeLevel::Info));
    assert_eq!(t, "nothing to interrupt");

    let (level, t) = answer(
        &mut h,
        Op::Approval {
            call_id: "c-unknown".into(),
            decision: ApprovalDecision::Approve,
        },
    )
    .await;
    assert_eq!(level, Some(NoticeLevel::Warn));
    assert!(t.contains("c-unknown"), "{t}");

    let (level, t) = answer(
        &mut h,
        Op::SetProvider {
            provider: "other".into(),
        },
    )
    .await;
    assert_eq!(level, Some(NoticeLevel::Warn));
    assert!(t.contains("not available"), "{t}");

    // A request id tags every answer to it.
    h.ops
        .send(Op::Request {
            id: 42,
            body: Box::new(Op::Interrupt),
        })
        .unwrap();
    let (request, body) = wait_for(&mut h, |e| match e {
        Event::Reply { request, body } => Some((request, body)),
        _ => None,
    })
    .await;
    assert_eq!(request, 42);
    assert!(matches!(*body, Event::Notice { .. }), "{body:?}");
}

#[tokio::test]
async fn provider_factory_switches_or_reports_its_error() {
    let scripted: Arc<dyn Provider> = Arc::new(Scripted::default());
    let factory: llm_repl_core::ProviderFactory = Arc::new(|name: &str| {
        if name == "second" {
            Ok(Arc::new(Scripted::default()) as Arc<dyn Provider>)
        } else {
            Err(format!("no provider {name} is configured"))
        }
    });
    let mut h = Agent::spawn(AgentDeps {
        config: Config::default(),
        provider: scripted,
        provider_factory: Some(factory),
        prices: Arc::new(prices()),
        tools: ToolRegistry::new(),
        workdir: ".".into(),
        context_window: None,
        interactive: true,
        store: None,
        resume: None,
        side_events: None,
    });
    let (_, err) = answer(
        &mut h,
        Op::SetProvider {
            provider: "missing".into(),
        },
    )
    .await;
    assert_eq!(err, "no provider missing is configured");
    h.ops
        .send(Op::SetProvider {
            provider: "second".into(),
        })
        .unwrap();
    let info = wait_for(&mut h, |e| match e {
        Event::ModelSwitched { info, .. } => Some(info),
        _ => None,
    })
    .await;
    assert_eq!(info.provider, "scripted");
    // The price table knows the scripted model's window.
    assert_eq!(info.context_window, Some(1000));
}

#[tokio::test]
async fn resume_reopens_a_stored_session_and_an_unknown_id_starts_fresh() {
    let dir = tempfile::tempdir().unwrap();
    let store = llm_repl_store::Store::open(dir.path()).unwrap();
    let first = {
        let (mut h, _p) = start_with_store(
            vec![text("kept")],
            Config::default(),
            true,
            Some(store.clone()),
        );
        submit(&h, "remember me");
        let (events, _) = until_finished(&mut h).await;
        h.ops.send(Op::Shutdown).unwrap();
        wait_for(&mut h, |e| {
            matches!(e, Event::ShutdownComplete).then_some(())
        })
        .await;
        session_id(&events)
    };
    for (resume, expect_loaded) in [(first.clone(), true), ("ghost".to_string(), false)] {
        let mut h = Agent::spawn(AgentDeps {
            config: Config::default(),
            provider: Arc::new(Scripted::default()),
            provider_factory: None,
            prices: Arc::new(prices()),
            tools: ToolRegistry::new(),
            workdir: ".".into(),
            context_window: None,
            interactive: true,
            store: Some(store.clone()),
            resume: Some(resume.clone()),
            side_events: None,
        });
        let got = wait_for(&mut h, |e| match e {
            Event::SessionLoaded { info, messages, .. } => Some((true, info.id, messages.len())),
            Event::SessionStarted { info } => Some((false, info.id, 0)),
            _ => None,
        })
        .await;
        assert_eq!(got.0, expect_loaded, "resume {resume}");
        if expect_loaded {
            assert_eq!((got.1.as_str(), got.2), (first.as_str(), 2));
        } else {
            assert_ne!(got.1, first);
        }
    }
}
