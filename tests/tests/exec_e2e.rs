//! The real `llm-repl exec` binary against the fake server (and offline with the mock).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support code: a failure is a test failure

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use llm_repl_e2e::binary::llm_repl;
use llm_repl_e2e::fake::{BackgroundServer, FakeServer, Reply, Scripted};
use serde_json::Value;

/// A temp home with a config pointing at `base_url`; every path the binary uses lives in it.
struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new(base_url: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = format!(
            "provider = \"fake\"\n[providers.fake]\nkind = \"openai\"\nbase_url = \"{base_url}\"\n\
             api_key_env = \"FAKE_KEY\"\nmodel = \"fake-model\"\n[reliability]\nmax_retries = 0\nmax_transient_retries = 0\n"
        );
        std::fs::write(dir.path().join("config.toml"), config).unwrap();
        std::fs::write(dir.path().join("notes.txt"), "hello from notes\n").unwrap();
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(llm_repl());
        let home = self.path();
        cmd.current_dir(home)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("LLM_REPL_STANDALONE", "1")
            // Not the workspace: starting in $HOME needs --trust.
            .env("HOME", home.join("home"))
            .env("XDG_CONFIG_HOME", home.join("xdg-config"))
            .env("XDG_DATA_HOME", home.join("xdg-data"))
            .env("XDG_STATE_HOME", home.join("xdg-state"))
            .env("FAKE_KEY", "test-key-123")
            .arg("--config")
            .arg(home.join("config.toml"));
        cmd
    }

    fn exec(&self, args: &[&str]) -> Output {
        self.command().arg("exec").args(args).output().unwrap()
    }
}

fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn kinds(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_string())
        .collect()
}

fn server(script: Vec<Scripted>) -> BackgroundServer {
    FakeServer::spawn_background(script)
}

