//! File tool latency: a small file read through `read_file` the way the agent runs a call (its
//! assessment on the blocking pool, then `Tool::run`: the workspace handle, `openat2` beneath
//! it, `fstat`, the read, UTF-8 decoding), and for comparison the other file tools on small
//! inputs and a plain `std::fs::read` of the same file.
//!
//! `cargo bench -p llm-repl-tools --bench file_tools`

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use llm_repl_core::config::{SandboxConfig, ToolsConfig};
use llm_repl_core::{OutputSink, Tool, ToolContext, ToolOutcome};
use llm_repl_protocol::ToolStatus;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

fn ctx(workdir: &std::path::Path) -> ToolContext {
    ToolContext {
        call_id: "bench".into(),
        cancel: CancellationToken::new(),
        output: OutputSink::discard(),
        workdir: workdir.to_path_buf(),
        session_id: "bench".into(),
    }
}

/// One call as the agent makes it: `assess` on the blocking pool, then `run`.
async fn agent_call(tool: &Arc<dyn Tool>, args: &Value, workdir: &std::path::Path) -> ToolOutcome {
    let assessment = {
        let (tool, args) = (tool.clone(), args.clone());
        tokio::task::spawn_blocking(move || tool.assess(&args))
            .await
            .unwrap()
    };
    assert!(
        assessment.needs_approval.is_none()
            || args.get("content").is_some()
            || args.get("old").is_some()
    );
    tool.run(args.clone(), ctx(workdir)).await
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().to_path_buf();
    std::fs::create_dir_all(ws.join("src")).unwrap();
    let small = "fn main() {\n    println!(\"hello\");\n}\n".repeat(20);
    std::fs::write(ws.join("src/main.rs"), &small).unwrap();
    let tools =
        llm_repl_tools::builtin_tools(&ToolsConfig::default(), &SandboxConfig::default()).unwrap();
    let pick = |n: &str| tools.iter().find(|t| t.spec().name == n).unwrap().clone();

    let mut g = c.benchmark_group("file_tools");
    g.sample_size(200).measurement_time(Duration::from_secs(4));

    let read = pick("read_file");
    let args = json!({"path": "src/main.rs"});
    let out = rt.block_on(agent_call(&read, &args, &ws));
    assert_eq!(out.status, ToolStatus::Ok, "{}", out.content);
    assert_eq!(out.content, small);
    g.bench_function("read_file small file, agent call path", |b| {
        b.iter(|| rt.block_on(agent_call(&read, &args, &ws)))
    });
    let lines = json!({"path": "src/main.rs", "start_line": 2, "end_line": 4});
    g.bench_function("read_file lines 2-4", |b| {
        b.iter(|| rt.block_on(read.run(lines.clone(), ctx(&ws))))
    });

    let write = pick("write_file");
    let mut n = 0u64;
    g.bench_function("write_file small file (temp + rename)", |b| {
        b.iter(|| {
            n += 1;
            let args = json!({"path": "out/w.txt", "content": format!("line {n}\n")});
            let out = rt.block_on(write.run(args, ctx(&ws)));
            assert_eq!(out.status, ToolStatus::Ok, "{}", out.content);
        })
    });

    let edit = pick("edit_file");
    std::fs::write(ws.join("src/e.txt"), "alpha\nbeta\n").unwrap();
    let mut flip = false;
    g.bench_function("edit_file one replacement", |b| {
        b.iter(|| {
            flip = !flip;
            let (old, new) = if flip {
                ("beta", "gamma")
            } else {
                ("gamma", "beta")
            };
            let args = json!({"path": "src/e.txt", "old": old, "new": new});
            let out = rt.block_on(edit.run(args, ctx(&ws)));
            assert_eq!(out.status, ToolStatus::Ok, "{}", out.content);
        })
    });

    let list = pick("list_dir");
    g.bench_function("list_dir src", |b| {
        b.iter(|| rt.block_on(list.run(json!({"path": "src"}), ctx(&ws))))
    });
    let search = pick("search");
    g.bench_function("search a small tree with a glob", |b| {
        b.iter(|| rt.block_on(search.run(json!({"pattern": "hello", "glob": "*.rs"}), ctx(&ws))))
    });

    let path = ws.join("src/main.rs");
    g.bench_function("baseline: std::fs::read of the same file", |b| {
        b.iter(|| std::fs::read(&path).unwrap())
    });
    g.finish();
}

criterion_group!(file_tools, benches);
criterion_main!(file_tools);
