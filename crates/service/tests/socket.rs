//! The service on a real Unix socket: handshake, hostile frames, modes, shared sessions,
//! queued prompts, approvals answered by two clients, resynchronisation and idle exit.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure is a test failure

mod common;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use common::*;
use llm_repl_protocol::{ApprovalDecision, Event, FinishReason, NoticeLevel, Op};
use llm_repl_service::wire::{Greeting, Opened, Reader, Writer};
use llm_repl_service::{ConnectError, Open};
use tokio::io::AsyncWriteExt;
use tokio::net::{UnixListener, UnixStream};

#[tokio::test]
async fn different_protocol_versions_say_so_and_stop() {
    let svc = TestService::start("never", None);
    // A client of another version is answered with the service's version, then closed.
    let stream = UnixStream::connect(&svc.paths.socket).await.unwrap();
    let (r, w) = stream.into_split();
    let (mut reader, mut writer) = (Reader::new(r), Writer::new(w));
    writer
        .write(&serde_json::json!({"app": "llm-repl", "protocol": 999, "more": [1, 2]}))
        .await
        .unwrap();
    let greeting: Greeting = reader.read().await.unwrap();
    assert_eq!(greeting, Greeting::ours());
    assert!(reader.read::<Opened>().await.is_err(), "not closed");
    // A service of another version: the client reports a mismatch, never misparses.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.sock");
    let listener = UnixListener::bind(&path).unwrap();
    tokio::spawn(async move {
        let (s, _) = listener.accept().await.unwrap();
        let (r, w) = s.into_split();
        let (mut reader, mut writer) = (Reader::new(r), Writer::new(w));
        let _: serde_json::Value = reader.read().await.unwrap();
        writer
            .write(&serde_json::json!({"app": "llm-repl", "protocol": 0}))
            .await
            .unwrap();
        // Whatever comes next would be in another format: it must not be read as ours.
        writer
            .write(&serde_json::json!({"weird": true}))
            .await
            .unwrap();
    });
    let err = llm_repl_service::connect(&path, Open::Status)
        .await
        .err()
        .unwrap();
    assert!(
        matches!(err, ConnectError::Mismatch { service: Some(0) }),
        "{err}"
    );
    assert!(err.to_string().contains("protocol 0"), "{err}");
}

#[tokio::test]
async fn malformed_or_oversized_frames_close_only_that_client() {
    let svc = TestService::start("never", None);
    let mut good = svc.open("good").await;
    session_of(&mut good).await;
    // Not JSON after a proper greeting.
    let mut bad = UnixStream::connect(&svc.paths.socket).await.unwrap();
    {
        let (r, w) = bad.split();
        let (mut reader, mut writer) = (Reader::new(r), Writer::new(w));
        writer.write(&Greeting::ours()).await.unwrap();
        let _: Greeting = reader.read().await.unwrap();
    }
    bad.write_all(&[0, 0, 0, 5, b'{', b'{', b'{', b'x', b'!'])
        .await
        .unwrap();
    // A header announcing 2 GiB: refused before anything is allocated.
    let mut huge = UnixStream::connect(&svc.paths.socket).await.unwrap();
    huge.write_all(&0x8000_0000u32.to_be_bytes()).await.unwrap();
    for s in [&mut bad, &mut huge] {
        let mut buf = Vec::new();
        let read = tokio::time::timeout(
            Duration::from_secs(20),
            tokio::io::AsyncReadExt::read_to_end(s, &mut buf),
        )
        .await
        .expect("the hostile client was not closed");
        assert!(read.is_ok());
    }
    // The good client did not notice.
    svc.gate.add_permits(1);
    submit(&good, "2");
    let events = until(&mut good, |e| matches!(e, Event::TurnFinished { .. })).await;
    assert!(matches!(
        events.last(),
        Some(Event::TurnFinished {
            reason: FinishReason::Completed,
            ..
        })
    ));
    assert_eq!(tool_output(&events), "line 0\nline 1\n");
}

#[tokio::test]
async fn the_socket_and_its_directory_are_private() {
    let svc = TestService::start("never", None);
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&svc.paths.dir), 0o700);
    assert_eq!(mode(&svc.paths.socket), 0o600);
    // The peer check admits this user (another uid is refused by the same comparison).
    let status = llm_repl_service::client::status(&svc.paths.socket)
        .await
        .unwrap();
    assert_eq!(status.pid, std::process::id());
}

