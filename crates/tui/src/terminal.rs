//! The run loop and the terminal: raw mode, alternate screen, mouse and paste modes, restored on
//! every exit path (return, error, panic) and around Ctrl+Z.
//!
//! The loop `select!`s over terminal input, agent Events and a frame tick. Inputs and Events only
//! change the state and mark it dirty; the tick draws at most ~60 times a second, so a fast token
//! stream costs one frame per tick, never one per token. The loop never awaits the agent: Ops go
//! out on an unbounded channel.

use std::io::{self, Write};
use std::time::{Duration, Instant};

use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
    EventStream, KeyboardEnhancementFlags, PopKeyboardEnhancementFlags,
    PushKeyboardEnhancementFlags,
};
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use crossterm::{cursor, execute};
use futures::StreamExt;
use llm_repl_protocol::{Event, Op};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use crate::app::{App, Effect};
use crate::clipboard::osc52;
use crate::options::TuiOptions;
use crate::screens;

/// Frame interval: about 60 frames a second at most.
const FRAME: Duration = Duration::from_millis(16);
/// How long to wait for the agent's ShutdownComplete after asking it to stop.
const SHUTDOWN_WAIT: Duration = Duration::from_millis(1500);
/// Events applied per loop turn before input gets a look in again.
const EVENT_BATCH: usize = 4096;

/// Terminal modes to undo, remembered so restore undoes exactly what was set.
#[derive(Clone, Copy)]
struct Modes {
    mouse: bool,
    keyboard_enhancement: bool,
}

fn enter(modes: Modes) -> io::Result<()> {
    enable_raw_mode()?;
    let mut out = io::stdout();
    execute!(
        out,
        EnterAlternateScreen,
        EnableBracketedPaste,
        cursor::Hide
    )?;
    if modes.mouse {
        execute!(out, EnableMouseCapture)?;
    }
    if modes.keyboard_enhancement {
        // Lets terminals that support it report Shift+Enter.
        execute!(
            out,
            PushKeyboardEnhancementFlags(KeyboardEnhancementFlags::DISAMBIGUATE_ESCAPE_CODES)
        )?;
    }
    Ok(())
}

/// Puts the terminal back as it was. Safe to call more than once and from the panic hook.
fn restore(modes: Modes) {
    let mut out = io::stdout();
    if modes.keyboard_enhancement {
        let _ = execute!(out, PopKeyboardEnhancementFlags);
    }
    let _ = execute!(
        out,
        DisableMouseCapture,
        DisableBracketedPaste,
        LeaveAlternateScreen,
        cursor::Show
    );
    let _ = disable_raw_mode();
    let _ = out.flush();
}

/// Restores the terminal when dropped: covers `?` returns and unwinding.
struct Guard {
    modes: Modes,
}

impl Drop for Guard {
    fn drop(&mut self) {
        restore(self.modes);
    }
}

fn install_panic_hook(modes: Modes) {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore(Modes {
            mouse: true,
            ..modes
        });
        previous(info);
    }));
}

fn suspend(modes: Modes) -> io::Result<()> {
    restore(modes);
    #[cfg(unix)]
    // SAFETY: raise() only sends a signal to this process; SIGTSTP stops it until SIGCONT, after
    // which execution continues here. No memory is touched.
    unsafe {
        libc::raise(libc::SIGTSTP);
    }
    enter(modes)
}

/// Runs the TUI until the user quits; sends `Op::Shutdown` then, waits (bounded) for
/// `Event::ShutdownComplete`, and restores the terminal on every path.
pub async fn run(
    options: TuiOptions,
    ops: UnboundedSender<Op>,
    mut events: UnboundedReceiver<Event>,
) -> io::Result<()> {
    let keyboard_enhancement = matches!(
        crossterm::terminal::supports_keyboard_enhancement(),
        Ok(true)
    );
    let mut modes = Modes {
        mouse: options.mouse,
        keyboard_enhancement,
    };
    install_panic_hook(modes);
    enter(modes)?;
    let mut guard = Guard { modes };
    let mut terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    terminal.clear()?;

    let mut app = App::new(options, Instant::now());
    let mut input = EventStream::new();
    let mut tick = tokio::time::interval(FRAME);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut dirty = true;
    let mut events_open = true;
    let mut agent_done = false;

    loop {
        tokio::select! {
            maybe = input.next() => match maybe {
                Some(Ok(ev)) => {
                    let size = terminal.size().map(|s| (s.width, s.height)).unwrap_or((80, 24));
                    app.now = Instant::now();
                    app.handle_terminal(ev, size);
                    dirty = true;
                }
                Some(Err(e)) => return Err(e),
                None => app.quit(),
            },
            ev = events.recv(), if events_open => match ev {
                Some(ev) => {
                    app.now = Instant::now();
                    agent_done |= matches!(ev, Event::ShutdownComplete);
                    app.apply_event(ev);
                    // Drain what is already queued without awaiting: one redraw for the lot.
                    for _ in 0..EVENT_BATCH {
                        match events.try_recv() {
                            Ok(ev) => {
                                agent_done |= matches!(ev, Event::ShutdownComplete);
                                app.apply_event(ev);
                            }
                            Err(_) => break,
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
            _ = tick.tick() => {
                if app.tick(Instant::now()) {
                    dirty = true;
                }
                if dirty {
                    terminal.draw(|f| screens::draw(f, &app))?;
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
                Effect::Copy(text) => {
                    let mut out = io::stdout();
                    out.write_all(osc52(&text).as_bytes())?;
                    out.flush()?;
                }
                Effect::SetMouse(on) => {
                    if on {
                        execute!(io::stdout(), EnableMouseCapture)?;
                    } else {
                        execute!(io::stdout(), DisableMouseCapture)?;
                    }
                    modes.mouse = on;
                    guard.modes = modes;
                }
                Effect::Suspend => {
                    suspend(modes)?;
                    terminal.clear()?;
                    dirty = true;
                }
                Effect::Quit => quit = true,
            }
        }
        if quit {
            break;
        }
    }

    // Ask the agent to finish what is durable, and wait a bounded time for it to say so.
    if !agent_done && ops.send(Op::Shutdown).is_ok() {
        let deadline = tokio::time::Instant::now() + SHUTDOWN_WAIT;
        while let Ok(Some(ev)) = tokio::time::timeout_at(deadline, events.recv()).await {
            if matches!(ev, Event::ShutdownComplete) {
                break;
            }
        }
    }
    drop(terminal);
    drop(guard);
    Ok(())
}
