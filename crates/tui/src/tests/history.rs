//! The history browser: what it asks the agent for and what it shows.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use insta::assert_snapshot;
use llm_repl_protocol::{Event, ExportFormat, Op, Role, SearchHit, SessionSummary, Usage};

use super::fixtures::*;
use crate::app::{App, Screen};

fn summaries(n: u64) -> Vec<SessionSummary> {
    (0..n)
        .map(|i| SessionSummary {
            id: format!("s-{i:03}"),
            title: format!("Plot the primes below {}", 100 * (i + 1)),
            created_ms: 1_795_000_000_000 - i * 86_400_000,
            updated_ms: 1_795_000_000_000 - i * 86_400_000 + 600_000,
            provider: "openai".into(),
            model: "gpt-4o-mini".into(),
            messages: 4 + 2 * i,
            usage: Usage {
                input: 1500 * (i + 1),
                output: 400 * (i + 1),
                ..Usage::default()
            },
            cost_usd: if i == 1 {
                None
            } else {
                Some(0.0021 * (i + 1) as f64)
            },
            parent: None,
        })
        .collect()
}

fn hit(session: u64, seq: u64, role: Role, snippet: &str, word: &str) -> SearchHit {
    let start = snippet.find(word).unwrap_or(0);
    SearchHit {
        session_id: format!("s-{session:03}"),
        session_title: format!("Plot the primes below {}", 100 * (session + 1)),
        seq,
        role,
        snippet: snippet.into(),
        highlights: vec![(start, start + word.len())],
        score: 1.0,
    }
}

fn browser() -> App {
    let mut app = app();
    press(&mut app, ctrl('o'));
    assert_eq!(
        ops(&mut app),
        vec![Op::ListSessions {
            offset: 0,
            limit: 50
        }]
    );
    app.apply_event(Event::SessionList {
        sessions: summaries(6),
        total: 6,
    });
    app
}

#[test]
fn list() {
    let app = browser();
    assert_eq!(app.screen, Screen::History);
    assert_snapshot!(render(&app, 120, 30).backend());
}

#[test]
fn search_with_results() {
    let mut app = browser();
    type_str(&mut app, "sieve");
    // One search per keystroke, each with the query so far.
    let sent = ops(&mut app);
    assert_eq!(sent.len(), 5);
    assert_eq!(
        sent[4],
        Op::Search {
            query: "sieve".into(),
            limit: 50
        }
    );
    app.apply_event(Event::SearchResults {
        query: "sieve".into(),
        hits: vec![
            hit(
                0,
                3,
                Role::Assistant,
                "… a sieve of Eratosthenes marks multiples …",
                "sieve",
            ),
            hit(
                2,
                5,
                Role::User,
                "can you use a sieve instead of trial division?",
                "sieve",
            ),
            hit(0, 7, Role::Tool, "def sieve(n): ...", "sieve"),
        ],
    });
    assert_snapshot!(render(&app, 120, 30).backend());
}

#[test]
fn empty_search() {
    let mut app = browser();
    type_str(&mut app, "zebra");
    ops(&mut app);
    app.apply_event(Event::SearchResults {
        query: "zebra".into(),
        hits: vec![],
    });
    let t = render(&app, 120, 30);
    assert!(format!("{}", t.backend()).contains("no matches for “zebra”"));
    assert_snapshot!(t.backend());
}

#[test]
fn preview_of_the_selected_session() {
    let mut app = browser();
    press(&mut app, key(KeyCode::Down));
    press(&mut app, key(KeyCode::Down));
    let t = render(&app, 120, 30);
    let text = format!("{}", t.backend());
    assert!(
        text.contains("Plot the primes below 300") && text.contains("8") && text.contains("s-002")
    );
    assert_snapshot!(t.backend());
}

