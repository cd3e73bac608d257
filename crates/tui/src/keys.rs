//! The keymap: ONE table of every binding. The help overlay is generated from it and the config's
//! `[ui.keys]` overrides it (`action_name = "ctrl-t"`, several keys separated by spaces).

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Everything a key can do.
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
    HistorySearch,
    CopyMode,
    ToggleMouse,
    Sessions,
    Approve,
    ApproveSession,
    Deny,
}

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// Anywhere on the chat screen.
    Global,
    /// The prompt input has focus.
    Input,
    /// The conversation or trace pane has focus.
    Pane,
    /// The approval prompt is open.
    Approval,
}

impl Context {
    fn label(self) -> &'static str {
        match self {
            Context::Global => "global",
            Context::Input => "input",
            Context::Pane => "panes",
            Context::Approval => "approval",
        }
    }
}

/// One row of the table.
pub struct Binding {
    pub action: Action,
    /// The name used in config overrides.
    pub name: &'static str,
    pub context: Context,
    pub keys: &'static str,
    pub help: &'static str,
}

const fn b(
    action: Action,
    name: &'static str,
    context: Context,
    keys: &'static str,
    help: &'static str,
) -> Binding {
    Binding {
        action,
        name,
        context,
        keys,
        help,
    }
}

/// THE keymap. Keys are space-separated chords such as `ctrl-c`, `alt-enter`, `f1`, `?`.
pub const BINDINGS: &[Binding] = &[
    b(
        Action::Approve,
        "approve",
        Context::Approval,
        "y",
        "approve this tool call",
    ),
    b(
        Action::ApproveSession,
        "approve_session",
        Context::Approval,
        "a",
        "approve this tool for the session",
    ),
    b(
        Action::Deny,
        "deny",
        Context::Approval,
        "n esc",
        "deny this tool call",
    ),
    b(
        Action::Help,
        "help",
        Context::Global,
        "f1 ?",
        "help (? when the prompt is empty or a pane has focus)",
    ),
    b(
        Action::CtrlC,
        "interrupt_or_quit",
        Context::Global,
        "ctrl-c",
        "interrupt; twice within 2 s quits",
    ),
    b(
        Action::Interrupt,
        "interrupt",
        Context::Global,
        "esc",
        "interrupt the running turn / close overlay",
    ),
    b(
        Action::QuitIfEmpty,
        "quit",
        Context::Global,
        "ctrl-d",
        "quit (on an empty prompt)",
    ),
    b(
        Action::Suspend,
        "suspend",
        Context::Global,
        "ctrl-z",
        "suspend to the shell (fg resumes)",
    ),
    b(
        Action::FocusNext,
        "focus_next",
        Context::Global,
        "tab",
        "focus next pane",
    ),
    b(
        Action::FocusPrev,
        "focus_prev",
        Context::Global,
        "shift-tab",
        "focus previous pane",
    ),
    b(
        Action::ToggleTrace,
        "toggle_trace",
        Context::Global,
        "ctrl-t",
        "show/hide the tool trace",
    ),
    b(
        Action::TraceGrow,
        "trace_grow",
        Context::Global,
        "alt-.",
        "widen the tool trace",
    ),
    b(
        Action::TraceShrink,
        "trace_shrink",
        Context::Global,
        "alt-,",
        "narrow the tool trace",
    ),
    b(
        Action::Sessions,
        "sessions",
        Context::Global,
        "ctrl-o",
        "history browser",
    ),
    b(
        Action::CopyMode,
        "copy_mode",
        Context::Global,
        "ctrl-y",
        "copy mode: pick a message, code block or tool output",
    ),
    b(
        Action::ToggleMouse,
        "toggle_mouse",
        Context::Global,
        "alt-m",
        "mouse capture on/off (off: terminal selection works)",
    ),
    b(
        Action::PageUp,
        "page_up",
        Context::Global,
        "pageup",
        "scroll up (focused pane; conversation from the prompt)",
    ),
    b(
        Action::PageDown,
        "page_down",
        Context::Global,
        "pagedown",
        "scroll down",
    ),
    b(
        Action::Follow,
        "follow",
        Context::Global,
        "ctrl-end",
        "follow the tail again",
    ),
    b(
        Action::Top,
        "top",
        Context::Pane,
        "home g",
        "scroll to the top (Home on an empty prompt: the conversation)",
    ),
    b(
        Action::Bottom,
        "bottom",
        Context::Pane,
        "end G",
        "scroll to the end and follow (End on an empty prompt too)",
    ),
    b(
        Action::LineUp,
        "line_up",
        Context::Pane,
        "up k",
        "scroll up / previous tool run",
    ),
    b(
        Action::LineDown,
        "line_down",
        Context::Pane,
        "down j",
        "scroll down / next tool run",
    ),
    b(
        Action::Submit,
        "submit",
        Context::Input,
        "enter",
        "send the prompt (or run /command)",
    ),
    b(
        Action::Newline,
        "newline",
        Context::Input,
        "alt-enter ctrl-j shift-enter",
        "insert a newline",
    ),
    b(
        Action::HistorySearch,
        "history_search",
        Context::Input,
        "ctrl-r",
        "search earlier prompts",
    ),
];

