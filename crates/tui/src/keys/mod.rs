//! The keymap: ONE table of every binding of every screen, pane and overlay (`table.rs`). The
//! help overlay and the footers are generated from it and the config's `[ui.keys]` overrides it
//! (`name = "ctrl-t"`, several keys separated by spaces). Each screen, pane and overlay looks up
//! the keys it owns in its own [`Context`] when it has the keyboard.

mod chord;
mod table;

use std::collections::BTreeMap;

use crossterm::event::KeyEvent;

pub use chord::Chord;
pub use table::BINDINGS;

/// Everything a key can do. The same action means the same thing in every context that binds
/// it (e.g. `Close` leaves whatever has the keyboard).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Submit,
    Newline,
    Interrupt,
    CtrlC,
    QuitIfEmpty,
    Suspend,
    Help,
    FocusNext,
    FocusPrev,
    ToggleTrace,
    TraceGrow,
    TraceShrink,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Follow,
    LineUp,
    LineDown,
    Left,
    Right,
    HistorySearch,
    CopyMode,
    ToggleMouse,
    Sessions,
    Approve,
    ApproveSession,
    Deny,
    /// Leave (or clear) what has the keyboard.
    Close,
    /// Take / run / open / save the selected thing.
    Accept,
    Complete,
    ClearLine,
    SearchOlder,
    Rename,
    Delete,
    ExportMarkdown,
    ExportJson,
    CursorLeft,
    CursorRight,
    WordLeft,
    WordRight,
    LineStart,
    LineEnd,
    KillToStart,
    KillToEnd,
    KillWordBack,
    KillWordForward,
    DeleteForward,
    Undo,
    Redo,
    ExternalEditor,
    /// Drop the last answer and run the last prompt again.
    Retry,
    /// Put the last prompt in the box; sending it replaces the prompt and what followed.
    EditLast,
    /// Fork the session (at the selected message in copy mode).
    Fork,
}

/// Where a binding applies: whichever screen, pane or overlay has the keyboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// Anywhere on the chat screen.
    Global,
    /// The prompt input has focus.
    Input,
    /// The conversation or trace pane has focus.
    Pane,
    /// The slash-command popup is open.
    Palette,
    /// Ctrl+R search over earlier prompts.
    Search,
    /// The approval prompt is open.
    Approval,
    /// The history browser.
    History,
    /// The history browser's rename box.
    Edit,
    /// A yes/no question (delete a session).
    Confirm,
    /// The usage report screen.
    Stats,
    /// Copy mode.
    Copy,
    /// The help overlay.
    Help,
    /// The model picker (`/model` with no name).
    Models,
}

impl Context {
    /// The heading of this context's section in the help overlay.
    pub fn label(self) -> &'static str {
        match self {
            Context::Global => "Chat screen (anywhere)",
            Context::Input => "Prompt",
            Context::Pane => "Conversation and tool panes (Tab focuses them)",
            Context::Palette => "Slash-command popup (the prompt starts with /)",
            Context::Search => "Prompt history search (Ctrl+R)",
            Context::Approval => "Approval prompt",
            Context::History => "History browser (Ctrl+O): typing searches",
            Context::Edit => "History browser: renaming",
            Context::Confirm => "History browser: confirming a delete",
            Context::Stats => "Usage report (/stats)",
            Context::Copy => "Copy mode (Ctrl+Y)",
            Context::Help => "This help",
            Context::Models => "Model picker (/model): typing filters",
        }
    }
}

/// One row of the table.
pub struct Binding {
    pub action: Action,
    /// The name used in config overrides; unique in the table.
    pub name: &'static str,
    pub context: Context,
    pub keys: &'static str,
    pub help: &'static str,
}

/// The table with the user's overrides applied.
#[derive(Debug, Clone)]
pub struct Keymap {
    entries: Vec<(Context, Chord, Action)>,
}

/// One row of the generated help: the context, the keys as labels, the description.
pub struct HelpRow {
    pub context: Context,
    pub keys: String,
    pub help: &'static str,
}

impl Keymap {
    /// Builds the keymap; each override replaces every default key of its row. Bad overrides
    /// are skipped and returned as one-line warnings.
    pub fn new(overrides: &BTreeMap<String, String>) -> (Keymap, Vec<String>) {
        let mut warnings = Vec::new();
        let mut entries = Vec::new();
        for name in overrides.keys() {
            if !BINDINGS.iter().any(|b| b.name == name) {
                warnings.push(format!("ui.keys: unknown action {name:?}"));
            }
        }
        for bnd in BINDINGS {
            let keys = overrides
                .get(bnd.name)
                .map(String::as_str)
                .unwrap_or(bnd.keys);
            for k in keys.split_whitespace() {
                match Chord::parse(k) {
                    Ok(c) => entries.push((bnd.context, c, bnd.action)),
                    Err(e) => warnings.push(format!("ui.keys.{}: {e}", bnd.name)),
                }
            }
        }
        (Keymap { entries }, warnings)
    }

    /// The action bound to `ev` in `ctx`, if any.
    pub fn lookup(&self, ctx: Context, ev: &KeyEvent) -> Option<Action> {
        let chord = Chord::from_event(ev);
        self.entries
            .iter()
            .find(|(c, k, _)| *c == ctx && *k == chord)
            .map(|(_, _, a)| *a)
    }

