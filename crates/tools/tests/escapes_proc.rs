//! Escape suite, network and processes: TCP, DNS, killing the parent, /proc, ptrace, the
//! environment, privileges, processes that outlive the call.
//! Each test is a real attempt with the sandbox on; it must fail and the next calls must work.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::ErrorKind;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::escape::*;

/// A listener on 127.0.0.1 that must never see a connection.
fn listener() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

fn assert_never_connected(l: &TcpListener) {
    match l.accept() {
        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
        other => panic!("the sandbox reached the listener: {other:?}"),
    }
}

#[tokio::test]
async fn py_tcp_to_local_listener() {
    let e = Esc::new();
    let (l, port) = listener();
    let out = e.py(&format!("import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=1)\n    print('CONNECTED')\nexcept OSError as x:\n    print('refused', x)")).await;
    assert!(out.content.contains("refused"), "{}", out.content);
    assert_never_connected(&l);
    e.still_works().await;
}

#[tokio::test]
async fn sh_tcp_to_local_listener() {
    let e = Esc::new();
    let (l, port) = listener();
    let out = e
        .sh(&format!(
            "bash -c 'echo hi > /dev/tcp/127.0.0.1/{port}' && echo CONNECTED"
        ))
        .await;
    assert!(!out.content.contains("CONNECTED"), "{}", out.content);
    assert_never_connected(&l);
    e.still_works().await;
}

#[tokio::test]
async fn py_udp_and_raw_sockets() {
    let e = Esc::new();
    let out = e.py("import socket\nfor fam, kind in [(socket.AF_INET, socket.SOCK_DGRAM), (socket.AF_INET6, socket.SOCK_STREAM), (socket.AF_PACKET, socket.SOCK_RAW), (socket.AF_NETLINK, socket.SOCK_RAW)]:\n    try:\n        socket.socket(fam, kind)\n        print('OPENED', fam)\n    except OSError:\n        print('refused')").await;
    assert!(!out.content.contains("OPENED"), "{}", out.content);
    e.still_works().await;
}

#[tokio::test]
async fn py_dns_lookup() {
    let e = Esc::new();
    let out = e.py("import socket\ntry:\n    print('RESOLVED', socket.gethostbyname('example.com'))\nexcept OSError as x:\n    print('failed', x)").await;
    assert!(out.content.contains("failed"), "{}", out.content);
    e.still_works().await;
}

#[tokio::test]
async fn sh_dns_lookup() {
    let e = Esc::new();
    let out = e
        .sh("getent hosts example.com && echo RESOLVED; cat /etc/resolv.conf")
        .await;
    assert!(!out.content.contains("RESOLVED"), "{}", out.content);
    assert!(!out.content.contains("nameserver"), "{}", out.content);
    e.still_works().await;
}

#[tokio::test]
async fn py_kill_the_parent() {
    let e = Esc::new();
    let me = std::process::id();
    let out = e.py(&format!("import os, signal\nfor pid in [os.getppid(), {me}, 1, -1]:\n    try:\n        os.kill(pid, signal.SIGTERM)\n    except OSError as x:\n        print('refused', pid, x.errno)")).await;
    assert!(alive(me));
    let _ = out;
    e.still_works().await;
}

#[tokio::test]
async fn sh_kill_the_parent() {
    let e = Esc::new();
    let me = std::process::id();
    let mut victim = std::process::Command::new("/bin/sleep")
        .arg("30")
        .spawn()
        .unwrap();
    let vp = victim.id();
    let _ = e.sh(&format!("kill -9 $PPID {me} {vp}; kill -9 -1")).await;
    assert!(alive(me));
    assert!(alive(vp), "an outside process was killed");
    victim.kill().unwrap();
    victim.wait().unwrap();
    e.still_works().await;
}

#[tokio::test]
async fn py_read_parent_environ() {
    let e = Esc::new();
    let me = std::process::id();
    let out = e.py(&format!("for p in ['/proc/{me}/environ', '/proc/{me}/cmdline', '/proc/1/environ', '/proc/self/environ']:\n    try:\n        print(open(p, 'rb').read())\n    except OSError:\n        print('refused', p)")).await;
    // The parent is not in the sandbox's pid namespace; /proc/1 and /proc/self are the
    // sandboxed program itself, whose environment is the scrubbed one.
    assert_eq!(out.content.matches("refused").count(), 2, "{}", out.content);
    assert!(!out.content.contains("API_KEY") && !out.content.contains("HOME=/root"));
    e.still_works().await;
}

