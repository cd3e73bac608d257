//! Slash commands: the table (shown by help and the popup), completion, and execution.

use llm_repl_protocol::{ExportFormat, NoticeLevel, Op};

use crate::app::{App, Effect, Focus};
use crate::overlays::Overlay;
use crate::panes::conversation::ItemKind;
use crate::screens::history;

/// One slash command.
pub struct SlashCommand {
    pub name: &'static str,
    pub args: &'static str,
    pub help: &'static str,
}

const fn c(name: &'static str, args: &'static str, help: &'static str) -> SlashCommand {
    SlashCommand { name, args, help }
}

/// Every slash command, in the order the popup offers them.
pub const COMMANDS: &[SlashCommand] = &[
    c("help", "", "keys and commands"),
    c("new", "", "start a new session"),
    c("model", "NAME", "switch the model of the current provider"),
    c("provider", "NAME", "switch to another configured provider"),
    c("trace", "", "show/hide the tool trace pane"),
    c("copy", "", "copy the last answer to the clipboard"),
    c(
        "export",
        "[md|json] [PATH]",
        "write a transcript of this session",
    ),
    c("clear", "", "clear the screen (the session goes on)"),
    c("sessions", "", "browse and search past sessions"),
    c(
        "stats",
        "[DAYS]",
        "usage and cost over the last days (default 30)",
    ),
    c("budget", "session|day|month USD", "set a spending limit"),
    c(
        "approvals",
        "never|on-risk|always",
        "when to ask before a tool runs",
    ),
    c("quit", "", "leave llm-repl"),
];

/// One row of the popup: what it shows and what Tab inserts.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub label: String,
    pub help: String,
    pub insert: String,
}

/// Popup rows for the current input, empty when the popup is closed.
pub fn completions(app: &App) -> Vec<Completion> {
    let text = app.input.text();
    if !text.starts_with('/') || text.starts_with("//") || text.contains('\n') {
        return Vec::new();
    }
    let body = &text[1..];
    match body.split_once(' ') {
        None => COMMANDS
            .iter()
            .filter(|c| c.name.starts_with(body))
            .map(|c| Completion {
                label: format!("/{} {}", c.name, c.args).trim_end().to_string(),
                help: c.help.to_string(),
                insert: if c.args.is_empty() {
                    format!("/{}", c.name)
                } else {
                    format!("/{} ", c.name)
                },
            })
            .collect(),
        Some((cmd, arg)) => {
            let pool = match cmd {
                "model" => &app.options.slash.models,
                "provider" => &app.options.slash.providers,
                _ => return Vec::new(),
            };
            pool.iter()
                .filter(|v| v.starts_with(arg.trim()) && v.as_str() != arg.trim())
                .map(|v| Completion {
                    label: v.clone(),
                    help: String::new(),
                    insert: format!("/{cmd} {v}"),
                })
                .collect()
        }
    }
}

/// Runs a command line such as `/model gpt-4o-mini`.
pub fn run(app: &mut App, line: &str) {
    let line = line.trim_start_matches('/');
    let mut parts = line.split_whitespace();
    let name = parts.next().unwrap_or("");
    let args: Vec<&str> = parts.collect();
    let matches: Vec<&SlashCommand> = COMMANDS
        .iter()
        .filter(|c| c.name.starts_with(name))
        .collect();
    let cmd = match COMMANDS.iter().find(|c| c.name == name) {
        Some(c) => c,
        None if matches.len() == 1 && !name.is_empty() => matches[0],
        _ => {
            app.notice(
                NoticeLevel::Warn,
                format!(
                    "unknown command /{name}: /help lists them (start with // to send a leading /)"
                ),
            );
            return;
        }
    };
    match cmd.name {
        "help" => app.overlay = Some(Overlay::Help { scroll: 0 }),
        "new" => app.send(Op::NewSession),
        "model" | "provider" => match args.first() {
            Some(v) => {
                let v = v.to_string();
                app.send(if cmd.name == "model" {
                    Op::SetModel { model: v }
                } else {
                    Op::SetProvider { provider: v }
                });
            }
            None => {
                let (current, pool) = match (&app.session, cmd.name) {
                    (Some(s), "model") => (s.model.clone(), &app.options.slash.models),
                    (Some(s), _) => (s.provider.clone(), &app.options.slash.providers),
                    (None, "model") => ("?".into(), &app.options.slash.models),
                    (None, _) => ("?".into(), &app.options.slash.providers),
                };
                let known = if pool.is_empty() {
                    String::new()
                } else {
                    format!("; known: {}", pool.join(", "))
                };
                let text = format!(
                    "current {}: {current}. Usage: /{} NAME{known}",
                    cmd.name, cmd.name
                );
                app.notice(NoticeLevel::Info, text);
            }
        },
        "trace" => {
            app.show_trace = !app.show_trace;
            if !app.show_trace && app.focus == Focus::Trace {
                app.focus = Focus::Input;
            }
        }
        "copy" => match app.conv.last_answer().map(str::to_string) {
            Some(text) => {
                let n = text.chars().count();
                app.effect(Effect::Copy(text));
                app.flash(format!("copied the last answer ({n} chars) via OSC 52"));
            }
            None => app.flash("nothing to copy yet"),
        },
        "export" => {
            let mut format = ExportFormat::Markdown;
            let mut path = None;
            for a in args {
                match a {
                    "md" | "markdown" => format = ExportFormat::Markdown,
                    "json" => format = ExportFormat::Json,
                    p => path = Some(p.to_string()),
                }
            }
            app.send(Op::Export {
                id: None,
                format,
                path,
            });
        }
        "clear" => {
            app.conv.clear();
            app.conv.push(
                ItemKind::Notice(NoticeLevel::Info),
                "screen cleared; the session goes on (/new starts a new one)",
            );
        }
        "sessions" => history::open(app),
        "stats" => {
            let days = args.first().and_then(|d| d.parse().ok()).unwrap_or(30);
            app.send(Op::Stats { days });
        }
        "budget" => match (
            args.first().copied(),
            args.get(1)
                .and_then(|v| v.trim_start_matches('$').parse::<f64>().ok()),
        ) {
            (Some(scope @ ("session" | "day" | "month")), Some(limit_usd)) if limit_usd >= 0.0 => {
                app.send(Op::SetBudget {
                    scope: scope.to_string(),
                    limit_usd,
                });
            }
            _ => app.notice(
                NoticeLevel::Warn,
                "usage: /budget session|day|month USD, e.g. /budget day 2.50",
            ),
        },
        "approvals" => match args.first().copied() {
            Some(policy @ ("never" | "on-risk" | "always")) => app.send(Op::SetApprovals {
                policy: policy.to_string(),
            }),
            _ => app.notice(
                NoticeLevel::Warn,
                "usage: /approvals never|on-risk|always (on-risk asks for risky code and writes)",
            ),
        },
        "quit" => app.quit(),
        _ => {}
    }
}
