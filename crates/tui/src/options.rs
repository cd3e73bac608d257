//! What the binary tells the TUI at start.

use std::collections::BTreeMap;

/// Settings of one TUI run (from the config's `[ui]` section and the environment).
#[derive(Debug, Clone)]
pub struct TuiOptions {
    /// A built-in theme name (`default`, `dark`, `light`) or a path to a theme TOML file.
    pub theme: String,
    /// Capture the mouse (wheel scrolling); toggled at run time with Alt+M.
    pub mouse: bool,
    /// Show the tool trace pane at start.
    pub show_trace: bool,
    /// Key overrides: action name -> keys (see `keys::BINDINGS`).
    pub keys: BTreeMap<String, String>,
    /// Shown on the empty start screen, e.g. how to configure a provider when running the mock.
    pub first_run_hint: Option<String>,
    /// NO_COLOR: no colours at all, only bold/reverse/underline.
    pub no_color: bool,
    /// What the slash-command popup offers beside the built-in commands.
    pub slash: SlashInfo,
    /// Make URLs in the conversation clickable with OSC 8 (config `[ui] hyperlinks`, off where
    /// the terminal is known not to understand it). Off by default here so snapshots show text.
    pub hyperlinks: bool,
    /// Whose days and zone dates are shown in (the config's `days`); UTC by default.
    pub calendar: llm_repl_protocol::calendar::Calendar,
}

/// Completion data for slash commands.
#[derive(Debug, Clone, Default)]
pub struct SlashInfo {
    /// Configured provider names, offered after `/provider `.
    pub providers: Vec<String>,
    /// Known model names, offered after `/model `.
    pub models: Vec<String>,
}

impl Default for TuiOptions {
    fn default() -> Self {
        TuiOptions {
            theme: "default".into(),
            mouse: true,
            show_trace: true,
            keys: BTreeMap::new(),
            first_run_hint: None,
            no_color: false,
            slash: SlashInfo::default(),
            hyperlinks: false,
            calendar: llm_repl_protocol::calendar::Calendar::utc(),
        }
    }
}
