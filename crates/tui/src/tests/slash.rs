//! Slash commands typed into the prompt: the Ops they send, completion, local commands, and
//! the argument checks (issue 11 items 9 and 11, issue 12 item 10).

use crossterm::event::KeyCode;
use llm_repl_protocol::{Event, ExportFormat, Op};

use super::fixtures::*;
use crate::app::Effect;
use crate::overlays::Overlay;

#[test]
fn slash_commands_send_their_ops() {
    let cases: Vec<(&str, Op)> = vec![
        ("/new", Op::NewSession),
        (
            "/model gpt-4o",
            Op::SetModel {
                model: "gpt-4o".into(),
            },
        ),
        (
            "/provider openai",
            Op::SetProvider {
                provider: "openai".into(),
            },
        ),
        (
            "/export json out.json",
            Op::Export {
                id: None,
                format: ExportFormat::Json,
                path: Some("out.json".into()),
            },
        ),
        (
            "/export",
            Op::Export {
                id: None,
                format: ExportFormat::Markdown,
                path: None,
            },
        ),
        ("/stats", Op::Stats { days: 30 }),
        ("/stats 7", Op::Stats { days: 7 }),
        (
            "/sessions",
            Op::ListSessions {
                offset: 0,
                limit: 50,
            },
        ),
        (
            "/budget day $2.50",
            Op::SetBudget {
                scope: llm_repl_protocol::BudgetScope::Day,
                limit_usd: 2.5,
            },
        ),
        (
            "/approvals always",
            Op::SetApprovals {
                policy: llm_repl_protocol::ApprovalPolicy::Always,
            },
        ),
    ];
    for (line, op) in cases {
        let mut app = app();
        type_str(&mut app, line);
        press(&mut app, key(KeyCode::Enter));
        assert_eq!(ops(&mut app), vec![op], "{line}");
    }
}

#[test]
fn slash_popup_completes_and_runs_local_commands() {
    let mut app = app();
    type_str(&mut app, "/he");
    press(&mut app, key(KeyCode::Enter));
    assert!(matches!(app.overlay, Some(Overlay::Help { .. })));
    press(&mut app, key(KeyCode::Esc));
    assert!(app.overlay.is_none());

    type_str(&mut app, "/mo");
    press(&mut app, key(KeyCode::Tab));
    assert_eq!(app.input.text(), "/model ");
    type_str(&mut app, "gpt");
    press(&mut app, key(KeyCode::Down));
    press(&mut app, key(KeyCode::Tab));
    assert_eq!(app.input.text(), "/model gpt-4o-mini");

    app.input.set_text("");
    type_str(&mut app, "/trace");
    press(&mut app, key(KeyCode::Enter));
    assert!(!app.show_trace);

    tool_finished(&mut app);
    type_str(&mut app, "/copy");
    press(&mut app, key(KeyCode::Enter));
    let eff = app.drain_effects();
    assert_eq!(
        eff,
        vec![Effect::Copy(
            "The roots are 0, 1 and about **1.414**.".into()
        )]
    );

    type_str(&mut app, "/quit");
    press(&mut app, key(KeyCode::Enter));
    assert_eq!(app.drain_effects(), vec![Effect::Quit]);
}

#[test]
fn double_slash_sends_a_literal_slash() {
    let mut app = app();
    type_str(&mut app, "//etc/passwd?");
    press(&mut app, key(KeyCode::Enter));
    assert_eq!(
        ops(&mut app),
        vec![Op::Submit {
            text: "/etc/passwd?".into()
        }]
    );
}

/// Issue 11 item 11 and issue 12 item 10: slash commands check their arguments and say so.
#[test]
fn slash_commands_check_arguments() {
    use llm_repl_protocol::{ApprovalPolicy, BudgetScope};
    let mut app = app();
    let run = |app: &mut crate::app::App, line: &str| {
        app.input.set_text(line);
        press(app, key(KeyCode::Enter));
        let last = app
            .conv
            .items
            .last()
            .map(|i| i.text.clone())
            .unwrap_or_default();
        (ops(app), last)
    };
    let (sent, said) = run(&mut app, "/stats abc");
    assert!(sent.is_empty(), "{sent:?}");
    assert!(said.contains("not a number of days"), "{said}");
    assert_eq!(run(&mut app, "/stats 7").0, vec![Op::Stats { days: 7 }]);
    assert_eq!(run(&mut app, "/budget").0, vec![Op::ShowBudget]);
    assert_eq!(run(&mut app, "/approvals").0, vec![Op::ShowApprovals]);
    assert_eq!(
        run(&mut app, "/approvals on-risk").0,
        vec![Op::SetApprovals {
            policy: ApprovalPolicy::OnRisk
        }]
    );
    assert_eq!(
        run(&mut app, "/budget day 2.50").0,
        vec![Op::SetBudget {
            scope: BudgetScope::Day,
            limit_usd: 2.5
        }]
    );
    let (sent, said) = run(&mut app, "/budget week 3");
    assert!(
        sent.is_empty() && said.starts_with("usage: /budget"),
        "{said}"
    );
    let (sent, said) = run(&mut app, "/approvals sometimes");
    assert!(
        sent.is_empty() && said.starts_with("usage: /approvals"),
        "{said}"
    );
    let (sent, said) = run(&mut app, "/frobnicate");
    assert!(
        sent.is_empty() && said.contains("unknown command /frobnicate"),
        "{said}"
    );
    let (sent, said) = run(&mut app, "/new now");
    assert!(
        sent.is_empty() && said.contains("takes no arguments"),
        "{said}"
    );
}

/// Issue 11 item 9: `/export pdf` wrote a markdown file named `pdf`.
#[test]
fn export_formats_are_validated() {
    let mut app = app();
    let run = |app: &mut crate::app::App, line: &str| {
        app.input.set_text(line);
        press(app, key(KeyCode::Enter));
        ops(app)
    };
    for bad in [
        "/export pdf",
        "/export out.pdf",
        "/export json out.md",
        "/export md json",
    ] {
        assert!(run(&mut app, bad).is_empty(), "{bad} was sent");
        let said = app
            .conv
            .items
            .last()
            .map(|i| i.text.clone())
            .unwrap_or_default();
        assert!(said.starts_with("/export"), "{bad}: {said}");
        let status = app.flash.as_ref().map(|f| f.0.clone()).unwrap_or_default();
        assert!(
            status.starts_with("/export"),
            "the status shows it: {status}"
        );
    }
    let export = |format, path: Option<&str>| Op::Export {
        id: None,
        format,
        path: path.map(str::to_string),
    };
    assert_eq!(
        run(&mut app, "/export"),
        vec![export(ExportFormat::Markdown, None)]
    );
    assert_eq!(
        run(&mut app, "/export json"),
        vec![export(ExportFormat::Json, None)]
    );
    assert_eq!(
        run(&mut app, "/export notes/today.json"),
        vec![export(ExportFormat::Json, Some("notes/today.json"))]
    );
    assert_eq!(
        run(&mut app, "/export md ./t"),
        vec![export(ExportFormat::Markdown, Some("./t"))]
    );
    // A failed export replaces an earlier success in the status line.
    app.apply_event(Event::Exported {
        id: "s-1".into(),
        path: "/tmp/a.md".into(),
    });
    app.apply_event(Event::Error {
        message: "export failed: /tmp/a.md already exists: not overwritten".into(),
    });
    let status = app.flash.as_ref().map(|f| f.0.clone()).unwrap_or_default();
    assert!(status.starts_with("export failed"), "{status}");
}
