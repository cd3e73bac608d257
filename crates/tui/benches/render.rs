//! Frame render time of a huge session and the cost of a 5,000 tokens/s stream.
//!
//! `cargo bench -p llm-repl-tui`. Targets: a frame of a 10,000-message, ~1 MB session under
//! 4 ms median; one second of a 5,000 tokens/s TextDelta stream (5,000 events and 60 frames)
//! processed in well under one second, so no backlog can grow.
//!
//! Cached and uncached paths: `frame_10k_messages_tail` redraws an unchanged screen (every
//! item's wrapped lines cached); `frame_10k_messages_new_width` is the first draw after a
//! resize (every cache misses: all 10,000 items are wrapped again to learn the total height);
//! `frame_10k_messages_appending_to_stream` appends a delta to a streaming answer at the end of
//! the 10,000-message session and draws (only the growing item re-renders).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use llm_repl_protocol::{
    Event, Message, OutputStream, SessionInfo, ToolCall, ToolResult, ToolStatus,
};
use llm_repl_tui::TuiOptions;
use llm_repl_tui::harness::Harness;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn info() -> SessionInfo {
    SessionInfo {
        id: "bench".into(),
        title: "bench".into(),
        provider: "mock".into(),
        model: "mock".into(),
        mock: true,
        context_window: Some(128_000),
    }
}

/// A session of `n` messages (half prompts, half markdown answers, a tool call every 25
/// answers); returns the harness and the bytes of text it holds.
fn big_session(n: usize) -> (Harness, usize) {
    let mut h = Harness::new(TuiOptions::default());
    h.apply(Event::SessionStarted { info: info() });
    let mut bytes = 0;
    for i in 0..n / 2 {
        let turn = i as u64 + 1;
        let prompt = format!("Question {i}: how do I compute the mean of column {i}?");
        bytes += prompt.len();
        h.apply(Event::TurnStarted { turn, prompt });
        let answer = if i % 10 == 0 {
            format!(
                "## Answer {i}\n\nUse **pandas**: load the file, then take the *mean*.\n\n```python\nimport pandas as pd\ndf = pd.read_csv('data_{i}.csv')\nprint(df['col'].mean())\n```\n"
            )
        } else {
            format!(
                "The mean of column {i} is the sum divided by the count. With `numpy` it is `np.mean(x)`; \
                 for missing values use `np.nanmean`, which *ignores* NaN. See item {i}."
            )
        };
        bytes += answer.len();
        for piece in answer.split_inclusive(' ').collect::<Vec<_>>().chunks(8) {
            h.apply(Event::TextDelta {
                turn,
                text: piece.concat(),
            });
        }
        let calls = if i % 25 == 0 {
            vec![ToolCall {
                id: format!("c{i}"),
                name: "python".into(),
                arguments: "{\"code\":\"print(sum(range(10)))\"}".into(),
            }]
        } else {
            vec![]
        };
        h.apply(Event::AssistantMessage {
            turn,
            message: Message::assistant(answer, calls.clone()),
        });
        for c in calls {
            h.apply(Event::ToolCallStarted {
                turn,
                call: c.clone(),
            });
            h.apply(Event::ToolOutput {
                call_id: c.id.clone(),
                stream: OutputStream::Stdout,
                chunk: "45\n".into(),
            });
            h.apply(Event::ToolCallFinished {
                call_id: c.id.clone(),
                status: ToolStatus::Ok,
                duration_ms: 12,
                result: ToolResult {
                    call_id: c.id,
                    content: "45".into(),
                    is_error: false,
                },
            });
        }
        h.apply(Event::TurnFinished {
            turn,
            reason: llm_repl_protocol::FinishReason::Completed,
        });
    }
    (h, bytes)
}

fn frames(c: &mut Criterion) {
    let (mut h, bytes) = big_session(10_000);
    eprintln!(
        "session: 10,000 messages, {:.2} MB of text",
        bytes as f64 / 1e6
    );
    let mut term = Terminal::new(TestBackend::new(200, 50)).unwrap_or_else(|e| panic!("{e}"));
    let t0 = std::time::Instant::now();
    term.draw(|f| h.draw(f)).unwrap_or_else(|e| panic!("{e}"));
    eprintln!("first frame (wraps every message once): {:?}", t0.elapsed());
    c.bench_function("frame_10k_messages_tail", |b| {
        b.iter(|| {
            term.draw(|f| h.draw(black_box(f)))
                .unwrap_or_else(|e| panic!("{e}"));
        })
    });
    // Uncached: every iteration draws at a width the caches have not seen (a resize).
    let mut width = 200u16;
    c.bench_function("frame_10k_messages_new_width", |b| {
        b.iter(|| {
            width = if width == 200 { 199 } else { 200 };
            term.backend_mut().resize(width, 50);
            term.resize(ratatui::layout::Rect::new(0, 0, width, 50))
                .unwrap_or_else(|e| panic!("{e}"));
            term.draw(|f| h.draw(black_box(f)))
                .unwrap_or_else(|e| panic!("{e}"));
        })
    });
    term.backend_mut().resize(200, 50);
    term.resize(ratatui::layout::Rect::new(0, 0, 200, 50))
        .unwrap_or_else(|e| panic!("{e}"));
    // Appending to a streaming answer at the end of the big session, a frame per delta.
    h.apply(Event::TurnStarted {
        turn: 1_000_000,
        prompt: "and now stream".into(),
    });
    let mut n = 0u64;
    c.bench_function("frame_10k_messages_appending_to_stream", |b| {
        b.iter(|| {
            n += 1;
            let text = if n.is_multiple_of(40) {
                "\n\n".to_string()
            } else {
                format!(" word{}", n % 97)
            };
            h.apply(Event::TextDelta {
                turn: 1_000_000,
                text,
            });
            term.draw(|f| h.draw(black_box(f)))
                .unwrap_or_else(|e| panic!("{e}"));
        })
    });
    h.apply(Event::TurnFinished {
        turn: 1_000_000,
        reason: llm_repl_protocol::FinishReason::Completed,
    });
    // Scrolled to the middle of the session.
    h.key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE));
    for _ in 0..2000 {
        h.key(KeyEvent::new(KeyCode::PageUp, KeyModifiers::NONE));
    }
    c.bench_function("frame_10k_messages_scrolled", |b| {
        b.iter(|| {
            term.draw(|f| h.draw(black_box(f)))
                .unwrap_or_else(|e| panic!("{e}"));
        })
    });
}

