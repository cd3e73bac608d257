//! What the agent puts on each model request besides the conversation: the configured sampling
//! temperature (set by core, for every provider and the response cache alike) and the prompt's
//! token count, counted incrementally and equal to a count from scratch.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support code: a failure is a test failure

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use common::*;
use futures::future::BoxFuture;
use llm_repl_core::config::Config;
use llm_repl_core::estimate::Estimator;
use llm_repl_core::{
    Agent, AgentDeps, ChatRequest, ChatStream, Provider, ProviderError, ToolRegistry,
};
use llm_repl_protocol::{FinishReason, Op};

#[tokio::test]
async fn the_configured_temperature_is_on_every_request() {
    let config = Config {
        temperature: Some(0.3),
        ..Config::default()
    };
    let (mut h, provider) = start(
        vec![call("c1", "echo", r#"{"text":"a"}"#), text("done")],
        config,
        true,
    );
    submit(&h, "go");
    let (_, reason) = until_finished(&mut h).await;
    assert_eq!(reason, FinishReason::Completed);
    let temps: Vec<_> = provider
        .requests
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.temperature)
        .collect();
    assert_eq!(temps, vec![Some(0.3), Some(0.3)]);

    // Not configured: the provider's default.
    let (mut h, provider) = start(vec![text("hi")], Config::default(), true);
    submit(&h, "go");
    until_finished(&mut h).await;
    assert_eq!(provider.requests.lock().unwrap()[0].temperature, None);
}

fn spawn(provider: Arc<dyn Provider>, context_window: Option<u64>) -> llm_repl_core::AgentHandle {
    let mut tools = ToolRegistry::new();
    tools.register(Arc::new(Echo));
    Agent::spawn(AgentDeps {
        config: Config::default(),
        provider,
        provider_factory: None,
        prices: Arc::new(prices()),
        tools,
        workdir: PathBuf::from("."),
        context_window,
        interactive: true,
        store: None,
        resume: None,
        side_events: None,
    })
}

#[tokio::test]
async fn nothing_is_counted_when_nothing_needs_the_count() {
    // No budget, a window far from full, reported usage, a provider that ranks nothing: no
    // tokenizer is built and the request carries no count.
    let scripted = Arc::new(Scripted::default());
    scripted
        .answers
        .lock()
        .unwrap()
        .extend([call("c1", "echo", r#"{"text":"a"}"#), text("done")]);
    let mut h = spawn(scripted.clone(), Some(1_000_000));
    submit(&h, "go");
    until_finished(&mut h).await;
    let requests = scripted.requests.lock().unwrap();
    assert_eq!(requests.len(), 2);
    assert!(requests.iter().all(|r| r.prompt_tokens.is_none()));
}

/// The scripted provider, asking for the prompt's count as a route does.
struct Counting(Arc<Scripted>);

impl Provider for Counting {
    fn name(&self) -> &str {
        self.0.name()
    }
    fn default_model(&self) -> &str {
        "gpt-4o"
    }
    fn uses_prompt_tokens(&self) -> bool {
        true
    }
    fn stream(&self, request: ChatRequest) -> BoxFuture<'_, Result<ChatStream, ProviderError>> {
        self.0.stream(request)
    }
}

#[tokio::test]
async fn a_provider_that_needs_the_count_gets_it_equal_to_a_count_from_scratch() {
    let scripted = Arc::new(Scripted::default());
    scripted.answers.lock().unwrap().extend([
        call("c1", "echo", r#"{"text":"one"}"#),
        call("c2", "echo", r#"{"text":"two two"}"#),
        text("done"),
        call("c3", "echo", r#"{"text":"three"}"#),
        text("done again"),
    ]);
    let mut h = spawn(Arc::new(Counting(scripted.clone())), None);
    // Two turns: the counts kept from the first serve the second.
    for prompt in ["first", "second"] {
        submit(&h, prompt);
        let (_, reason) = until_finished(&mut h).await;
        assert_eq!(reason, FinishReason::Completed);
    }
    let requests = scripted.requests.lock().unwrap();
    assert_eq!(requests.len(), 5);
    for (i, r) in requests.iter().enumerate() {
        let scratch = Estimator::for_model(&r.model).prompt(&r.messages, &r.tools);
        assert_eq!(r.prompt_tokens, Some(scratch), "request {i}");
    }
    assert!(requests[4].prompt_tokens > requests[0].prompt_tokens);
}

#[tokio::test]
async fn counts_stay_exact_across_retry_and_edit() {
    let scripted = Arc::new(Scripted::default());
    scripted.answers.lock().unwrap().extend([
        call("c1", "echo", r#"{"text":"one"}"#),
        text("first answer"),
        text("second answer"),
        text("an answer to the edited prompt"),
        text("a retried answer"),
    ]);
    let mut h = spawn(Arc::new(Counting(scripted.clone())), None);
    for prompt in ["first question", "second question"] {
        submit(&h, prompt);
        until_finished(&mut h).await;
    }
    // The history is cut back before the last prompt each time: its kept counts must go too.
    h.ops
        .send(Op::EditLast {
            text: "the second question, edited to be a good deal longer than it was".into(),
        })
        .unwrap();
    until_finished(&mut h).await;
    h.ops.send(Op::Retry).unwrap();
    until_finished(&mut h).await;
    let requests = scripted.requests.lock().unwrap();
    assert_eq!(requests.len(), 5);
    for (i, r) in requests.iter().enumerate() {
        let scratch = Estimator::for_model(&r.model).prompt(&r.messages, &r.tools);
        assert_eq!(r.prompt_tokens, Some(scratch), "request {i}");
    }
    assert_eq!(
        requests[4].messages, requests[3].messages,
        "the retry resent the edited prompt's context"
    );
}
