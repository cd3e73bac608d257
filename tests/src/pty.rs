//! Driving a full-screen program in a real terminal: a private tmux server (its own socket, so
//! tests never touch the user's tmux), keys sent with `send-keys`, the screen read with
//! `capture-pane`, and bounded polling instead of sleeps. The server is killed on drop, also when
//! the test panics.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// How often the screen is re-read while waiting.
const POLL: Duration = Duration::from_millis(50);

/// One tmux server with one session (`main`) running a shell command.
pub struct Tmux {
    /// Holds the server's socket; removed (with the socket) on drop.
    dir: tempfile::TempDir,
}

impl Tmux {
    /// Starts a server on a private socket with a `cols`x`rows` window running `command` under
    /// `sh -c`. The pane stays after the command exits, so its last screen can be read.
    ///
    /// # Panics
    /// When tmux is missing or cannot start.
    pub fn start(cols: u16, rows: u16, command: &str) -> Tmux {
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("cannot create a temp dir for tmux: {e}"),
        };
        let tmux = Tmux { dir };
        // A config file of /dev/null keeps the user's ~/.tmux.conf out.
        let out = tmux.raw(&[
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-s",
            "main",
            "-x",
            &cols.to_string(),
            "-y",
            &rows.to_string(),
            command,
        ]);
        assert!(out.status.success(), "tmux new-session: {}", stderr(&out));
        tmux.run(&["set-option", "-t", "main", "remain-on-exit", "on"]);
        tmux
    }

    fn raw(&self, args: &[&str]) -> Output {
        let socket = self.dir.path().join("tmux.sock");
        match Command::new("tmux")
            .arg("-S")
            .arg(socket)
            .args(args)
            .output()
        {
            Ok(o) => o,
            Err(e) => panic!("cannot run tmux (is it installed?): {e}"),
        }
    }

    /// Runs a tmux command, panicking when it fails.
    pub fn run(&self, args: &[&str]) -> String {
        let out = self.raw(args);
        assert!(out.status.success(), "tmux {args:?}: {}", stderr(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Sends keys by tmux name (`Enter`, `Escape`, `PPage`, `End`, `C-c`, ...).
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "main"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    /// Types text literally (no key-name lookup).
    pub fn type_text(&self, text: &str) {
        self.run(&["send-keys", "-t", "main", "-l", text]);
    }

    /// The visible screen as text, one line per row.
    pub fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "main"])
    }

    /// The scrollback history and the visible screen, oldest line first.
    pub fn history(&self) -> String {
        self.run(&["capture-pane", "-p", "-S", "-", "-t", "main"])
    }

    /// A pane format variable, e.g. `#{alternate_on}`, `#{pane_dead}`, `#{pane_dead_status}`.
    pub fn format(&self, fmt: &str) -> String {
        self.run(&["display-message", "-p", "-t", "main", fmt])
            .trim()
            .to_string()
    }

    /// Polls the screen until `pred` holds; returns that screen, or panics after `timeout`
    /// with `what` and the last screen.
    pub fn wait_for(&self, what: &str, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let screen = self.screen();
            if pred(&screen) {
                return screen;
            }
            if Instant::now() >= deadline {
                panic!("timed out after {timeout:?} waiting for {what}; screen:\n{screen}");
            }
            std::thread::sleep(POLL);
        }
    }

    /// Polls until the screen contains `needle`.
    pub fn wait_text(&self, needle: &str, timeout: Duration) -> String {
        self.wait_for(&format!("{needle:?}"), timeout, |s| s.contains(needle))
    }

    /// Polls a format variable until it equals `want`.
    pub fn wait_format(&self, fmt: &str, want: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.format(fmt);
            if got == want {
                return;
            }
            if Instant::now() >= deadline {
                panic!(
                    "timed out after {timeout:?}: {fmt} is {got:?}, not {want:?}; screen:\n{}",
                    self.screen()
                );
            }
            std::thread::sleep(POLL);
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.raw(&["kill-server"]);
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
