//! THE table of every key binding of every screen, pane and overlay. Nothing else in the TUI
//! names a key: handlers look actions up by context, the help overlay and the footers are
//! generated from here, and `[ui.keys]` in the config overrides any row by its name.
//!
//! Typing text is not a binding: printable keys, Backspace and Delete edit whatever text box
//! has the keyboard (the prompt, the history browser's search or rename box), so no action
//! of a screen where one types may sit on a printable key.

use super::{Action, Binding, Context};

const fn b(
    context: Context,
    action: Action,
    name: &'static str,
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

use Action as A;
use Context as C;

/// Keys are space-separated chords such as `ctrl-c`, `alt-enter`, `f1`, `?`, `shift-tab`.
#[rustfmt::skip]
pub const BINDINGS: &[Binding] = &[
    // The chat screen, whichever pane has focus.
    b(C::Global, A::Help, "help", "f1 ?", "this help (? when the prompt is empty or a pane has focus)"),
    b(C::Global, A::CtrlC, "interrupt_or_quit", "ctrl-c", "interrupt the turn, else clear the prompt; twice within 2 s quits"),
    b(C::Global, A::Interrupt, "interrupt", "esc", "interrupt the running turn (a queued prompt first goes back to the box)"),
    b(C::Global, A::QuitIfEmpty, "quit", "ctrl-d", "quit (on an empty prompt)"),
    b(C::Global, A::Suspend, "suspend", "ctrl-z", "suspend to the shell (fg resumes)"),
    b(C::Global, A::FocusNext, "focus_next", "tab", "focus the next pane"),
    b(C::Global, A::FocusPrev, "focus_prev", "shift-tab", "focus the previous pane"),
    b(C::Global, A::ToggleTrace, "toggle_trace", "ctrl-t", "show/hide the tool trace"),
    b(C::Global, A::TraceGrow, "trace_grow", "alt-.", "widen the tool trace"),
    b(C::Global, A::TraceShrink, "trace_shrink", "alt-,", "narrow the tool trace"),
    b(C::Global, A::Sessions, "sessions", "ctrl-o", "history browser"),
    b(C::Global, A::CopyMode, "copy_mode", "ctrl-y", "copy mode: pick a message, code block or tool output"),
    b(C::Global, A::ToggleMouse, "toggle_mouse", "alt-m", "mouse capture on/off (off: the terminal's selection works)"),
    b(C::Global, A::PageUp, "page_up", "pageup", "scroll up (the focused pane; the conversation from the prompt)"),
    b(C::Global, A::PageDown, "page_down", "pagedown", "scroll down"),
    b(C::Global, A::Follow, "follow", "ctrl-end", "follow the tail again"),
    // The prompt.
    b(C::Input, A::Submit, "submit", "enter", "send the prompt (queued while a turn runs) or run a /command"),
    b(C::Input, A::Newline, "newline", "alt-enter ctrl-j shift-enter", "insert a newline"),
    b(C::Input, A::ExternalEditor, "external_editor", "ctrl-g", "edit the prompt in $VISUAL / $EDITOR (vi); the result replaces the box"),
    b(C::Input, A::HistorySearch, "history_search", "ctrl-r", "search earlier prompts"),
    b(C::Input, A::LineUp, "prompt_up", "up", "cursor up; on the first row: the previous prompt"),
    b(C::Input, A::LineDown, "prompt_down", "down", "cursor down; on the last row: the next prompt"),
    b(C::Input, A::CursorLeft, "cursor_left", "left ctrl-b", "cursor left"),
    b(C::Input, A::CursorRight, "cursor_right", "right ctrl-f", "cursor right"),
    b(C::Input, A::WordLeft, "word_left", "alt-b ctrl-left", "back one word"),
    b(C::Input, A::WordRight, "word_right", "alt-f ctrl-right", "forward one word"),
    b(C::Input, A::LineStart, "line_start", "ctrl-a home", "start of the line (Home on an empty prompt: top of the conversation)"),
    b(C::Input, A::LineEnd, "line_end", "ctrl-e end", "end of the line (End on an empty prompt: follow the conversation)"),
    b(C::Input, A::KillToStart, "kill_to_start", "ctrl-u", "delete to the start of the line"),
    b(C::Input, A::KillToEnd, "kill_to_end", "ctrl-k", "delete to the end of the line"),
    b(C::Input, A::KillWordBack, "kill_word", "ctrl-w alt-backspace ctrl-backspace", "delete the word before the cursor"),
    b(C::Input, A::KillWordForward, "kill_word_forward", "alt-d", "delete the word after the cursor"),
    b(C::Input, A::DeleteForward, "delete_forward", "ctrl-d", "delete the character under the cursor (on an empty prompt: quit)"),
    b(C::Input, A::Undo, "undo", "ctrl-_ ctrl-7 ctrl-/", "undo (terminals send Ctrl+_ and Ctrl+/ as Ctrl+7)"),
    b(C::Input, A::Redo, "redo", "alt-r", "redo"),
    // The conversation and the tool trace, when focused.
    b(C::Pane, A::Top, "top", "home g", "scroll to the top"),
    b(C::Pane, A::Bottom, "bottom", "end G", "scroll to the end and follow"),
    b(C::Pane, A::LineUp, "line_up", "up k", "scroll up / the previous tool run"),
    b(C::Pane, A::LineDown, "line_down", "down j", "scroll down / the next tool run"),
    b(C::Pane, A::Retry, "retry", "r", "regenerate: drop the last answer and run the last prompt again (/retry)"),
    b(C::Pane, A::EditLast, "edit_last", "e", "edit the last prompt; sending it replaces that prompt and its answer (/edit)"),
    b(C::Pane, A::Fork, "fork", "f", "fork this session into a new one with the whole history (/fork)"),
    // The slash-command popup (open while the prompt starts with /).
    b(C::Palette, A::LineUp, "palette_up", "up", "previous command"),
    b(C::Palette, A::LineDown, "palette_down", "down", "next command"),
    b(C::Palette, A::Complete, "palette_complete", "tab", "complete the command"),
    b(C::Palette, A::Accept, "palette_run", "enter", "run the command"),
    b(C::Palette, A::Close, "palette_close", "esc", "clear the prompt"),
    // Ctrl+R search over earlier prompts.
    b(C::Search, A::SearchOlder, "search_older", "ctrl-r", "the next older match"),
    b(C::Search, A::Accept, "search_accept", "enter", "take the match into the prompt"),
    b(C::Search, A::Close, "search_cancel", "esc", "cancel the search"),
    // A tool call waiting for approval.
    b(C::Approval, A::Approve, "approve", "y", "approve this tool call"),
    b(C::Approval, A::ApproveSession, "approve_session", "a", "approve this tool for the session"),
    b(C::Approval, A::Deny, "deny", "n esc", "deny this tool call"),
    // The history browser: typing goes to the search box; actions are on keys one cannot type.
    b(C::History, A::LineUp, "history_up", "up ctrl-p", "previous session or hit"),
    b(C::History, A::LineDown, "history_down", "down ctrl-n", "next session or hit"),
    b(C::History, A::PageUp, "history_page_up", "pageup", "ten rows up"),
    b(C::History, A::PageDown, "history_page_down", "pagedown", "ten rows down"),
    b(C::History, A::Top, "history_top", "home", "first row"),
    b(C::History, A::Bottom, "history_bottom", "end", "last row"),
    b(C::History, A::Accept, "history_open", "enter", "resume the selected session"),
    b(C::History, A::Rename, "history_rename", "f2 ctrl-r", "rename the selected session"),
    b(C::History, A::Delete, "history_delete", "delete f8", "delete the selected session (asks first)"),
    b(C::History, A::ExportMarkdown, "history_export_md", "ctrl-e f5", "export the selected session as Markdown"),
    b(C::History, A::ExportJson, "history_export_json", "alt-e f6", "export the selected session as JSON"),
    b(C::History, A::ClearLine, "history_clear_search", "ctrl-u", "clear the search"),
    b(C::History, A::Close, "history_close", "esc ctrl-o", "clear the search, else back to the chat"),
    // Renaming a session or confirming a delete in the history browser.
    b(C::Edit, A::Accept, "edit_accept", "enter", "save the new title"),
    b(C::Edit, A::ClearLine, "edit_clear", "ctrl-u", "clear the title"),
    b(C::Edit, A::Close, "edit_cancel", "esc", "cancel"),
    b(C::Confirm, A::Accept, "confirm_yes", "y enter", "yes (any other key: no)"),
    // The usage report (/stats).
    b(C::Stats, A::LineUp, "stats_up", "up k", "scroll up"),
    b(C::Stats, A::LineDown, "stats_down", "down j", "scroll down"),
    b(C::Stats, A::PageUp, "stats_page_up", "pageup", "page up"),
    b(C::Stats, A::PageDown, "stats_page_down", "pagedown space", "page down"),
    b(C::Stats, A::Top, "stats_top", "home g", "top"),
    b(C::Stats, A::Bottom, "stats_bottom", "end G", "bottom"),
    b(C::Stats, A::Left, "stats_left", "left h", "pan left (wide tables)"),
    b(C::Stats, A::Right, "stats_right", "right l", "pan right"),
    b(C::Stats, A::Close, "stats_close", "esc q", "back to the chat"),
    // Copy mode (Ctrl+Y).
    b(C::Copy, A::LineUp, "copy_up", "up k", "previous item"),
    b(C::Copy, A::LineDown, "copy_down", "down j", "next item"),
    b(C::Copy, A::PageUp, "copy_page_up", "pageup", "ten items up"),
    b(C::Copy, A::PageDown, "copy_page_down", "pagedown", "ten items down"),
    b(C::Copy, A::Top, "copy_top", "home g", "first item"),
    b(C::Copy, A::Bottom, "copy_bottom", "end G", "last item"),
    b(C::Copy, A::Accept, "copy_pick", "enter y c", "copy the selected item (OSC 52)"),
    b(C::Copy, A::Fork, "copy_fork", "f", "fork the session through the selected prompt's answer (/fork N)"),
    b(C::Copy, A::Close, "copy_close", "esc q", "leave copy mode"),
    // The model picker (/model with no name): typing goes to the filter.
    b(C::Models, A::LineUp, "models_up", "up ctrl-p", "previous model"),
    b(C::Models, A::LineDown, "models_down", "down ctrl-n", "next model"),
    b(C::Models, A::PageUp, "models_page_up", "pageup", "ten rows up"),
    b(C::Models, A::PageDown, "models_page_down", "pagedown", "ten rows down"),
    b(C::Models, A::Accept, "models_pick", "enter", "switch to the selected model from the next call (a route: switch to it)"),
    b(C::Models, A::ClearLine, "models_clear_filter", "ctrl-u", "clear the filter"),
    b(C::Models, A::Close, "models_close", "esc", "close without switching"),
    // This help.
    b(C::Help, A::LineUp, "help_up", "up k", "scroll up"),
    b(C::Help, A::LineDown, "help_down", "down j", "scroll down"),
    b(C::Help, A::PageUp, "help_page_up", "pageup", "page up"),
    b(C::Help, A::PageDown, "help_page_down", "pagedown space", "page down"),
    b(C::Help, A::Top, "help_top", "home g", "top"),
    b(C::Help, A::Bottom, "help_bottom", "end G", "bottom"),
    b(C::Help, A::Close, "help_close", "esc q ? f1", "close the help"),
];
