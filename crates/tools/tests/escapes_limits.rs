//! Escape suite, resources: fork bombs, memory, CPU, wall clock, output floods, huge files,
//! file descriptors. Each attempt must be stopped by a limit and the next calls must work.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::escape::*;
use llm_repl_protocol::ToolStatus;

#[tokio::test]
async fn py_fork_bomb() {
    let e = Esc::new();
    let t = Instant::now();
    let out = e.py("import os, time\nn = 0\ntry:\n    while True:\n        if os.fork() == 0:\n            time.sleep(60)\n            os._exit(0)\n        n += 1\nexcept OSError as x:\n    print('stopped after', n, 'forks:', x.strerror)").await;
    assert!(out.content.contains("stopped after"), "{}", out.content);
    let n: u32 = out
        .content
        .split_whitespace()
        .nth(2)
        .unwrap()
        .parse()
        .unwrap();
    assert!(n < 32, "{}", out.content);
    assert!(t.elapsed() < Duration::from_secs(10));
    e.still_works().await;
}

#[tokio::test]
async fn sh_fork_bomb() {
    let e = Esc::new();
    let out = e.sh("bomb() { bomb | bomb & }; bomb; sleep 5").await;
    assert!(
        matches!(
            out.status,
            ToolStatus::TimedOut | ToolStatus::Error | ToolStatus::Ok
        ),
        "{}",
        out.content
    );
    e.still_works().await;
}

#[tokio::test]
async fn py_memory_bomb() {
    let e = Esc::new();
    let out = e.py("blocks = []\ntry:\n    while True:\n        blocks.append(bytearray(64 << 20))\nexcept MemoryError:\n    n = len(blocks)\n    blocks = None\n    print('stopped at', n * 64, 'MiB')").await;
    assert!(out.content.contains("stopped at"), "{}", out.content);
    let mib: u32 = out
        .content
        .split_whitespace()
        .nth(2)
        .unwrap()
        .parse()
        .unwrap();
    assert!(mib <= 512, "{}", out.content);
    e.still_works().await;
}

#[tokio::test]
async fn sh_memory_bomb() {
    let e = Esc::new();
    let out = e
        .sh("python3 -c 'x = bytearray(4 << 30); print(\"ALLOCATED\")'")
        .await;
    assert!(!out.content.contains("ALLOCATED"), "{}", out.content);
    assert!(out.content.contains("MemoryError"), "{}", out.content);
    e.still_works().await;
}

#[tokio::test]
async fn py_cpu_spin_past_the_limit() {
    // A long wall clock, so that it is the CPU limit (3 s) that stops the spin.
    let e = Esc::with_timeout(60);
    let out = e.py("while True:\n    pass").await;
    assert_eq!(out.status, ToolStatus::Error, "{}", out.content);
    assert!(out.content.contains("crashed"), "{}", out.content);
    e.still_works().await;
}

#[tokio::test]
async fn sh_cpu_spin_past_the_limit() {
    let e = Esc::with_timeout(60);
    let out = e.sh("while :; do :; done").await;
    assert_eq!(out.status, ToolStatus::Error, "{}", out.content);
    assert!(
        out.content.contains("SIGKILL") || out.content.contains("SIGXCPU"),
        "{}",
        out.content
    );
    e.still_works().await;
}

#[tokio::test]
async fn py_sleep_past_the_wall_timeout() {
    let e = Esc::with_timeout(1);
    let t = Instant::now();
    let out = e.py("import time\ntime.sleep(60)").await;
    assert_eq!(out.status, ToolStatus::TimedOut);
    assert!(t.elapsed() < Duration::from_secs(8));
    e.still_works().await;
}

#[tokio::test]
async fn sh_sleep_past_the_wall_timeout() {
    let e = Esc::with_timeout(1);
    let t = Instant::now();
    let out = e.sh("sleep 60; echo DONE").await;
    assert_eq!(out.status, ToolStatus::TimedOut);
    assert!(!out.content.contains("DONE"));
    assert!(t.elapsed() < Duration::from_secs(8));
    e.still_works().await;
}

#[tokio::test]
async fn py_100_mb_of_output() {
    let e = Esc::with_timeout(20);
    let out = e.py("import sys\nline = 'y' * 1023 + '\\n'\nfor _ in range(100 * 1024):\n    sys.stdout.write(line)").await;
    assert_eq!(
        out.status,
        ToolStatus::Ok,
        "{}",
        &out.content[out.content.len() - 300..]
    );
    assert!(out.content.len() < (1 << 20) + 1000);
    assert!(
        out.content
            .contains("[output cut: 103809024 more bytes not shown]"),
        "{}",
        &out.content[out.content.len() - 300..]
    );
    e.still_works().await;
}

#[tokio::test]
async fn sh_100_mb_of_output() {
    let e = Esc::with_timeout(20);
    let out = e.sh("head -c 104857600 /dev/zero | tr '\\0' 'z'").await;
    assert_eq!(out.status, ToolStatus::Ok);
    assert!(
        out.content
            .contains("[output cut: 103809024 more bytes not shown]"),
        "{}",
        &out.content[out.content.len() - 300..]
    );
    e.still_works().await;
}

#[tokio::test]
async fn py_huge_file() {
    let e = Esc::new();
    let out = e.py("try:\n    with open('huge.bin', 'wb') as f:\n        for _ in range(64):\n            f.write(b'\\0' * (1 << 20))\n    print('WROTE')\nexcept OSError as x:\n    print('stopped:', x.strerror)").await;
    assert!(
        out.content.contains("stopped: File too large"),
        "{}",
        out.content
    );
    assert!(std::fs::metadata(e.ws.join("huge.bin")).unwrap().len() <= 16 << 20);
    std::fs::remove_file(e.ws.join("huge.bin")).unwrap();
    e.still_works().await;
}

#[tokio::test]
async fn sh_huge_file() {
    let e = Esc::new();
    let out = e
        .sh("head -c 67108864 /dev/zero > huge.bin; echo status=$?")
        .await;
    assert!(!out.content.contains("status=0"), "{}", out.content);
    assert!(std::fs::metadata(e.ws.join("huge.bin")).unwrap().len() <= 16 << 20);
    e.still_works().await;
}

#[tokio::test]
async fn py_many_open_files() {
    let e = Esc::new();
    let out = e.py("files = []\ntry:\n    for i in range(100000):\n        files.append(open(f'f{i}', 'w'))\nexcept OSError as x:\n    print('stopped after', len(files), x.strerror)\nfor f in files:\n    f.close()").await;
    assert!(
        out.content.contains("Too many open files"),
        "{}",
        out.content
    );
    e.still_works().await;
}

#[tokio::test]
async fn sh_many_files() {
    let e = Esc::with_timeout(2);
    let out = e
        .sh("mkdir many && cd many && i=0; while :; do : > f$i; i=$((i+1)); done")
        .await;
    assert_eq!(out.status, ToolStatus::TimedOut, "{}", out.content);
    e.still_works().await;
}
