//! Self-tests of the fake server over a raw TCP client: the wire format, faults, recording.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use llm_repl_e2e::fake::{FakeServer, MALFORMED_LINE, Reply, Scripted};
use serde_json::{Value, json};

/// A blocking HTTP/1.1 exchange with `Connection: close`: (status, head, decoded body, clean end).
fn exchange(addr: std::net::SocketAddr, method: &str, path: &str, body: &str) -> Raw {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer sk-test\r\n\
         content-type: application/json\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).expect("write");
    let mut bytes = Vec::new();
    let read_error = s.read_to_end(&mut bytes).err();
    Raw::parse(&bytes, read_error.is_some())
}

#[derive(Debug)]
struct Raw {
    status: u16,
    head: String,
    body: String,
    /// The chunked body ended with its last chunk.
    complete: bool,
    read_error: bool,
}

impl Raw {
    fn parse(bytes: &[u8], read_error: bool) -> Raw {
        let text = String::from_utf8_lossy(bytes).into_owned();
        let Some((head, rest)) = text.split_once("\r\n\r\n") else {
            return Raw {
                status: 0,
                head: text,
                body: String::new(),
                complete: false,
                read_error,
            };
        };
        let status = head[9..12].parse().expect("status");
        if !head.contains("transfer-encoding: chunked") {
            return Raw {
                status,
                head: head.into(),
                body: rest.into(),
                complete: true,
                read_error,
            };
        }
        let mut body = String::new();
        let mut rest = rest;
        let mut complete = false;
        while let Some((size, after)) = rest.split_once("\r\n") {
            let size = usize::from_str_radix(size, 16).expect("chunk size");
            if size == 0 {
                complete = true;
                break;
            }
            body.push_str(&after[..size]);
            rest = &after[size + 2..];
        }
        Raw {
            status,
            head: head.into(),
            body,
            complete,
            read_error,
        }
    }

    /// The `data:` payloads of the SSE body.
    fn data(&self) -> Vec<String> {
        self.body
            .split("\n\n")
            .filter_map(|event| event.strip_prefix("data: "))
            .map(str::to_string)
            .collect()
    }
}

