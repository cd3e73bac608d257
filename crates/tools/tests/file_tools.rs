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

#[tokio::test]
async fn write_file_creates_replaces_and_refuses_escapes() {
    let (d, ws) = setup();
    let t = tool(&tools_with(10, 1 << 20), "write_file");
    let out = run(
        &t,
        &ws,
        json!({"path": "new/dir/b.txt", "content": "x\ny\n"}),
    )
    .await;
    assert_eq!(out.status, ToolStatus::Ok, "{}", out.content);
    assert_eq!(
        std::fs::read_to_string(ws.join("new/dir/b.txt")).unwrap(),
        "x\ny\n"
    );
    let out = run(
        &t,
        &ws,
        json!({"path": "new/dir/b.txt", "content": "x\nz\n"}),
    )
    .await;
    assert!(out.content.contains("-y\n+z\n"), "{}", out.content);
    for path in [
        "../planted.txt",
        "evil",
        "/tmp/planted.txt",
        "sub/../../planted.txt",
    ] {
        let out = run(&t, &ws, json!({"path": path, "content": "pwned"})).await;
        assert_eq!(out.status, ToolStatus::Error, "{path}: {}", out.content);
    }
    assert_eq!(
        std::fs::read_to_string(d.path().join("secret.txt")).unwrap(),
        "TOP SECRET"
    );
    assert!(!d.path().join("planted.txt").exists());
    let a = t.assess(&json!({"path": "x", "content": ""}));
    assert!(a.needs_approval.is_some());
}

#[tokio::test]
async fn edit_file_replaces_exactly_with_a_diff() {
    let (_d, ws) = setup();
    let t = tool(&tools_with(10, 1 << 20), "edit_file");
    let out = run(
        &t,
        &ws,
        json!({"path": "a.txt", "old": "two\nthree", "new": "2\n3"}),
    )
    .await;
    assert_eq!(out.status, ToolStatus::Ok, "{}", out.content);
    assert!(
        out.content.contains("-two\n-three\n+2\n+3\n"),
        "{}",
        out.content
    );
    assert_eq!(
        std::fs::read_to_string(ws.join("a.txt")).unwrap(),
        "one\n2\n3\nfour\n"
    );
    let out = run(&t, &ws, json!({"path": "a.txt", "old": "nope", "new": "x"})).await;
    assert!(out.content.contains("not found"), "{}", out.content);
    std::fs::write(ws.join("r.txt"), "a a a").unwrap();
    let out = run(&t, &ws, json!({"path": "r.txt", "old": "a", "new": "b"})).await;
    assert!(out.content.contains("occurs 3 times"), "{}", out.content);
    let out = run(
        &t,
        &ws,
        json!({"path": "r.txt", "old": "a", "new": "b", "replace_all": true}),
    )
    .await;
    assert_eq!(out.status, ToolStatus::Ok);
    assert_eq!(std::fs::read_to_string(ws.join("r.txt")).unwrap(), "b b b");
    let out = run(&t, &ws, json!({"path": "evil", "old": "TOP", "new": "x"})).await;
    assert!(
        out.content.contains("outside the workspace"),
        "{}",
        out.content
    );
}

#[tokio::test]
async fn search_tool_finds_lines() {
    let (_d, ws) = setup();
    let t = tool(&tools_with(10, 1 << 20), "search");
    let out = run(&t, &ws, json!({"pattern": "^t"})).await;
    assert_eq!(out.content, "a.txt:2: two\na.txt:3: three\n");
}
