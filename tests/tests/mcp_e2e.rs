//! MCP through the real binary: `exec` against the fake OpenAI-compatible server, with the npm
//! reference server `server-everything` configured. The model calls `everything__echo`, the
//! observation reaches the next request; an untrusted server's call is not run headless; the
//! `mcp` subcommands edit the config and test a server. Skips, saying why, only where node or
//! npm is missing (tests/mcp/install-servers.sh installs the pinned servers).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure is a test failure

use std::path::{Path, PathBuf};

use llm_repl_e2e::fake::{FakeServer, Reply};
use llm_repl_e2e::home::TestHome;
use serde_json::Value;

fn everything() -> Option<PathBuf> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("mcp/install-servers.sh");
    let out = std::process::Command::new("sh")
        .arg(&script)
        .output()
        .unwrap();
    if out.status.code() == Some(3) {
        eprintln!(
            "SKIPPED: node or npm is not installed; the MCP e2e needs the npm reference server"
        );
        return None;
    }
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    Some(dir.join("node_modules/.bin/mcp-server-everything"))
}

fn json_lines(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn server_entry(bin: &Path, trusted: bool) -> String {
    format!(
        "[mcp.servers.everything]\ncommand = \"{}\"\ntrusted = {trusted}\nenv = {{ SECRET_TOKEN = \"sk-do-not-show\" }}\n",
        bin.display()
    )
}

#[test]
fn the_model_calls_an_mcp_tool_and_the_observation_reaches_the_next_request() {
    let Some(bin) = everything() else { return };
    let server = FakeServer::spawn_background(vec![
        Reply::empty()
            .tool_call(
                "call_echo",
                "everything__echo",
                r#"{"message": "hello from mcp"}"#,
            )
            .into(),
        Reply::text("The server echoed it.").into(),
    ]);
    let home = TestHome::new(&server.base_url(), &server_entry(&bin, true));
    let out = home
        .command()
        .args(["exec", "--json", "echo something through mcp"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stderr: {stderr}");
    let requests = server.chat_requests();
    assert_eq!(requests.len(), 2);
    // The first request already offers the server's tools, with their schemas.
    let tools = requests[0].body["tools"].as_array().expect("tools").clone();
    let echo = tools
        .iter()
        .find(|t| t["function"]["name"] == "everything__echo")
        .unwrap_or_else(|| panic!("no everything__echo in {tools:?}"));
    assert_eq!(
        echo["function"]["parameters"]["properties"]["message"]["type"],
        "string"
    );
    let observation = requests[1]
        .messages()
        .into_iter()
        .find(|m| m["role"] == "tool" && m["tool_call_id"] == "call_echo")
        .expect("the observation")["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(observation.contains("hello from mcp"), "{observation}");
    // The trace (JSON events) shows the call finishing ok, and no secret anywhere.
    let stdout = String::from_utf8_lossy(&out.stdout);
    let events = json_lines(&out.stdout);
    assert!(
        events
            .iter()
            .any(|e| e.to_string().contains("everything__echo")),
        "{stdout}"
    );
    assert!(!stdout.contains("sk-do-not-show") && !stderr.contains("sk-do-not-show"));
}

#[test]
fn an_untrusted_servers_call_needs_approval_and_is_not_run_headless() {
    let Some(bin) = everything() else { return };
    let server = FakeServer::spawn_background(vec![
        Reply::empty()
            .tool_call(
                "call_echo",
                "everything__echo",
                r#"{"message": "should not run"}"#,
            )
            .into(),
        Reply::text("ok").into(),
    ]);
    let home = TestHome::new(&server.base_url(), &server_entry(&bin, false));
    let out = home
        .command()
        .args(["exec", "--json", "try it"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let requests = server.chat_requests();
    let observation = requests[1]
        .messages()
        .into_iter()
        .find(|m| m["role"] == "tool")
        .expect("observation")["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        !observation.contains("should not run"),
        "it ran: {observation}"
    );
    assert!(observation.contains("not trusted"), "{observation}");
}

#[test]
fn mcp_subcommands_add_list_test_and_remove_servers() {
    let Some(bin) = everything() else { return };
    let home = TestHome::new("http://127.0.0.1:9", "# keep this comment\n");
    let run = |args: &[&str]| {
        let out = home.command().arg("mcp").args(args).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let bin = bin.display().to_string();
    let (code, _, err) = run(&[
        "add",
        "everything",
        "--env",
        "API_KEY=sk-hidden",
        "--",
        &bin,
    ]);
    assert_eq!(code, Some(0), "{err}");
    let (code, _, err) = run(&["add", "broken", "--", "/nonexistent/server"]);
    assert_eq!(code, Some(0), "{err}");
    let (_, list, _) = run(&["list"]);
    assert!(
        list.contains("everything  stdio: ") && list.contains("env: API_KEY"),
        "{list}"
    );
    assert!(!list.contains("sk-hidden"), "{list}");

    let (code, out, err) = run(&["test", "everything"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("ok: ") && out.contains("everything__echo"),
        "{out}"
    );
    assert!(!out.contains("sk-hidden"), "{out}");
    let (code, out, _) = run(&["test", "broken"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("failed: cannot start"), "{out}");

    let (code, _, err) = run(&["remove", "broken"]);
    assert_eq!(code, Some(0), "{err}");
    let config = std::fs::read_to_string(home.config()).unwrap();
    assert!(config.contains("# keep this comment"), "{config}");
    assert!(
        !config.contains("broken") && config.contains("everything"),
        "{config}"
    );
}
