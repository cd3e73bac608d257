//! Workspace trust (issue 10, class 7): headless `exec` loads a workspace's own plugin tools
//! (`.llm-repl/tools/*.py`) only when the workspace is trusted (`--trust`, remembered per
//! directory, or the config's `trust` list), and says on stderr what it skipped and how to trust.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support code: a failure is a test failure

use std::path::{Path, PathBuf};
use std::process::Output;

use llm_repl_e2e::fake::{BackgroundServer, FakeServer, Reply};
use llm_repl_e2e::home::TestHome;

const PLUGIN: &str = "from llm_repl import tool\n\n@tool\ndef planted(text: str) -> str:\n    \
                      \"\"\"A tool a cloned repository brought along.\"\"\"\n    return text\n";

/// A project directory (not $HOME) under the temp home, carrying a plugin.
fn project(home: &TestHome, name: &str) -> PathBuf {
    let dir = home.path().join(name);
    let tools = dir.join(".llm-repl").join("tools");
    std::fs::create_dir_all(&tools).unwrap();
    std::fs::write(tools.join("planted.py"), PLUGIN).unwrap();
    dir.canonicalize().unwrap()
}

fn exec_in(home: &TestHome, dir: &Path, server: &BackgroundServer, extra: &[&str]) -> Output {
    server.push(Reply::text("ok"));
    home.command()
        .current_dir(dir)
        .args(extra)
        .args(["exec", "hello"])
        .output()
        .unwrap()
}

/// The tool names the last recorded request offered the model.
fn offered(server: &BackgroundServer) -> Vec<String> {
    let requests = server.chat_requests();
    let last = requests.last().expect("a request");
    last.body["tools"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t["function"]["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn untrusted_workspace_plugins_do_not_load_and_stderr_says_how_to_trust() {
    let server = FakeServer::spawn_background(Vec::new());
    let home = TestHome::new(&server.base_url(), "");
    let dir = project(&home, "cloned");
    let out = exec_in(&home, &dir, &server, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let tools = offered(&server);
    assert!(!tools.iter().any(|t| t == "planted"), "{tools:?}");
    assert!(tools.iter().any(|t| t == "python"), "{tools:?}");
    assert!(stderr.contains("not trusted"), "{stderr}");
    assert!(stderr.contains(".llm-repl/tools/planted.py"), "{stderr}");
    assert!(stderr.contains("--trust"), "{stderr}");
}

#[test]
fn trust_flag_loads_them_and_the_decision_is_remembered_per_directory() {
    let server = FakeServer::spawn_background(Vec::new());
    let home = TestHome::new(&server.base_url(), "");
    let dir = project(&home, "mine");
    let other = project(&home, "other");
    let out = exec_in(&home, &dir, &server, &["--trust"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(offered(&server).iter().any(|t| t == "planted"));
    // Remembered: the same directory loads them without the flag ...
    let out = exec_in(&home, &dir, &server, &[]);
    assert!(out.status.success());
    assert!(offered(&server).iter().any(|t| t == "planted"));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("not trusted"));
    // ... and another directory is still not trusted.
    let out = exec_in(&home, &other, &server, &[]);
    assert!(out.status.success());
    assert!(!offered(&server).iter().any(|t| t == "planted"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not trusted"));
}

#[test]
fn the_config_trust_list_trusts_a_directory() {
    let server = FakeServer::spawn_background(Vec::new());
    let home = TestHome::new(&server.base_url(), "");
    let dir = project(&home, "listed");
    // A top-level key goes before the config's tables.
    let config = std::fs::read_to_string(home.config()).unwrap();
    let line = format!("trust = [{:?}]\n", dir.display().to_string());
    std::fs::write(home.config(), line + &config).unwrap();
    let out = exec_in(&home, &dir, &server, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(offered(&server).iter().any(|t| t == "planted"));
}

/// The full-screen interface's question, in a real terminal (tmux): it shows what would load,
/// a "no" starts without the plugins and is remembered (not asked again), and `$HOME` answered
/// "no" does not start.
#[test]
fn the_tui_asks_once_per_directory_and_home_needs_a_yes() {
    use llm_repl_e2e::pty::Tmux;
    use std::time::Duration;
    const WAIT: Duration = Duration::from_secs(30);

    let server = FakeServer::spawn_background(Vec::new());
    let home = TestHome::new(&server.base_url(), "");
    let dir = project(&home, "cloned");
    let untrusted = |cwd: &Path| {
        let line = home.shell_line(&[]);
        format!(
            "cd {} && {line}; echo \"EXITED $?\"; exec sleep 120",
            llm_repl_e2e::home::shell_quote(&cwd.display().to_string())
        )
    };

    let tmux = Tmux::start(120, 30, &untrusted(&dir));
    let asked = tmux.wait_text("Trust this directory? [y/N]", WAIT);
    assert!(asked.contains(".llm-repl/tools/planted.py"), "{asked}");
    tmux.type_text("n");
    tmux.keys(&["Enter"]);
    // The notice may reach the screen a frame after the meter says idle: wait for it.
    tmux.wait_text("idle", WAIT);
    tmux.wait_text("not trusted", WAIT);
    tmux.keys(&["C-c"]);
    tmux.keys(&["C-c"]);
    tmux.wait_text("EXITED 0", WAIT);
    drop(tmux);

    // The answer is remembered for this directory: no question the second time.
    let tmux = Tmux::start(120, 30, &untrusted(&dir));
    let started = tmux.wait_text("idle", WAIT);
    assert!(!started.contains("Trust this directory"), "{started}");
    drop(tmux);

    // $HOME with nothing to load still asks, and "no" does not start.
    let user_home = home.path().join("home");
    std::fs::create_dir_all(&user_home).unwrap();
    let tmux = Tmux::start(120, 30, &untrusted(&user_home));
    let asked = tmux.wait_text("Trust this directory? [y/N]", WAIT);
    assert!(asked.contains("home directory"), "{asked}");
    tmux.type_text("n");
    tmux.keys(&["Enter"]);
    let after = tmux.wait_text("EXITED 1", WAIT);
    assert!(
        after.contains("not started in your home directory"),
        "{after}"
    );
}

#[test]
fn exec_in_home_needs_trust() {
    let server = FakeServer::spawn_background(Vec::new());
    let home = TestHome::new(&server.base_url(), "");
    let user_home = home.path().join("home");
    std::fs::create_dir_all(&user_home).unwrap();
    let out = exec_in(&home, &user_home, &server, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("not running in your home directory"),
        "{stderr}"
    );
    assert!(stderr.contains("--trust"), "{stderr}");
    assert_eq!(server.chat_requests().len(), 0, "nothing was sent");
    // Confirmed: it runs, with a warning.
    let out = exec_in(&home, &user_home, &server, &["--trust"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("home directory"), "{stderr}");
}
