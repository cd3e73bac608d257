//! The real select! loop on a TestBackend with scripted terminal input and a scripted agent.

use std::io;
use std::time::Duration;

use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use futures::channel::mpsc as fmpsc;
use llm_repl_protocol::{Event, FinishReason, Op};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::mpsc::unbounded_channel;

use super::fixtures::info;
use crate::app::App;
use crate::editor::EditOutcome;
use crate::event_loop::{Host, event_loop};
use crate::options::TuiOptions;

#[derive(Default)]
struct Recorder {
    copied: Vec<String>,
    /// The texts the editor was opened on, and what it gives back.
    edited: Vec<String>,
    edit_result: Option<EditOutcome>,
}

impl Host for Recorder {
    fn copy(&mut self, text: &str) -> io::Result<()> {
        self.copied.push(text.to_string());
        Ok(())
    }
    fn set_mouse(&mut self, _on: bool) -> io::Result<()> {
        Ok(())
    }
    fn suspend(&mut self) -> io::Result<()> {
        Ok(())
    }
    fn edit(&mut self, text: &str) -> io::Result<EditOutcome> {
        self.edited.push(text.to_string());
        Ok(self
            .edit_result
            .clone()
            .unwrap_or_else(|| EditOutcome::Failed("no editor here".into())))
    }
}

fn k(code: KeyCode, mods: KeyModifiers) -> io::Result<TermEvent> {
    Ok(TermEvent::Key(KeyEvent::new(code, mods)))
}

#[tokio::test]
async fn a_token_flood_is_drawn_in_few_frames_and_quit_shuts_the_agent_down() {
    let (key_tx, key_rx) = fmpsc::unbounded::<io::Result<TermEvent>>();
    let (op_tx, mut op_rx) = unbounded_channel::<Op>();
    let (ev_tx, mut ev_rx) = unbounded_channel();
    // The scripted agent: answer a Submit with 10,000 deltas, then quit like a user would.
    let agent = tokio::spawn(async move {
        let _ = ev_tx.send(Event::SessionStarted { info: info() });
        let mut seen = Vec::new();
        while let Some(op) = op_rx.recv().await {
            let op = op.untag().1;
            seen.push(op.clone());
            match op {
                Op::Submit { text } => {
                    let _ = ev_tx.send(Event::TurnStarted {
                        turn: 1,
                        prompt: text,
                    });
                    for i in 0..10_000 {
                        let _ = ev_tx.send(Event::TextDelta {
                            turn: 1,
                            text: format!("t{i} "),
                        });
                    }
                    let _ = ev_tx.send(Event::TurnFinished {
                        turn: 1,
                        reason: FinishReason::Completed,
                    });
                    for _ in 0..2 {
                        let _ = key_tx.unbounded_send(k(KeyCode::Char('c'), KeyModifiers::CONTROL));
                    }
                }
                Op::Shutdown => {
                    let _ = ev_tx.send(Event::ShutdownComplete);
                    break;
                }
                _ => {}
            }
        }
        seen
    });
    let (input_tx, input_rx) = fmpsc::unbounded();
    for c in "hi".chars() {
        let _ = input_tx.unbounded_send(k(KeyCode::Char(c), KeyModifiers::NONE));
    }
    let _ = input_tx.unbounded_send(k(KeyCode::Enter, KeyModifiers::NONE));
    // Input ends when both the test's and the agent's senders are done; merge the two streams.
    let input = futures::stream::select(input_rx, key_rx);

    let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap_or_else(|e| panic!("{e}"));
    let mut app = App::new(TuiOptions::default(), std::time::Instant::now());
    let mut host = Recorder::default();
    let started = std::time::Instant::now();
    let run = event_loop(
        &mut terminal,
        input,
        &mut host,
        &mut app,
        &op_tx,
        &mut ev_rx,
    );
    let stats = tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .unwrap_or_else(|_| panic!("loop did not end"))
        .unwrap_or_else(|e| panic!("{e}"));
    let seen = agent.await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(seen.first(), Some(&Op::Submit { text: "hi".into() }));
    assert_eq!(seen.last(), Some(&Op::Shutdown));
    let elapsed = started.elapsed();
    // Whatever order input and events were taken in: every event was applied, and frames were
    // drawn at most once per frame interval (plus the first), never once per event.
    assert!(stats.events >= 10_002, "{stats:?}");
    let max_frames = elapsed.as_millis() as u64 / 16 + 2;
    assert!(stats.frames >= 1, "the first frame is drawn at once");
    assert!(stats.frames <= max_frames, "{stats:?} in {elapsed:?}");
    let answer = app.conv.last_answer().unwrap_or_default();
    assert!(answer.ends_with("t9999 "), "all deltas applied");
    assert!(host.copied.is_empty());
}

