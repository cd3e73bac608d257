//! The python tool: output, streaming, status, timeouts, cancellation, caps, binary output.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use llm_repl_protocol::{OutputStream, RiskLevel, ToolStatus};
use serde_json::json;

#[tokio::test]
async fn prints_and_reports_exit_status() {
    let dir = tempfile::tempdir().unwrap();
    let py = tool(&tools_with(10, 1 << 20), "python");
    let out = run(&py, dir.path(), json!({"code": "print(2**64)"})).await;
    assert_eq!(out.status, ToolStatus::Ok, "{}", out.content);
    assert!(
        out.content.contains("18446744073709551616"),
        "{}",
        out.content
    );
    assert!(out.content.contains("[ok "), "{}", out.content);

    let out = run(
        &py,
        dir.path(),
        json!({"code": "import sys\nprint('bad', file=sys.stderr)\nsys.exit(3)"}),
    )
    .await;
    assert_eq!(out.status, ToolStatus::Error);
    assert!(out.content.contains("bad"), "{}", out.content);
    assert!(out.content.contains("SystemExit: 3"), "{}", out.content);
}

#[tokio::test]
async fn missing_code_is_an_error_observation() {
    let dir = tempfile::tempdir().unwrap();
    let py = tool(&tools_with(10, 1 << 20), "python");
    let out = run(&py, dir.path(), json!({"source": "1"})).await;
    assert_eq!(out.status, ToolStatus::Error);
    assert!(out.content.contains("\"code\""), "{}", out.content);
}