#[test]
fn actions_send_ops() {
    let mut app = browser();
    press(&mut app, key(KeyCode::Down));
    press(&mut app, ctrl('e'));
    assert_eq!(
        ops(&mut app),
        vec![Op::Export {
            id: Some("s-001".into()),
            format: ExportFormat::Markdown,
            path: None
        }]
    );
    press(
        &mut app,
        KeyEvent::new(KeyCode::Char('e'), KeyModifiers::ALT),
    );
    assert_eq!(
        ops(&mut app),
        vec![Op::Export {
            id: Some("s-001".into()),
            format: ExportFormat::Json,
            path: None
        }]
    );
    // The export says where it went, in the browser.
    reply(
        &mut app,
        Event::Exported {
            id: "s-001".into(),
            path: "/home/u/llm-repl-s-001.json".into(),
        },
    );
    let t = format!("{}", render(&app, 120, 30).backend());
    assert!(t.contains("exported to /home/u/llm-repl-s-001.json"), "{t}");

    // Rename: F2, edit, Enter.
    press(&mut app, key(KeyCode::F(2)));
    press(&mut app, ctrl('u'));
    type_str(&mut app, "Primes");
    press(&mut app, key(KeyCode::Enter));
    assert_eq!(
        ops(&mut app),
        vec![Op::RenameSession {
            id: "s-001".into(),
            title: "Primes".into()
        }]
    );
    assert_eq!(app.history.sessions[1].title, "Primes");
    let t = format!("{}", render(&app, 120, 30).backend());
    assert!(t.contains("renaming to “Primes”"), "{t}");

    // Delete asks first; anything but y keeps it.
    press(&mut app, key(KeyCode::Delete));
    press(&mut app, key(KeyCode::Char('n')));
    assert!(ops(&mut app).is_empty());
    assert_eq!(app.history.sessions.len(), 6);
    assert!(
        app.history.query.is_empty(),
        "the answer is not typed into the search"
    );
    press(&mut app, key(KeyCode::Delete));
    let t = format!("{}", render(&app, 120, 30).backend());
    assert!(t.contains("delete this session for good?"));
    press(&mut app, key(KeyCode::Char('y')));
    assert_eq!(
        ops(&mut app),
        vec![Op::DeleteSession { id: "s-001".into() }]
    );
    assert_eq!(app.history.sessions.len(), 5);

    // Enter resumes; the loaded session rebuilds the chat.
    press(&mut app, key(KeyCode::Enter));
    assert_eq!(ops(&mut app), vec![Op::OpenSession { id: "s-002".into() }]);
    assert_eq!(app.screen, Screen::Chat);
}

/// Issue 11: typing "elephant" exported the selected session (e) and searched for "lephant".
#[test]
fn typing_goes_to_the_search_box_and_fires_no_action() {
    let mut app = browser();
    type_str(&mut app, "elephant qrdjkgGE/s");
    let sent = ops(&mut app);
    assert!(
        sent.iter().all(|op| matches!(op, Op::Search { .. })),
        "only searches: {sent:?}"
    );
    assert_eq!(
        sent.last(),
        Some(&Op::Search {
            query: "elephant qrdjkgGE/s".into(),
            limit: 50
        })
    );
    assert_eq!(app.history.query, "elephant qrdjkgGE/s");
    assert_eq!(app.history.mode, crate::screens::history::Mode::List);
    assert_eq!(app.screen, Screen::History);
    // Backspace edits the query; Esc clears it, a second Esc leaves.
    press(&mut app, key(KeyCode::Backspace));
    assert_eq!(app.history.query, "elephant qrdjkgGE/");
    press(&mut app, key(KeyCode::Esc));
    assert!(app.history.query.is_empty());
    assert_eq!(app.screen, Screen::History);
    press(&mut app, key(KeyCode::Esc));
    assert_eq!(app.screen, Screen::Chat);
}

#[test]
fn paging_asks_for_the_next_page_near_the_end() {
    let mut app = app();
    press(&mut app, ctrl('o'));
    ops(&mut app);
    app.apply_event(Event::SessionList {
        sessions: summaries(50),
        total: 120,
    });
    for _ in 0..39 {
        press(&mut app, key(KeyCode::Down));
    }
    assert!(ops(&mut app).is_empty());
    press(&mut app, key(KeyCode::Down));
    assert_eq!(
        ops(&mut app),
        vec![Op::ListSessions {
            offset: 50,
            limit: 50
        }]
    );
    // Only one request in flight.
    press(&mut app, key(KeyCode::Down));
    assert!(ops(&mut app).is_empty());
    let mut next = summaries(50);
    for s in &mut next {
        s.id = format!("p2-{}", s.id);
    }
    app.apply_event(Event::SessionList {
        sessions: next,
        total: 120,
    });
    assert_eq!(app.history.sessions.len(), 100);
    assert_eq!(app.history.sel, 41);
}

