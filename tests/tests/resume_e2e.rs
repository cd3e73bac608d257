//! Resuming stored sessions through the real binary: `--continue` picks the most recent session
//! and `--resume ID` a chosen one; either way the next request to the provider carries the
//! earlier turns (tool calls and their results included). An unknown id is a clear error.

use std::process::Output;

use llm_repl_e2e::fake::{FakeServer, Recorded, Reply};
use llm_repl_e2e::home::TestHome;
use serde_json::Value;

fn exec(home: &TestHome, args: &[&str]) -> (Output, Vec<Value>) {
    let out = match home.command().args(args).output() {
        Ok(out) => out,
        Err(e) => panic!("cannot run llm-repl: {e}"),
    };
    let events = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| match serde_json::from_str(l) {
            Ok(v) => v,
            Err(e) => panic!("not JSON ({e}): {l}"),
        })
        .collect();
    (out, events)
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The session id of a run: from `session_started` or `session_loaded`.
fn session_of(events: &[Value]) -> String {
    let first = &events[0];
    assert!(
        first["event"] == "session_started" || first["event"] == "session_loaded",
        "{first}"
    );
    first["info"]["id"].as_str().unwrap_or_default().to_string()
}

/// (role, content or tool call id) of each non-system message of a request.
fn transcript(request: &Recorded) -> Vec<(String, String)> {
    request
        .messages()
        .iter()
        .filter(|m| m["role"] != "system")
        .map(|m| {
            let role = m["role"].as_str().unwrap_or_default().to_string();
            let text = match (m["content"].as_str(), m["tool_calls"][0]["id"].as_str()) {
                (_, Some(call)) => format!("calls {call}"),
                // Tool results are framed as data on the wire; compare what the tool said.
                (Some(text), None) => llm_repl_core::framing::unframe(text).to_string(),
                (None, None) => String::new(),
            };
            (role, text)
        })
        .collect()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(r, t)| (r.to_string(), t.to_string()))
        .collect()
}

#[test]
fn continue_and_resume_send_the_earlier_turns_to_the_model() {
    let server = FakeServer::spawn_background(vec![
        // Run 1 (new session A): a tool call, then the answer.
        Reply::empty()
            .tool_call("call_a", "python", r#"{"code": "print(6*7)"}"#)
            .into(),
        Reply::text("It is 42.").into(),
        // Run 2: --continue (session A).
        Reply::text("Yes, 42.").into(),
        // Run 3: a new session B.
        Reply::text("B answer").into(),
        // Run 4: --resume A, although B is the most recent.
        Reply::text("Back in A.").into(),
    ]);
    let home = TestHome::new(&server.base_url(), "");

    let (out, ev) = exec(&home, &["exec", "--json", "what is 6*7?"]);
    ok(&out);
    let a = session_of(&ev);
    assert_eq!(ev[0]["event"], "session_started");

    let (out, ev) = exec(&home, &["--continue", "exec", "--json", "are you sure?"]);
    ok(&out);
    assert_eq!(ev[0]["event"], "session_loaded", "{}", ev[0]);
    assert_eq!(session_of(&ev), a);
    assert_eq!(ev[0]["messages"].as_array().map(Vec::len), Some(4));
    assert_eq!(ev[0]["tool_runs"][0]["call"]["id"], "call_a");
    // The session ran python in a process that is gone: the user is told its state is too.
    let restarted = |ev: &[Value]| {
        ev.iter().any(|e| {
            e["event"] == "notice"
                && e["text"]
                    .as_str()
                    .is_some_and(|t| t.contains("python interpreter was restarted"))
        })
    };
    assert!(restarted(&ev), "{ev:?}");
    let requests = server.chat_requests();
    assert_eq!(requests.len(), 3);
    let first_turn = [
        ("user", "what is 6*7?"),
        ("assistant", "calls call_a"),
        ("tool", "42"),
        ("assistant", "It is 42."),
    ];
    let mut want = pairs(&first_turn);
    want.push(("user".into(), "are you sure?".into()));
    let got = transcript(&requests[2]);
    assert_eq!(got.len(), want.len(), "{got:?}");
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g.0, w.0, "{got:?}");
        assert!(g.1.contains(&w.1), "{got:?}");
    }

    let (out, ev) = exec(&home, &["exec", "--json", "something else"]);
    ok(&out);
    let b = session_of(&ev);
    assert_ne!(a, b);
    assert!(!restarted(&ev), "a new session has no interpreter to lose");
    // Ids made a moment apart differ in their first characters: 8 of them name a session.
    assert_ne!(a[..6], b[..6], "{a} {b}");
    let show = home
        .command()
        .args(["sessions", "show", &a[..8]])
        .output()
        .unwrap_or_else(|e| panic!("cannot run llm-repl: {e}"));
    assert_eq!(
        show.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&show.stderr)
    );
    assert!(String::from_utf8_lossy(&show.stdout).contains("what is 6*7?"));
    assert_eq!(
        transcript(&server.chat_requests()[3]),
        pairs(&[("user", "something else")])
    );

    // A unique prefix is enough, as `sessions list` shows ids.
    let (out, ev) = exec(&home, &["--resume", &a[..8], "exec", "--json", "back to A"]);
    ok(&out);
    assert_eq!(session_of(&ev), a);
    let got = transcript(&server.chat_requests()[4]);
    let texts: Vec<&str> = got.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(texts.len(), 7, "{got:?}");
    assert_eq!(texts[0], "what is 6*7?");
    assert_eq!(&texts[4..], ["are you sure?", "Yes, 42.", "back to A"]);
    assert!(!texts.contains(&"something else"), "{got:?}");
}

#[test]
fn resuming_an_unknown_id_is_a_clear_error_and_sends_nothing() {
    let server = FakeServer::spawn_background(vec![Reply::text("must not be asked").into()]);
    let home = TestHome::new(&server.base_url(), "");
    let out = match home
        .command()
        .args(["--resume", "no-such-session", "exec", "hello"])
        .output()
    {
        Ok(out) => out,
        Err(e) => panic!("cannot run llm-repl: {e}"),
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("no session \"no-such-session\""),
        "{stderr}"
    );
    assert!(
        server.chat_requests().is_empty(),
        "the prompt was sent anyway"
    );
}
