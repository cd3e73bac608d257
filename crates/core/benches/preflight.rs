//! The per-step cost of the budget preflight as a conversation grows: counting the prompt and
//! asking the budgets before a model call.
//!
//! `cargo bench -p llm-repl-core --bench preflight`. For 10, 1,000 and 10,000 history messages:
//! - `incremental`: what a step of the loop does now: one new message counted into the kept
//!   per-message counts ([`PromptTokens`]), then [`budget::preflight`] on the counted request.
//!   Its cost should not depend on the history's length.
//! - `from_scratch`: the whole prompt counted again (what every step did before), for contrast.
//! - `frame_history`: building the request's framed copy of the history, which a step still
//!   does (a copy of the messages, no tokenizer), so the remaining per-step growth is visible.

use std::hint::black_box;

use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};
use llm_repl_core::budget::{self, Budgets, Spent};
use llm_repl_core::config::BudgetConfig;
use llm_repl_core::estimate::{Estimator, PromptTokens};
use llm_repl_core::pricing::PriceTable;
use llm_repl_core::{ChatRequest, ToolSpec};
use llm_repl_protocol::{Message, ToolCall, ToolResult};

const MODEL: &str = "gpt-4o-mini";

/// A conversation of `n` messages: prompts, answers with a python call, and tool results.
fn conversation(n: usize) -> Vec<Message> {
    (0..n)
        .map(|i| match i % 3 {
            0 => Message::user(format!(
                "question {i}: load the sales data, group it by region and plot the totals"
            )),
            1 => Message::assistant(
                format!("Step {i}: I will compute that with pandas."),
                vec![ToolCall {
                    id: format!("call_{i}"),
                    name: "python".into(),
                    arguments: format!(
                        r#"{{"code":"df = pd.read_csv('sales.csv')\nprint(df.groupby('region').sum().head({i}))"}}"#
                    ),
                }],
            ),
            _ => Message::tool(&ToolResult {
                call_id: format!("call_{}", i - 1),
                content: format!("region  total\nnorth   {i}1234\nsouth   {i}5678\nwest    {i}9012\n"),
                is_error: false,
            }),
        })
        .collect()
}

fn tools() -> Vec<ToolSpec> {
    vec![ToolSpec {
        name: "python".into(),
        description: "Run Python code in a persistent sandboxed interpreter".into(),
        parameters: serde_json::json!({
            "type": "object",
            "properties": {"code": {"type": "string", "description": "the code"}},
            "required": ["code"]
        }),
    }]
}

fn preflight(c: &mut Criterion) {
    let table = PriceTable::builtin();
    let budgets = Budgets::new(
        &BudgetConfig {
            session_usd: Some(5.0),
            day_usd: Some(20.0),
            ..BudgetConfig::default()
        },
        None,
        "bench",
    )
    .expect("valid budget");
    let spent = Spent {
        session: 0.5,
        day: 1.0,
        month: 3.0,
    };
    let est = Estimator::for_model(MODEL);
    let system = [Message::system("You are a helpful data analyst.")];
    let tools = tools();
    // Built once: the tables are not part of a step.
    est.count("warm up");

    let mut group = c.benchmark_group("preflight");
    group.sample_size(20);
    for n in [10usize, 1_000, 10_000] {
        let history = conversation(n);
        // The counts kept from earlier steps: every message but the newest (each setup clones
        // the counts of all n and cuts the newest off, so the kept vectors have room for one
        // more as in a running loop; a clone's exact capacity would force a reallocation).
        let mut all_counted = PromptTokens::new();
        all_counted.prompt(est, &system, &history, &tools);
        let mut request = ChatRequest {
            model: MODEL.into(),
            messages: Vec::new(),
            tools: Vec::new(),
            max_tokens: Some(1024),
            temperature: None,
            prompt_tokens: None,
        };
        group.bench_with_input(BenchmarkId::new("incremental", n), &n, |b, _| {
            b.iter_batched(
                || {
                    let mut kept = all_counted.clone();
                    kept.truncate(n - 1);
                    kept
                },
                |mut counts| {
                    request.prompt_tokens =
                        Some(counts.prompt(est, &system, black_box(&history), &tools));
                    let check = budget::preflight(table, &budgets, &spent, "openai", &request);
                    black_box((check, counts))
                },
                BatchSize::LargeInput,
            );
        });
        let all: Vec<Message> = system.iter().chain(&history).cloned().collect();
        group.bench_with_input(BenchmarkId::new("from_scratch", n), &n, |b, _| {
            b.iter(|| {
                request.prompt_tokens = Some(est.prompt(black_box(&all), &tools));
                black_box(budget::preflight(
                    table, &budgets, &spent, "openai", &request,
                ))
            });
        });
        group.bench_with_input(BenchmarkId::new("frame_history", n), &n, |b, _| {
            b.iter(|| black_box(llm_repl_core::framing::frame_history(black_box(&history))));
        });
    }
    group.finish();
}

criterion_group!(benches, preflight);
criterion_main!(benches);