#[test]
fn three_step_loop_as_json_lines_sends_tool_results_with_their_ids() {
    let server = server(vec![
        Reply::text("Let me run it.")
            .tool_call("call_py", "python", r#"{"code": "print(6*7)"}"#)
            .usage(120, 20, 0)
            .into(),
        Reply::empty()
            .tool_call("call_ls", "list_dir", r#"{"path": "."}"#)
            .usage(180, 10, 100)
            .into(),
        Reply::text("It is 42 and notes.txt is here.")
            .chunks(5)
            .usage(220, 12, 0)
            .into(),
    ]);
    let sb = Sandbox::new(&server.base_url());
    let out = sb.exec(&["--json", "what is 6*7, and what files are here?"]);
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events = json_lines(&out);
    let kinds = kinds(&events);
    assert_eq!(kinds.first().map(String::as_str), Some("session_started"));
    assert_eq!(kinds.iter().filter(|k| *k == "step_started").count(), 3);
    assert_eq!(
        kinds.iter().filter(|k| *k == "tool_call_finished").count(),
        2
    );
    assert!(kinds.contains(&"tool_output".to_string()));
    let finished = events
        .iter()
        .find(|e| e["event"] == "turn_finished")
        .unwrap();
    assert_eq!(finished["reason"], "completed");
    let output: String = events
        .iter()
        .filter(|e| e["event"] == "tool_output")
        .map(|e| e["chunk"].as_str().unwrap().to_string())
        .collect();
    assert!(output.contains("42"), "{output}");
    let listing = events
        .iter()
        .find(|e| e["event"] == "tool_call_finished" && e["call_id"] == "call_ls")
        .unwrap();
    assert!(
        listing["result"]["content"]
            .as_str()
            .unwrap()
            .contains("notes.txt"),
        "{listing}"
    );
    let usage = events.iter().rev().find(|e| e["event"] == "usage").unwrap();
    assert_eq!(usage["turn_usage"]["input"], 520);
    assert_eq!(usage["turn_usage"]["cached"], 100);
    assert_eq!(usage["turn_usage"]["estimated"], false);

    let requests = server.chat_requests();
    assert_eq!(requests.len(), 3);
    for r in &requests {
        assert_eq!(r.header("authorization"), Some("Bearer test-key-123"));
        assert_eq!(r.body["stream"], true);
        assert_eq!(r.body["stream_options"]["include_usage"], true);
        assert_eq!(r.body["model"], "fake-model");
        let tools: Vec<&str> = r.body["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["function"]["name"].as_str().unwrap())
            .collect();
        assert!(
            tools.contains(&"python") && tools.contains(&"list_dir"),
            "{tools:?}"
        );
    }
    let second = requests[1].messages();
    let tool_msg = second.iter().find(|m| m["role"] == "tool").unwrap();
    assert_eq!(tool_msg["tool_call_id"], "call_py");
    assert!(tool_msg["content"].as_str().unwrap().contains("42"));
    let asked = second.iter().find(|m| m["role"] == "assistant").unwrap();
    assert_eq!(asked["tool_calls"][0]["id"], "call_py");
    let third = requests[2].messages();
    let ids: Vec<&str> = third
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| m["tool_call_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["call_py", "call_ls"]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("test-key-123"));
}

#[test]
fn text_mode_puts_the_answer_on_stdout_and_the_trace_on_stderr() {
    let server = server(vec![
        Reply::empty()
            .tool_call("c1", "python", r#"{"code": "print('traced')"}"#)
            .into(),
        Reply::text("All done.").into(),
    ]);
    let sb = Sandbox::new(&server.base_url());
    let out = sb.exec(&["run it"]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stdout.trim(), "All done.");
    assert!(stderr.contains("print('traced')"), "{stderr}");
    assert!(stderr.contains("traced\n"), "{stderr}");
    assert!(stderr.contains("ok in"), "{stderr}");
}

#[test]
fn unknown_tool_and_broken_arguments_are_observations_not_crashes() {
    let server = server(vec![
        Reply::empty().tool_call("c1", "teleport", "{}").into(),
        Reply::empty()
            .tool_call("c2", "python", r#"{"code": "print(1)"#)
            .into(),
        Reply::text("I could not do it.").into(),
    ]);
    let sb = Sandbox::new(&server.base_url());
    let out = sb.exec(&["--json", "go"]);
    assert!(out.status.success());
    let requests = server.chat_requests();
    let second = requests[1].messages();
    let obs = second.iter().find(|m| m["tool_call_id"] == "c1").unwrap();
    assert!(
        obs["content"]
            .as_str()
            .unwrap()
            .contains("no tool named \"teleport\"")
    );
    let third = requests[2].messages();
    let obs = third.iter().find(|m| m["tool_call_id"] == "c2").unwrap();
    assert!(
        obs["content"].as_str().unwrap().contains("not valid JSON"),
        "{obs}"
    );
}

#[test]
fn max_steps_stops_with_exit_code_3() {
    let call = |id: &str| -> Scripted {
        Reply::empty()
            .tool_call(id, "python", r#"{"code": "print(1)"}"#)
            .into()
    };
    let server = server(vec![call("a"), call("b"), call("c")]);
    let sb = Sandbox::new(&server.base_url());
    let out = sb.exec(&["--max-steps", "2", "loop forever"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(server.chat_requests().len(), 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("max_steps"));
}

#[test]
fn wrong_base_url_is_one_clear_line_and_a_failure_code() {
    // A port nobody listens on: bind, read the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sb = Sandbox::new(&format!("http://127.0.0.1:{port}/v1"));
    let out = sb.exec(&["hello"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].contains("cannot connect to http://127.0.0.1:"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn refused_key_and_missing_key_are_explained() {
    let server = server(vec![Scripted::unauthorized()]);
    let sb = Sandbox::new(&server.base_url());
    let out = sb.exec(&["hello"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("refused the key") && stderr.contains("FAKE_KEY"),
        "{stderr}"
    );
    assert!(!stderr.contains("test-key-123"));

    let out = sb
        .command()
        .env_remove("FAKE_KEY")
        .args(["exec", "hello"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("needs an API key in FAKE_KEY"), "{stderr}");
}

#[test]
fn malformed_config_names_file_and_line() {
    let sb = Sandbox::new("http://127.0.0.1:1/v1");
    let path = sb.path().join("config.toml");
    std::fs::write(&path, "max_steps = 3\n[tools]\ntimeout = 5\n").unwrap();
    let out = sb.exec(&["hello"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{}:3:", path.display())),
        "{stderr}"
    );
    assert!(stderr.contains("timeout"), "{stderr}");
}

#[test]
fn sigint_interrupts_a_slow_stream_and_keeps_the_partial_answer() {
    let server = server(vec![
        Reply::text("one two three four five six seven eight")
            .chunks(8)
            .delay_ms(2500)
            .into(),
    ]);
    let sb = Sandbox::new(&server.base_url());
    let mut child = sb
        .command()
        .args(["exec", "--json", "talk slowly"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let is_delta = line.contains("\"text_delta\"");
        seen.push(line);
        if is_delta {
            break;
        }
    }
    let t0 = Instant::now();
    // SAFETY: plain kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    seen.extend(lines.map(|l| l.unwrap()));
    let status = child.wait().unwrap();
    // Behaviour, with room for a busy machine: the rest of the stream would take 17.5 s.
    assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
    assert_eq!(status.code(), Some(130));
    let events: Vec<Value> = seen
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let finished = events
        .iter()
        .find(|e| e["event"] == "turn_finished")
        .unwrap();
    assert_eq!(finished["reason"], "interrupted");
    let kept = events
        .iter()
        .find(|e| e["event"] == "assistant_message")
        .unwrap();
    assert!(
        kept["message"]["content"]
            .as_str()
            .unwrap()
            .starts_with("one")
    );
}

#[test]
fn offline_mock_computes_with_python() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(llm_repl())
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("LLM_REPL_STANDALONE", "1")
        .env("HOME", dir.path().join("home"))
        .args(["exec", "compute 2**64 with python"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains("18446744073709551616"), "{stdout}");
    assert!(stderr.contains("print(2**64)"), "{stderr}");
    assert!(stderr.contains("[mock]"), "{stderr}");
}