#[test]
fn a_notice_while_browsing_shows_in_the_browser() {
    let mut app = app();
    press(&mut app, ctrl('o'));
    ops(&mut app);
    reply(
        &mut app,
        Event::Notice {
            level: llm_repl_protocol::NoticeLevel::Warn,
            text: "session history is not available".into(),
        },
    );
    let t = format!("{}", render(&app, 120, 30).backend());
    assert!(t.contains("session history is not available"), "{t}");
}

/// Issue 12: errors are attributed by request id, not by which screen happens to show.
#[test]
fn errors_are_attributed_to_the_request_that_caused_them() {
    let mut app = app();
    // A chat command's failure arriving while the browser is open stays in the chat.
    type_str(&mut app, "/export");
    press(&mut app, key(KeyCode::Enter));
    ops(&mut app);
    let chat_request = app.last_request();
    press(&mut app, ctrl('o'));
    ops(&mut app);
    app.apply_event(Event::Reply {
        request: chat_request,
        body: Box::new(Event::Error {
            message: "export failed: out.md already exists".into(),
        }),
    });
    // So does an error of a running turn (untagged).
    app.apply_event(Event::Error {
        message: "provider: connection refused".into(),
    });
    assert!(app.history.status.is_none(), "{:?}", app.history.status);
    // The browser's own request's failure shows in the browser.
    reply(
        &mut app,
        Event::Error {
            message: "cannot list sessions: disk on fire".into(),
        },
    );
    let status = app.history.status.clone().map(|s| s.1).unwrap_or_default();
    assert!(status.contains("disk on fire"), "{status}");
    let chat: Vec<String> = app.conv.items.iter().map(|i| i.text.clone()).collect();
    assert!(
        chat.iter().any(|t| t.contains("already exists")),
        "{chat:?}"
    );
}

#[test]
fn small_terminal() {
    let mut app = browser();
    press(&mut app, key(KeyCode::Down));
    assert_snapshot!(render(&app, 60, 20).backend());
}

#[test]
fn the_preview_follows_the_selection_and_shows_the_conversation() {
    use llm_repl_protocol::Message;
    let mut app = browser();
    app.apply_event(Event::SessionList {
        sessions: summaries(3),
        total: 3,
    });
    let asked = preview_ops(&mut app);
    assert_eq!(asked, vec![Op::PreviewSession { id: "s-000".into() }]);
    app.apply_event(Event::SessionPreview {
        id: "s-000".into(),
        messages: vec![
            Message::user("which primes are below one hundred?"),
            Message::assistant("There are 25 of them.", vec![]),
        ],
    });
    let screen = format!("{:?}", render(&app, 120, 30).backend().buffer());
    assert!(screen.contains("which primes are below"), "{screen}");
    assert!(screen.contains("There are 25 of them"), "{screen}");
    // Moving down asks for the next session's preview once; the old one is not shown for it.
    press(&mut app, key(KeyCode::Down));
    let asked = preview_ops(&mut app);
    assert_eq!(asked, vec![Op::PreviewSession { id: "s-001".into() }]);
    let screen = format!("{:?}", render(&app, 120, 30).backend().buffer());
    assert!(!screen.contains("There are 25 of them"), "{screen}");
}

/// The screen's text, rows joined by newlines.
fn screen_text(app: &App) -> String {
    let term = render(app, 120, 30);
    let buf = term.backend().buffer();
    let area = buf.area;
    (0..area.height)
        .map(|y| {
            (0..area.width)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn dates_are_shown_in_the_configured_calendar() {
    use llm_repl_protocol::calendar::{Calendar, Offset, TimeZone};
    // 2026-11-01 23:30 UTC: the 2nd, 01:30, in UTC+2.
    let late = 1_793_575_800_000;
    let mut list = summaries(1);
    list[0].created_ms = late;
    list[0].updated_ms = late;
    for (cal, shown) in [
        (Calendar::utc(), "2026-11-01 23:30"),
        (
            Calendar::local_in(TimeZone::fixed(Offset::constant(2))),
            "2026-11-02 01:30",
        ),
    ] {
        let mut app = browser();
        app.options.calendar = cal;
        app.apply_event(Event::SessionList {
            sessions: list.clone(),
            total: 1,
        });
        let text = screen_text(&app);
        // The preview's created and updated lines, and the list row (without the year here).
        assert_eq!(text.matches(shown).count(), 2, "{text}");
        assert_eq!(text.matches(&shown[5..]).count(), 3, "{text}");
    }
}
