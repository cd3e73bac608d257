//! The external editor for long prompts (Ctrl+G): writes the prompt box's text to a private temp
//! file, runs `$VISUAL`, else `$EDITOR`, else `vi` on it through `sh -c` (so `code --wait` and
//! other commands with arguments work, as git does), and reads the file back. The terminal side
//! (leaving raw mode and the alternate screen while the editor runs) is `terminal.rs`; the
//! state side (the box takes the text, a failure is said) is [`App::editor_done`].

use std::io::Write;
use std::process::Command;

use crate::app::App;

/// How one run of the editor ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditOutcome {
    /// The editor exited 0: the file's text (one trailing newline, which editors add, removed).
    Edited(String),
    /// The editor could not run or exited non-zero: why, for the status line.
    Failed(String),
}

/// The editor command: `$VISUAL`, else `$EDITOR`, else `vi` (empty values are skipped).
pub fn editor_command() -> String {
    ["VISUAL", "EDITOR"]
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .find(|v| !v.trim().is_empty())
        .unwrap_or_else(|| "vi".to_string())
}

/// Runs the editor on `text` in a temp file (mode 0600, removed afterwards) with the caller's
/// terminal; blocks until it exits.
pub fn run_editor(text: &str) -> EditOutcome {
    let file = tempfile::Builder::new()
        .prefix("llm-repl-prompt-")
        .suffix(".md")
        .tempfile();
    let mut file = match file {
        Ok(f) => f,
        Err(e) => return EditOutcome::Failed(format!("cannot create a temp file: {e}")),
    };
    if let Err(e) = file.write_all(text.as_bytes()).and_then(|()| file.flush()) {
        return EditOutcome::Failed(format!("cannot write the temp file: {e}"));
    }
    let editor = editor_command();
    // `sh -c '<editor> "$1"' sh <path>`: the editor may carry arguments; the path is passed as
    // an argument, never spliced into the command line.
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(file.path())
        .status();
    match status {
        Err(e) => EditOutcome::Failed(format!("cannot run the editor {editor:?}: {e}")),
        Ok(s) if !s.success() => EditOutcome::Failed(match s.code() {
            Some(c) => format!("the editor exited with status {c}: prompt unchanged"),
            None => "the editor was killed: prompt unchanged".to_string(),
        }),
        Ok(_) => match std::fs::read(file.path()) {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes).replace("\r\n", "\n");
                let text = text.strip_suffix('\n').unwrap_or(&text).to_string();
                EditOutcome::Edited(text)
            }
            Err(e) => EditOutcome::Failed(format!("cannot read the edited prompt back: {e}")),
        },
    }
}

impl App {
    /// Asks the run loop to open the editor on the prompt's text (pastes expanded).
    pub(crate) fn open_editor(&mut self) {
        let text = self.input.expanded_text();
        self.effect(crate::app::Effect::Edit(text));
    }

    /// The editor's result: the edited text replaces the box (it is not sent); a failure leaves
    /// the box as it was and says why.
    pub fn editor_done(&mut self, outcome: EditOutcome) {
        match outcome {
            EditOutcome::Edited(text) => {
                self.input.replace_all(&text);
                self.flash("prompt edited: Enter sends it");
            }
            EditOutcome::Failed(why) => self.flash(why),
        }
    }
}
