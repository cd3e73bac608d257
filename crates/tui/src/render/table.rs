//! Markdown tables laid out in aligned columns, measured in terminal cells.
//!
//! Columns get the width of their widest cell. When the table is wider than the room, the widest
//! columns give way first (never below a few cells) and cells that no longer fit are clipped
//! with `…`, so a row stays one line and the columns stay under each other at any width.

use pulldown_cmark::Alignment;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::wrap::{clip, pad, width};

/// Cells between columns.
const SEPARATOR: &str = " │ ";
/// A column is never squeezed below this many cells (or its widest cell, if narrower).
const MIN_COLUMN: usize = 3;

/// A table collected from the markdown events: the head row, the body rows, the alignments.
#[derive(Debug, Default)]
pub struct Table {
    pub align: Vec<Alignment>,
    pub head: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// Column widths fitting `room` cells (see the module doc).
fn column_widths(table: &Table, room: usize) -> Vec<usize> {
    let columns = std::iter::once(&table.head)
        .chain(&table.rows)
        .map(Vec::len)
        .max()
        .unwrap_or(0);
    let mut widths = vec![0; columns];
    for row in std::iter::once(&table.head).chain(&table.rows) {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(width(cell.trim()));
        }
    }
    let separators = width(SEPARATOR) * columns.saturating_sub(1);
    let room = room.saturating_sub(separators);
    while widths.iter().sum::<usize>() > room {
        // Shrink the widest column by one cell, while any column can still give.
        let Some((i, w)) = widths
            .iter()
            .copied()
            .enumerate()
            .filter(|(_, w)| *w > MIN_COLUMN)
            .max_by_key(|(_, w)| *w)
        else {
            break;
        };
        widths[i] = w - 1;
    }
    widths
}

fn cell(text: &str, w: usize, align: Alignment) -> String {
    match align {
        Alignment::Right => pad(text.trim(), w, true),
        Alignment::Left | Alignment::None => pad(text.trim(), w, false),
        Alignment::Center => {
            let text = clip(text.trim(), w);
            let fill = w.saturating_sub(width(&text));
            let left = fill / 2;
            format!("{}{text}{}", " ".repeat(left), " ".repeat(fill - left))
        }
    }
}

fn row_line(
    row: &[String],
    widths: &[usize],
    table: &Table,
    style: Style,
    rule: Style,
    prefix: &[Span<'static>],
) -> Line<'static> {
    let mut spans = prefix.to_vec();
    for (i, w) in widths.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(SEPARATOR, rule));
        }
        let text = row.get(i).map_or("", String::as_str);
        let align = table.align.get(i).copied().unwrap_or(Alignment::None);
        spans.push(Span::styled(cell(text, *w, align), style));
    }
    // No trailing padding: the last column's spaces are not worth a wrap in a narrow pane.
    if let Some(last) = spans.last_mut() {
        let trimmed = last.content.trim_end().to_string();
        last.content = trimmed.into();
    }
    Line::from(spans)
}

/// The table's lines within `room` cells (plus `prefix` on each line): head, a rule, the rows.
pub fn render(
    table: &Table,
    room: usize,
    prefix: &[Span<'static>],
    head: Style,
    body: Style,
    rule: Style,
) -> Vec<Line<'static>> {
    let widths = column_widths(table, room);
    if widths.is_empty() {
        return Vec::new();
    }
    let mut out = vec![row_line(&table.head, &widths, table, head, rule, prefix)];
    let mut line = prefix.to_vec();
    let ruled: Vec<String> = widths.iter().map(|w| "─".repeat(*w)).collect();
    line.push(Span::styled(ruled.join("─┼─"), rule));
    out.push(Line::from(line));
    for row in &table.rows {
        out.push(row_line(row, &widths, table, body, rule, prefix));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        Table {
            align: vec![Alignment::Left, Alignment::Right, Alignment::None],
            head: vec!["name".into(), "size".into(), "note".into()],
            rows: vec![
                vec!["a.txt".into(), "12".into(), "small".into()],
                vec![
                    "東京.csv".into(),
                    "123456".into(),
                    "a much longer note".into(),
                ],
            ],
        }
    }

    fn plain(lines: &[Line<'_>]) -> Vec<String> {
        lines.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn columns_line_up_by_display_width() {
        let lines = render(
            &table(),
            80,
            &[],
            Style::default(),
            Style::default(),
            Style::default(),
        );
        assert_eq!(
            plain(&lines),
            vec![
                "name     │   size │ note",
                "─────────┼────────┼───────────────────",
                "a.txt    │     12 │ small",
                "東京.csv │ 123456 │ a much longer note",
            ]
        );
    }

    #[test]
    fn a_narrow_room_clips_the_widest_column_first() {
        let lines = render(
            &table(),
            30,
            &[],
            Style::default(),
            Style::default(),
            Style::default(),
        );
        for l in &lines {
            assert!(l.width() <= 30, "{l}");
        }
        let text = plain(&lines);
        assert!(text[3].ends_with('…'), "{text:?}");
        assert!(text[3].starts_with("東京.csv │ 123456 │ "), "{text:?}");
    }
}
