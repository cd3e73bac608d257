//! OSC 8 hyperlinks for URLs drawn in a pane.
//!
//! Why a pass over the finished buffer and not spans: ratatui's cells carry no link target, and a
//! span holding escape sequences would be measured as wide as its bytes. ratatui 0.30 offers one
//! safe seam instead: a cell whose symbol holds the whole sequence (open, visible text, close)
//! with `CellDiffOption::ForcedWidth(n)`, so the diff and the backend count `n` columns for it.
//! After a pane is drawn, [`link_urls`] finds the `http://` / `https://` runs among its cells and
//! folds each run into such a cell. The screen shows exactly the same characters; terminals that
//! know OSC 8 make them clickable, the others ignore the sequence.
//!
//! A URL wrapped over several rows is followed onto the next rows (after their indentation), and
//! every fragment links to the whole URL. Only printable ASCII is taken from cells, so text from
//! the model can never smuggle a control character into the sequence.

use std::num::NonZeroU16;

use ratatui::buffer::{Buffer, CellDiffOption};
use ratatui::layout::Rect;

/// Rows a wrapped URL may span before the rest is left unlinked.
const MAX_ROWS: u16 = 16;

fn url_char(c: char) -> bool {
    c.is_ascii_graphic() && !matches!(c, '<' | '>' | '"' | '`' | '\\' | '{' | '}' | '|' | '^')
}

/// The single-ASCII-character symbol of a cell, if it is one.
fn ascii(buf: &Buffer, x: u16, y: u16) -> Option<char> {
    let cell = buf.cell((x, y))?;
    if cell.diff_option != CellDiffOption::None {
        return None;
    }
    let mut chars = cell.symbol().chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if c.is_ascii() => Some(c),
        _ => None,
    }
}

/// A run of URL characters in one row: where it starts and how many columns it takes.
#[derive(Debug, Clone, Copy)]
struct Run {
    x: u16,
    y: u16,
    len: u16,
}

fn run_from(buf: &Buffer, right: u16, x: u16, y: u16) -> (Run, String) {
    let mut text = String::new();
    let mut end = x;
    while end < right {
        match ascii(buf, end, y) {
            Some(c) if url_char(c) => text.push(c),
            _ => break,
        }
        end += 1;
    }
    (Run { x, y, len: end - x }, text)
}

/// Trailing punctuation that ends a sentence rather than a URL; a closing parenthesis only when
/// the URL opened none (`(see https://x.org/a)` vs `https://en.wikipedia.org/wiki/A_(b)`).
fn trim_end(url: &str) -> usize {
    let mut end = url.len();
    loop {
        let s = &url[..end];
        let Some(last) = s.chars().last() else {
            return end;
        };
        let unbalanced = last == ')' && s.matches('(').count() < s.matches(')').count();
        if matches!(last, '.' | ',' | ';' | ':' | '!' | '?' | '\'') || unbalanced {
            end -= 1;
        } else {
            return end;
        }
    }
}

/// Folds every URL drawn in `area` into OSC 8 hyperlink cells. `right` is the first column after
/// the text (a URL reaching `right - 1` may continue on the next row).
pub fn link_urls(buf: &mut Buffer, area: Rect, right: u16) {
    let area = area.intersection(buf.area);
    let right = right.min(area.right());
    let mut y = area.top();
    while y < area.bottom() {
        let mut x = area.left();
        while x < right {
            let starts = (x == area.left()
                || ascii(buf, x - 1, y).is_none_or(|c| !c.is_ascii_alphanumeric()))
                && (starts_with(buf, x, y, "https://") || starts_with(buf, x, y, "http://"));
            if !starts {
                x += 1;
                continue;
            }
            let (first, mut url) = run_from(buf, right, x, y);
            let mut runs = vec![first];
            // Follow a URL that fills the row onto the next rows.
            let mut last = first;
            while last.x + last.len >= right
                && last.y + 1 < area.bottom()
                && runs.len() < MAX_ROWS as usize
            {
                let ny = last.y + 1;
                let Some(nx) = (area.left()..right).find(|&c| ascii(buf, c, ny) != Some(' '))
                else {
                    break;
                };
                let (run, text) = run_from(buf, right, nx, ny);
                if run.len == 0 {
                    break;
                }
                url.push_str(&text);
                runs.push(run);
                last = run;
            }
            let keep = trim_end(&url);
            let cut = url.len() - keep;
            url.truncate(keep);
            if let Some(last) = runs.last_mut() {
                last.len = last.len.saturating_sub(cut as u16);
            }
            for run in &runs {
                fold(buf, *run, &url);
            }
            // Folded cells read as nothing, so the rows a URL continued on are scanned again
            // for what follows it without linking it twice.
            x = first.x + first.len.max(1);
        }
        y += 1;
    }
}

fn starts_with(buf: &Buffer, x: u16, y: u16, prefix: &str) -> bool {
    prefix
        .chars()
        .enumerate()
        .all(|(i, p)| ascii(buf, x + i as u16, y).is_some_and(|c| c.eq_ignore_ascii_case(&p)))
}