#[tokio::test]
async fn output_streams_before_the_process_ends() {
    let dir = tempfile::tempdir().unwrap();
    let py = tool(&tools_with(10, 1 << 20), "python");
    let mut c = call(dir.path());
    let code = "import sys\nprint('first', flush=True)\nprint('err', file=sys.stderr, flush=True)\nsys.stdin.read()\nimport time\ntime.sleep(0.5)\nprint('second')";
    let ctx = c.ctx.clone();
    let handle = tokio::spawn({
        let py = py.clone();
        async move { py.run(json!({"code": code}), ctx).await }
    });
    // The first chunk arrives while the process is still sleeping.
    let (stream, text) = tokio::time::timeout(Duration::from_secs(5), c.rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(!handle.is_finished());
    assert!(
        (stream == OutputStream::Stdout && text.contains("first"))
            || (stream == OutputStream::Stderr && text.contains("err")),
        "{stream:?} {text}"
    );
    let out = handle.await.unwrap();
    assert!(out.content.contains("second"), "{}", out.content);
}

#[tokio::test]
async fn timeout_kills_the_whole_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("survived");
    let py = tool(&tools_with(1, 1 << 20), "python");
    // A child process that would write a marker after the timeout if it were left alive.
    let code = format!(
        "import subprocess, time\nsubprocess.Popen(['/bin/sh','-c','sleep 2; touch {}'])\ntime.sleep(30)",
        marker.display()
    );
    let t = Instant::now();
    let out = run(&py, dir.path(), json!({"code": code})).await;
    assert_eq!(out.status, ToolStatus::TimedOut, "{}", out.content);
    assert!(t.elapsed() < Duration::from_secs(8));
    assert!(out.content.contains("timed out"), "{}", out.content);
    // Bounded wait past the child's sleep: the marker must never appear.
    let deadline = Instant::now() + Duration::from_millis(2500);
    while Instant::now() < deadline {
        assert!(!marker.exists(), "a child outlived the timeout");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn cancel_interrupts_promptly() {
    let dir = tempfile::tempdir().unwrap();
    let py = tool(&tools_with(30, 1 << 20), "python");
    let mut c = call(dir.path());
    let cancel = c.ctx.cancel.clone();
    let ctx = c.ctx.clone();
    let handle = tokio::spawn({
        let py = py.clone();
        async move {
            py.run(
                json!({"code": "print('up', flush=True)\nimport time\ntime.sleep(30)"}),
                ctx,
            )
            .await
        }
    });
    let _ = tokio::time::timeout(Duration::from_secs(5), c.rx.recv())
        .await
        .unwrap();
    let t = Instant::now();
    cancel.cancel();
    let out = handle.await.unwrap();
    // Stopped well before the 30 s sleep would end; the latency figure is in
    // `cargo bench -p llm-repl-e2e --bench interrupt_latency`.
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    assert_eq!(out.status, ToolStatus::Interrupted);
}

#[tokio::test]
async fn output_is_capped_with_a_marker() {
    let dir = tempfile::tempdir().unwrap();
    let py = tool(&tools_with(10, 1000), "python");
    let out = run(
        &py,
        dir.path(),
        json!({"code": "import sys\nsys.stdout.write('x' * 100000)"}),
    )
    .await;
    assert_eq!(out.status, ToolStatus::Ok);
    assert!(
        out.content
            .contains("[output cut: 99000 more bytes not shown]"),
        "{}",
        out.content
    );
    assert!(out.content.len() < 1200);
}

#[tokio::test]
async fn binary_output_is_shown_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let py = tool(&tools_with(10, 1 << 20), "python");
    let out = run(
        &py,
        dir.path(),
        json!({"code": "import sys\nsys.stdout.buffer.write(b'ok\\xff\\xfe\\xe2\\x82\\xac')"}),
    )
    .await;
    assert_eq!(out.status, ToolStatus::Ok);
    assert!(out.content.contains("ok\\xff\\xfe€"), "{}", out.content);
}

#[tokio::test]
async fn environment_is_scrubbed() {
    let dir = tempfile::tempdir().unwrap();
    let py = tool(&tools_with(10, 1 << 20), "python");
    // SAFETY: set before any process of this test reads it; other tests do not read this name.
    unsafe { std::env::set_var("LLM_REPL_TEST_SECRET_KEY", "sk-secret") };
    let out = run(&py, dir.path(), json!({"code": "import os\nprint(sorted(os.environ))\nprint(os.environ.get('LLM_REPL_TEST_SECRET_KEY'))"})).await;
    assert!(!out.content.contains("sk-secret"), "{}", out.content);
    assert!(out.content.contains("'PATH'"), "{}", out.content);
}

#[test]
fn assess_reports_syntax_errors_and_risk() {
    let py = tool(&tools_with(10, 1 << 20), "python");
    let a = py.assess(&json!({"code": "def f(:\n  pass"}));
    assert_eq!(a.findings[0].code, "syntax-error");
    assert_eq!(a.findings[0].line, Some(1));
    assert!(a.findings[0].message.contains("column"), "{:?}", a.findings);

    let a = py.assess(&json!({"code": "import subprocess\nsubprocess.run(['ls'])"}));
    assert!(
        a.findings
            .iter()
            .any(|f| f.code == "import-subprocess" && f.level == RiskLevel::High)
    );
    assert!(a.needs_approval.unwrap().contains("import-subprocess"));

    let a = py.assess(&json!({"code": "x = [i*i for i in range(10)]\nprint(sum(x))"}));
    assert!(a.findings.is_empty(), "{:?}", a.findings);
    assert!(a.needs_approval.is_none());
}

#[test]
fn schemas_are_openai_function_parameters() {
    for t in tools_with(10, 1 << 20) {
        let spec = t.spec();
        assert!(!spec.description.is_empty());
        assert_eq!(spec.parameters["type"], "object", "{}", spec.name);
        assert!(spec.parameters["properties"].is_object(), "{}", spec.name);
        if let Some(req) = spec.parameters.get("required") {
            for r in req.as_array().unwrap() {
                assert!(
                    spec.parameters["properties"]
                        .get(r.as_str().unwrap())
                        .is_some()
                );
            }
        }
        assert!(
            spec.name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        );
    }
}

#[test]
fn find_python_prefers_an_absolute_configured_path() {
    assert_eq!(
        llm_repl_tools::find_python("").unwrap().to_str().unwrap(),
        "/usr/bin/python3"
    );
    assert!(llm_repl_tools::find_python("python3").is_none());
    assert!(llm_repl_tools::find_python("/nonexistent/python").is_none());
    assert!(llm_repl_tools::find_python("/usr/bin/python3").is_some());
}