#[tokio::test]
async fn two_clients_on_one_session_both_see_the_turn_live() {
    let svc = TestService::start("never", None);
    let mut a = svc.open("tui pid 1").await;
    let id = session_of(&mut a).await;
    submit(&a, "3");
    // The tool has printed and waits: the turn is running when b attaches.
    let before = until(
        &mut a,
        |e| matches!(e, Event::ToolOutput { chunk, .. } if chunk == "line 2\n"),
    )
    .await;
    assert_eq!(tool_output(&before), "line 0\nline 1\nline 2\n");
    let mut b = svc.attach("tui pid 2", &id).await;
    // b replays the session and the running turn so far ...
    let replay = until(
        &mut b,
        |e| matches!(e, Event::ToolOutput { chunk, .. } if chunk.ends_with("line 2\n")),
    )
    .await;
    // Replayed pieces come merged, in order.
    assert!(tool_output(&replay).ends_with("line 0\nline 1\nline 2\n"));
    assert!(
        matches!(replay[0], Event::SessionStarted { ref info } if info.id == id),
        "{replay:?}"
    );
    assert!(
        replay
            .iter()
            .any(|e| matches!(e, Event::TurnStarted { .. }))
    );
    // ... then both see the rest live.
    svc.gate.add_permits(1);
    for c in [&mut a, &mut b] {
        let rest = until(c, |e| matches!(e, Event::TurnFinished { .. })).await;
        assert!(
            rest.iter()
                .any(|e| matches!(e, Event::TextDelta { text, .. } if text == "done"))
        );
    }
    // Status sees one session with two clients.
    let status = llm_repl_service::client::status(&svc.paths.socket)
        .await
        .unwrap();
    assert_eq!(status.sessions.len(), 1);
    assert_eq!(status.sessions[0].clients, 2);
    // A third attaching after the turn gets the stored session.
    let mut c = svc.attach("exec", &id).await;
    match next(&mut c).await {
        Event::SessionLoaded { messages, .. } => assert!(messages.len() >= 4, "{messages:?}"),
        other => panic!("expected the stored session, got {other:?}"),
    }
}

#[tokio::test]
async fn a_prompt_sent_during_a_turn_is_queued_and_runs_next() {
    let svc = TestService::start("never", None);
    let mut a = svc.open("a").await;
    let id = session_of(&mut a).await;
    let mut b = svc.attach("b", &id).await;
    session_of(&mut b).await;
    submit(&a, "1");
    until(&mut b, |e| matches!(e, Event::ToolOutput { .. })).await;
    submit(&b, "2");
    let queued = until(
        &mut a,
        |e| matches!(e, Event::Notice { text, .. } if text.starts_with("queued")),
    )
    .await;
    assert!(matches!(queued.last(), Some(Event::Notice { text, .. }) if text.contains("(b)")));
    svc.gate.add_permits(2);
    let events = until(&mut a, |e| matches!(e, Event::TurnFinished { turn: 2, .. })).await;
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::TurnStarted { prompt, .. } if prompt == "2"))
    );
}

#[tokio::test]
async fn the_first_answer_to_an_approval_wins_and_the_other_is_told_who() {
    let svc = TestService::start("always", None);
    let mut a = svc.open("alice-tui").await;
    let id = session_of(&mut a).await;
    let mut b = svc.attach("bob-tui", &id).await;
    session_of(&mut b).await;
    svc.gate.add_permits(1);
    submit(&a, "1");
    let call_id = |events: &[Event]| {
        events.iter().find_map(|e| match e {
            Event::ApprovalRequested { request } => Some(request.call.id.clone()),
            _ => None,
        })
    };
    let call =
        call_id(&until(&mut a, |e| matches!(e, Event::ApprovalRequested { .. })).await).unwrap();
    until(&mut b, |e| matches!(e, Event::ApprovalRequested { .. })).await;
    a.ops
        .send(Op::Approval {
            call_id: call.clone(),
            decision: ApprovalDecision::Approve,
        })
        .unwrap();
    let told = until(
        &mut b,
        |e| matches!(e, Event::Notice { text, .. } if text.contains("approved by")),
    )
    .await;
    assert!(matches!(told.last(), Some(Event::Notice { text, .. }) if text.contains("alice-tui")));
    b.ops
        .send(Op::Approval {
            call_id: call.clone(),
            decision: ApprovalDecision::Deny,
        })
        .unwrap();
    let late = until(&mut b, |e| {
        matches!(
            e,
            Event::Notice {
                level: NoticeLevel::Warn,
                ..
            } | Event::TurnFinished { .. }
        )
    })
    .await;
    if let Some(Event::Notice { text, .. }) = late.last() {
        assert!(text.contains("already answered by alice-tui"), "{text}");
        until(&mut b, |e| matches!(e, Event::TurnFinished { .. })).await;
    }
    let events = until(&mut a, |e| matches!(e, Event::TurnFinished { .. })).await;
    assert!(matches!(
        events.last(),
        Some(Event::TurnFinished {
            reason: FinishReason::Completed,
            ..
        })
    ));
    assert_eq!(tool_output(&events), "line 0\n");
}

