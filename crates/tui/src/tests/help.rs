//! The help overlay is generated from the keymap: complete (every row of every context, the
//! mouse, every slash command), aligned (descriptions start in one column), wrapped (nothing
//! runs into the next column or past the border), and it follows the user's overrides.

use std::collections::BTreeMap;

use super::fixtures::*;
use crate::commands::COMMANDS;
use crate::keys::{BINDINGS, Keymap};
use crate::overlays::help;

fn body(app: &crate::app::App, width: usize) -> Vec<String> {
    help::lines(app, width)
        .iter()
        .map(|l| l.to_string())
        .collect()
}

#[test]
fn help_lists_every_binding_the_mouse_and_every_command() {
    let app = app();
    let text = body(&app, 100).join("\n");
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for b in BINDINGS {
        assert!(flat.contains(b.help), "{} missing:\n{text}", b.name);
        assert!(flat.contains(b.context.label()), "{:?} missing", b.context);
    }
    for c in COMMANDS {
        assert!(
            flat.contains(&format!("/{}", c.name)),
            "/{} missing",
            c.name
        );
        assert!(flat.contains(c.help), "/{} help missing", c.name);
    }
    assert!(
        flat.contains("wheel scrolls the pane under the pointer"),
        "{text}"
    );
}

#[test]
fn help_columns_are_aligned_and_wrapped() {
    let app = app();
    for width in [60usize, 94, 140] {
        let lines = body(&app, width);
        // The description column: where the first key row's description starts.
        let first = lines
            .iter()
            .find(|l| l.trim_start().starts_with("F1"))
            .unwrap_or_else(|| panic!("no F1 row"));
        let col = first.find("this help").unwrap_or_else(|| panic!("{first}"));
        for l in &lines {
            assert!(
                unicode_width::UnicodeWidthStr::width(l.as_str()) <= width,
                "past the border at {width}: {l:?}"
            );
        }
        // Every description starts in that column, with a space before it.
        for b in BINDINGS {
            let start: String = b.help.chars().take(12).collect();
            let at_col = |l: &String| {
                let chars: Vec<char> = l.chars().collect();
                chars.len() > col
                    && chars[col - 1] == ' '
                    && chars[col..].iter().collect::<String>().starts_with(&start)
            };
            assert!(
                lines.iter().any(at_col),
                "{:?} does not start at column {col} (width {width})",
                b.help
            );
        }
        // The example: the budget command no longer runs into its description.
        let budget = lines
            .iter()
            .find(|l| l.contains("/budget"))
            .unwrap_or_else(|| panic!("no /budget"));
        assert!(!budget.contains("USDset"), "{budget}");
    }
}

#[test]
fn help_follows_key_overrides() {
    let mut app = app();
    let mut o = BTreeMap::new();
    o.insert("history_delete".to_string(), "f9".to_string());
    app.keymap = Keymap::new(&o).0;
    let text = body(&app, 100).join("\n");
    let row = text
        .lines()
        .find(|l| l.contains("delete the selected session"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(row.contains("F9") && !row.contains("Del "), "{row}");
}
