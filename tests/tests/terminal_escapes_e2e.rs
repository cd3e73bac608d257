//! Attack tests for terminal escape injection outside the TUI (issue 10, class 8): the real
//! binary's human output (`exec`, `sessions show/list/search`, `doctor`) must never pass a
//! control byte from a model, a tool or a server to the user's terminal. Each attack is
//! followed by a check that the ordinary text still arrives, made visible.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support code: a failure is a test failure

use std::process::Output;

use llm_repl_e2e::fake::{FakeServer, Reply};
use llm_repl_e2e::home::TestHome;

/// OSC 0 (title), OSC 52 (clipboard), a line hidden with `\r ESC[2K`, cursor moves, an 8-bit
/// C1 CSI and BEL: what a hostile model or tool writes.
const HOSTILE: &str = "\u{1b}]0;pwned-title\u{7}\u{1b}]52;c;ZWNobyBwd25lZA==\u{7}\
                       visible\r\u{1b}[2Khidden\u{1b}[3A\u{1b}[10;1H\u{9b}2Jend";

/// The offending control characters found in `bytes` (none = inert): every C0 but `\n`/`\t`
/// (and `\r` right before `\n`), DEL, every C1; raw bytes that are not UTF-8 count as well.
fn controls(bytes: &[u8]) -> Vec<char> {
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => panic!("output is not UTF-8 ({e}): {bytes:?}"),
    };
    let mut bad = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let ok = match c {
            '\n' | '\t' => true,
            '\r' => chars.peek() == Some(&'\n'),
            c => !c.is_control(),
        };
        if !ok {
            bad.push(c);
        }
    }
    bad
}

fn assert_inert(what: &str, bytes: &[u8]) {
    let bad = controls(bytes);
    assert!(
        bad.is_empty(),
        "{what} carries terminal controls {bad:?}:\n{}",
        String::from_utf8_lossy(bytes)
    );
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The hostile text as a Python string literal (escapes spelled out, so the code is plain).
fn py_literal() -> String {
    let mut s = String::from("'");
    for c in HOSTILE.chars() {
        if c.is_control() {
            s.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            s.push(c);
        }
    }
    s.push('\'');
    s
}

/// One `exec` run: the model answers with hostile text and calls python, whose output (stdout
/// and stderr) and code are hostile too; then answers again with hostile text.
fn hostile_exec(home: &TestHome, server: &llm_repl_e2e::fake::BackgroundServer) -> Output {
    let code = format!(
        "import sys\nprint({lit})\nprint({lit}, file=sys.stderr)\n# {lit}\nraise ValueError({lit})",
        lit = py_literal()
    );
    let args = serde_json::json!({ "code": code }).to_string();
    server.push_all([
        Reply::text(format!("Looking. {HOSTILE}\n"))
            .tool_call("call_evil", "python", &args)
            .into(),
        Reply::text(format!("Answer: {HOSTILE}")).chunks(3).into(),
    ]);
    home.command()
        .args(["exec", "--approval", "never", "show me"])
        .output()
        .expect("run exec")
}

#[test]
fn exec_human_output_carries_no_escape_from_model_or_tool() {
    let server = FakeServer::spawn_background(Vec::new());
    let home = TestHome::new(&server.base_url(), "");
    let out = hostile_exec(&home, &server);
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    assert_inert("exec stdout (the answer)", &out.stdout);
    assert_inert("exec stderr (the trace)", &out.stderr);
    // The text is shown, made visible: the user sees the attempt, nothing hides a line.
    let answer = stdout(&out);
    assert!(answer.contains("␛]0;pwned-title␇"), "{answer}");
    assert!(answer.contains("visible␍␛[2Khidden"), "{answer}");
    assert!(answer.contains("<U+009B>2Jend"), "{answer}");
    let trace = stderr(&out);
    assert!(trace.contains("␛]52;c;ZWNobyBwd25lZA==␇"), "{trace}");
    assert!(trace.contains("ValueError"), "{trace}");
}

#[test]
fn exec_json_output_stays_byte_exact() {
    let server = FakeServer::spawn_background(Vec::new());
    let home = TestHome::new(&server.base_url(), "");
    server.push(Reply::text(HOSTILE));
    let out = home
        .command()
        .args(["exec", "--json", "go"])
        .output()
        .unwrap();
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    let text: String = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["event"] == "text_delta")
        .map(|e| e["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(text, HOSTILE, "JSON carries the model's text unchanged");
}

#[test]
fn sessions_show_list_and_search_of_a_hostile_session_are_inert() {
    let server = FakeServer::spawn_background(Vec::new());
    let home = TestHome::new(&server.base_url(), "");
    let out = hostile_exec(&home, &server);
    assert!(out.status.success(), "stderr: {}", stderr(&out));

    let list = home.command().args(["sessions", "list"]).output().unwrap();
    assert!(list.status.success(), "{}", stderr(&list));
    assert_inert("sessions list", &list.stdout);
    let id = list_first_id(&stdout(&list));

    let show = home
        .command()
        .args(["sessions", "show", &id])
        .output()
        .unwrap();
    assert!(show.status.success(), "{}", stderr(&show));
    assert_inert("sessions show", &show.stdout);
    let text = stdout(&show);
    assert!(text.contains("Answer: ␛]0;pwned-title␇"), "{text}");
    assert!(text.contains("visible␍␛[2Khidden"), "{text}");

    let search = home
        .command()
        .args(["sessions", "search", "answer"])
        .output()
        .unwrap();
    assert!(search.status.success(), "{}", stderr(&search));
    assert_inert("sessions search", &search.stdout);
    assert!(
        stdout(&search).contains("**Answer**"),
        "{}",
        stdout(&search)
    );

    // The JSON view is the store's data, unchanged.
    let json = home
        .command()
        .args(["sessions", "show", &id, "--json"])
        .output()
        .unwrap();
    assert!(stdout(&json).contains("\\u001b]0;pwned-title\\u0007"));
}

/// The id on the first data row of `sessions list` (after the header).
fn list_first_id(list: &str) -> String {
    let row = list.lines().nth(1).expect("a session row");
    row.split_whitespace().next().unwrap().to_string()
}

#[test]
fn doctor_shows_hostile_model_names_from_the_server_inertly() {
    let server = FakeServer::spawn_background(Vec::new());
    server.set_models(&[
        "evil\u{1b}]0;pwned-title\u{7}",
        "clip\u{1b}]52;c;ZWNobyBwd25lZA==\u{1b}\\",
        "c1\u{9b}2J",
    ]);
    let home = TestHome::new(&server.base_url(), "[sandbox]\nrequire = false\n");
    let out = home.command().args(["doctor"]).output().unwrap();
    assert_inert("doctor stdout", &out.stdout);
    assert_inert("doctor stderr", &out.stderr);
    let text = stdout(&out);
    assert!(text.contains("evil␛]0;pwned-title␇"), "{text}");
    assert!(text.contains("c1<U+009B>2J"), "{text}");
}