#[tokio::test]
async fn a_client_that_falls_behind_is_resynchronised_not_dropped() {
    let svc = TestService::start("never", None);
    let mut a = svc.open("fast").await;
    let id = session_of(&mut a).await;
    // A client that stops reading (a stopped terminal): raw, so nothing drains its socket.
    let open = Open::Attach {
        session: Some(id.clone()),
        spec: svc.spec("stopped"),
    };
    let (opened, (mut slow, _slow_writer)) =
        llm_repl_service::client::request(&svc.paths.socket, &open)
            .await
            .unwrap();
    assert_eq!(opened, Opened::Ok);
    // Far more Events than its socket and its buffer hold.
    let n = 2 * llm_repl_service::hub::CLIENT_BUFFER + 20_000;
    submit(&a, &n.to_string());
    svc.gate.add_permits(1);
    // The other client keeps going (a burst this size may resynchronise it too: then it sees
    // the finished session instead of the end of the turn).
    let finished = |e: &Event| match e {
        Event::TurnFinished { .. } => true,
        Event::SessionLoaded { messages, .. } => messages.iter().any(|m| m.content == "done"),
        _ => false,
    };
    until(&mut a, finished).await;
    // Now it reads: it is told it fell behind, then gets the session again, as stored after
    // the turn (the turn had ended when it caught up).
    loop {
        let e: Event = slow.read().await.unwrap();
        if matches!(e, Event::Notice { ref text, .. } if text.contains("fell")) {
            break;
        }
    }
    match slow.read::<Event>().await.unwrap() {
        Event::SessionLoaded { messages, .. } => {
            assert!(messages.iter().any(|m| m.content == "done"), "{messages:?}")
        }
        other => panic!("expected the replay, got {other:?}"),
    }
}

#[tokio::test]
async fn the_service_exits_when_idle_and_closing_a_client_leaves_its_turn_running() {
    let svc = TestService::start("never", Some(Duration::from_secs(1)));
    let mut a = svc.open("a").await;
    let id = session_of(&mut a).await;
    submit(&a, "1");
    until(&mut a, |e| matches!(e, Event::ToolOutput { .. })).await;
    drop(a);
    // The turn goes on without clients: another attaches and sees it finish.
    let mut b = svc.attach("b", &id).await;
    until(&mut b, |e| matches!(e, Event::ToolOutput { .. })).await;
    b.ops.send(Op::Shutdown).unwrap();
    until(&mut b, |e| matches!(e, Event::ShutdownComplete)).await;
    let status = llm_repl_service::client::status(&svc.paths.socket)
        .await
        .unwrap();
    assert!(
        status.sessions.iter().any(|s| s.running && s.clients == 0),
        "{status:?}"
    );
    svc.gate.add_permits(1);
    // With the turn over and nobody connected, the service stops by itself.
    let ended = tokio::time::timeout(Duration::from_secs(30), svc.task).await;
    ended
        .expect("the idle service did not exit")
        .unwrap()
        .unwrap();
    assert!(!svc.paths.socket.exists());
    // What the turn produced without any client is stored.
    let store = llm_repl_store::Store::open(&svc.dir.path().join("data")).unwrap();
    let loaded = store.load_session(&id).unwrap();
    assert!(loaded.plain_messages().iter().any(|m| m.content == "done"));
}