#[tokio::test]
async fn sh_read_parent_environ() {
    let e = Esc::new();
    // SAFETY: set before the tools start; no other test in this binary reads it.
    unsafe { std::env::set_var("LLM_REPL_ESCAPE_TOKEN", API_KEY) };
    let me = std::process::id();
    let out = e
        .sh(&format!(
            "cat /proc/{me}/environ; cat /proc/$PPID/environ; ls /proc"
        ))
        .await;
    e.assert_no_secret(&out);
    e.still_works().await;
}

#[tokio::test]
async fn py_ptrace_the_parent() {
    let e = Esc::new();
    let me = std::process::id();
    let out = e.py(&format!("import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\nprint('attach', libc.ptrace(16, {me}, 0, 0), ctypes.get_errno())\nprint('seize', libc.ptrace(0x4206, {me}, 0, 0))\nprint('vm', libc.process_vm_readv({me}, 0, 0, 0, 0, 0))")).await;
    assert!(out.content.contains("attach -1"), "{}", out.content);
    assert!(out.content.contains("seize -1"), "{}", out.content);
    assert!(out.content.contains("vm -1"), "{}", out.content);
    assert!(alive(me));
    e.still_works().await;
}

#[tokio::test]
async fn py_read_api_key_from_environment() {
    // SAFETY: set before the tools start; no other test in this binary reads it.
    unsafe { std::env::set_var("OPENAI_API_KEY", API_KEY) };
    let e = Esc::new();
    let out = e
        .py("import os\nprint(dict(os.environ))\nprint(os.environ.get('OPENAI_API_KEY'))")
        .await;
    e.assert_no_secret(&out);
    assert!(out.content.contains("None"), "{}", out.content);
    e.still_works().await;
}

#[tokio::test]
async fn sh_read_api_key_from_environment() {
    // SAFETY: as above.
    unsafe { std::env::set_var("GROQ_API_KEY", API_KEY) };
    let e = Esc::new();
    let out = e
        .sh("env; echo \"key=$GROQ_API_KEY $OPENAI_API_KEY\"")
        .await;
    e.assert_no_secret(&out);
    e.still_works().await;
}

#[tokio::test]
async fn py_regain_privileges() {
    let e = Esc::new();
    let out = e.py("import os, ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nfor name, f in [('setuid', lambda: os.setuid(0)), ('setresuid', lambda: os.setresuid(0, 0, 0)), ('setgroups', lambda: os.setgroups([0]))]:\n    try:\n        f(); print('CHANGED', name)\n    except OSError:\n        print('refused', name)\nprint('unshare', libc.unshare(0x10000000 | 0x20000000))\nprint('mount', libc.mount(b'none', b'.', b'tmpfs', 0, None))").await;
    assert!(!out.content.contains("CHANGED"), "{}", out.content);
    assert!(
        out.content.contains("unshare -1") && out.content.contains("mount -1"),
        "{}",
        out.content
    );
    e.still_works().await;
}

#[tokio::test]
async fn py_background_process_outlives_call() {
    let e = Esc::new();
    let marker = e.ws.join("daemon-marker");
    let out = e.py(&format!("import subprocess\nsubprocess.Popen(['/bin/sh', '-c', 'sleep 1; touch {}'], start_new_session=True)\nprint('spawned')", marker.display())).await;
    assert!(out.content.contains("spawned"), "{}", out.content);
    // The interpreter lives on, but what the call started ended with the call.
    let t = Instant::now();
    while t.elapsed() < Duration::from_millis(1500) {
        assert!(
            !marker.exists(),
            "a background process outlived its interpreter"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    e.still_works().await;
}

#[tokio::test]
async fn sh_background_process_outlives_call() {
    let e = Esc::new();
    let marker = e.ws.join("bg-marker");
    let out = e
        .sh(&format!(
            "nohup sh -c 'sleep 1; touch {}' >/dev/null 2>&1 & echo started",
            marker.display()
        ))
        .await;
    assert!(out.content.contains("started"), "{}", out.content);
    let t = Instant::now();
    while t.elapsed() < Duration::from_millis(1800) {
        assert!(!marker.exists(), "a background process outlived the call");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    e.still_works().await;
}