fn chat_body() -> String {
    json!({"model": "m-test", "stream": true, "messages": [{"role": "user", "content": "hi"}],
           "stream_options": {"include_usage": true}})
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_stream_wire_format_and_recording() {
    let server = FakeServer::start().await;
    server.push(Reply::text("Hello, world").chunks(3).usage(10, 3, 4));
    let addr = server.addr();
    let raw = tokio::task::spawn_blocking(move || {
        exchange(addr, "POST", "/v1/chat/completions", &chat_body())
    })
    .await
    .expect("join");
    assert_eq!(raw.status, 200);
    assert!(raw.head.contains("content-type: text/event-stream"));
    assert!(raw.complete);
    let data = raw.data();
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
    let chunks: Vec<Value> = data[..data.len() - 1]
        .iter()
        .map(|d| serde_json::from_str(d).expect("json chunk"))
        .collect();
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "Hello, world");
    assert!(
        chunks
            .iter()
            .all(|c| c["object"] == "chat.completion.chunk")
    );
    assert!(chunks.iter().all(|c| c["model"] == "m-test"));
    let finish = &chunks[chunks.len() - 2];
    assert_eq!(finish["choices"][0]["finish_reason"], "stop");
    let usage = &chunks[chunks.len() - 1];
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(usage["usage"]["prompt_tokens"], 10);
    assert_eq!(usage["usage"]["prompt_tokens_details"]["cached_tokens"], 4);

    let recorded = server.requests();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].method, "POST");
    assert_eq!(recorded[0].path, "/v1/chat/completions");
    assert_eq!(recorded[0].header("Authorization"), Some("Bearer sk-test"));
    assert_eq!(recorded[0].body["stream_options"]["include_usage"], true);
    assert_eq!(recorded[0].messages()[0]["content"], "hi");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_models_exhaustion_and_faults() {
    let server = FakeServer::start().await;
    server.set_models(&["a", "b"]);
    server.push(Scripted::rate_limited(7));
    server.push(Scripted::unauthorized());
    server.push(Reply::text("abcdef").chunks(6).cut_after(3));
    server.push(Scripted::Reset);
    server.push(Reply::text("xy").chunks(2).malformed_at(2));
    let addr = server.addr();
    let raws = tokio::task::spawn_blocking(move || {
        let chat = |_: ()| exchange(addr, "POST", "/v1/chat/completions", &chat_body());
        vec![
            exchange(addr, "GET", "/v1/models", ""),
            chat(()),
            chat(()),
            chat(()),
            chat(()),
            chat(()),
            chat(()),
            exchange(addr, "GET", "/v1/nothing", ""),
        ]
    })
    .await
    .expect("join");
    let models: Value = serde_json::from_str(&raws[0].body).expect("models json");
    assert_eq!(models["data"][1]["id"], "b");

    assert_eq!(raws[1].status, 429);
    assert!(raws[1].head.contains("retry-after: 7"));
    let err: Value = serde_json::from_str(&raws[1].body).expect("error json");
    assert_eq!(err["error"]["code"], "rate_limit_exceeded");

    assert_eq!(raws[2].status, 401);
    assert!(raws[2].body.contains("invalid_api_key"));

    // Cut: role chunk + 2 text chunks, then the connection closes mid-body.
    assert_eq!(raws[3].status, 200);
    assert!(!raws[3].complete);
    assert_eq!(raws[3].data().len(), 3);
    assert!(!raws[3].body.contains("[DONE]"));

    // Reset: no response at all.
    assert_eq!(raws[4].status, 0);
    assert!(raws[4].head.is_empty() || raws[4].read_error);

    assert!(raws[5].complete);
    assert!(raws[5].body.contains(MALFORMED_LINE));

    assert_eq!(raws[6].status, 500);
    assert!(raws[6].body.contains("script exhausted"));
    assert_eq!(raws[7].status, 404);
    assert_eq!(server.chat_requests().len(), 6);
    assert_eq!(server.request_count(), 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_stream_and_stall() {
    let server = FakeServer::start().await;
    server.push(Reply::text("abcde").chunks(5).delay_ms(20));
    server.push(Reply::text("abcde").chunks(5).stall_after(2));
    let addr = server.addr();
    let started = Instant::now();
    let slow = tokio::task::spawn_blocking(move || {
        exchange(addr, "POST", "/v1/chat/completions", &chat_body())
    })
    .await
    .expect("join");
    // 8 frames (role, 5 text, finish, [DONE]) with 20 ms between them.
    assert!(started.elapsed() >= Duration::from_millis(140));
    assert!(slow.complete);

    let stalled = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(addr).expect("connect");
        let body = chat_body();
        let req = format!(
            "POST /v1/chat/completions HTTP/1.1\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).expect("write");
        s.set_read_timeout(Some(Duration::from_millis(300)))
            .expect("timeout");
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match s.read(&mut buf) {
                Ok(0) => return (got, false),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(_) => return (got, true),
            }
        }
    })
    .await
    .expect("join");
    let (bytes, timed_out) = stalled;
    assert!(timed_out, "a stalled stream must not end");
    let text = String::from_utf8_lossy(&bytes);
    assert_eq!(text.matches("data: ").count(), 2);
}

#[test]
fn background_server_serves_blocking_clients() {
    let server = FakeServer::spawn_background(vec![Scripted::text("bg")]);
    assert!(server.base_url().starts_with("http://127.0.0.1:"));
    assert!(server.base_url().ends_with("/v1"));
    let raw = exchange(server.addr(), "POST", "/v1/chat/completions", &chat_body());
    assert!(raw.body.contains("\"content\":\"bg\""));
    assert!(server.wait_for_requests_blocking(1, Duration::from_secs(1)));
    assert!(!server.wait_for_requests_blocking(2, Duration::from_millis(20)));
}
