//! A tool whose risk assessment panics: under `on-risk` the call needs approval (denied in a
//! headless run, asked in an interactive one), never "not needed" (issue 12 item 14).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support code: a failure is a test failure

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::*;
use futures::future::BoxFuture;
use llm_repl_core::config::Config;
use llm_repl_core::{
    Agent, AgentDeps, AgentHandle, Assessment, Tool, ToolContext, ToolOutcome, ToolRegistry,
    ToolSpec,
};
use llm_repl_protocol::{Event, ToolStatus};

/// Its `assess` panics; `run` records that it ran.
struct Fragile {
    ran: Arc<AtomicBool>,
}

impl Tool for Fragile {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "fragile".into(),
            description: "its risk check panics".into(),
            parameters: serde_json::json!({"type": "object"}),
        }
    }
    fn assess(&self, _args: &serde_json::Value) -> Assessment {
        panic!("assessment bug")
    }
    fn run(&self, _args: serde_json::Value, _ctx: ToolContext) -> BoxFuture<'_, ToolOutcome> {
        self.ran.store(true, Ordering::SeqCst);
        Box::pin(async { ToolOutcome::ok("ran") })
    }
}

fn spawn(interactive: bool, ran: Arc<AtomicBool>) -> AgentHandle {
    let provider = Arc::new(Scripted::default());
    provider
        .answers
        .lock()
        .unwrap()
        .extend([call("c1", "fragile", "{}"), text("done")]);
    let mut tools = ToolRegistry::new();
    tools.register(Arc::new(Fragile { ran }));
    Agent::spawn(AgentDeps {
        config: Config::default(), // approval policy "on-risk"
        provider,
        provider_factory: None,
        prices: Arc::new(prices()),
        tools,
        workdir: PathBuf::from("."),
        context_window: Some(1000),
        interactive,
        store: None,
        resume: None,
        side_events: None,
    })
}

#[tokio::test]
async fn a_panicking_assessment_is_denied_headless() {
    let ran = Arc::new(AtomicBool::new(false));
    let mut h = spawn(false, ran.clone());
    submit(&h, "go");
    let (events, _) = until_finished(&mut h).await;
    let status = events.iter().find_map(|e| match e {
        Event::ToolCallFinished { status, .. } => Some(*status),
        _ => None,
    });
    assert_eq!(status, Some(ToolStatus::Denied), "{events:?}");
    assert!(!ran.load(Ordering::SeqCst), "the call ran without approval");
}

#[tokio::test]
async fn a_panicking_assessment_asks_interactively() {
    let ran = Arc::new(AtomicBool::new(false));
    let mut h = spawn(true, ran.clone());
    submit(&h, "go");
    let request = loop {
        let ev = tokio::time::timeout(std::time::Duration::from_secs(10), h.events.recv())
            .await
            .expect("event in time")
            .expect("agent alive");
        match ev {
            Event::ApprovalRequested { request } => break request,
            Event::TurnFinished { .. } => panic!("the turn ended without asking"),
            _ => {}
        }
    };
    assert!(request.reason.contains("assessment"), "{}", request.reason);
    assert!(!ran.load(Ordering::SeqCst));
}
