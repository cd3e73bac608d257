//! Kill -9 of the real binary mid-turn, 20 times at random points (a fixed-seed generator, so a
//! failure replays): while text streams and while a python tool runs. After each kill the store
//! opens at once (the dead owner's lock is stale), everything the binary had reported as final
//! is there, and the turn the kill cut short is marked as crashed and interrupted.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use llm_repl_e2e::fake::{BackgroundServer, FakeServer, Reply, Scripted};
use llm_repl_e2e::home::TestHome;
use llm_repl_protocol::{FinishReason, Role, ToolStatus};
use llm_repl_store::Store;
use serde_json::Value;

const RUNS: u64 = 20;

/// xorshift64*: tiny, deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A turn of two steps: streamed text with a python call that prints, sleeps and prints, then a
/// slowly streamed answer.
fn script() -> Vec<Scripted> {
    let code =
        "print('before-sleep', flush=True)\nimport time\ntime.sleep(0.4)\nprint('after-sleep')";
    let args = serde_json::json!({ "code": code }).to_string();
    vec![
        Reply::text("Let me run a slow script first.")
            .chunks(4)
            .delay_ms(30)
            .tool_call("call_slow", "python", &args)
            .usage(300, 40, 0)
            .into(),
        Reply::text("The script printed two lines, one before and one after its sleep, done.")
            .chunks(12)
            .delay_ms(40)
            .usage(400, 30, 0)
            .into(),
    ]
}

/// What one killed run printed before it died, and what the store holds afterwards.
#[derive(Default)]
struct Tally {
    killed_in_tool: u32,
    killed_in_stream: u32,
    killed_after_tool: u32,
    killed_elsewhere: u32,
    crashed_turns: u32,
    completed_turns: u32,
    checked_messages: u32,
    checked_tool_runs: u32,
    resumed: u32,
}

