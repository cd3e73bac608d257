//! Logs go to a file, never to the terminal (the TUI owns the screen; exec owns stdout/stderr).

use tracing_subscriber::EnvFilter;

use crate::paths;
use crate::settings::Settings;

/// Lines the log writer's queue holds before it drops new ones.
const LOG_QUEUE_LINES: usize = 2048;

/// Keeps the log writer alive; dropping it flushes.
pub struct LogGuard(#[allow(dead_code)] Option<tracing_appender::non_blocking::WorkerGuard>);

/// Starts file logging at `RUST_LOG` (default `warn`). A log file that cannot be opened is not an
/// error: the program runs without logs.
pub fn init(_settings: &Settings) -> LogGuard {
    let dir = paths::log_dir();
    if std::fs::create_dir_all(&dir).is_err() {
        return LogGuard(None);
    }
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let appender = tracing_appender::rolling::never(&dir, "llm-repl.log");
    // tracing-appender's default queue holds 128,000 lines and allocates (and touches) all of
    // them up front: 4 MB of every run's peak memory. Logs default to `warn`; 2,048 queued lines
    // (64 KB) are plenty, and a flood beyond them drops lines rather than blocking the loop.
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(LOG_QUEUE_LINES)
        .finish(appender);
    let ok = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .is_ok();
    LogGuard(ok.then_some(guard))
}
