//! The risk analysis through the real agent (issue 10 class 5): with the default policy
//! `on-risk` and a headless frontend, an attack call is denied and has no effect; an ordinary
//! call runs in the sandbox and its observation comes back. Interactive: the user is asked.

#![allow(clippy::unwrap_used)]

#[path = "common/agent.rs"]
mod agent;
mod common;

use common::tools_with;
use llm_repl_protocol::ToolStatus;
use serde_json::json;

fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    std::fs::write(dir.path().join("data/keep.txt"), "keep").unwrap();
    dir
}

#[tokio::test]
async fn attacks_are_denied_headless_and_do_nothing() {
    let ws = workspace();
    let mut h = agent::agent(tools_with(20, 1 << 20), ws.path(), false);
    let attacks = [
        (
            "python",
            json!({"code": "import os\ngetattr(os, 'sys' + 'tem')('touch pwned1')"}),
        ),
        (
            "python",
            json!({"code": "__builtins__.__import__('os').system('touch pwned2')"}),
        ),
        (
            "python",
            json!({"code": "o = open\no('pwned3', 'w').write('x')"}),
        ),
        (
            "python",
            json!({"code": format!("import os\nos.system('touch pwned4')\nx = {}1", "-".repeat(5000))}),
        ),
        ("shell", json!({"command": "r''m -rf data"})),
        ("shell", json!({"command": "${X}m -rf data"})),
        ("shell", json!({"command": "sh -c 'rm -rf data'"})),
        ("shell", json!({"command": "find data -delete"})),
    ];
    for (tool, args) in &attacks {
        let seen = agent::call(&mut h, tool, args).await;
        assert_eq!(
            seen.status,
            ToolStatus::Denied,
            "{tool} {args}: {}",
            seen.content
        );
        assert!(seen.content.contains("approval"), "{}", seen.content);
    }
    for f in ["pwned1", "pwned2", "pwned3", "pwned4"] {
        assert!(!ws.path().join(f).exists(), "{f} was created");
    }
    assert!(ws.path().join("data/keep.txt").exists());

    // Ordinary calls in the same session still run, without approval.
    let seen = agent::call(&mut h, "python", &json!({"code": "print(sum(range(10)))"})).await;
    assert_eq!(seen.status, ToolStatus::Ok, "{}", seen.content);
    assert!(seen.content.contains("45"), "{}", seen.content);
    let seen = agent::call(&mut h, "shell", &json!({"command": "ls -la data"})).await;
    assert_eq!(seen.status, ToolStatus::Ok, "{}", seen.content);
    assert!(seen.content.contains("keep.txt"), "{}", seen.content);
}

#[tokio::test]
async fn attacks_ask_the_user_interactively() {
    let ws = workspace();
    let mut h = agent::agent(tools_with(20, 1 << 20), ws.path(), true);
    for (tool, args) in [
        (
            "python",
            json!({"code": "import builtins\nbuiltins.exec('import os')"}),
        ),
        ("shell", json!({"command": "$(echo rm) -rf data"})),
        ("shell", json!({"command": "tmux send-keys 'id' Enter"})),
    ] {
        let seen = agent::call(&mut h, tool, &args).await;
        assert!(seen.approval_requested, "{tool} {args}: not asked");
        assert_eq!(seen.status, ToolStatus::Denied, "{}", seen.content);
    }
    assert!(ws.path().join("data/keep.txt").exists());
    let seen = agent::call(
        &mut h,
        "python",
        &json!({"code": "import math\nmath.factorial(5)"}),
    )
    .await;
    assert!(!seen.approval_requested);
    assert!(seen.content.contains("120"), "{}", seen.content);
}
