//! How a sandboxed run ends and how that is told: exit codes, deaths by signal (named), the
//! wall-clock limit, cancellation by the caller, and an incomplete UTF-8 tail at the end of the
//! output. The real sandbox runs each job.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::env;
use llm_repl_sandbox::{Exit, Sandbox, Stream};
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn exit_codes_and_signals_are_reported_and_named() {
    let e = env();
    let r = e.sh("echo out; exit 3").await;
    assert_eq!(r.exit, Exit::Code(3), "{}", r.output);
    assert_eq!(r.exit.to_string(), "exit code 3");
    assert!(r.output.contains("out"));

    // The program is pid 1 of its namespace, which ignores signals it sends itself: the
    // signals here come from the kernel (a fault, the CPU limit).
    let r = e.py("import ctypes\nctypes.string_at(0)").await;
    assert_eq!(r.exit, Exit::Signal(libc::SIGSEGV), "{}", r.output);
    assert_eq!(r.exit.to_string(), "killed by signal 11 (SIGSEGV)");

    let mut limited = env();
    limited.settings.cpu_secs = 1;
    let r = limited.py("while True: pass").await;
    // SIGXCPU at the soft limit, or (pid 1 ignoring it) SIGKILL at the hard limit.
    let shown = r.exit.to_string();
    match r.exit {
        Exit::Signal(libc::SIGXCPU) => assert!(shown.contains("SIGXCPU: CPU time limit")),
        Exit::Signal(libc::SIGKILL) => assert_eq!(shown, "killed by signal 9 (SIGKILL)"),
        other => panic!("{other:?}: {}", r.output),
    }

    limited.settings.max_file_bytes = 1024;
    let r = limited
        .sh("exec dd if=/dev/zero of=big bs=4096 count=4")
        .await;
    // Pid 1 ignores SIGXFSZ too: the write fails instead, and nothing past the limit lands.
    assert_eq!(r.exit, Exit::Code(1), "{}", r.output);
    assert!(r.output.contains("File too large"), "{}", r.output);
    assert_eq!(
        std::fs::metadata(limited.ws.join("big")).unwrap().len(),
        1024
    );
}

#[tokio::test]
async fn the_wall_clock_limit_kills_and_says_timed_out() {
    let e = env();
    let mut job = e.job("/bin/sh", &["-c", "echo started; exec sleep 60"]);
    job.timeout = Duration::from_secs(1);
    let r = e.run(job).await;
    assert_eq!(r.exit, Exit::TimedOut);
    assert_eq!(r.exit.to_string(), "timed out");
    assert!(r.output.contains("started"), "{}", r.output);
    assert!(r.duration < Duration::from_secs(30), "{:?}", r.duration);
}

#[tokio::test]
async fn cancelling_kills_the_run_and_says_interrupted() {
    let e = env();
    let job = e.job("/bin/sh", &["-c", "echo ready; exec sleep 60"]);
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    // Cancel as soon as the program said it runs: an event, not a sleep.
    let mut sink = move |stream: Stream, chunk: &str| {
        if stream == Stream::Stdout && chunk.contains("ready") {
            trigger.cancel();
        }
    };
    let r = Sandbox::new(e.settings.clone())
        .run(&job, &cancel, &mut sink)
        .await
        .unwrap();
    assert_eq!(r.exit, Exit::Cancelled);
    assert_eq!(r.exit.to_string(), "interrupted");
    assert!(r.duration < Duration::from_secs(30), "{:?}", r.duration);
}

#[tokio::test]
async fn an_incomplete_utf8_tail_is_kept_as_escapes() {
    let e = env();
    let mut seen = String::new();
    let job = e.job("/bin/sh", &["-c", r"printf 'ok \342\202'"]);
    let mut sink = |_: Stream, chunk: &str| seen.push_str(chunk);
    let r = Sandbox::new(e.settings.clone())
        .run(&job, &CancellationToken::new(), &mut sink)
        .await
        .unwrap();
    assert_eq!(r.exit, Exit::Code(0));
    assert!(r.output.ends_with(r"ok \xe2\x82"), "{:?}", r.output);
    // What the caller was streamed is what the report holds.
    assert_eq!(seen, r.output);
}
