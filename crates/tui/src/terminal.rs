//! The real terminal: raw mode, alternate screen, mouse and paste modes, restored on every exit
//! path (return, error, panic), around Ctrl+Z and around the external editor (Ctrl+G); and
//! [`run`], which puts the loop of `event_loop.rs` on it.

use std::io::{self, Write};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Instant;

use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EventStream,
    KeyboardEnhancementFlags, PopKeyboardEnhancementFlags, PushKeyboardEnhancementFlags,
};
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use crossterm::{cursor, execute};
use llm_repl_protocol::{Event, Op};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use crate::app::App;
use crate::clipboard::osc52;
use crate::editor::{EditOutcome, run_editor};
use crate::event_loop::{Host, event_loop, full_redraw};
use crate::options::TuiOptions;

/// Terminal modes to undo, remembered so restore undoes exactly what was set.
#[derive(Clone, Copy)]
struct Modes {
    mouse: bool,
    keyboard_enhancement: bool,
}

/// Mouse reporting for clicks, wheel and drags in SGR encoding. Not crossterm's
/// EnableMouseCapture, which also asks for every pointer motion: a flood of events (over ssh
/// too) for nothing this UI uses. DisableMouseCapture turns all of them off again.
fn enable_mouse(out: &mut impl Write) -> io::Result<()> {
    out.write_all(b"\x1b[?1000h\x1b[?1002h\x1b[?1006h")?;
    out.flush()
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
        enable_mouse(&mut out)?;
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

/// Set by the panic hook; the loop re-enters the TUI when it is still alive afterwards.
static PANICKED: AtomicBool = AtomicBool::new(false);

/// On any panic, in any thread, the terminal is restored first so the message is readable and a
/// dying process leaves a sane shell. A panic in another task (tokio keeps the process alive)
/// leaves the TUI running: it then takes the screen back at its next wake-up.
fn install_panic_hook(modes: Modes) {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore(modes);
        PANICKED.store(true, Ordering::SeqCst);
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

/// True for terminals known to speak the kitty keyboard protocol (which reports Shift+Enter).
/// Only they are asked: the query waits up to 2 s for an answer that a bare pseudo-terminal
/// (a test harness, a serial console) never sends. Elsewhere Alt+Enter and Ctrl+J insert a
/// newline.
fn known_enhanced_terminal() -> bool {
    let var = |k: &str| std::env::var(k).unwrap_or_default().to_ascii_lowercase();
    let (term, program) = (var("TERM"), var("TERM_PROGRAM"));
    ["kitty", "foot", "ghostty", "wezterm", "alacritty", "rio"]
        .iter()
        .any(|t| term.contains(t) || program.contains(t))
        || program == "iterm.app"
}

/// The terminal's input, in a slot the host can empty: crossterm's stream keeps a thread
/// reading the terminal, which would take keys meant for the external editor, so the stream is
/// dropped (stopping that thread) while the editor runs and a new one made afterwards.
type InputSlot = Arc<Mutex<Option<EventStream>>>;

fn lock(slot: &InputSlot) -> MutexGuard<'_, Option<EventStream>> {
    // A poisoned lock only means a panic elsewhere while it was held; the Option is still valid.
    slot.lock().unwrap_or_else(|p| p.into_inner())
}

/// The loop's input stream: the slot's stream, or nothing while the editor has the terminal
/// (the loop does not poll then: the editor runs between two turns of it).
struct TermInput(InputSlot);

impl futures::Stream for TermInput {
    type Item = io::Result<crossterm::event::Event>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        use futures::StreamExt;
        match lock(&self.0).as_mut() {
            Some(stream) => stream.poll_next_unpin(cx),
            None => Poll::Pending,
        }
    }
}

/// The real terminal's side of the loop's effects.
struct CrosstermHost {
    modes: Modes,
    input: InputSlot,
}

impl Host for CrosstermHost {
    fn copy(&mut self, text: &str) -> io::Result<()> {
        let mut out = io::stdout();
        out.write_all(osc52(text).as_bytes())?;
        out.flush()
    }

    fn set_mouse(&mut self, on: bool) -> io::Result<()> {
        if on {
            enable_mouse(&mut io::stdout())?;
        } else {
            execute!(io::stdout(), DisableMouseCapture)?;
        }
        self.modes.mouse = on;
        Ok(())
    }

    fn suspend(&mut self) -> io::Result<()> {
        // As around the editor: no reader thread from before the stop survives it, so the
        // first key after `fg` goes to a fresh stream.
        drop(lock(&self.input).take());
        let resumed = suspend(self.modes);
        *lock(&self.input) = Some(EventStream::new());
        resumed
    }

    fn edit(&mut self, text: &str) -> io::Result<EditOutcome> {
        // Stop crossterm's reader thread before the editor reads the terminal.
        drop(lock(&self.input).take());
        restore(self.modes);
        let outcome = run_editor(text);
        let entered = enter(self.modes);
        *lock(&self.input) = Some(EventStream::new());
        entered.map(|()| outcome)
    }

    fn recover(&mut self) -> io::Result<bool> {
        if PANICKED.swap(false, Ordering::SeqCst) {
            enter(self.modes)?;
            return Ok(true);
        }
        Ok(false)
    }
}

/// Runs the TUI until the user quits; sends `Op::Shutdown` then, waits (bounded) for
/// `Event::ShutdownComplete`, and restores the terminal on every path (return, error, panic).
pub async fn run(
    options: TuiOptions,
    ops: UnboundedSender<Op>,
    mut events: UnboundedReceiver<Event>,
) -> io::Result<Exit> {
    let keyboard_enhancement = known_enhanced_terminal()
        && matches!(
            crossterm::terminal::supports_keyboard_enhancement(),
            Ok(true)
        );
    let modes = Modes {
        mouse: options.mouse,
        keyboard_enhancement,
    };
    install_panic_hook(modes);
    enter(modes)?;
    let _guard = Guard { modes };
    let mut terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    full_redraw(&mut terminal)?;
    let mut app = App::new(options, Instant::now());
    let input: InputSlot = Arc::new(Mutex::new(Some(EventStream::new())));
    let mut host = CrosstermHost {
        modes,
        input: input.clone(),
    };
    let result = event_loop(
        &mut terminal,
        TermInput(input),
        &mut host,
        &mut app,
        &ops,
        &mut events,
    )
    .await;
    drop(terminal);
    result.map(|_| Exit {
        session_id: app
            .session
            .as_ref()
            .filter(|_| app.session_has_prompt)
            .map(|s| s.id.clone()),
    })
}

/// What the caller may tell the user after the terminal is restored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exit {
    /// The session open at the end when it has at least one prompt (so it is stored and can be
    /// resumed).
    pub session_id: Option<String>,
}
