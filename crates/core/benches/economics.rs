//! Bench binary (no harness): one-off costs of the token economics, measured cold.
//!
//! `cargo bench -p llm-repl-core --bench economics`. Encoder builds happen once per process, so
//! they are timed on first use rather than repeated; counting and lookups are repeated.

use std::time::Instant;

use llm_repl_core::estimate::Estimator;
use llm_repl_core::pricing::PriceTable;
use llm_repl_protocol::{Message, Usage};

fn main() {
    let t = Instant::now();
    let table = PriceTable::builtin();
    println!("price table parse (first use): {:?}", t.elapsed());

    let t = Instant::now();
    Estimator::for_model("gpt-4o").count("x");
    println!("o200k_base encoder build (first use): {:?}", t.elapsed());
    let t = Instant::now();
    Estimator::for_model("gpt-4").count("x");
    println!("cl100k_base encoder build (first use): {:?}", t.elapsed());

    let line = "message with some text about python code and data frames, lorem ipsum dolor ";
    let messages: Vec<Message> = (0..200)
        .map(|i| Message::user(format!("{i} {}", line.repeat(10))))
        .collect();
    let runs = 20;
    let t = Instant::now();
    let mut tokens = 0;
    for _ in 0..runs {
        tokens = Estimator::for_model("gpt-4o").prompt(&messages, &[]);
    }
    println!(
        "Estimator::prompt from scratch, 200 messages / {tokens} tokens: {:?} per call",
        t.elapsed() / runs
    );

    let usage = Usage {
        input: 12_345,
        output: 678,
        cached: 1_000,
        ..Usage::default()
    };
    let runs = 100_000;
    let t = Instant::now();
    let mut sum = 0.0;
    for _ in 0..runs {
        sum += table
            .cost("openrouter", "openai/gpt-4.1-nano-2025-04-14", &usage)
            .unwrap_or(0.0);
    }
    println!(
        "cost lookup with normalisation: {:?} per call (sum {sum:.3})",
        t.elapsed() / runs
    );
}