/// A key with its modifiers, normalised so `shift-a` and `A` compare equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Chord {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl Chord {
    pub fn from_event(ev: &KeyEvent) -> Chord {
        let mut mods =
            ev.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
        let code = match ev.code {
            KeyCode::Char(c) => {
                mods.remove(KeyModifiers::SHIFT);
                if mods.contains(KeyModifiers::CONTROL) {
                    KeyCode::Char(c.to_ascii_lowercase())
                } else {
                    KeyCode::Char(c)
                }
            }
            KeyCode::BackTab => {
                mods.insert(KeyModifiers::SHIFT);
                KeyCode::Tab
            }
            c => c,
        };
        Chord { code, mods }
    }

    /// Parses `ctrl-alt-x`, `shift-tab`, `f1`, `pageup`, `?`, `-`.
    pub fn parse(s: &str) -> Result<Chord, String> {
        let mut mods = KeyModifiers::NONE;
        let mut rest = s.trim();
        loop {
            let lower = rest.to_ascii_lowercase();
            let (m, len) = if lower.starts_with("ctrl-") {
                (KeyModifiers::CONTROL, 5)
            } else if lower.starts_with("alt-") {
                (KeyModifiers::ALT, 4)
            } else if lower.starts_with("shift-") {
                (KeyModifiers::SHIFT, 6)
            } else {
                break;
            };
            if rest.len() == len {
                break;
            }
            mods |= m;
            rest = &rest[len..];
        }
        let lower = rest.to_ascii_lowercase();
        let code = match lower.as_str() {
            "enter" | "return" => KeyCode::Enter,
            "esc" | "escape" => KeyCode::Esc,
            "tab" => KeyCode::Tab,
            "backspace" => KeyCode::Backspace,
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "pageup" | "pgup" => KeyCode::PageUp,
            "pagedown" | "pgdn" => KeyCode::PageDown,
            "delete" | "del" => KeyCode::Delete,
            "space" => KeyCode::Char(' '),
            f if f.len() > 1 && f.starts_with('f') && f[1..].parse::<u8>().is_ok() => {
                KeyCode::F(f[1..].parse::<u8>().unwrap_or(1))
            }
            _ => {
                let mut chars = rest.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => {
                        if mods.contains(KeyModifiers::SHIFT) && c.is_ascii_alphabetic() {
                            mods.remove(KeyModifiers::SHIFT);
                            KeyCode::Char(c.to_ascii_uppercase())
                        } else {
                            KeyCode::Char(c)
                        }
                    }
                    _ => return Err(format!("unknown key {s:?}")),
                }
            }
        };
        let ev = KeyEvent::new(code, mods);
        Ok(Chord::from_event(&ev))
    }

    /// How the help overlay writes it.
    pub fn label(&self) -> String {
        let mut s = String::new();
        if self.mods.contains(KeyModifiers::CONTROL) {
            s.push_str("Ctrl+");
        }
        if self.mods.contains(KeyModifiers::ALT) {
            s.push_str("Alt+");
        }
        if self.mods.contains(KeyModifiers::SHIFT) {
            s.push_str("Shift+");
        }
        match self.code {
            KeyCode::Char(' ') => s.push_str("Space"),
            KeyCode::Char(c)
                if self
                    .mods
                    .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
            {
                s.push(c.to_ascii_uppercase())
            }
            KeyCode::Char(c) => s.push(c),
            KeyCode::F(n) => s.push_str(&format!("F{n}")),
            KeyCode::PageUp => s.push_str("PgUp"),
            KeyCode::PageDown => s.push_str("PgDn"),
            other => s.push_str(&format!("{other:?}")),
        }
        s
    }
}

/// The table with the user's overrides applied.
#[derive(Debug, Clone)]
pub struct Keymap {
    entries: Vec<(Context, Chord, Action)>,
}

impl Keymap {
    /// Builds the keymap; each override replaces every default key of its action. Bad overrides
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

    /// Rows for the help overlay: (context, keys, description), in table order.
    pub fn help_rows(&self) -> Vec<(&'static str, String, &'static str)> {
        BINDINGS
            .iter()
            .map(|bnd| {
                let keys: Vec<String> = self
                    .entries
                    .iter()
                    .filter(|(c, _, a)| *c == bnd.context && *a == bnd.action)
                    .map(|(_, k, _)| k.label())
                    .collect();
                (bnd.context.label(), keys.join(" "), bnd.help)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
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
                .any(|(_, k, h)| k == "Ctrl+G F5" && h.contains("trace"))
        );
    }
}