/// Puts the run's text, wrapped in OSC 8 for `url`, into its first cell, forced to the run's
/// width; the cells it covers are skipped by the diff.
fn fold(buf: &mut Buffer, run: Run, url: &str) {
    let Some(width) = NonZeroU16::new(run.len) else {
        return;
    };
    let text: String = (run.x..run.x + run.len)
        .filter_map(|x| ascii(buf, x, run.y))
        .collect();
    if text.len() != usize::from(run.len) {
        return;
    }
    let symbol = format!("\x1b]8;;{url}\x1b\\{text}\x1b]8;;\x1b\\");
    for x in run.x + 1..run.x + run.len {
        if let Some(cell) = buf.cell_mut((x, run.y)) {
            cell.set_diff_option(CellDiffOption::Skip);
        }
    }
    if let Some(cell) = buf.cell_mut((run.x, run.y)) {
        cell.set_symbol(&symbol)
            .set_diff_option(CellDiffOption::ForcedWidth(width));
    }
}

/// The plain text of a row with links folded back to what they show (for tests and checks).
#[cfg(test)]
pub(crate) fn row_text(buf: &Buffer, y: u16) -> String {
    let mut out = String::new();
    let mut x = buf.area.left();
    while x < buf.area.right() {
        let Some(cell) = buf.cell((x, y)) else { break };
        match cell.diff_option {
            CellDiffOption::ForcedWidth(w) => {
                let s = cell.symbol();
                let shown = s
                    .split("\x1b\\")
                    .nth(1)
                    .and_then(|t| t.split("\x1b]8").next())
                    .unwrap_or("");
                out.push_str(shown);
                x += w.get();
            }
            CellDiffOption::Skip => x += 1,
            _ => {
                out.push_str(cell.symbol());
                x += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links(buf: &Buffer) -> Vec<(u16, u16, String, String)> {
        let mut out = Vec::new();
        for y in buf.area.top()..buf.area.bottom() {
            for x in buf.area.left()..buf.area.right() {
                let cell = &buf[(x, y)];
                if let CellDiffOption::ForcedWidth(_) = cell.diff_option {
                    let s = cell.symbol();
                    let url = s
                        .strip_prefix("\x1b]8;;")
                        .and_then(|r| r.split("\x1b\\").next())
                        .unwrap_or("")
                        .to_string();
                    let shown = s.split("\x1b\\").nth(1).unwrap_or("");
                    let shown = shown.split("\x1b]8").next().unwrap_or("").to_string();
                    out.push((x, y, url, shown));
                }
            }
        }
        out
    }

    #[test]
    fn a_url_in_text_becomes_one_link_cell_and_the_row_reads_the_same() {
        let mut buf = Buffer::with_lines(["see https://example.com/a?b=1. ok"]);
        let before = row_text(&buf, 0);
        let area = buf.area;
        link_urls(&mut buf, area, area.right());
        assert_eq!(
            links(&buf),
            vec![(
                4,
                0,
                "https://example.com/a?b=1".to_string(),
                "https://example.com/a?b=1".to_string()
            )]
        );
        assert_eq!(row_text(&buf, 0), before);
        // The cells it covers are skipped by the diff, the rest untouched.
        assert_eq!(buf[(5, 0)].diff_option, CellDiffOption::Skip);
        assert_eq!(buf[(29, 0)].diff_option, CellDiffOption::None);
    }

    #[test]
    fn parentheses_close_a_url_only_when_unbalanced() {
        let mut buf = Buffer::with_lines(["(see http://x.org/a) and http://w.org/A_(b) end"]);
        let area = buf.area;
        link_urls(&mut buf, area, area.right());
        let urls: Vec<String> = links(&buf).into_iter().map(|l| l.2).collect();
        assert_eq!(urls, vec!["http://x.org/a", "http://w.org/A_(b)"]);
    }

    #[test]
    fn a_wrapped_url_links_every_fragment_to_the_whole_url() {
        let mut buf = Buffer::with_lines(["  go https://exa", "  mple.com/long ", "  next"]);
        let area = buf.area;
        link_urls(&mut buf, area, area.right());
        let found = links(&buf);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found.iter().all(|l| l.2 == "https://example.com/long"));
        assert_eq!(found[0].3, "https://exa");
        assert_eq!(found[1].3, "mple.com/long");
        assert_eq!(row_text(&buf, 2).trim_end(), "  next");
    }

    #[test]
    fn control_characters_and_non_ascii_end_a_url() {
        let mut buf = Buffer::with_lines(["https://a.org/é x"]);
        let area = buf.area;
        link_urls(&mut buf, area, area.right());
        assert_eq!(links(&buf)[0].2, "https://a.org/");
        for (_, _, url, _) in links(&buf) {
            assert!(url.chars().all(|c| c.is_ascii_graphic()));
        }
    }

    #[test]
    fn text_without_urls_is_untouched() {
        let mut buf = Buffer::with_lines(["http:/ nope https: no httpsx://"]);
        let before = buf.clone();
        let area = buf.area;
        link_urls(&mut buf, area, area.right());
        assert_eq!(buf, before);
    }

    #[test]
    fn a_url_inside_a_word_is_not_a_link() {
        let mut buf = Buffer::with_lines(["xhttps://a.org"]);
        let area = buf.area;
        link_urls(&mut buf, area, area.right());
        assert!(links(&buf).is_empty());
    }
}
