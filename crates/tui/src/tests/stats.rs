//! The usage report screen: a `/stats` answer opens it, it scrolls and pans, Esc closes it.

use crossterm::event::KeyCode;
use insta::assert_snapshot;
use llm_repl_protocol::{Event, NoticeLevel, Op};

use super::fixtures::*;
use crate::app::{App, Screen};

/// A fixed report, as `pricing::stats::render_report` writes it.
const REPORT: &str = "\
Usage, last 7 days: 5 calls, 147,950 tokens (134,500 in, 2,000 cached, 13,450 out), $0.1694 + 1 unpriced
(~ marks token counts partly estimated locally)

By day
2026-11-20  ██████████    $0.1025       33,000 tok  2 calls
2026-11-21  ██████▌       $0.0669      110,550 tok  2 calls, 1 unpriced
2026-11-22                  $0.00       ~4,400 tok  1 call

By model
openai:gpt-4o                 ██████████    $0.1025       33,000 tok  2 calls
groq:llama-3.3-70b-versatile  ██████▌       $0.0669      110,000 tok  1 call
mystery:model-x                             unknown          550 tok  1 call
ollama:llama3.2                               $0.00       ~4,400 tok  1 call

By provider
openai   ██████████    $0.1025       33,000 tok  2 calls
groq     ██████▌       $0.0669      110,000 tok  1 call
mystery                unknown          550 tok  1 call
ollama                   $0.00       ~4,400 tok  1 call

Most expensive sessions
 1.   $0.1025  Plot sales  (s1, 2 calls)
 2.   $0.0669  Fix bug  (s2, 2 calls, 1 unpriced)
 3.     $0.00  s3  (s3, 1 call)

Savings
openai:gpt-4o -> groq:moonshotai/kimi-k2-instruct: $0.1025 would have been $0.0390 (save $0.0635, 62%)
groq:llama-3.3-70b-versatile -> groq:meta-llama/llama-4-scout-17b-16e-instruct: $0.0669 would have been $0.0144 (save $0.0525, 78%)
";

/// Terminal size the key tests scroll in: 18 report rows visible of 28.
const SMALL: (u16, u16) = (80, 20);

fn with_report() -> App {
    let mut app = app();
    type_str(&mut app, "/stats 7");
    press(&mut app, key(KeyCode::Enter));
    assert_eq!(ops(&mut app), vec![Op::Stats { days: 7 }]);
    app.apply_event(Event::UsageReport {
        days: 7,
        period: "last 7 days".into(),
        summary: REPORT.lines().next().unwrap_or_default().into(),
        text: REPORT.into(),
    });
    app
}

#[test]
fn stats_screen() {
    let app = with_report();
    assert_eq!(app.screen, Screen::Stats);
    let t = render(&app, 100, 24);
    let text = format!("{}", t.backend());
    assert!(text.contains("lines 1-22 of 28"), "{text}");
    assert_snapshot!(t.backend());
}

#[test]
fn stats_screen_scrolls_pans_and_closes_with_esc() {
    let mut app = with_report();
    let k = |app: &mut App, code| app.handle_key(key(code), SMALL);
    k(&mut app, KeyCode::End);
    assert_eq!(app.stats.scroll, 28 - 18, "End shows the last page");
    k(&mut app, KeyCode::Down);
    assert_eq!(app.stats.scroll, 10, "never past the end");
    k(&mut app, KeyCode::PageUp);
    assert_eq!(app.stats.scroll, 0);
    k(&mut app, KeyCode::Char('j'));
    assert_eq!(app.stats.scroll, 1);
    k(&mut app, KeyCode::Right);
    assert_eq!(app.stats.pan, 8);
    k(&mut app, KeyCode::Left);
    k(&mut app, KeyCode::Left);
    assert_eq!(app.stats.pan, 0);

    let t = render(&app, SMALL.0, SMALL.1);
    let text = format!("{}", t.backend());
    assert!(text.contains("lines 2-19 of 28"), "{text}");
    assert!(
        !text.contains("Usage, last 7"),
        "scrolled past line 1: {text}"
    );
    assert!(text.contains("(~ marks"), "{text}");

    // Typing does not reach the prompt while the report is shown.
    k(&mut app, KeyCode::Char('x'));
    assert_eq!(app.input.text(), "");
    k(&mut app, KeyCode::Esc);
    assert_eq!(app.screen, Screen::Chat);
    // The summary line stays in the conversation; the report is not pasted into it.
    let t = render(&app, 100, 30);
    let text = format!("{}", t.backend());
    assert!(text.contains("Usage, last 7 days: 5 calls"), "{text}");
    assert!(!text.contains("Most expensive sessions"), "{text}");
}

#[test]
fn other_notices_stay_in_the_chat() {
    let mut app = app();
    app.apply_event(Event::Notice {
        level: NoticeLevel::Warn,
        text: "sessions are not being stored in this run, so there is no history to use".into(),
    });
    assert_eq!(app.screen, Screen::Chat);
    app.apply_event(Event::Notice {
        level: NoticeLevel::Info,
        text: "No model calls in the last 7 days.\n".into(),
    });
    assert_eq!(app.screen, Screen::Chat);
    // A notice is never taken for a report by its text (the report is its own event).
    app.apply_event(Event::Notice {
        level: NoticeLevel::Info,
        text: REPORT.into(),
    });
    assert_eq!(app.screen, Screen::Chat);
}

/// A report with wide titles, as `render_report` pads them (by display width).
const WIDE_REPORT: &str = "\
Usage, last 7 days: 3 calls, $5.09

Most expensive sessions
 1.     $5.00  plain                                     (s3, 1 call)
 2.   $0.0900  東京の売上グラフを四半期ごとに比較する予  (s1, 1 call)
 3.   $0.0010  fix 🐛 bug                                (s2, 1 call)
";

#[test]
fn wide_titles_keep_the_columns_aligned_on_screen_and_pan_by_cells() {
    let mut app = app();
    app.apply_event(Event::UsageReport {
        days: 7,
        period: "last 7 days".into(),
        summary: WIDE_REPORT.lines().next().unwrap_or_default().into(),
        text: WIDE_REPORT.into(),
    });
    assert_eq!(app.screen, Screen::Stats);
    // The widest line in cells, not in chars: panning reaches its end.
    let widest = WIDE_REPORT
        .lines()
        .map(crate::render::wrap::width)
        .max()
        .unwrap_or(0);
    assert_eq!(usize::from(app.stats.widest()), widest);
    let t = render(&app, 100, 24);
    let buf = t.backend().buffer();
    // The screen column of the "(" opening the id column, on each session row.
    let mut columns = Vec::new();
    for y in 0..buf.area.height {
        let row: Vec<&str> = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
        if row.concat().contains("(s") {
            let x = row.iter().position(|s| *s == "(").unwrap_or(0);
            columns.push(x);
        }
    }
    assert_eq!(columns.len(), 3, "{}", t.backend());
    assert!(columns.windows(2).all(|w| w[0] == w[1]), "{columns:?}");
}
