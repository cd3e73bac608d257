//! Escape suite, file system: reading secrets, writing outside, symlinks and `..`.
//! Each test is a real attempt with the sandbox on; it must fail and the next calls must work.

#![allow(clippy::unwrap_used)]

mod common;

use common::escape::*;

#[tokio::test]
async fn py_read_file_in_home() {
    let e = Esc::new();
    let out = e
        .py(&format!(
            "print(open('{}/.ssh/id_ed25519').read())",
            e.home.display()
        ))
        .await;
    e.assert_no_secret(&out);
    // Outside the workspace is not even in the sandbox's view.
    assert!(out.content.contains("FileNotFoundError"), "{}", out.content);
    e.still_works().await;
}

#[tokio::test]
async fn sh_read_file_in_home() {
    let e = Esc::new();
    let out = e
        .sh(&format!(
            "cat {0}/notes.txt {0}/.ssh/id_ed25519; ls -la {0}",
            e.home.display()
        ))
        .await;
    e.assert_no_secret(&out);
    assert!(out.content.contains("No such file"), "{}", out.content);
    e.still_works().await;
}

#[tokio::test]
async fn py_read_the_real_home_and_root() {
    let e = Esc::new();
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let out = e.py(&format!("import os\nfor p in ['{home}', '/root', '/home']:\n    try:\n        print('LISTED', p, os.listdir(p))\n    except OSError as x:\n        print('refused', p)")).await;
    assert!(!out.content.contains("LISTED"), "{}", out.content);
    e.still_works().await;
}

#[tokio::test]
async fn py_read_llm_repl_config() {
    let e = Esc::new();
    let real =
        std::env::var("HOME").unwrap_or_else(|_| "/root".into()) + "/.config/llm-repl/config.toml";
    let code = format!(
        "for p in ['{}', '{real}']:\n    try:\n        print(open(p).read())\n    except OSError as x:\n        print('refused', type(x).__name__)",
        e.config.join("config.toml").display()
    );
    let out = e.py(&code).await;
    e.assert_no_secret(&out);
    assert!(
        out.content.matches("refused FileNotFoundError").count() == 2,
        "{}",
        out.content
    );
    e.still_works().await;
}

#[tokio::test]
async fn sh_read_llm_repl_config() {
    let e = Esc::new();
    let out = e
        .sh(&format!(
            "cat {}/config.toml; grep -r api_key {} 2>&1",
            e.config.display(),
            e.home.display()
        ))
        .await;
    e.assert_no_secret(&out);
    e.still_works().await;
}

#[tokio::test]
async fn py_write_outside_workspace() {
    let e = Esc::new();
    let target = e.home.join(".bashrc");
    let code = format!(
        "for p in ['{}', '/etc/cron.d/x', '/usr/local/bin/x']:\n    try:\n        open(p, 'w').write('pwned')\n        print('WROTE', p)\n    except OSError as x:\n        print('refused', p)",
        target.display()
    );
    let out = e.py(&code).await;
    assert!(!out.content.contains("WROTE"), "{}", out.content);
    assert!(!target.exists());
    assert!(!std::path::Path::new("/tmp/llm-repl-escape-py").exists());
    e.still_works().await;
}

#[tokio::test]
async fn sh_write_outside_workspace() {
    let e = Esc::new();
    let target = e.home.join(".profile");
    let out = e.sh(&format!("echo pwned > {}; echo pwned > /tmp/llm-repl-escape-sh; echo x >> /etc/passwd; mkdir /tmp/esc-dir", target.display())).await;
    assert!(out.content.contains("nonexistent"), "{}", out.content);
    assert!(
        out.content.contains("cannot create /etc/passwd"),
        "{}",
        out.content
    );
    assert!(!target.exists());
    // /tmp inside is the sandbox's own: nothing reaches the host's.
    assert!(!std::path::Path::new("/tmp/llm-repl-escape-sh").exists());
    assert!(!std::path::Path::new("/tmp/esc-dir").exists());
    e.still_works().await;
}