#[tokio::test]
async fn a_vanished_agent_is_reported_and_quit_does_not_wait_for_it() {
    let (op_tx, op_rx) = unbounded_channel::<Op>();
    let (ev_tx, mut ev_rx) = unbounded_channel();
    drop(ev_tx);
    drop(op_rx);
    let (input_tx, input_rx) = fmpsc::unbounded();
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap_or_else(|e| panic!("{e}"));
    let mut app = App::new(TuiOptions::default(), std::time::Instant::now());
    let mut host = Recorder::default();
    // Ctrl+D on the empty prompt quits; the input stream then ends too.
    let _ = input_tx.unbounded_send(k(KeyCode::Char('d'), KeyModifiers::CONTROL));
    drop(input_tx);
    let run = event_loop(
        &mut terminal,
        input_rx,
        &mut host,
        &mut app,
        &op_tx,
        &mut ev_rx,
    );
    tokio::time::timeout(Duration::from_secs(5), run)
        .await
        .unwrap_or_else(|_| panic!("loop did not end"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(app.quitting);
}

/// Ctrl+G hands the prompt's text to the editor; its text replaces the box without being sent,
/// and a failed editor leaves the box as it was and says so.
#[tokio::test]
async fn ctrl_g_edits_the_prompt_in_the_external_editor() {
    for (result, want_box, want_flash) in [
        (
            EditOutcome::Edited("line one\nline two".into()),
            "line one\nline two",
            "prompt edited",
        ),
        (
            EditOutcome::Failed("the editor exited with status 3: prompt unchanged".into()),
            "draft",
            "status 3",
        ),
    ] {
        let (op_tx, mut op_rx) = unbounded_channel::<Op>();
        let (_ev_tx, mut ev_rx) = unbounded_channel::<Event>();
        let (input_tx, input_rx) = fmpsc::unbounded();
        for c in "draft".chars() {
            let _ = input_tx.unbounded_send(k(KeyCode::Char(c), KeyModifiers::NONE));
        }
        let _ = input_tx.unbounded_send(k(KeyCode::Char('g'), KeyModifiers::CONTROL));
        drop(input_tx);
        let mut terminal =
            Terminal::new(TestBackend::new(80, 24)).unwrap_or_else(|e| panic!("{e}"));
        let mut app = App::new(TuiOptions::default(), std::time::Instant::now());
        let mut host = Recorder {
            edit_result: Some(result),
            ..Recorder::default()
        };
        let run = event_loop(
            &mut terminal,
            input_rx,
            &mut host,
            &mut app,
            &op_tx,
            &mut ev_rx,
        );
        // The input ends after the keys, which quits the loop.
        tokio::time::timeout(Duration::from_secs(5), run)
            .await
            .unwrap_or_else(|_| panic!("loop did not end"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(host.edited, vec!["draft".to_string()]);
        assert_eq!(app.input.text(), want_box);
        let flash = app.flash.as_ref().map(|f| f.0.clone()).unwrap_or_default();
        assert!(flash.contains(want_flash), "{flash:?}");
        while let Ok(op) = op_rx.try_recv() {
            assert!(
                !matches!(op, Op::Submit { .. }),
                "the edit was sent: {op:?}"
            );
        }
    }
}
