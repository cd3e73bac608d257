//! The real `llm-repl sessions` binary on a store populated through the store's API: list, show,
//! search, export and import round trip, rm, id prefixes, and a store held by another process.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on setup failures

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use llm_repl_e2e::binary::llm_repl;
use llm_repl_protocol::{Message, SessionInfo, ToolCall, ToolResult, ToolRun, ToolStatus, Usage};
use llm_repl_store::{Store, StoreError};
use serde_json::Value;

const A: &str = "0193aa00000000000000001";
const B: &str = "0193aa00000000000000002";
const C: &str = "0193bb00000000000000003";
/// 2026-11-20 10:00 UTC.
const T0: u64 = 1_795_168_800_000;

/// A temp home: every path the binary uses lives in it.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("tmp")).unwrap();
        Home { dir }
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn tmp(&self) -> PathBuf {
        self.dir.path().join("tmp")
    }

    /// `llm-repl` with a clean environment (no --data-dir yet).
    fn bare(&self) -> Command {
        let home = self.dir.path();
        let mut cmd = Command::new(llm_repl());
        cmd.current_dir(home)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", home)
            .env("TMPDIR", self.tmp())
            .env("XDG_CONFIG_HOME", home.join("xdg-config"))
            .env("XDG_DATA_HOME", home.join("xdg-data"))
            .env("XDG_STATE_HOME", home.join("xdg-state"))
            // Times are shown in local time (`days = "local"`): pin the child's zone.
            .env("TZ", "UTC")
            .stdin(Stdio::null());
        cmd
    }

    /// `llm-repl --data-dir DATA sessions ARGS`, run to its end (bounded: a hang fails).
    fn sessions(&self, args: &[&str]) -> Output {
        let mut cmd = self.bare();
        cmd.arg("--data-dir")
            .arg(self.data())
            .arg("sessions")
            .args(args);
        run_bounded(cmd)
    }
}

/// Runs `cmd` and fails the test if it does not exit within 60 s (it is killed then).
fn run_bounded(mut cmd: Command) -> Output {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            // SAFETY: signalling our own child by its pid.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            panic!("llm-repl did not exit within 60 s");
        }
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", stdout(o), stderr(o)))
}

fn info(id: &str, title: &str, model: &str) -> SessionInfo {
    SessionInfo {
        id: id.into(),
        title: title.into(),
        provider: "openai".into(),
        model: model.into(),
        mock: false,
        context_window: Some(128_000),
    }
}

fn usage(input: u64, output: u64) -> Usage {
    Usage {
        input,
        output,
        ..Usage::default()
    }
}

/// Three sessions: A (a python tool run), B (mentions the needle too), C (unrelated).
fn populate(dir: &Path) {
    let store = Store::open(dir).unwrap();
    store
        .create_session(&info(A, "Fix the parser", "gpt-4o"))
        .unwrap();
    let call = ToolCall {
        id: "call_py".into(),
        name: "python".into(),
        arguments: r#"{"code": "print(6*7)\nprint('done')"}"#.into(),
    };
    store
        .append_messages_at(
            A,
            &[
                Message::user("why does the parser drop the needle token?"),
                Message::assistant("Let me check.", vec![call.clone()]),
            ],
            T0,
        )
        .unwrap();
    store
        .record_tool_run(
            A,
            &ToolRun {
                call: call.clone(),
                status: ToolStatus::Ok,
                duration_ms: 12,
                output: "42\ndone\n".into(),
                findings: Vec::new(),
            },
        )
        .unwrap();
    let result = ToolResult {
        call_id: "call_py".into(),
        content: "42\ndone\n".into(),
        is_error: false,
    };
    store
        .append_messages_at(
            A,
            &[
                Message::tool(&result),
                Message::assistant("The lexer skips the needle after a comment.", vec![]),
            ],
            T0 + 1000,
        )
        .unwrap();
    store
        .record_usage(A, "gpt-4o", "openai", &usage(1200, 300), Some(0.006), T0)
        .unwrap();
    store
        .create_session(&info(B, "Plot the data", "gpt-4o-mini"))
        .unwrap();
    store
        .append_messages_at(
            B,
            &[
                Message::user("plot a haystack with one needle"),
                Message::assistant("Here is the plot.", vec![]),
            ],
            T0 + 2000,
        )
        .unwrap();
    store
        .create_session(&info(C, "Unrelated chat", "gpt-4o-mini"))
        .unwrap();
    store
        .append_messages_at(C, &[Message::user("hello there")], T0 + 3000)
        .unwrap();
    // A turn left running: the next open of the store marks it interrupted by a crash.
    store.begin_turn(C, 7).unwrap();
}

