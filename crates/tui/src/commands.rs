//! Slash commands: one typed table (it generates the popup's completion and the help overlay),
//! argument checking, and execution. Every command of the table is handled (the match on
//! [`Slash`] is exhaustive), and an unknown one or a bad argument says so.

use llm_repl_protocol::{ApprovalPolicy, BudgetScope, ExportFormat, NoticeLevel, Op};

use crate::app::{App, Effect, Focus};
use crate::overlays::Overlay;
use crate::panes::conversation::ItemKind;
use crate::screens::history;

/// What a slash command does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slash {
    Help,
    New,
    Model,
    Provider,
    Trace,
    Copy,
    Export,
    Clear,
    Sessions,
    Stats,
    Budget,
    Approvals,
    Retry,
    Edit,
    Fork,
    Quit,
}

/// One slash command.
pub struct SlashCommand {
    pub cmd: Slash,
    pub name: &'static str,
    pub args: &'static str,
    pub help: &'static str,
}

const fn c(cmd: Slash, name: &'static str, args: &'static str, help: &'static str) -> SlashCommand {
    SlashCommand {
        cmd,
        name,
        args,
        help,
    }
}

/// Every slash command, in the order the popup offers them.
#[rustfmt::skip]
pub const COMMANDS: &[SlashCommand] = &[
    c(Slash::Help, "help", "", "keys and commands"),
    c(Slash::New, "new", "", "start a new session"),
    c(Slash::Model, "model", "[NAME]", "switch the model from the next call; no name: pick from a list"),
    c(Slash::Provider, "provider", "[NAME]", "switch provider from the next call; no name: show it"),
    c(Slash::Trace, "trace", "", "show/hide the tool trace pane"),
    c(Slash::Copy, "copy", "", "copy the last answer to the clipboard"),
    c(Slash::Export, "export", "[md|json] [PATH]", "write this session's transcript (never overwrites)"),
    c(Slash::Clear, "clear", "", "clear the screen (the session goes on)"),
    c(Slash::Sessions, "sessions", "", "browse and search past sessions"),
    c(Slash::Stats, "stats", "[DAYS]", "usage and cost of the last DAYS days (default 30)"),
    c(Slash::Budget, "budget", "[session|day|month USD]", "set a spending limit (0 removes); none: show them"),
    c(Slash::Approvals, "approvals", "[never|on-risk|always]", "when tools need approval; none: show it"),
    c(Slash::Retry, "retry", "", "drop the last answer and run the last prompt again"),
    c(Slash::Edit, "edit", "", "edit the last prompt; sending replaces it and its answer"),
    c(Slash::Fork, "fork", "[N]", "copy this session (through prompt N's answer) into a new linked one"),
    c(Slash::Quit, "quit", "", "leave llm-repl"),
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
            let fixed: Vec<String>;
            let pool = match cmd {
                "model" => &app.options.slash.models,
                "provider" => &app.options.slash.providers,
                "approvals" => {
                    fixed = ApprovalPolicy::ALL
                        .iter()
                        .map(|p| p.as_str().into())
                        .collect();
                    &fixed
                }
                "budget" if !arg.contains(' ') => {
                    fixed = BudgetScope::ALL.iter().map(|s| s.as_str().into()).collect();
                    &fixed
                }
                "export" if !arg.contains(' ') => {
                    fixed = vec!["md".into(), "json".into()];
                    &fixed
                }
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
    let takes_args = !cmd.args.is_empty();
    if !takes_args && !args.is_empty() {
        app.notice(
            NoticeLevel::Warn,
            format!(
                "/{} takes no arguments (got “{}”)",
                cmd.name,
                args.join(" ")
            ),
        );
        return;
    }
    match cmd.cmd {
        Slash::Help => app.overlay = Some(Overlay::Help { scroll: 0 }),
        Slash::New => app.send(Op::NewSession),
        Slash::Model | Slash::Provider => match args.as_slice() {
            [v] => {
                let v = v.to_string();
                app.send(if cmd.cmd == Slash::Model {
                    Op::SetModel { model: v }
                } else {
                    Op::SetProvider { provider: v }
                });
            }
            [] if cmd.cmd == Slash::Model => crate::overlays::model_picker::open(app),
            [] => {
                let (current, pool) = match (&app.session, cmd.cmd) {
                    (Some(s), Slash::Model) => (s.model.clone(), &app.options.slash.models),
                    (Some(s), _) => (s.provider.clone(), &app.options.slash.providers),
                    (None, Slash::Model) => ("?".into(), &app.options.slash.models),
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
            _ => usage(app, cmd),
        },
        Slash::Trace => {
            app.show_trace = !app.show_trace;
            if !app.show_trace && app.focus == Focus::Trace {
                app.focus = Focus::Input;
            }
        }
        Slash::Copy => match app.conv.last_answer().map(str::to_string) {
            Some(text) => {
                let n = text.chars().count();
                app.effect(Effect::Copy(text));
                app.flash(format!("copied the last answer ({n} chars) via OSC 52"));
            }
            None => app.flash("nothing to copy yet"),
        },
        Slash::Export => match export_args(&args) {
            Ok((format, path)) => app.send(Op::Export {
                id: None,
                format,
                path,
            }),
            Err(e) => {
                app.notice(NoticeLevel::Error, e.clone());
                app.flash(e);
            }
        },
        Slash::Clear => {
            app.rewind.cleared_prompts += app.prompts_on_screen();
            app.conv.clear();
            app.conv.push(
                ItemKind::Notice(NoticeLevel::Info),
                "screen cleared; the session goes on (/new starts a new one)",
            );
        }
        Slash::Sessions => history::open(app),
        Slash::Stats => match args.as_slice() {
            [] => app.send(Op::Stats { days: 30 }),
            [d] => match d.parse::<u32>() {
                Ok(days @ 1..=3650) => app.send(Op::Stats { days }),
                _ => app.notice(
                    NoticeLevel::Error,
                    format!("/stats: “{d}” is not a number of days (1 to 3650), e.g. /stats 7"),
                ),
            },
            _ => usage(app, cmd),
        },
        Slash::Budget => match args.as_slice() {
            [] => app.send(Op::ShowBudget),
            [scope, usd] => match (
                BudgetScope::parse(scope),
                usd.trim_start_matches('$').parse::<f64>(),
            ) {
                (Some(scope), Ok(limit_usd)) if limit_usd >= 0.0 && limit_usd.is_finite() => {
                    app.send(Op::SetBudget { scope, limit_usd });
                }
                _ => usage(app, cmd),
            },
            _ => usage(app, cmd),
        },
        Slash::Approvals => match args.as_slice() {
            [] => app.send(Op::ShowApprovals),
            [p] => match ApprovalPolicy::parse(p) {
                Some(policy) => app.send(Op::SetApprovals { policy }),
                None => usage(app, cmd),
            },
            _ => usage(app, cmd),
        },
        Slash::Retry => app.retry(),
        Slash::Edit => app.edit_last(),
        Slash::Fork => match args.as_slice() {
            [] => app.fork(None),
            [n] => match n.trim_start_matches('#').parse::<u32>() {
                Ok(n @ 1..) => app.fork(Some(n)),
                _ => usage(app, cmd),
            },
            _ => usage(app, cmd),
        },
        Slash::Quit => app.quit(),
    }
}

fn usage(app: &mut App, cmd: &SlashCommand) {
    app.notice(
        NoticeLevel::Error,
        format!("usage: /{} {} ({})", cmd.name, cmd.args, cmd.help),
    );
}

/// `/export [md|json] [PATH]`: a format word, a path (it has a / or an extension), or both. An
/// unknown format or a path whose extension names another format is refused.
pub fn export_args(args: &[&str]) -> Result<(ExportFormat, Option<String>), String> {
    let format_of = |w: &str| match w.to_ascii_lowercase().as_str() {
        "md" | "markdown" => Some(ExportFormat::Markdown),
        "json" => Some(ExportFormat::Json),
        _ => None,
    };
    let mut format = None;
    let mut path: Option<String> = None;
    for a in args {
        if let Some(f) = format_of(a) {
            if format.replace(f).is_some() {
                return Err("/export: give one format, md or json".into());
            }
            continue;
        }
        let ext = std::path::Path::new(a)
            .extension()
            .map(|e| e.to_string_lossy().into_owned());
        match ext {
            None if !a.contains('/') => {
                return Err(format!(
                    "/export: unknown format “{a}”: use md or json (a file name needs an extension or a /)"
                ));
            }
            Some(e) if format_of(&e).is_none() => {
                return Err(format!("/export: cannot write .{e} files: use md or json"));
            }
            _ => {}
        }
        if path.replace(a.to_string()).is_some() {
            return Err("/export: give one path".into());
        }
    }
    let from_path = path
        .as_deref()
        .and_then(|p| std::path::Path::new(p).extension())
        .and_then(|e| format_of(&e.to_string_lossy()));
    let format = match (format, from_path) {
        (Some(f), Some(p)) if f != p => {
            return Err("/export: the format and the file's extension disagree".into());
        }
        (Some(f), _) | (None, Some(f)) => f,
        (None, None) => ExportFormat::Markdown,
    };
    Ok((format, path))
}
