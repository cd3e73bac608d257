//! The python tool behaves like a REPL: state survives, final expressions are shown,
//! exceptions come with tracebacks, and a crash or timeout restarts it and says so.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use llm_repl_protocol::ToolStatus;
use serde_json::json;

#[tokio::test]
async fn state_survives_between_calls() {
    let dir = tempfile::tempdir().unwrap();
    let py = tool(&tools_with(10, 1 << 20), "python");
    let s = new_session();
    let out = run_in(
        &py,
        dir.path(),
        &s,
        json!({"code": "import math\nx = 40\ndef f(y):\n    return x + y"}),
    )
    .await;
    assert_eq!(out.status, ToolStatus::Ok, "{}", out.content);
    let out = run_in(&py, dir.path(), &s, json!({"code": "f(2), math.pi > 3"})).await;
    assert_eq!(out.status, ToolStatus::Ok, "{}", out.content);
    assert!(out.content.contains("Out: (42, True)"), "{}", out.content);
    // Another session has its own namespace.
    let out = run(&py, dir.path(), json!({"code": "x"})).await;
    assert_eq!(out.status, ToolStatus::Error);
    assert!(out.content.contains("NameError"), "{}", out.content);
}

#[tokio::test]
async fn final_expression_value_and_none() {
    let dir = tempfile::tempdir().unwrap();
    let py = tool(&tools_with(10, 1 << 20), "python");
    let s = new_session();
    let out = run_in(
        &py,
        dir.path(),
        &s,
        json!({"code": "print('side')\n[i * i for i in range(4)]"}),
    )
    .await;
    assert!(
        out.content.contains("side\nOut: [0, 1, 4, 9]"),
        "{}",
        out.content
    );
    let out = run_in(&py, dir.path(), &s, json!({"code": "None"})).await;
    assert!(!out.content.contains("Out:"), "{}", out.content);
    let out = run_in(&py, dir.path(), &s, json!({"code": "_"})).await;
    assert!(out.content.contains("Out: [0, 1, 4, 9]"), "{}", out.content);
    let out = run_in(&py, dir.path(), &s, json!({"code": "'x' * 20000"})).await;
    assert!(out.content.contains("more characters]"), "{}", out.content);
}

#[tokio::test]
async fn exceptions_carry_a_traceback_and_keep_state() {
    let dir = tempfile::tempdir().unwrap();
    let py = tool(&tools_with(10, 1 << 20), "python");
    let s = new_session();
    run_in(&py, dir.path(), &s, json!({"code": "kept = 'yes'"})).await;
    let out = run_in(
        &py,
        dir.path(),
        &s,
        json!({"code": "def g():\n    return 1 / 0\ng()"}),
    )
    .await;
    assert_eq!(out.status, ToolStatus::Error);
    assert!(
        out.content.contains("Traceback (most recent call last)"),
        "{}",
        out.content
    );
    assert!(out.content.contains("line 2, in g"), "{}", out.content);
    assert!(out.content.contains("return 1 / 0"), "{}", out.content);
    assert!(out.content.contains("ZeroDivisionError"), "{}", out.content);
    assert!(
        !out.content.contains("repl.py"),
        "driver frames leak: {}",
        out.content
    );
    let out = run_in(&py, dir.path(), &s, json!({"code": "kept"})).await;
    assert!(out.content.contains("Out: 'yes'"), "{}", out.content);
}

#[tokio::test]
async fn syntax_errors_have_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let py = tool(&tools_with(10, 1 << 20), "python");
    let out = run(&py, dir.path(), json!({"code": "x = 1\nif x\n    pass"})).await;
    assert_eq!(out.status, ToolStatus::Error);
    assert!(out.content.contains("SyntaxError"), "{}", out.content);
    assert!(
        out.content.contains("(line 2, column 5)"),
        "{}",
        out.content
    );
    assert!(
        out.content.contains("[not run: syntax error]"),
        "{}",
        out.content
    );
}

#[tokio::test]
async fn crash_restarts_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let py = tool(&tools_with(10, 1 << 20), "python");
    let s = new_session();
    run_in(&py, dir.path(), &s, json!({"code": "v = 1"})).await;
    let out = run_in(
        &py,
        dir.path(),
        &s,
        json!({"code": "import os\nos._exit(7)"}),
    )
    .await;
    assert_eq!(out.status, ToolStatus::Error);
    assert!(out.content.contains("crashed"), "{}", out.content);
    assert!(out.content.contains("code 7"), "{}", out.content);
    let out = run_in(&py, dir.path(), &s, json!({"code": "'v' in globals()"})).await;
    assert_eq!(out.status, ToolStatus::Ok, "{}", out.content);
    assert!(
        out.content.contains("new interpreter was started"),
        "{}",
        out.content
    );
    assert!(out.content.contains("Out: False"), "{}", out.content);
    // The note is said once.
    let out = run_in(&py, dir.path(), &s, json!({"code": "1"})).await;
    assert!(!out.content.contains("new interpreter"), "{}", out.content);
}

