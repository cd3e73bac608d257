//! What the socket costs: the agent service against the in-process channel.
//!
//! - round trip of one Event and back, through an unbounded mpsc pair (the in-process
//!   transport) and through a Unix socket with the service's framing and JSON (median, p90);
//!   half the difference is the latency the socket adds per event;
//! - throughput of 100,000 `TextDelta`s one way, both transports;
//! - fan-out: a real service (real socket, real agent, sled store in a temp dir) whose tool
//!   streams 5,000 lines in one second (5,000 events/s) to 10 attached clients: time until every
//!   client has the turn's end, and how many had to be resynchronised (0 = no backlog).
//!
//! Run: `cargo bench -p llm-repl-service --bench service`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // bench code: a failure is a failure

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::*;
use llm_repl_protocol::Event;
use llm_repl_service::wire::{Reader, Writer};
use tokio::net::UnixStream;
use tokio::sync::mpsc;

const ROUND_TRIPS: usize = 20_000;
const ONE_WAY: usize = 100_000;

fn delta(i: usize) -> Event {
    Event::TextDelta {
        turn: 1,
        text: format!("token{i} "),
    }
}

fn stats(name: &str, mut us: Vec<f64>) -> f64 {
    us.sort_by(f64::total_cmp);
    let median = us[us.len() / 2];
    let p90 = us[us.len() * 9 / 10];
    println!("{name:<44} median {median:>8.2} µs   p90 {p90:>8.2} µs");
    median
}

async fn mpsc_round_trip() -> f64 {
    let (to_tx, mut to_rx) = mpsc::unbounded_channel::<Event>();
    let (back_tx, mut back_rx) = mpsc::unbounded_channel::<Event>();
    tokio::spawn(async move {
        while let Some(e) = to_rx.recv().await {
            let _ = back_tx.send(e);
        }
    });
    let mut us = Vec::with_capacity(ROUND_TRIPS);
    for i in 0..ROUND_TRIPS {
        let t = Instant::now();
        to_tx.send(delta(i)).unwrap();
        back_rx.recv().await.unwrap();
        us.push(t.elapsed().as_secs_f64() * 1e6);
    }
    stats("round trip, in-process channel", us)
}

async fn socket_round_trip() -> f64 {
    let (a, b) = UnixStream::pair().unwrap();
    let (br, bw) = b.into_split();
    tokio::spawn(async move {
        let (mut r, mut w) = (Reader::new(br), Writer::new(bw));
        while let Ok(e) = r.read::<Event>().await {
            w.write(&e).await.unwrap();
        }
    });
    let (ar, aw) = a.into_split();
    let (mut r, mut w) = (Reader::new(ar), Writer::new(aw));
    let mut us = Vec::with_capacity(ROUND_TRIPS);
    for i in 0..ROUND_TRIPS {
        let t = Instant::now();
        w.write(&delta(i)).await.unwrap();
        let _: Event = r.read().await.unwrap();
        us.push(t.elapsed().as_secs_f64() * 1e6);
    }
    stats("round trip, socket + frame + JSON", us)
}

async fn one_way() {
    let (tx, mut rx) = mpsc::unbounded_channel::<Event>();
    let t = Instant::now();
    let producer = tokio::spawn(async move {
        for i in 0..ONE_WAY {
            tx.send(delta(i)).unwrap();
        }
    });
    for _ in 0..ONE_WAY {
        rx.recv().await.unwrap();
    }
    producer.await.unwrap();
    let ns = t.elapsed().as_nanos() as f64 / ONE_WAY as f64;
    println!("one way x{ONE_WAY}, in-process channel          {ns:>8.0} ns/event");

    let (a, b) = UnixStream::pair().unwrap();
    let t = Instant::now();
    let producer = tokio::spawn(async move {
        let mut w = Writer::new(a);
        for i in 0..ONE_WAY {
            w.write(&delta(i)).await.unwrap();
        }
    });
    let mut r = Reader::new(b);
    for _ in 0..ONE_WAY {
        let _: Event = r.read().await.unwrap();
    }
    producer.await.unwrap();
    let ns = t.elapsed().as_nanos() as f64 / ONE_WAY as f64;
    println!("one way x{ONE_WAY}, socket + frame + JSON       {ns:>8.0} ns/event");
}

async fn fan_out() {
    const CLIENTS: usize = 10;
    const LINES: usize = 5_000;
    let svc = TestService::start("never", None);
    let mut first = svc.open("bench-0").await;
    let id = session_of(&mut first).await;
    let mut clients = vec![first];
    for i in 1..CLIENTS {
        let mut c = svc.attach(&format!("bench-{i}"), &id).await;
        session_of(&mut c).await;
        clients.push(c);
    }
    let t = Instant::now();
    // 5 lines per millisecond: 5,000 events in about a second.
    submit(&clients[0], &format!("{LINES}/5"));
    svc.gate.add_permits(1);
    let mut waits = Vec::new();
    for mut c in clients {
        waits.push(tokio::spawn(async move {
            let mut resynced = 0;
            let mut lines = 0;
            loop {
                match next(&mut c).await {
                    Event::TurnFinished { .. } => break,
                    Event::ToolOutput { .. } => lines += 1,
                    Event::Notice { text, .. } if text.contains("fell") => resynced += 1,
                    _ => {}
                }
            }
            (t.elapsed(), resynced, lines)
        }));
    }
    let mut slowest = Duration::ZERO;
    let mut fastest = Duration::MAX;
    let mut resynced = 0;
    for w in waits {
        let (took, r, lines) = w.await.unwrap();
        assert!(
            r > 0 || lines == LINES,
            "a client missed lines without a resync"
        );
        slowest = slowest.max(took);
        fastest = fastest.min(took);
        resynced += r;
    }
    // The stream itself takes as long as its paced tool (1 ms sleeps run long); the backlog is
    // how far the last client finishes behind the first.
    println!(
        "fan-out: {LINES} events paced at 5/ms to {CLIENTS} clients: first done {:.3} s, last \
         {:.3} s (spread {:.1} ms), {resynced} resynchronised",
        fastest.as_secs_f64(),
        slowest.as_secs_f64(),
        (slowest - fastest).as_secs_f64() * 1000.0
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let inproc = mpsc_round_trip().await;
        let socket = socket_round_trip().await;
        println!(
            "added latency per event (half the round-trip difference): {:.3} ms",
            (socket - inproc) / 2.0 / 1000.0
        );
        one_way().await;
        fan_out().await;
    });
}
