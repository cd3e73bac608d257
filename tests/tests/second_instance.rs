//! A second llm-repl on a data directory another one owns: it stops at once, non-zero, with a
//! message naming the owner's pid, sends nothing to the provider, and the first goes on unharmed
//! (its session complete in the store afterwards). Both with a headless first instance and with
//! the full-screen one in a terminal.

use std::io::{BufRead, BufReader};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use llm_repl_e2e::fake::{FakeServer, Reply};
use llm_repl_e2e::home::TestHome;
use llm_repl_e2e::pty::Tmux;
use llm_repl_protocol::Role;
use llm_repl_store::Store;
use serde_json::Value;

/// The second instance must give up quickly, not wait for the first.
const QUICK: Duration = Duration::from_secs(5);
const WAIT: Duration = Duration::from_secs(15);

fn second_exec(home: &TestHome) -> (Output, Duration) {
    let t0 = Instant::now();
    let out = match home.command().args(["exec", "--json", "me too"]).output() {
        Ok(out) => out,
        Err(e) => panic!("cannot run the second instance: {e}"),
    };
    (out, t0.elapsed())
}

fn assert_refused(out: &Output, took: Duration, owner: u32) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(took < QUICK, "the second instance took {took:?}: {stderr}");
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("in use by another llm-repl") && stderr.contains(&format!("pid {owner}")),
        "{stderr}"
    );
    assert_eq!(
        stderr.lines().filter(|l| !l.trim().is_empty()).count(),
        1,
        "not one clear line: {stderr}"
    );
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn second_exec_is_refused_naming_the_first_which_finishes_unharmed() {
    let answer = "one two three four five six seven eight nine ten";
    let server =
        FakeServer::spawn_background(vec![Reply::text(answer).chunks(10).delay_ms(150).into()]);
    let home = TestHome::new(&server.base_url(), "");
    let mut first = home
        .command()
        .args(["exec", "--json", "count slowly"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(first.stdout.take().unwrap()).lines();
    // The first owns the store once it streams.
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let v: Value = serde_json::from_str(&line.unwrap()).unwrap();
        let delta = v["event"] == "text_delta";
        seen.push(v);
        if delta {
            break;
        }
    }

    let (out, took) = second_exec(&home);
    assert_refused(&out, took, first.id());
    // Nothing was sent for the second.
    assert_eq!(server.chat_requests().len(), 1);

    seen.extend(lines.map(|l| serde_json::from_str::<Value>(&l.unwrap()).unwrap()));
    let status = first.wait().unwrap();
    assert!(status.success(), "first instance failed: {status:?}");
    let finished = seen.iter().find(|e| e["event"] == "turn_finished").unwrap();
    assert_eq!(finished["reason"], "completed");

    let store = Store::open(&home.data_dir()).unwrap();
    let session = store.last_session().unwrap().unwrap();
    let loaded = store.load_session(&session.id).unwrap();
    let messages = loaded.plain_messages();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert_eq!(messages[0].content, "count slowly");
    assert_eq!(messages[1].role, Role::Assistant);
    assert_eq!(messages[1].content, answer);
    assert!(loaded.turns.iter().all(|t| !t.crashed));
    assert_eq!(store.session_count().unwrap(), 1);
}

#[test]
fn second_exec_beside_the_full_screen_interface_is_refused() {
    let server = FakeServer::spawn_background(vec![Reply::text("FIRST-ANSWER").into()]);
    let home = TestHome::new(&server.base_url(), "");
    let command = format!(
        "{}; echo \"EXITED $?\"; exec sleep 120",
        home.shell_line(&[])
    );
    let tmux = Tmux::start(100, 30, &command);
    tmux.wait_text("idle", WAIT);
    tmux.type_text("hello there");
    tmux.keys(&["Enter"]);
    tmux.wait_text("FIRST-ANSWER", WAIT);

    let (owner, _) = Store::owner_of(&home.data_dir()).unwrap();
    let owner = owner.unwrap();
    let comm = std::fs::read_to_string(format!("/proc/{owner}/comm")).unwrap();
    assert_eq!(
        comm.trim(),
        "llm-repl",
        "the lock names pid {owner} ({comm})"
    );
    let (out, took) = second_exec(&home);
    assert_refused(&out, took, owner);
    assert_eq!(server.chat_requests().len(), 1);

    // The first still works and quits cleanly; its session is whole. (Its turn may still be
    // writing to disk on a loaded machine: wait for it to go idle, bounded.)
    tmux.wait_text("idle", WAIT);
    let screen = tmux.screen();
    assert!(
        screen.contains("FIRST-ANSWER") && screen.contains("idle"),
        "{screen}"
    );
    tmux.keys(&["C-c"]);
    tmux.keys(&["C-c"]);
    tmux.wait_text("EXITED 0", WAIT);
    let store = Store::open(&home.data_dir()).unwrap();
    assert!(store.open_report().interrupted_turns.is_empty());
    let session = store.last_session().unwrap().unwrap();
    let messages = store.load_session(&session.id).unwrap().plain_messages();
    let texts: Vec<&str> = messages.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(texts, ["hello there", "FIRST-ANSWER"]);
}