#[tokio::test]
async fn py_escape_through_symlink() {
    let e = Esc::new();
    std::os::unix::fs::symlink(e.home.join("notes.txt"), e.ws.join("notes-link")).unwrap();
    let code = format!(
        "import os\nos.symlink('{}', 'home-link')\nfor p in ['notes-link', 'home-link/notes.txt']:\n    try:\n        print(open(p).read())\n    except OSError as x:\n        print('refused', p)\ntry:\n    open('home-link/planted', 'w').write('x')\nexcept OSError:\n    print('refused write')",
        e.home.display()
    );
    let out = e.py(&code).await;
    e.assert_no_secret(&out);
    assert_eq!(out.content.matches("refused").count(), 3, "{}", out.content);
    assert!(!e.home.join("planted").exists());
    e.still_works().await;
}

#[tokio::test]
async fn sh_escape_through_symlink() {
    let e = Esc::new();
    let out = e.sh(&format!("ln -s {0} h && cat h/notes.txt; ln -s / root && cat root/etc/shadow; echo x > h/planted", e.home.display())).await;
    e.assert_no_secret(&out);
    assert!(!out.content.contains("root:"), "{}", out.content);
    assert!(!e.home.join("planted").exists());
    e.still_works().await;
}

#[tokio::test]
async fn py_escape_through_dotdot() {
    let e = Esc::new();
    let out = e.py("import os\nfor p in ['../home/notes.txt', '../../' * 8 + 'etc/shadow']:\n    try:\n        print(open(p).read())\n    except OSError:\n        print('refused', p)\ntry:\n    open('../planted', 'w')\nexcept OSError:\n    print('refused write')").await;
    e.assert_no_secret(&out);
    // Both reads fail; `..` of a workspace under /tmp is the sandbox's private /tmp, so the
    // write may land there, but never on the host.
    assert!(
        out.content.matches("refused").count() >= 2,
        "{}",
        out.content
    );
    assert!(!e.dir.path().join("planted").exists());
    e.still_works().await;
}

#[tokio::test]
async fn sh_escape_through_dotdot() {
    let e = Esc::new();
    let out = e
        .sh("cat ../home/notes.txt; cd .. && ls && cat home/notes.txt; touch ../planted")
        .await;
    e.assert_no_secret(&out);
    assert!(!e.dir.path().join("planted").exists());
    e.still_works().await;
}

#[tokio::test]
async fn file_tools_refuse_escapes() {
    let e = Esc::new();
    std::os::unix::fs::symlink(&e.home, e.ws.join("h")).unwrap();
    let tools = common::tools_with(3, 1 << 20);
    for (name, args) in [
        ("read_file", serde_json::json!({"path": "h/notes.txt"})),
        (
            "read_file",
            serde_json::json!({"path": "../home/notes.txt"}),
        ),
        ("list_dir", serde_json::json!({"path": "h"})),
        (
            "write_file",
            serde_json::json!({"path": "h/planted", "content": "x"}),
        ),
        (
            "edit_file",
            serde_json::json!({"path": "h/notes.txt", "old": "TOP", "new": "x"}),
        ),
        (
            "search",
            serde_json::json!({"pattern": "SECRET", "path": "h"}),
        ),
    ] {
        let out = common::run(&common::tool(&tools, name), &e.ws, args).await;
        assert_eq!(
            out.status,
            llm_repl_protocol::ToolStatus::Error,
            "{name}: {}",
            out.content
        );
        e.assert_no_secret(&out);
    }
    let out = common::run(
        &common::tool(&tools, "search"),
        &e.ws,
        serde_json::json!({"pattern": "SECRET"}),
    )
    .await;
    e.assert_no_secret(&out);
    assert!(!e.home.join("planted").exists());
    assert_eq!(
        std::fs::read_to_string(e.home.join("notes.txt")).unwrap(),
        SECRET
    );
    e.still_works().await;
}
