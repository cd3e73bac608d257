//! The MCP client against the real reference servers from npm (`server-everything`,
//! `server-filesystem`), installed by tests/mcp/install-servers.sh. Skips, saying why, only
//! where node or npm is missing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use llm_repl_core::config::{McpConfig, McpServerConfig};
use llm_repl_core::{OutputSink, ToolContext, ToolOutcome, ToolRegistry};
use llm_repl_mcp::{McpServers, ServerState};
use llm_repl_protocol::{Event, ToolStatus};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// The directory whose node_modules/.bin holds the servers, or None (with a message) when node
/// or npm is missing.
fn servers_dir() -> Option<PathBuf> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/mcp/install-servers.sh");
    let out = std::process::Command::new("sh")
        .arg(&script)
        .output()
        .expect("runs the install script");
    if out.status.code() == Some(3) {
        eprintln!("SKIPPED: node or npm is not installed, so the reference MCP servers cannot be");
        return None;
    }
    assert!(
        out.status.success(),
        "installing the reference servers failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

fn bin(dir: &Path, name: &str) -> String {
    dir.join("node_modules/.bin")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn stdio(command: String) -> McpServerConfig {
    McpServerConfig {
        command,
        trusted: true,
        startup_timeout_secs: 60,
        ..McpServerConfig::default()
    }
}

struct Running {
    servers: Arc<McpServers>,
    registry: ToolRegistry,
    events: mpsc::UnboundedReceiver<Event>,
}

async fn start(servers: BTreeMap<String, McpServerConfig>) -> Running {
    let (tx, events) = mpsc::unbounded_channel();
    let config = McpConfig { servers };
    let servers = McpServers::start(&config, std::env::temp_dir(), Duration::from_secs(30), tx);
    let mut registry = ToolRegistry::new();
    registry.add_source(servers.clone());
    // Bounded by each server's start-up timeout.
    registry.sources_settled().await;
    Running {
        servers,
        registry,
        events,
    }
}

fn ctx(cancel: CancellationToken) -> ToolContext {
    ToolContext {
        call_id: "c1".into(),
        cancel,
        output: OutputSink::discard(),
        workdir: std::env::temp_dir(),
        session_id: "s".into(),
    }
}

async fn call(registry: &ToolRegistry, name: &str, args: serde_json::Value) -> ToolOutcome {
    let tool = registry
        .get(name)
        .unwrap_or_else(|| panic!("no tool {name}: {:?}", registry.names()));
    tool.run(args, ctx(CancellationToken::new())).await
}

/// The next notice whose text contains `needle` (others are skipped), within 60 s.
async fn notice_containing(events: &mut mpsc::UnboundedReceiver<Event>, needle: &str) -> String {
    let wait = async {
        while let Some(event) = events.recv().await {
            if let Event::Notice { text, .. } = event
                && text.contains(needle)
            {
                return text;
            }
        }
        panic!("events ended before a notice with {needle:?}");
    };
    tokio::time::timeout(Duration::from_secs(60), wait)
        .await
        .unwrap_or_else(|_| panic!("no notice with {needle:?} within 60 s"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_lists_and_calls_tools_with_each_kind_of_result() {
    let Some(dir) = servers_dir() else { return };
    let mut config = stdio(bin(&dir, "mcp-server-everything"));
    config.deny = vec!["toggle-simulated-logging".into()];
    config.env.insert("MCP_TEST_VALUE".into(), "given".into());
    let mut run = start(BTreeMap::from([("everything".to_string(), config)])).await;
    assert!(
        matches!(run.servers.states()[0].1, ServerState::Ready { .. }),
        "{:?}",
        run.servers.states()
    );
    notice_containing(&mut run.events, "mcp: everything ready with").await;
    let names = run.registry.names();
    assert!(names.contains(&"everything__echo".to_string()), "{names:?}");
    assert!(
        !names.contains(&"everything__toggle-simulated-logging".to_string()),
        "deny list ignored: {names:?}"
    );
    let spec = run
        .registry
        .get("everything__get-sum")
        .expect("get-sum")
        .spec();
    assert_eq!(spec.parameters["properties"]["a"]["type"], "number");

    let echo = call(
        &run.registry,
        "everything__echo",
        serde_json::json!({"message": "hi there"}),
    )
    .await;
    assert_eq!(echo.status, ToolStatus::Ok);
    assert!(echo.content.contains("hi there"), "{}", echo.content);

    let sum = call(
        &run.registry,
        "everything__get-sum",
        serde_json::json!({"a": 2, "b": 3}),
    )
    .await;
    assert!(sum.content.contains('5'), "{}", sum.content);

    let image = call(
        &run.registry,
        "everything__get-tiny-image",
        serde_json::json!({}),
    )
    .await;
    assert!(
        image.content.contains("[image: image/png"),
        "{}",
        image.content
    );

    let structured = call(
        &run.registry,
        "everything__get-structured-content",
        serde_json::json!({"location": "Chicago"}),
    )
    .await;
    assert_eq!(structured.status, ToolStatus::Ok, "{}", structured.content);
    assert!(
        structured.content.contains("temperature"),
        "{}",
        structured.content
    );

    // The server gets the configured env and the passed basics, not the rest of ours (cargo
    // sets CARGO_MANIFEST_DIR for this test process).
    let env = call(&run.registry, "everything__get-env", serde_json::json!({})).await;
    assert!(env.content.contains("MCP_TEST_VALUE"), "{}", env.content);
    assert!(env.content.contains("PATH"), "{}", env.content);
    assert!(
        !env.content.contains("CARGO_MANIFEST_DIR"),
        "{}",
        env.content
    );

    // A schema-violating call comes back as an error observation, not a failure of ours.
    let bad = call(
        &run.registry,
        "everything__get-sum",
        serde_json::json!({"a": "x"}),
    )
    .await;
    assert_eq!(bad.status, ToolStatus::Error, "{}", bad.content);
    run.servers.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupt_cancels_a_long_call_and_the_server_still_answers() {
    let Some(dir) = servers_dir() else { return };
    // `tee` records every message the client sends on the way to the real server.
    let tmp = tempfile::tempdir().expect("tempdir");
    let wire = tmp.path().join("client-to-server.jsonl");
    let script = format!(
        "tee '{}' | '{}'",
        wire.display(),
        bin(&dir, "mcp-server-everything")
    );
    let mut config = stdio("sh".into());
    config.args = vec!["-c".into(), script];
    let run = start(BTreeMap::from([("everything".to_string(), config)])).await;
    let tool = run
        .registry
        .get("everything__trigger-long-running-operation")
        .expect("long-running tool");
    let cancel = CancellationToken::new();
    let running = tokio::spawn({
        let ctx = ctx(cancel.clone());
        async move {
            tool.run(serde_json::json!({"duration": 60, "steps": 60}), ctx)
                .await
        }
    });
    // Interrupt once the call is on the wire (the server is working on it).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&wire).is_ok_and(|t| t.contains("\"tools/call\"")) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the call was not sent"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cancel.cancel();
    let outcome = tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("an interrupted call ends at once")
        .expect("the call task");
    assert_eq!(
        outcome.status,
        ToolStatus::Interrupted,
        "{}",
        outcome.content
    );
    // The server was told: notifications/cancelled names the tools/call request's id.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let (call_id, cancelled_id) = loop {
        let text = std::fs::read_to_string(&wire).unwrap_or_default();
        let messages: Vec<serde_json::Value> = text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        let call = messages.iter().find(|m| m["method"] == "tools/call");
        let cancel = messages
            .iter()
            .find(|m| m["method"] == "notifications/cancelled");
        if let (Some(call), Some(cancel)) = (call, cancel) {
            break (call["id"].clone(), cancel["params"]["requestId"].clone());
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no notifications/cancelled sent: {text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(call_id, cancelled_id);
    let echo = call(
        &run.registry,
        "everything__echo",
        serde_json::json!({"message": "after"}),
    )
    .await;
    assert!(echo.content.contains("after"), "{}", echo.content);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_and_silent_servers_are_reported_while_the_rest_work() {
    let Some(dir) = servers_dir() else { return };
    let silent = McpServerConfig {
        command: "sleep".into(),
        args: vec!["600".into()],
        startup_timeout_secs: 1,
        ..McpServerConfig::default()
    };
    let missing = McpServerConfig {
        command: "/nonexistent/mcp-server".into(),
        ..McpServerConfig::default()
    };
    let dies = McpServerConfig {
        command: "sh".into(),
        args: vec!["-c".into(), "echo 'fatal: no config' >&2; exit 1".into()],
        ..McpServerConfig::default()
    };
    let mut run = start(BTreeMap::from([
        (
            "everything".to_string(),
            stdio(bin(&dir, "mcp-server-everything")),
        ),
        ("silent".to_string(), silent),
        ("missing".to_string(), missing),
        ("dies".to_string(), dies),
    ]))
    .await;
    let states: BTreeMap<_, _> = run.servers.states().into_iter().collect();
    assert!(
        matches!(states["everything"], ServerState::Ready { .. }),
        "{states:?}"
    );
    for name in ["silent", "missing", "dies"] {
        assert!(
            matches!(states[name], ServerState::Failed(_)),
            "{name}: {states:?}"
        );
    }
    // Settled, so every failure has been reported already.
    let mut notices = Vec::new();
    while let Ok(event) = run.events.try_recv() {
        if let Event::Notice { text, .. } = event {
            notices.push(text);
        }
    }
    let find = |prefix: &str| {
        notices
            .iter()
            .find(|n| n.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} in {notices:?}"))
            .clone()
    };
    assert!(
        find("mcp: silent failed").contains("within 1s"),
        "{notices:?}"
    );
    assert!(
        find("mcp: dies failed").contains("fatal: no config"),
        "{notices:?}"
    );
    assert!(
        find("mcp: missing failed").contains("cannot start"),
        "{notices:?}"
    );
    let echo = call(
        &run.registry,
        "everything__echo",
        serde_json::json!({"message": "ok"}),
    )
    .await;
    assert_eq!(echo.status, ToolStatus::Ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_server_is_restarted_and_said_so_once() {
    let Some(dir) = servers_dir() else { return };
    let tmp = tempfile::tempdir().expect("tempdir");
    let pidfile = tmp.path().join("pid");
    // `exec` keeps the shell's pid, so the pid file names the server itself.
    let script = format!(
        "echo $$ > '{}'; exec '{}'",
        pidfile.display(),
        bin(&dir, "mcp-server-everything")
    );
    let config = McpServerConfig {
        command: "sh".into(),
        args: vec!["-c".into(), script],
        trusted: true,
        startup_timeout_secs: 60,
        ..McpServerConfig::default()
    };
    let mut run = start(BTreeMap::from([("everything".to_string(), config)])).await;
    notice_containing(&mut run.events, "ready with").await;
    for round in 0..2 {
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .expect("pid file")
            .trim()
            .parse()
            .expect("pid");
        // SAFETY: kill(2) on the server this test started.
        assert_eq!(unsafe { libc_kill(pid) }, 0, "kill {pid}");
        if round == 0 {
            let text = notice_containing(&mut run.events, "restarting").await;
            assert!(text.contains("mcp: everything stopped"), "{text}");
        }
        // Back again: the tool answers once the restart is done.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            if matches!(run.servers.states()[0].1, ServerState::Ready { .. })
                && std::fs::read_to_string(&pidfile).is_ok_and(|p| p.trim() != pid.to_string())
            {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "not restarted");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let echo = call(
            &run.registry,
            "everything__echo",
            serde_json::json!({"message": "back"}),
        )
        .await;
        assert!(echo.content.contains("back"), "{}", echo.content);
    }
    // Said once: the second crash gave no second notice.
    while let Ok(event) = run.events.try_recv() {
        if let Event::Notice { text, .. } = event {
            assert!(!text.contains("restarting"), "said twice: {text}");
        }
    }
}

unsafe fn libc_kill(pid: i32) -> i32 {
    unsafe extern "C" {
        fn kill(pid: i32, sig: i32) -> i32;
    }
    // SIGKILL
    unsafe { kill(pid, 9) }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filesystem_server_reads_a_file_in_its_root() {
    let Some(dir) = servers_dir() else { return };
    let root = tempfile::tempdir().expect("tempdir");
    std::fs::write(root.path().join("note.txt"), "forty-two\n").expect("write");
    let mut config = stdio(bin(&dir, "mcp-server-filesystem"));
    config.args = vec![root.path().to_string_lossy().into_owned()];
    config.allow = vec!["read_text_file".into(), "list_directory".into()];
    let run = start(BTreeMap::from([("fs".to_string(), config)])).await;
    assert_eq!(
        run.registry.names(),
        ["fs__list_directory", "fs__read_text_file"],
        "allow list"
    );
    let path = root.path().join("note.txt");
    let read = call(
        &run.registry,
        "fs__read_text_file",
        serde_json::json!({"path": path.to_string_lossy()}),
    )
    .await;
    assert_eq!(read.status, ToolStatus::Ok, "{}", read.content);
    assert!(read.content.contains("forty-two"), "{}", read.content);
    let outside = call(
        &run.registry,
        "fs__read_text_file",
        serde_json::json!({"path": "/etc/hostname"}),
    )
    .await;
    assert_eq!(outside.status, ToolStatus::Error, "{}", outside.content);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_over_its_time_limit_times_out() {
    let Some(dir) = servers_dir() else { return };
    let mut config = stdio(bin(&dir, "mcp-server-everything"));
    config.tool_timeout_secs = 1;
    let run = start(BTreeMap::from([("everything".to_string(), config)])).await;
    let outcome = call(
        &run.registry,
        "everything__trigger-long-running-operation",
        serde_json::json!({"duration": 30, "steps": 30}),
    )
    .await;
    assert_eq!(outcome.status, ToolStatus::TimedOut, "{}", outcome.content);
    assert!(outcome.content.contains("after 1s"), "{}", outcome.content);
}

/// Three servers start side by side in the background: `start` returns before any is ready
/// (the TUI builds the agent with it and never waits), and all settle. Prints the figures the
/// ledger quotes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_servers_start_in_the_background() {
    let Some(dir) = servers_dir() else { return };
    let root = tempfile::tempdir().expect("tempdir");
    let mut fs = stdio(bin(&dir, "mcp-server-filesystem"));
    fs.args = vec![root.path().to_string_lossy().into_owned()];
    let config = McpConfig {
        servers: BTreeMap::from([
            ("a".to_string(), stdio(bin(&dir, "mcp-server-everything"))),
            ("b".to_string(), stdio(bin(&dir, "mcp-server-everything"))),
            ("fs".to_string(), fs),
        ]),
    };
    let (tx, _events) = mpsc::unbounded_channel();
    let began = std::time::Instant::now();
    let servers = McpServers::start(&config, std::env::temp_dir(), Duration::from_secs(30), tx);
    let returned = began.elapsed();
    let mut registry = ToolRegistry::new();
    registry.add_source(servers.clone());
    assert!(registry.names().is_empty(), "{:?}", registry.names());
    registry.sources_settled().await;
    let settled = began.elapsed();
    let names = registry.names();
    assert!(names.contains(&"a__echo".to_string()) && names.contains(&"b__echo".to_string()));
    assert!(names.iter().any(|n| n.starts_with("fs__")), "{names:?}");
    let echo_began = std::time::Instant::now();
    let echo = call(&registry, "a__echo", serde_json::json!({"message": "x"})).await;
    let echo_took = echo_began.elapsed();
    assert_eq!(echo.status, ToolStatus::Ok);
    eprintln!(
        "FIGURES: start returned in {} us; 3 servers ready in {} ms; echo round trip {} us",
        returned.as_micros(),
        settled.as_millis(),
        echo_took.as_micros()
    );
}

/// The streamable-HTTP transport against server-everything in its HTTP mode (a process this
/// test starts and kills), with a bearer token read from the environment variable named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_url_server_over_streamable_http() {
    use tokio::io::AsyncBufReadExt;
    let Some(dir) = servers_dir() else { return };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut child = tokio::process::Command::new(bin(&dir, "mcp-server-everything"))
        .arg("streamableHttp")
        .env("PORT", port.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("starts the HTTP server");
    // It says it listens on stderr.
    let mut lines = tokio::io::BufReader::new(child.stderr.take().expect("stderr")).lines();
    let listening = async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("listening") {
                return;
            }
        }
        panic!("the HTTP server exited before listening");
    };
    tokio::time::timeout(Duration::from_secs(30), listening)
        .await
        .expect("the HTTP server listens");
    let config = McpServerConfig {
        url: format!("http://127.0.0.1:{port}/mcp"),
        // PATH is always set: any value works as a token for this server.
        bearer_token_env: "PATH".into(),
        headers: BTreeMap::from([("X-Client".to_string(), "llm-repl-test".to_string())]),
        trusted: true,
        ..McpServerConfig::default()
    };
    let run = start(BTreeMap::from([("web".to_string(), config)])).await;
    assert!(
        matches!(run.servers.states()[0].1, ServerState::Ready { .. }),
        "{:?}",
        run.servers.states()
    );
    let echo = call(
        &run.registry,
        "web__echo",
        serde_json::json!({"message": "over http"}),
    )
    .await;
    assert_eq!(echo.status, ToolStatus::Ok, "{}", echo.content);
    assert!(echo.content.contains("over http"), "{}", echo.content);
    run.servers.shutdown();
    let _ = child.kill().await;
}