#[tokio::test]
async fn timeout_restarts_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let py = tool(&tools_with(1, 1 << 20), "python");
    let s = new_session();
    run_in(&py, dir.path(), &s, json!({"code": "v = 1"})).await;
    let out = run_in(&py, dir.path(), &s, json!({"code": "while True: pass"})).await;
    assert_eq!(out.status, ToolStatus::TimedOut);
    assert!(
        out.content.contains("timed out after 1 s"),
        "{}",
        out.content
    );
    let out = run_in(&py, dir.path(), &s, json!({"code": "print('back')"})).await;
    assert_eq!(out.status, ToolStatus::Ok);
    assert!(
        out.content.contains("timed out after 1 s: variables"),
        "{}",
        out.content
    );
    assert!(out.content.contains("back"));
}

#[tokio::test]
async fn subprocess_output_is_captured_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let py = tool(&tools_with(10, 1 << 20), "python");
    let out = run(&py, dir.path(), json!({"code": "import os\nprint('a', flush=True)\nos.system('echo b; seq 1 20000 | tail -1')\nprint('c')"})).await;
    let at = |s: &str| {
        out.content
            .find(s)
            .unwrap_or_else(|| panic!("no {s:?} in {:?} ({:?})", out.content, out.status))
    };
    let (a, b, c) = (at("a\n"), at("b\n"), at("c\n"));
    assert!(a < b && b < c, "{}", out.content);
    assert!(out.content.contains("20000"), "{}", out.content);
}

#[tokio::test]
async fn huge_results_and_forged_frames_stay_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let py = tool(&tools_with(10, 4096), "python");
    let s = new_session();
    let out = run_in(
        &py,
        dir.path(),
        &s,
        json!({"code": "raise ValueError('x' * 10_000_000)"}),
    )
    .await;
    assert_eq!(out.status, ToolStatus::Error);
    assert!(out.content.len() < 10_000, "{}", out.content.len());
    assert!(
        out.content.contains("ValueError"),
        "{}",
        &out.content[..200]
    );
    // Code that writes a bogus frame header straight to the protocol pipe breaks only its own
    // interpreter: the call ends as a crash and the next call gets a fresh one.
    let out = run_in(&py, dir.path(), &s, json!({"code": "import __main__, os\nos.write(__main__._proto_out, b'\\x7f\\xff\\xff\\xffr')\nimport time\ntime.sleep(5)"})).await;
    assert_eq!(out.status, ToolStatus::Error, "{}", out.content);
    assert!(out.content.contains("protocol error"), "{}", out.content);
    let out = run_in(&py, dir.path(), &s, json!({"code": "1 + 1"})).await;
    assert!(out.content.contains("Out: 2"), "{}", out.content);
}

#[tokio::test]
async fn interrupt_keeps_state_when_the_code_stops() {
    let dir = tempfile::tempdir().unwrap();
    let py = tool(&tools_with(30, 1 << 20), "python");
    let s = new_session();
    run_in(&py, dir.path(), &s, json!({"code": "kept = 'still here'"})).await;
    let mut c = call_in(dir.path(), &s);
    let cancel = c.ctx.cancel.clone();
    let ctx = c.ctx.clone();
    let handle = tokio::spawn({
        let py = py.clone();
        async move {
            py.run(
                json!({"code": "print('sleeping', flush=True)\nimport time\ntime.sleep(30)"}),
                ctx,
            )
            .await
        }
    });
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), c.rx.recv())
        .await
        .unwrap();
    let t = std::time::Instant::now();
    cancel.cancel();
    let out = handle.await.unwrap();
    // Stopped well before the 30 s sleep would end; the latency figure is in
    // `cargo bench -p llm-repl-e2e --bench interrupt_latency`.
    assert!(
        t.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(out.status, ToolStatus::Interrupted);
    assert!(out.content.contains("kept its state"), "{}", out.content);
    let out = run_in(&py, dir.path(), &s, json!({"code": "kept"})).await;
    assert!(out.content.contains("Out: 'still here'"), "{}", out.content);
    assert!(!out.content.contains("new interpreter"), "{}", out.content);

    // Code that swallows KeyboardInterrupt is killed after the grace period.
    let mut c = call_in(dir.path(), &s);
    let cancel = c.ctx.cancel.clone();
    let ctx = c.ctx.clone();
    let handle = tokio::spawn({
        let py = py.clone();
        async move {
            py.run(json!({"code": "import time\nwhile True:\n    try:\n        print('stubborn', flush=True)\n        time.sleep(30)\n    except KeyboardInterrupt:\n        pass"}), ctx).await
        }
    });
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), c.rx.recv())
        .await
        .unwrap();
    let t = std::time::Instant::now();
    cancel.cancel();
    let out = handle.await.unwrap();
    // Killed well before the 30 s sleep would end (behaviour; latency is benched).
    assert!(
        t.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(out.status, ToolStatus::Interrupted);
    assert!(out.content.contains("was killed"), "{}", out.content);
}