/// `Store::open`, retried for a few seconds while the lock is held by this very process: a child
/// that a parallel test spawns can inherit the lock file's descriptor for the instant between
/// its fork and exec (the descriptor is close-on-exec), keeping a just-dropped lock alive.
fn open_store(dir: &Path) -> Store {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match Store::open(dir) {
            Err(StoreError::Locked { pid, .. })
                if pid == Some(std::process::id()) && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other.unwrap(),
        }
    }
}

fn populated() -> Home {
    let home = Home::new();
    populate(&home.data());
    home
}

#[test]
fn list_pages_newest_first_as_text_and_json() {
    let home = populated();
    let o = home.sessions(&["list"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = stdout(&o);
    let (a, b, c) = (
        text.find("Fix the parser").unwrap(),
        text.find("Plot the data").unwrap(),
        text.find("Unrelated chat").unwrap(),
    );
    assert!(c < b && b < a, "newest first:\n{text}");
    assert!(
        text.contains("openai/gpt-4o") && text.contains("$0.0060"),
        "{text}"
    );
    assert!(text.contains("1-3 of 3 sessions"), "{text}");

    let o = home.sessions(&["list", "--limit", "2"]);
    assert!(
        stdout(&o).contains("next page: --offset 2"),
        "{}",
        stdout(&o)
    );

    let v = json(&home.sessions(&["list", "--json", "--limit", "2", "--offset", "1"]));
    assert_eq!(v["total"], 3);
    let ids: Vec<&str> = v["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [B, A]);
}

#[test]
fn show_by_prefix_prints_the_transcript_with_tool_output() {
    let home = populated();
    let o = home.sessions(&["show", "0193aa00000000000000001"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = stdout(&o);
    for want in [
        "Fix the parser",
        "── user · 2026-11-20 10:00 UTC",
        "why does the parser drop the needle token?",
        "▶ python (call_py)",
        "│ print(6*7)",
        "⇒ ok · 12 ms",
        "│ 42",
        "The lexer skips the needle after a comment.",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    // The tool result equals the run's output: shown once, under the call.
    assert_eq!(text.matches("│ 42").count(), 1, "{text}");

    let o = home.sessions(&["show", "0193bb"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("Unrelated chat"));
    assert!(
        stdout(&o).contains("!! turn 7 was interrupted before any message was stored"),
        "{}",
        stdout(&o)
    );

    let v = json(&home.sessions(&["show", "0193bb", "--json"]));
    assert_eq!(v["session"]["id"], C);
    assert_eq!(v["messages"].as_array().unwrap().len(), 1);
}

#[test]
fn ambiguous_prefix_lists_candidates_and_unknown_id_exits_2() {
    let home = populated();
    let o = home.sessions(&["show", "0193aa"]);
    // A usage error, like every other way of naming no single session.
    assert_eq!(code(&o), 2);
    let err = stderr(&o);
    assert!(err.contains("matches 2 sessions"), "{err}");
    assert!(
        err.contains(A) && err.contains(B) && !err.contains(C),
        "{err}"
    );

    let o = home.sessions(&["show", "ffff"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("no session \"ffff\""), "{}", stderr(&o));
    assert_eq!(code(&home.sessions(&["export", "ffff"])), 2);
    assert_eq!(code(&home.sessions(&["rm", "ffff", "--yes"])), 2);
}

#[test]
fn search_highlights_matches_and_reports_hits_as_json() {
    let home = populated();
    let o = home.sessions(&["search", "needle"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("3 matches for \"needle\""), "{text}");
    assert!(text.contains("the **needle** token"), "{text}");
    assert!(text.contains("Plot the data · user #0"), "{text}");
    assert!(!text.contains("Unrelated"), "{text}");

    let v = json(&home.sessions(&["search", "parser", "needle", "--json"]));
    let hits = v["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 1, "{v}");
    assert_eq!(hits[0]["session_id"], A);
    assert_eq!(hits[0]["seq"], 0);

    let o = home.sessions(&["search", "absentword"]);
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains("No messages match"), "{}", stdout(&o));
}

#[test]
fn export_md_and_json_then_rm_and_import_round_trip() {
    let home = populated();
    let md = home.sessions(&["export", "0193aa00000000000000001", "--format", "md"]);
    assert_eq!(code(&md), 0, "{}", stderr(&md));
    let md = stdout(&md);
    assert!(md.starts_with("# Fix the parser"), "{md}");
    assert!(md.contains("**Tool call** `python`") && md.contains("```text\n42\ndone\n```"));

    let file = home.dir.path().join("a.json");
    let o = home.sessions(&[
        "export",
        A,
        "--format",
        "json",
        "-o",
        file.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains("wrote session"), "{}", stderr(&o));
    let first = std::fs::read_to_string(&file).unwrap();
    let doc: Value = serde_json::from_str(&first).unwrap();
    assert_eq!(doc["format"], "llm-repl-session");
    assert_eq!(doc["usage"].as_array().unwrap().len(), 1);

    // Without --yes and without a terminal: refused, nothing deleted.
    let o = home.sessions(&["rm", A]);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("without --yes"), "{}", stderr(&o));
    assert_eq!(code(&home.sessions(&["show", A])), 0);

    let v = json(&home.sessions(&["rm", A, "--yes", "--json"]));
    assert_eq!(v["deleted"], A);
    assert_eq!(code(&home.sessions(&["show", A])), 2);
    let v = json(&home.sessions(&["search", "lexer", "--json"]));
    assert!(v["hits"].as_array().unwrap().is_empty(), "{v}");

    let o = home.sessions(&["import", file.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).contains(&format!("imported session {A}")),
        "{}",
        stdout(&o)
    );
    // Importing again (from standard input): the session exists.
    let mut cmd = home.bare();
    cmd.arg("--data-dir")
        .arg(home.data())
        .args(["sessions", "import", "-"])
        .stdin(std::fs::File::open(&file).unwrap());
    let o = run_bounded(cmd);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));

    let again = home.sessions(&["export", A, "--format", "json"]);
    assert_eq!(
        stdout(&again),
        first,
        "export -> import -> export changed the document"
    );
    let v = json(&home.sessions(&["search", "lexer", "--json"]));
    assert_eq!(
        v["hits"][0]["session_id"], A,
        "imported messages are searchable"
    );
}

#[test]
fn a_held_store_is_read_from_a_snapshot_and_refuses_changes_naming_the_pid() {
    let home = populated();
    let held = open_store(&home.data());
    let me = std::process::id();

    let o = home.sessions(&["list"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains("snapshot"), "{}", stderr(&o));
    assert!(stderr(&o).contains(&format!("pid {me}")), "{}", stderr(&o));
    assert!(stdout(&o).contains("Fix the parser"), "{}", stdout(&o));

    let o = home.sessions(&["search", "needle", "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(json(&o)["hits"].as_array().unwrap().len(), 3);
    assert_eq!(code(&home.sessions(&["show", "0193bb"])), 0);

    for args in [vec!["rm", A, "--yes"], vec!["import", "/dev/null"]] {
        let o = home.sessions(&args);
        assert_eq!(code(&o), 1, "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains(&format!("pid {me}")), "{args:?}: {err}");
        assert!(err.contains("in use"), "{args:?}: {err}");
    }
    // The snapshots' scratch directories are gone, and the holder is unharmed.
    let left: Vec<_> = std::fs::read_dir(home.tmp()).unwrap().collect();
    assert!(left.is_empty(), "scratch left behind: {left:?}");
    assert!(held.get_session(A).unwrap().is_some());
    held.append_message(C, &Message::user("still writable"))
        .unwrap();
    drop(held);
    // Released: the binary opens the store itself (retried, for the reason `open_store` gives).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let o = home.sessions(&["list"]);
        if !stderr(&o).contains("snapshot") {
            break;
        }
        assert!(Instant::now() < deadline, "{}", stderr(&o));
    }
}

#[test]
fn without_data_dir_the_platform_data_directory_is_used() {
    let home = Home::new();
    populate(&home.dir.path().join("xdg-data").join("llm-repl"));
    let mut cmd = home.bare();
    cmd.args(["sessions", "list", "--json"]);
    let o = run_bounded(cmd);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(json(&o)["total"], 3);

    // An empty data directory reads as no sessions and is not created by reading.
    let empty = Home::new();
    let o = empty.sessions(&["list"]);
    assert_eq!(stdout(&o), "No sessions yet.\n");
    assert!(!empty.data().exists());
}

/// A pseudo-terminal pair: the master (to type into) and the slave (a child's stdin).
fn pty() -> (std::fs::File, std::os::fd::OwnedFd) {
    use std::os::fd::FromRawFd;
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty writes two new descriptors into the out-parameters; the rest may be null.
    let r = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(r, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors are fresh and owned by nobody else.
    unsafe {
        (
            std::fs::File::from_raw_fd(master),
            std::os::fd::OwnedFd::from_raw_fd(slave),
        )
    }
}

#[test]
fn rm_on_a_terminal_asks_and_deletes_only_on_yes() {
    use std::io::Write;
    let home = populated();
    for (answer, deleted) in [("n\n", false), ("\n", false), ("y\n", true)] {
        let (mut master, slave) = pty();
        master.write_all(answer.as_bytes()).unwrap();
        let mut cmd = home.bare();
        cmd.arg("--data-dir")
            .arg(home.data())
            .args(["sessions", "rm", "0193bb"])
            .stdin(Stdio::from(slave));
        let o = run_bounded(cmd);
        drop(master);
        let err = stderr(&o);
        assert!(
            err.contains(&format!(
                "Delete session {C} \"Unrelated chat\" (1 message)? [y/N]"
            )),
            "{err}"
        );
        assert_eq!(code(&o), if deleted { 0 } else { 1 }, "{answer:?}: {err}");
        let show = home.sessions(&["show", C]);
        assert_eq!(code(&show), if deleted { 2 } else { 0 }, "{answer:?}");
    }
}

/// Issue 11 item 12: a fork names its parent in `list`, `show` and `show --json`; an answer a
/// retry replaced is still in `show`, marked superseded.
#[test]
fn show_and_list_name_a_forks_parent_and_mark_superseded_messages() {
    const F: &str = "0193cc00000000000000004";
    let home = populated();
    {
        let store = open_store(&home.data());
        // B's answer was retried: superseded, then answered again.
        store.supersede_last_prompt(B).unwrap();
        store
            .append_messages_at(
                B,
                &[
                    Message::user("plot a haystack with one needle"),
                    Message::assistant("Here is a better plot.", vec![]),
                ],
                T0 + 4000,
            )
            .unwrap();
        let parent = llm_repl_protocol::ForkParent {
            id: A.into(),
            title: "Fix the parser".into(),
        };
        let msgs = store.load_session(A).unwrap().plain_messages();
        store
            .fork_session(
                &info(F, "Fix the parser", "gpt-4o"),
                parent,
                &msgs[..2],
                &[],
            )
            .unwrap();
    }
    let o = home.sessions(&["list"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).contains("Fix the parser ⑂ from Fix the parser"),
        "{}",
        stdout(&o)
    );
    let o = home.sessions(&["show", F]);
    assert!(
        stdout(&o).contains(&format!("forked   ⑂ from “Fix the parser” ({A})")),
        "{}",
        stdout(&o)
    );
    let v = json(&home.sessions(&["show", F, "--json"]));
    assert_eq!(v["session"]["parent"]["id"], A);
    assert_eq!(v["session"]["parent"]["title"], "Fix the parser");

    let o = home.sessions(&["show", B]);
    let text = stdout(&o);
    assert!(text.contains("Here is the plot."), "{text}");
    assert_eq!(
        text.matches("superseded (dropped by a retry or an edit)")
            .count(),
        2,
        "{text}"
    );
    let v = json(&home.sessions(&["show", B, "--json"]));
    let superseded = v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["superseded"] == true)
        .count();
    assert_eq!(superseded, 2);
}
