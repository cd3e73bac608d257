//! What the model sees of a tool result and of its context window, through the real binary
//! against the fake server: a huge tool output reaches the model capped (head, marker, tail)
//! while the user and the store get all of it; a prompt over the window is announced.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure is a test failure

use llm_repl_core::estimate::Estimator;
use llm_repl_e2e::fake::{FakeServer, Reply};
use llm_repl_e2e::home::TestHome;
use serde_json::Value;

fn json_lines(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

#[test]
fn a_200k_line_print_reaches_the_model_as_head_marker_and_tail_under_the_cap() {
    let server = FakeServer::spawn_background(vec![
        Reply::empty()
            .tool_call(
                "call_big",
                "python",
                r#"{"code": "for i in range(200000):\n    print(f'row {i}')"}"#,
            )
            .into(),
        Reply::text("That was long.").into(),
    ]);
    let home = TestHome::new(&server.base_url(), "[tools]\nmodel_output_tokens = 3000\n");
    let out = home
        .command()
        .args(["exec", "--json", "print a lot"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let requests = server.chat_requests();
    assert_eq!(requests.len(), 2);
    let second = requests[1].messages();
    let observation = second
        .iter()
        .find(|m| m["role"] == "tool" && m["tool_call_id"] == "call_big")
        .unwrap()["content"]
        .as_str()
        .unwrap()
        .to_string();
    // Head, marker, tail.
    assert!(
        observation.contains("\nrow 0\nrow 1\n"),
        "{observation:.200}"
    );
    let marker = observation
        .lines()
        .find(|l| l.starts_with("[... output cut:"))
        .unwrap_or_else(|| panic!("no marker in {observation:.400}"));
    assert!(
        marker.contains("lines") && marker.contains("bytes"),
        "{marker}"
    );
    assert!(marker.contains("3000 tokens"), "{marker}");
    // The tail: the last rows the tool kept (it keeps tools.max_output_bytes, 1 MiB), then the
    // tool's own cut note; the middle rows are gone.
    let tail = &observation[observation.len() - 300..];
    assert!(tail.contains("[output cut: "), "{tail}");
    let last_row = tail
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("row ")?.parse::<u32>().ok())
        .unwrap_or_else(|| panic!("no row in the tail: {tail}"));
    assert!(last_row > 90_000, "{tail}");
    // Under the cap, counted by the one estimator.
    let tokens = Estimator::for_model("fake-model").count(&observation);
    assert!(tokens <= 3000, "{tokens} tokens sent");
    assert!(
        requests[1].raw_body.len() < 40_000,
        "{} bytes",
        requests[1].raw_body.len()
    );

    // The user saw all of it.
    let events = json_lines(&out.stdout);
    let shown: String = events
        .iter()
        .filter(|e| e["event"] == "tool_output")
        .map(|e| e["chunk"].as_str().unwrap().to_string())
        .collect();
    assert!(
        shown.contains("row 100000\n"),
        "the screen keeps the middle"
    );
    assert!(!observation.contains("row 100000\n"), "the model does not");
}

#[test]
fn a_prompt_over_the_context_window_is_announced_before_the_call() {
    let server = FakeServer::spawn_background(vec![Reply::text("ok").into()]);
    let home = TestHome::new(&server.base_url(), "");
    // The fake provider's window, from the config.
    let config = std::fs::read_to_string(home.config()).unwrap().replace(
        "model = \"fake-model\"\n",
        "model = \"fake-model\"\ncontext_window = 2000\n",
    );
    std::fs::write(home.config(), config).unwrap();
    let prompt = "tell me about these numbers: ".to_string()
        + &(0..3000).map(|i| format!("{i} ")).collect::<String>();
    let out = home
        .command()
        .args(["exec", "--json", &prompt])
        .output()
        .unwrap();
    let events = json_lines(&out.stdout);
    let notice = events
        .iter()
        .find(|e| e["event"] == "notice" && e["text"].as_str().unwrap().contains("context window"))
        .unwrap_or_else(|| panic!("no window notice in {events:?}"));
    let text = notice["text"].as_str().unwrap();
    assert!(text.contains("of 2000"), "{text}");
    assert_eq!(notice["level"], "warn");
    // Announced before the call went out (the call still goes: the estimate may be off).
    let notice_at = events.iter().position(|e| e == notice).unwrap();
    let first_usage = events.iter().position(|e| e["event"] == "usage").unwrap();
    assert!(notice_at < first_usage);
}

#[test]
fn the_window_comes_from_the_provider_model_list_when_nothing_else_knows_it() {
    let server = FakeServer::spawn_background(vec![Reply::text("ok").into()]);
    // `fake-model` is in no price table and the config names no window: the server's
    // model list does (context_length, as OpenRouter reports it).
    server.set_models(&["fake-model@1500", "other@99"]);
    let home = TestHome::new(&server.base_url(), "");
    let prompt = (0..1500).map(|i| format!("{i} ")).collect::<String>();
    let out = home
        .command()
        .args(["exec", "--json", &prompt])
        .output()
        .unwrap();
    let events = json_lines(&out.stdout);
    let usage = events.iter().find(|e| e["event"] == "usage").unwrap();
    assert_eq!(usage["context_window"], 1500, "{usage}");
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "notice" && e["text"].as_str().unwrap().contains("of 1500")),
        "{events:?}"
    );
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.path.ends_with("/models"))
    );
}