fn stream(c: &mut Criterion) {
    // One simulated second: 5,000 token deltas and a frame every ~83 of them (60 fps).
    c.bench_function("stream_1s_at_5000_tokens_per_s", |b| {
        b.iter_batched(
            || {
                let (mut h, _) = big_session(1000);
                h.apply(Event::TurnStarted {
                    turn: 99_999,
                    prompt: "stream".into(),
                });
                let term =
                    Terminal::new(TestBackend::new(200, 50)).unwrap_or_else(|e| panic!("{e}"));
                (h, term)
            },
            |(mut h, mut term)| {
                for i in 0..5000 {
                    let text = match i % 50 {
                        0 => "\n\n".to_string(),
                        7 => " **bold**".to_string(),
                        _ => format!(" tok{}", i % 97),
                    };
                    h.apply(Event::TextDelta { turn: 99_999, text });
                    if i % 83 == 0 {
                        term.draw(|f| h.draw(f)).unwrap_or_else(|e| panic!("{e}"));
                    }
                }
                black_box(term);
            },
            criterion::BatchSize::PerIteration,
        )
    });
}

fn long_answer(c: &mut Criterion) {
    // A frame while a 200 KB answer streams: each frame follows a new delta.
    let mut h = Harness::new(TuiOptions::default());
    h.apply(Event::SessionStarted { info: info() });
    h.apply(Event::TurnStarted {
        turn: 1,
        prompt: "write a lot".into(),
    });
    let para = "Some *markdown* text with `code` and **bold** words that wraps over the width. ";
    let mut text = String::new();
    let mut i = 0;
    while text.len() < 200_000 {
        text.push_str(&para.repeat(4));
        text.push_str("\n\n");
        if i % 5 == 0 {
            text.push_str("```python\nfor i in range(10):\n    print(i)\n```\n\n");
        }
        i += 1;
    }
    h.apply(Event::TextDelta { turn: 1, text });
    let mut term = Terminal::new(TestBackend::new(200, 50)).unwrap_or_else(|e| panic!("{e}"));
    c.bench_function("frame_streaming_200kb_answer", |b| {
        b.iter(|| {
            h.apply(Event::TextDelta {
                turn: 1,
                text: " more".into(),
            });
            term.draw(|f| h.draw(black_box(f)))
                .unwrap_or_else(|e| panic!("{e}"));
        })
    });
}

fn resume(c: &mut Criterion) {
    // Event::SessionLoaded of a 10,000-message session, applied and drawn (the TUI's share of
    // a resume).
    let mut messages = Vec::new();
    let mut runs = Vec::new();
    for i in 0..5000 {
        messages.push(Message::user(format!(
            "Question {i}: how do I compute the mean of column {i}?"
        )));
        let calls = if i % 25 == 0 {
            let call = ToolCall {
                id: format!("c{i}"),
                name: "python".into(),
                arguments: "{\"code\":\"print(1)\"}".into(),
            };
            runs.push(llm_repl_protocol::ToolRun {
                call: call.clone(),
                status: ToolStatus::Ok,
                duration_ms: 5,
                output: "1\n".into(),
                findings: vec![],
            });
            vec![call]
        } else {
            vec![]
        };
        messages.push(Message::assistant(
            format!("The mean of column {i} is the sum divided by the count. With `numpy` it is `np.mean(x)`; for missing values use `np.nanmean`, which *ignores* NaN."),
            calls,
        ));
    }
    let ev = Event::SessionLoaded {
        info: info(),
        messages,
        tool_runs: runs,
    };
    let mut term = Terminal::new(TestBackend::new(200, 50)).unwrap_or_else(|e| panic!("{e}"));
    c.bench_function("resume_10k_messages_apply_and_first_frame", |b| {
        b.iter_batched(
            || (Harness::new(TuiOptions::default()), ev.clone()),
            |(mut h, ev)| {
                h.apply(ev);
                term.draw(|f| h.draw(f)).unwrap_or_else(|e| panic!("{e}"));
                h
            },
            criterion::BatchSize::PerIteration,
        )
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = frames, stream, long_answer, resume
}
criterion_main!(benches);
