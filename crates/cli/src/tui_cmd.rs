//! `llm-repl` with no command: the full-screen interface over the agent.

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Context;
use llm_repl_protocol::NoticeLevel;
use llm_repl_service::Open;
use llm_repl_tui::{SlashInfo, TuiOptions};

use crate::service_cmd;
use crate::settings::Settings;

pub fn run(mut settings: Settings) -> anyhow::Result<ExitCode> {
    require_terminal()?;
    let trust_notice = decide_trust(&mut settings)?;
    // Before the runtime: starting the service blocks until its socket answers.
    let service = if settings.in_process() {
        None
    } else {
        Some(service_cmd::ensure_service(&settings)?)
    };
    let runtime = runtime()?;
    runtime.block_on(async move {
        // The start-up check (no network): anything not ok is shown as a notice.
        let notices = crate::doctor::quick_checks(&settings)
            .await
            .into_iter()
            .filter_map(|c| {
                let level = match c.status {
                    crate::doctor::Status::Ok => return None,
                    crate::doctor::Status::Warn => NoticeLevel::Warn,
                    crate::doctor::Status::Fail => NoticeLevel::Error,
                };
                let fix = c.fix.map(|f| format!(" ({f})")).unwrap_or_default();
                Some((
                    level,
                    format!("start-up check: {}: {}{fix}", c.name, c.detail),
                ))
            })
            .collect::<Vec<_>>();
        let mut notices = notices;
        notices.extend(trust_notice);
        let link = match &service {
            None => service_cmd::in_process(&settings, true, notices, false).await?,
            Some(paths) => {
                let mut spec = service_cmd::spec(&settings, true, "tui")?;
                spec.notices = notices;
                service_cmd::connect(paths, Open::Session { spec }).await?
            }
        };
        let mock = is_mock(&settings);
        show(&settings, link, mock.then(|| FIRST_RUN_HINT.to_string())).await
    })
}

/// `llm-repl attach [ID]`: the full-screen interface on a session another terminal uses.
pub fn attach(settings: Settings, id: Option<String>) -> anyhow::Result<ExitCode> {
    require_terminal()?;
    if settings.in_process() {
        anyhow::bail!("attach joins a session in the agent service: drop --standalone/--no-store");
    }
    let paths = service_cmd::ensure_service(&settings)?;
    let runtime = runtime()?;
    runtime.block_on(async move {
        // A stored session nobody has open is reopened here without the workspace's plugins.
        let spec = service_cmd::spec(&settings, true, "attach")?;
        let link = service_cmd::connect(&paths, Open::Attach { session: id, spec }).await?;
        show(&settings, link, None).await
    })
}

fn require_terminal() -> anyhow::Result<()> {
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        anyhow::bail!(
            "the full-screen interface needs a terminal; for pipes and scripts use \
             `llm-repl exec \"PROMPT\"` (or `llm-repl exec -` to read the prompt from stdin)"
        );
    }
    Ok(())
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Whether the chosen provider is the offline mock (for the first-run hint).
fn is_mock(settings: &Settings) -> bool {
    llm_repl_providers::resolve(&settings.provider, &settings.config, &crate::settings::env)
        .is_ok_and(|r| r.kind == "mock")
}

/// Runs the screen over `link` until the user quits.
async fn show(
    settings: &Settings,
    link: service_cmd::Link,
    first_run_hint: Option<String>,
) -> anyhow::Result<ExitCode> {
    let ui = &settings.config.ui;
    let options = TuiOptions {
        theme: ui.theme.clone(),
        mouse: ui.mouse,
        show_trace: ui.show_trace,
        keys: ui.keys.clone(),
        first_run_hint,
        no_color: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
        slash: SlashInfo {
            providers: provider_names(settings),
            models: Vec::new(),
        },
        hyperlinks: ui.hyperlinks && terminal_shows_osc8(std::env::var("TERM").ok()),
        calendar: settings.calendar(),
    };
    let exit = llm_repl_tui::run(options, link.ops, link.events)
        .await
        .context("the terminal interface failed")?;
    // The terminal is back: say how to come back to this conversation.
    if let Some(id) = exit.session_id.filter(|_| !settings.no_store) {
        println!("to resume this session: llm-repl --resume {id}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Asks once per directory, before the full screen starts, whether the workspace is trusted
/// (only when it carries something to load or is `$HOME` or `/`). A `$HOME` or `/` that is not
/// trusted does not start; elsewhere the session starts without the workspace's plugins and a
/// notice says so.
fn decide_trust(settings: &mut Settings) -> anyhow::Result<Option<(NoticeLevel, String)>> {
    let ws = crate::trust::Workspace::inspect(&settings.workdir()?);
    if !ws.needs_trust() {
        return Ok(None);
    }
    let trusted = match crate::trust::known(settings, &ws) {
        Some(answer) => answer,
        None => crate::trust::ask(settings, &ws)?,
    };
    settings.workspace_trusted = trusted;
    if trusted {
        return Ok(None);
    }
    if let Some(what) = ws.too_wide {
        anyhow::bail!(
            "not started in {what} ({}): start llm-repl in a project directory, or pass --trust \
             to confirm",
            ws.dir.display()
        );
    }
    Ok(Some((
        NoticeLevel::Warn,
        format!(
            "workspace not trusted: its plugin tools were not loaded ({}); restart with --trust \
             to trust {}",
            ws.listing(),
            ws.dir.display()
        ),
    )))
}

const FIRST_RUN_HINT: &str = "No provider is configured, so this is the offline mock model. \
Try: compute 2**64 with python. For a real model: export OPENAI_API_KEY (or GROQ_API_KEY, \
OPENROUTER_API_KEY) and restart, or run `llm-repl config init` and edit the file it writes.";

fn provider_names(settings: &Settings) -> Vec<String> {
    let mut names: Vec<String> = llm_repl_providers::presets::PRESETS
        .iter()
        .map(|s| s.to_string())
        .collect();
    for name in settings.config.providers.keys() {
        if !names.contains(name) {
            names.push(name.clone());
        }
    }
    names
}

/// Whether a terminal can be sent OSC 8 hyperlinks: most terminals either support them or drop
/// unknown OSC sequences silently; the Linux console and `dumb` terminals would print them.
fn terminal_shows_osc8(term: Option<String>) -> bool {
    !matches!(term.as_deref(), None | Some("" | "dumb" | "linux"))
}

#[cfg(test)]
mod osc8_tests {
    #[test]
    fn hyperlinks_are_off_where_the_terminal_would_print_them() {
        use super::terminal_shows_osc8 as ok;
        assert!(ok(Some("xterm-256color".into())));
        assert!(ok(Some("tmux-256color".into())));
        assert!(!ok(Some("linux".into())));
        assert!(!ok(Some("dumb".into())));
        assert!(!ok(None));
    }
}
