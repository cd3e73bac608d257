//! The select! loop, independent of the real terminal so tests can run it on a TestBackend with
//! scripted input.
//!
//! Terminal input and agent Events only change the state and mark it dirty; the frame tick draws
//! at most ~60 times a second, so a fast token stream costs one frame per tick, never one per
//! token. The loop never awaits the agent: Ops go out on an unbounded channel.

use std::io;
use std::time::{Duration, Instant};

use crossterm::event::{Event as TermEvent, MouseEventKind};
use futures::{Stream, StreamExt};
use llm_repl_protocol::{Event, Op};
use ratatui::Terminal;
use ratatui::backend::Backend;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use crate::app::{App, Effect};
use crate::editor::EditOutcome;
use crate::screens;

/// Frame interval: about 60 frames a second at most.
pub const FRAME: Duration = Duration::from_millis(16);
/// How long to wait for the agent's ShutdownComplete after asking it to stop.
pub const SHUTDOWN_WAIT: Duration = Duration::from_millis(1500);
/// Events applied per loop turn before input gets a look in again.
const EVENT_BATCH: usize = 4096;

/// What the loop needs from the terminal beyond drawing.
pub trait Host {
    /// Puts text on the clipboard.
    fn copy(&mut self, text: &str) -> io::Result<()>;
    fn set_mouse(&mut self, on: bool) -> io::Result<()>;
    /// Gives the terminal back to the shell until resumed (Ctrl+Z).
    fn suspend(&mut self) -> io::Result<()>;
    /// Gives the terminal to the external editor on `text` and takes it back when the editor
    /// exits (Ctrl+G).
    fn edit(&mut self, text: &str) -> io::Result<EditOutcome>;
    /// Takes the terminal back if something (a panic elsewhere) restored it; true when it did,
    /// so the screen must be redrawn whole.
    fn recover(&mut self) -> io::Result<bool> {
        Ok(false)
    }
}

/// Counters for tests and diagnostics.
#[derive(Debug, Default, Clone, Copy)]
pub struct LoopStats {
    pub frames: u64,
    pub events: u64,
}

fn draw<B: Backend>(
    terminal: &mut Terminal<B>,
    app: &App,
    stats: &mut LoopStats,
) -> io::Result<()> {
    terminal
        .draw(|f| screens::draw(f, app))
        .map_err(|e| io::Error::other(e.to_string()))?;
    stats.frames += 1;
    Ok(())
}

/// Clears the screen and makes the next draw repaint every cell. Unlike `Terminal::clear` it
/// never asks the terminal for the cursor position, a query a bare pseudo-terminal (a test
/// harness) never answers.
pub fn full_redraw<B: Backend>(terminal: &mut Terminal<B>) -> io::Result<()> {
    let size = terminal
        .size()
        .map_err(|e| io::Error::other(e.to_string()))?;
    terminal
        .resize(ratatui::layout::Rect::new(0, 0, size.width, size.height))
        .map_err(|e| io::Error::other(e.to_string()))
}

/// Runs until the user quits (or the input ends), then asks the agent to shut down and waits
/// for it, bounded by [`SHUTDOWN_WAIT`].
pub async fn event_loop<B, S, H>(
    terminal: &mut Terminal<B>,
    input: S,
    host: &mut H,
    app: &mut App,
    ops: &UnboundedSender<Op>,
    events: &mut UnboundedReceiver<Event>,
) -> io::Result<LoopStats>
where
    B: Backend,
    S: Stream<Item = io::Result<TermEvent>> + Unpin,
    H: Host,
{
    // Inputs already waiting come as one batch, polled with the loop's own waker.
    let mut input = input.ready_chunks(EVENT_BATCH);
    let mut stats = LoopStats::default();
    let mut tick = tokio::time::interval(FRAME);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    // The first frame at once, so the screen never stays blank waiting for a tick.
    draw(terminal, app, &mut stats)?;
    let mut dirty = false;
    let mut events_open = true;
    let mut agent_done = false;

    loop {
        tokio::select! {
            maybe = input.next() => match maybe {
                Some(chunk) => {
                    // What arrived together is applied together: a paste from a terminal without
                    // bracketed paste is one such burst (see `handle_terminal_batch`).
                    let mut batch = Vec::with_capacity(chunk.len());
                    for ev in chunk {
                        // Mouse motion (reported because capture asks for all events) changes
                        // nothing.
                        match ev? {
                            TermEvent::Mouse(m) if m.kind == MouseEventKind::Moved => {}
                            ev => batch.push(ev),
                        }
                    }
                    if !batch.is_empty() {
                        let size = terminal.size().map(|s| (s.width, s.height)).unwrap_or((80, 24));
                        app.now = Instant::now();
                        app.handle_terminal_batch(batch, size);
                        dirty = true;
                    }
                }
                None => app.quit(),
            },
            ev = events.recv(), if events_open => match ev {
                Some(ev) => {
                    app.now = Instant::now();
                    let mut next = Some(ev);
                    let mut n = 0;
                    // Apply what is already queued without awaiting: one redraw for the lot.
                    while let Some(ev) = next.take() {
                        agent_done |= matches!(ev, Event::ShutdownComplete);
                        app.apply_event(ev);
                        stats.events += 1;
                        n += 1;
                        if n < EVENT_BATCH {
                            next = events.try_recv().ok();
                        }
                    }
                    dirty = true;
                }
                None => {
                    events_open = false;
                    if !agent_done {
                        app.apply_event(Event::ShutdownComplete);
                        agent_done = true;
                    }
                    dirty = true;
                }
            },
            // Idle and clean: no tick at all, so an idle TUI does not wake 60 times a second.
            _ = tick.tick(), if dirty || app.animating() => {
                if app.tick(Instant::now()) {
                    dirty = true;
                }
                // Never draw on a terminal a panic handed back to the shell: take it back first.
                if host.recover()? {
                    full_redraw(terminal)?;
                    dirty = true;
                }
                if dirty {
                    draw(terminal, app, &mut stats)?;
                    dirty = false;
                }
            }
        }
        let mut quit = false;
        for effect in app.drain_effects() {
            match effect {
                // A closed channel means the agent is gone; the events side reports that.
                Effect::Op(op) => {
                    let _ = ops.send(op);
                }
                Effect::Copy(text) => host.copy(&text)?,
                Effect::SetMouse(on) => host.set_mouse(on)?,
                Effect::Suspend => {
                    host.suspend()?;
                    full_redraw(terminal)?;
                    dirty = true;
                }
                Effect::Edit(text) => {
                    let outcome = host.edit(&text)?;
                    app.now = Instant::now();
                    app.editor_done(outcome);
                    full_redraw(terminal)?;
                    dirty = true;
                }
                Effect::Quit => quit = true,
            }
        }
        if quit {
            break;
        }
    }

    // Ask the agent to finish what is durable and wait a bounded time for it to say so. Events
    // still arriving are applied so the final state is complete.
    if !agent_done && ops.send(Op::Shutdown).is_ok() {
        let deadline = tokio::time::Instant::now() + SHUTDOWN_WAIT;
        while let Ok(Some(ev)) = tokio::time::timeout_at(deadline, events.recv()).await {
            let done = matches!(ev, Event::ShutdownComplete);
            app.apply_event(ev);
            stats.events += 1;
            if done {
                break;
            }
        }
    }
    Ok(stats)
}
