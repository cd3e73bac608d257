//! A second process for the store's process tests (`crates/store/tests/process.rs`): opens,
//! holds or writes to the store in `STORE_DIR` as `STORE_CHILD` says, reporting on stdout with
//! lines starting with `@`. Not part of the product: a separate binary so the test harness
//! does not count it as a test.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test helper: failures are the report

use std::io::Write;

use llm_repl_protocol::{FinishReason, Message, SessionInfo, ToolCall, ToolRun, ToolStatus};
use llm_repl_store::Store;

fn say(s: String) {
    let mut o = std::io::stdout().lock();
    let _ = writeln!(o, "@{s}");
    let _ = o.flush();
}

fn info(id: &str, title: &str) -> SessionInfo {
    SessionInfo {
        id: id.to_string(),
        title: title.to_string(),
        provider: "mock".into(),
        model: "mock-1".into(),
        mock: true,
        context_window: Some(8192),
    }
}

fn call(id: &str, code: &str) -> ToolCall {
    ToolCall {
        id: id.into(),
        name: "python".into(),
        arguments: serde_json::json!({ "code": code }).to_string(),
    }
}

fn main() {
    let mode = std::env::var("STORE_CHILD").expect("STORE_CHILD names the mode");
    let dir = std::path::PathBuf::from(std::env::var("STORE_DIR").expect("STORE_DIR"));
    match mode.as_str() {
        // Try to open a store someone else owns, then browse a snapshot of it.
        "second" => {
            match Store::open(&dir) {
                Ok(_) => say("OPENED".into()),
                Err(e) => say(format!("ERR {e}")),
            }
            let scratch = std::path::PathBuf::from(std::env::var("STORE_SCRATCH").unwrap());
            match Store::open_snapshot(&dir, &scratch.join("snap")) {
                Ok(s) => {
                    let n = s
                        .load_session("main")
                        .map(|l| l.messages.len())
                        .unwrap_or(0);
                    let ro = s.append_message("main", &Message::user("x")).is_err();
                    say(format!("SNAP {} {n} {ro}", s.session_count().unwrap()));
                }
                Err(e) => say(format!("SNAPERR {e}")),
            }
            std::process::exit(3);
        }
        // Own the store until killed.
        "hold" => {
            let _s = Store::open(&dir).unwrap();
            say(format!("READY {}", std::process::id()));
            let mut buf = String::new();
            let _ = std::io::stdin().read_line(&mut buf);
        }
        // Write forever, acknowledging every append after it returned.
        "write" => {
            let s = Store::open(&dir).unwrap();
            if s.get_session("k").unwrap().is_none() {
                s.create_session(&info("k", "killed")).unwrap();
            }
            let base = s.get_session("k").unwrap().unwrap().messages;
            let mut turn = 1;
            s.begin_turn("k", turn).unwrap();
            for i in 0u64.. {
                let text = format!(
                    "payload {} {}",
                    base + i,
                    "z".repeat((i % 7) as usize * 100)
                );
                let seq = s.append_message("k", &Message::user(text)).unwrap();
                say(format!("ACK {seq}"));
                if i % 3 == 0 {
                    let run = ToolRun {
                        call: call(&format!("c{seq}"), "1+1"),
                        status: ToolStatus::Running,
                        duration_ms: 0,
                        output: String::new(),
                        findings: vec![],
                    };
                    s.record_tool_run("k", &run).unwrap();
                }
                if i % 10 == 9 {
                    // Open the next turn before closing this one: a turn is always open.
                    s.begin_turn("k", turn + 1).unwrap();
                    s.end_turn("k", turn, FinishReason::Completed).unwrap();
                    turn += 1;
                }
            }
        }
        other => panic!("unknown child mode {other}"),
    }
}
