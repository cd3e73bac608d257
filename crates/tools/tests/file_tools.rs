//! read_file and list_dir: contents, ranges, and refusals outside the workspace.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use llm_repl_protocol::ToolStatus;
use serde_json::json;

fn setup() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    std::fs::create_dir_all(ws.join("sub")).unwrap();
    std::fs::write(ws.join("a.txt"), "one\ntwo\nthree\nfour\n").unwrap();
    std::fs::write(dir.path().join("secret.txt"), "TOP SECRET").unwrap();
    std::os::unix::fs::symlink(dir.path().join("secret.txt"), ws.join("evil")).unwrap();
    std::os::unix::fs::symlink("a.txt", ws.join("good")).unwrap();
    (dir, ws)
}

#[tokio::test]
async fn read_file_whole_and_ranges() {
    let (_d, ws) = setup();
    let t = tool(&tools_with(10, 1 << 20), "read_file");
    let out = run(&t, &ws, json!({"path": "a.txt"})).await;
    assert_eq!(out.status, ToolStatus::Ok);
    assert_eq!(out.content, "one\ntwo\nthree\nfour\n");
    let out = run(
        &t,
        &ws,
        json!({"path": "a.txt", "start_line": 2, "end_line": 3}),
    )
    .await;
    assert_eq!(out.content, "[a.txt: lines 2-3 of 4]\ntwo\nthree\n");
    let out = run(&t, &ws, json!({"path": "good", "start_line": 4})).await;
    assert!(out.content.ends_with("four\n"), "{}", out.content);
    let out = run(&t, &ws, json!({"path": "a.txt", "start_line": 9})).await;
    assert_eq!(out.status, ToolStatus::Error);
    let out = run(&t, &ws, json!({"path": "a.txt", "start_line": "x"})).await;
    assert_eq!(out.status, ToolStatus::Error);
}

#[tokio::test]
async fn read_file_refuses_escapes() {
    let (_d, ws) = setup();
    let t = tool(&tools_with(10, 1 << 20), "read_file");
    for path in [
        "../secret.txt",
        "evil",
        "/etc/passwd",
        "sub/../../secret.txt",
    ] {
        let out = run(&t, &ws, json!({"path": path})).await;
        assert_eq!(out.status, ToolStatus::Error, "{path}");
        assert!(!out.content.contains("TOP SECRET"), "{path}");
        assert!(
            out.content.contains("outside the workspace"),
            "{path}: {}",
            out.content
        );
    }
    let out = run(&t, &ws, json!({"path": "missing"})).await;
    assert!(out.content.contains("no such file"), "{}", out.content);
    let out = run(&t, &ws, json!({"path": "sub"})).await;
    assert!(out.content.contains("list_dir"), "{}", out.content);
}

#[tokio::test]
async fn read_file_caps_large_files() {
    let (_d, ws) = setup();
    std::fs::write(ws.join("big.txt"), "y".repeat(5000)).unwrap();
    let t = tool(&tools_with(10, 1000), "read_file");
    let out = run(&t, &ws, json!({"path": "big.txt"})).await;
    assert!(
        out.content.contains("4000 of 5000 bytes not shown"),
        "{}",
        out.content
    );
}

#[tokio::test]
async fn list_dir_lists_and_refuses_escapes() {
    let (_d, ws) = setup();
    let t = tool(&tools_with(10, 1 << 20), "list_dir");
    let out = run(&t, &ws, json!({})).await;
    assert_eq!(out.status, ToolStatus::Ok, "{}", out.content);
    assert!(out.content.starts_with(".: 4 entries"), "{}", out.content);
    assert!(out.content.contains("sub/\n"), "{}", out.content);
    assert!(out.content.contains("a.txt  (19 bytes)"), "{}", out.content);
    assert!(out.content.contains("evil -> "), "{}", out.content);
    for path in ["..", "/", "evil", "sub/../.."] {
        let out = run(&t, &ws, json!({"path": path})).await;
        assert_eq!(out.status, ToolStatus::Error, "{path}: {}", out.content);
    }
}