fn resume_after_crash(
    server: &BackgroundServer,
    home: &TestHome,
    id: &str,
    crashed: bool,
    ctx: &str,
) {
    let before = server.chat_requests().len();
    server.push(Reply::text("resumed fine"));
    let out = match home
        .command()
        .args(["--continue", "exec", "--json", "go on"])
        .output()
    {
        Ok(out) => out,
        Err(e) => panic!("{ctx}: cannot run llm-repl: {e}"),
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{ctx}: resume failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events: Vec<Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert_eq!(events[0]["event"], "session_loaded", "{ctx}: {stdout}");
    assert_eq!(events[0]["info"]["id"], id, "{ctx}");
    let warned = events.iter().any(|e| {
        e["event"] == "notice" && e["text"].as_str().is_some_and(|t| t.contains("cut short"))
    });
    assert_eq!(warned, crashed, "{ctx}: cut-short notice: {stdout}");
    let requests = server.chat_requests();
    assert_eq!(requests.len(), before + 1, "{ctx}");
    let messages = requests[before].messages();
    for m in &messages {
        for call in m["tool_calls"].as_array().into_iter().flatten() {
            assert!(
                messages.iter().any(|a| a["tool_call_id"] == call["id"]),
                "{ctx}: tool call {} unanswered in the resumed history",
                call["id"]
            );
        }
    }
    assert_eq!(
        messages.last().map(|m| m["content"].clone()),
        Some(Value::from("go on")),
        "{ctx}"
    );
}

#[test]
fn sigkill_at_random_points_loses_nothing_reported_and_marks_the_turn() {
    let mut rng = Rng(0x5eed_1234_abcd_0042);
    let mut tally = Tally::default();
    for run in 0..RUNS {
        let server = FakeServer::spawn_background(script());
        let home = TestHome::new(&server.base_url(), "");
        // Where to kill: during the tool's sleep (after its first output line), in the middle
        // of a streamed step (after the n-th text delta), the moment a tool call is reported
        // finished, or after any event line (a full run prints about 30). Then a further random
        // wait, so the kill also lands between events.
        let mode = run % 4;
        let (target, extra_ms) = match mode {
            0 => (1, rng.below(300)),
            1 => (1 + rng.below(14) as usize, rng.below(30)),
            2 => (1, rng.below(3)),
            _ => (2 + rng.below(27) as usize, rng.below(120)),
        };
        let mut child = home
            .command()
            .args(["exec", "--json", "run the slow script and tell me"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut seen: Vec<Value> = Vec::new();
        let mut hits = 0;
        for line in lines.by_ref() {
            let event: Value = serde_json::from_str(&line.unwrap()).unwrap();
            hits += usize::from(match mode {
                0 => event["event"] == "tool_output",
                1 => event["event"] == "text_delta",
                2 => event["event"] == "tool_call_finished",
                _ => true,
            });
            seen.push(event);
            if hits >= target {
                break;
            }
        }
        let stop_after = seen.len();
        std::thread::sleep(Duration::from_millis(extra_ms));
        // Everything printed up to the kill counts as reported (the pipe may hold more).
        child.kill().unwrap();
        for line in lines.map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str::<Value>(&line) {
                seen.push(v);
            }
        }
        child.wait().unwrap();
        let kind = |e: &Value| e["event"].as_str().unwrap_or_default().to_string();
        let kinds: Vec<String> = seen.iter().map(kind).collect();
        let tool_open = kinds.iter().any(|k| k == "tool_call_started")
            && !kinds.iter().any(|k| k == "tool_call_finished");
        let last = kinds.last().cloned().unwrap_or_default();
        if tool_open || last == "tool_output" {
            tally.killed_in_tool += 1;
        } else if last == "text_delta" {
            tally.killed_in_stream += 1;
        } else if last == "tool_call_finished" {
            tally.killed_after_tool += 1;
        } else {
            tally.killed_elsewhere += 1;
        }

        let store = Store::open(&home.data_dir())
            .unwrap_or_else(|e| panic!("run {run}: the store does not open after kill -9: {e}"));
        assert_eq!(
            store.open_report().stale_lock_pid,
            Some(pid),
            "run {run}: the dead owner's lock was not seen as stale"
        );
        let Some(session) = store.last_session().unwrap() else {
            assert!(
                !kinds.iter().any(|k| k == "turn_started"),
                "run {run}: a turn started but no session was stored: {kinds:?}"
            );
            continue;
        };
        let loaded = store.load_session(&session.id).unwrap();
        let messages = loaded.plain_messages();
        let ctx = format!("run {run} (read {stop_after} lines, +{extra_ms} ms): {kinds:?}");

        // The prompt, once the turn was announced.
        if kinds.iter().any(|k| k == "turn_started") {
            assert!(
                messages.first().is_some_and(
                    |m| m.role == Role::User && m.content == "run the slow script and tell me"
                ),
                "{ctx}: user prompt missing"
            );
            tally.checked_messages += 1;
        }
        // Every assistant message reported as final, in order after the prompt.
        let reported: Vec<&Value> = seen
            .iter()
            .filter(|e| e["event"] == "assistant_message")
            .collect();
        let stored: Vec<_> = messages
            .iter()
            .filter(|m| m.role == Role::Assistant)
            .collect();
        assert!(stored.len() >= reported.len(), "{ctx}: assistant lost");
        for (r, s) in reported.iter().zip(&stored) {
            assert_eq!(r["message"]["content"], s.content, "{ctx}");
            tally.checked_messages += 1;
        }
        // Every finished tool call: its run with status and output, and its result message.
        for f in seen.iter().filter(|e| e["event"] == "tool_call_finished") {
            let id = f["call_id"].as_str().unwrap();
            let rec = loaded
                .tool_runs
                .iter()
                .find(|r| r.run.call.id == id)
                .unwrap_or_else(|| panic!("{ctx}: tool run {id} missing"));
            assert_eq!(rec.run.status, ToolStatus::Ok, "{ctx}");
            assert!(rec.run.output.contains("after-sleep"), "{ctx}: {rec:?}");
            assert!(rec.finished_ms.is_some(), "{ctx}");
            let answer = messages
                .iter()
                .find(|m| m.tool_call_id.as_deref() == Some(id))
                .unwrap_or_else(|| panic!("{ctx}: the result message of {id} is missing"));
            assert_eq!(answer.content, f["result"]["content"], "{ctx}");
            tally.checked_tool_runs += 1;
        }
        // Usage reported is usage recorded.
        let usage_events = seen.iter().filter(|e| e["event"] == "usage").count();
        assert!(
            store.session_usage(&session.id).unwrap().len() >= usage_events,
            "{ctx}: usage lost"
        );
        // The turn: finished properly if the binary said so, else closed as crashed.
        let turn = loaded
            .turns
            .last()
            .unwrap_or_else(|| panic!("{ctx}: no turn record"));
        if kinds.iter().any(|k| k == "turn_finished") {
            assert_eq!(turn.reason, Some(FinishReason::Completed), "{ctx}");
            assert!(!turn.crashed, "{ctx}");
            tally.completed_turns += 1;
        } else if turn.crashed {
            assert_eq!(turn.reason, Some(FinishReason::Interrupted), "{ctx}");
            assert!(
                store
                    .open_report()
                    .interrupted_turns
                    .contains(&(session.id.clone(), turn.turn)),
                "{ctx}: {:?}",
                store.open_report()
            );
            tally.crashed_turns += 1;
        } else {
            // The kill landed after the turn's end was stored but before it was printed.
            assert_eq!(turn.reason, Some(FinishReason::Completed), "{ctx}");
            tally.completed_turns += 1;
        }
        // Every fifth run: the binary itself continues the killed session, says it was cut
        // short, and sends the model a valid history (every tool call answered).
        if run % 5 == 4 {
            let crashed = turn.crashed;
            drop(store);
            resume_after_crash(&server, &home, &session.id, crashed, &ctx);
            tally.resumed += 1;
        }
    }
    eprintln!(
        "crash: {RUNS} kills: {} while a tool ran, {} while text streamed, {} just after a tool \
         finished, {} between other events; \
         {} turns marked crashed, {} completed before the kill; {} messages and {} tool runs \
         checked; {} killed sessions resumed",
        tally.killed_in_tool,
        tally.killed_in_stream,
        tally.killed_after_tool,
        tally.killed_elsewhere,
        tally.crashed_turns,
        tally.completed_turns,
        tally.checked_messages,
        tally.checked_tool_runs,
        tally.resumed
    );
    assert!(tally.killed_in_tool >= 3, "too few kills during a tool run");
    assert!(
        tally.killed_in_stream >= 3,
        "too few kills while text streamed"
    );
    assert!(tally.crashed_turns >= 10, "too few crashed turns");
}