    /// True when `ev` is bound to `action` in any context.
    #[cfg(test)]
    pub fn is(&self, action: Action, ev: &KeyEvent) -> bool {
        let chord = Chord::from_event(ev);
        self.entries
            .iter()
            .any(|(_, k, a)| *a == action && *k == chord)
    }

    /// The label of the first key bound to `action` in `ctx` ("" when unbound), for footers.
    pub fn key(&self, ctx: Context, action: Action) -> String {
        self.entries
            .iter()
            .find(|(c, _, a)| *c == ctx && *a == action)
            .map(|(_, k, _)| k.label())
            .unwrap_or_default()
    }

    /// A footer such as " ↑↓ select · Enter copy · Esc cancel ", from the keys bound now.
    pub fn footer(&self, ctx: Context, items: &[(&[Action], &str)]) -> String {
        let parts: Vec<String> = items
            .iter()
            .filter_map(|(actions, what)| {
                let labels: Vec<String> = actions
                    .iter()
                    .map(|a| self.key(ctx, *a))
                    .filter(|k| !k.is_empty())
                    .collect();
                // "↑↓ select", but "PgUp/PgDn scroll".
                let sep = if labels.iter().all(|k| k.chars().count() == 1) {
                    ""
                } else {
                    "/"
                };
                let keys = labels.join(sep);
                (!keys.is_empty()).then(|| format!("{keys} {what}"))
            })
            .collect();
        format!(" {} ", parts.join(" · "))
    }

    /// Rows for the help overlay, in table order.
    pub fn help_rows(&self) -> Vec<HelpRow> {
        BINDINGS
            .iter()
            .map(|bnd| {
                let keys: Vec<String> = self
                    .entries
                    .iter()
                    .filter(|(c, _, a)| *c == bnd.context && *a == bnd.action)
                    .map(|(_, k, _)| k.label())
                    .collect();
                HelpRow {
                    context: bnd.context,
                    keys: keys.join(" "),
                    help: bnd.help,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use crossterm::event::{KeyCode, KeyModifiers};

    use super::*;

    fn key(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    #[test]
    fn defaults_resolve() {
        let (km, warn) = Keymap::new(&BTreeMap::new());
        assert!(warn.is_empty(), "{warn:?}");
        assert_eq!(
            km.lookup(
                Context::Input,
                &key(KeyCode::Char('j'), KeyModifiers::CONTROL)
            ),
            Some(Action::Newline)
        );
        assert_eq!(
            km.lookup(Context::Global, &key(KeyCode::BackTab, KeyModifiers::SHIFT)),
            Some(Action::FocusPrev)
        );
        assert_eq!(
            km.lookup(Context::Pane, &key(KeyCode::Char('G'), KeyModifiers::SHIFT)),
            Some(Action::Bottom)
        );
        assert_eq!(
            km.lookup(Context::Input, &key(KeyCode::Enter, KeyModifiers::SHIFT)),
            Some(Action::Newline)
        );
        assert_eq!(
            km.lookup(
                Context::Global,
                &key(KeyCode::Char('?'), KeyModifiers::SHIFT)
            ),
            Some(Action::Help)
        );
    }

    #[test]
    fn overrides_replace_and_bad_ones_warn() {
        let mut o = BTreeMap::new();
        o.insert("toggle_trace".to_string(), "ctrl-g f5".to_string());
        o.insert("nope".to_string(), "x".to_string());
        o.insert("help".to_string(), "ctrl-".to_string());
        let (km, warn) = Keymap::new(&o);
        assert_eq!(warn.len(), 2, "{warn:?}");
        let t = key(KeyCode::Char('t'), KeyModifiers::CONTROL);
        assert_eq!(km.lookup(Context::Global, &t), None);
        assert!(km.is(Action::ToggleTrace, &key(KeyCode::F(5), KeyModifiers::NONE)));
        let rows = km.help_rows();
        assert!(
            rows.iter()
                .any(|r| r.keys == "Ctrl+G F5" && r.help.contains("trace"))
        );
    }

    #[test]
    fn names_are_unique_and_every_default_parses() {
        let mut names: Vec<&str> = BINDINGS.iter().map(|b| b.name).collect();
        names.sort_unstable();
        let n = names.len();
        names.dedup();
        assert_eq!(names.len(), n, "duplicate binding names");
        let (_, warn) = Keymap::new(&BTreeMap::new());
        assert!(warn.is_empty(), "{warn:?}");
    }

    #[test]
    fn no_chord_is_bound_twice_in_one_context() {
        let (km, _) = Keymap::new(&BTreeMap::new());
        for (i, (c, k, a)) in km.entries.iter().enumerate() {
            for (c2, k2, a2) in &km.entries[i + 1..] {
                assert!(
                    !(c == c2 && k == k2),
                    "{} bound to {a:?} and {a2:?} in {c:?}",
                    k.label()
                );
            }
        }
    }

    /// Where one types text, an action on a printable key would fire while typing (issue 11:
    /// typing "elephant" in the history browser exported a session).
    #[test]
    fn screens_with_a_text_box_bind_no_printable_key() {
        let (km, _) = Keymap::new(&BTreeMap::new());
        for (c, k, a) in &km.entries {
            if matches!(
                c,
                Context::Input | Context::History | Context::Edit | Context::Models
            ) {
                let printable = matches!(k.code, KeyCode::Char(_))
                    && !k.mods.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
                assert!(!printable, "{a:?} on {} in {c:?}", k.label());
            }
        }
    }
}
