//! Tool call latency: a warm `print(1)` through the persistent sandboxed interpreter, a cold
//! start of a sandboxed interpreter (first call of a new session), a one-shot sandboxed
//! `python3 -c 'print(1)'`, and, for comparison, an unconfined `python3 -c 'print(1)'`.
//!
//! `cargo bench -p llm-repl-tools --bench tool_calls`

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use llm_repl_core::config::{SandboxConfig, ToolsConfig};
use llm_repl_core::{OutputSink, ToolContext};
use llm_repl_sandbox::{Job, Sandbox, Settings};
use serde_json::json;
use tokio_util::sync::CancellationToken;

fn ctx(workdir: &std::path::Path, session: &str) -> ToolContext {
    ToolContext {
        call_id: "bench".into(),
        cancel: CancellationToken::new(),
        output: OutputSink::discard(),
        workdir: workdir.to_path_buf(),
        session_id: session.into(),
    }
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().to_path_buf();
    let set = llm_repl_tools::toolset(&ToolsConfig::default(), &SandboxConfig::default()).unwrap();
    let py = set.python.clone();
    let args = json!({"code": "print(1)"});

    let mut g = c.benchmark_group("python");
    g.sample_size(30).measurement_time(Duration::from_secs(5));

    // Warm the session once, then measure round trips.
    rt.block_on(async {
        let out = llm_repl_core::Tool::run(&py, args.clone(), ctx(&ws, "warm")).await;
        assert!(out.content.contains('1'), "{}", out.content);
    });
    g.bench_function("warm print(1) round trip", |b| {
        b.iter(|| {
            rt.block_on(llm_repl_core::Tool::run(
                &py,
                args.clone(),
                ctx(&ws, "warm"),
            ))
        })
    });

    let mut n = 0u64;
    g.bench_function("cold sandboxed interpreter start + print(1)", |b| {
        b.iter(|| {
            n += 1;
            let session = format!("cold-{n}");
            let out = rt.block_on(llm_repl_core::Tool::run(
                &py,
                args.clone(),
                ctx(&ws, &session),
            ));
            py.close_session(&session);
            out
        })
    });

    let sandbox = Sandbox::new(Settings {
        read_write: vec![ws.clone()],
        ..Settings::default()
    });
    let job = Job {
        program: "/usr/bin/python3".into(),
        args: vec!["-I".into(), "-c".into(), "print(1)".into()],
        cwd: ws.clone(),
        env: Vec::new(),
        stdin: Vec::new(),
        timeout: Duration::from_secs(10),
    };
    g.bench_function("one-shot sandboxed python3 -c print(1)", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut sink = |_, _: &str| {};
                sandbox
                    .run(&job, &CancellationToken::new(), &mut sink)
                    .await
                    .unwrap()
            })
        })
    });

    g.bench_function("unconfined python3 -c print(1)", |b| {
        b.iter(|| {
            Command::new("/usr/bin/python3")
                .args(["-c", "print(1)"])
                .output()
                .unwrap()
        })
    });
    g.finish();
}

criterion_group!(tool_calls, benches);
criterion_main!(tool_calls);
