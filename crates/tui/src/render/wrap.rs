//! Word wrapping of styled text to a width, and the one measure of text in terminal cells.
//!
//! Everything the panes show is wrapped here once per (item, width) and cached by the caller,
//! so a frame only copies the visible lines: rendering cost follows the screen, not the session.
//!
//! Text is measured and cut by grapheme cluster (unicode-segmentation), as ratatui's buffer and
//! terminals place it: an emoji ZWJ sequence such as 👩‍💻 is one 2-cell glyph, not the 4 cells
//! its code points add up to, and a cut never splits it.

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

/// Display width of a string in terminal cells.
pub fn width(s: &str) -> usize {
    s.graphemes(true).map(grapheme_width).sum()
}

/// Cells of one grapheme cluster: a cluster of several code points (ZWJ sequences, skin tones,
/// flags, combining marks) is one glyph of at most two cells.
pub fn grapheme_width(g: &str) -> usize {
    let w = UnicodeWidthStr::width(g);
    if g.chars().nth(1).is_some() {
        w.min(2)
    } else {
        w
    }
}

/// `s` cut to at most `max` cells, ending in `…` when something was cut.
pub fn clip(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    let mut out = String::new();
    let mut w = 0;
    for g in s.graphemes(true) {
        let gw = grapheme_width(g);
        if w + gw + 1 > max {
            break;
        }
        out.push_str(g);
        w += gw;
    }
    if max > 0 {
        out.push('…');
    }
    out
}

/// `s` clipped to `w` cells and padded with spaces to exactly `w` (left-aligned), or
/// right-aligned with `right`.
pub fn pad(s: &str, w: usize, right: bool) -> String {
    let s = clip(s, w);
    let fill = " ".repeat(w.saturating_sub(width(&s)));
    if right {
        format!("{fill}{s}")
    } else {
        format!("{s}{fill}")
    }
}

/// One run of characters that share a style and are all spaces or all non-spaces.
struct Atom {
    text: String,
    style: Style,
    space: bool,
}

fn atoms(spans: &[Span<'_>]) -> Vec<Atom> {
    let mut out: Vec<Atom> = Vec::new();
    for span in spans {
        // Controls are shown (the shared rule); only line structure that reached here goes.
        let safe = llm_repl_protocol::terminal_safe(&span.content);
        for g in safe.graphemes(true) {
            let g = if g == "\t" { " " } else { g };
            if g.chars().any(char::is_control) {
                continue;
            }
            let space = g == " ";
            match out.last_mut() {
                Some(a) if a.space == space && a.style == span.style => a.text.push_str(g),
                _ => out.push(Atom {
                    text: g.to_string(),
                    style: span.style,
                    space,
                }),
            }
        }
    }
    out
}

struct LineBuilder {
    lines: Vec<Line<'static>>,
    cur: Vec<Span<'static>>,
    cur_w: usize,
    width: usize,
    first_prefix: Vec<Span<'static>>,
    cont_prefix: Vec<Span<'static>>,
    /// Width of the prefix of the current line.
    prefix_w: usize,
    /// True right after a wrap: spaces there are dropped (a logical line keeps its indent).
    wrapped: bool,
}

impl LineBuilder {
    fn start_line(&mut self) {
        let prefix = if self.lines.is_empty() {
            &self.first_prefix
        } else {
            &self.cont_prefix
        };
        self.cur = prefix.clone();
        self.cur_w = prefix.iter().map(|s| width(&s.content)).sum();
        self.prefix_w = self.cur_w;
    }

    fn at_line_start(&self) -> bool {
        self.cur_w == self.prefix_w
    }

    fn push(&mut self, text: &str, style: Style) {
        if let Some(last) = self.cur.last_mut()
            && last.style == style
        {
            last.content.to_mut().push_str(text);
        } else {
            self.cur.push(Span::styled(text.to_string(), style));
        }
        self.cur_w += width(text);
    }

    fn break_line(&mut self) {
        // Trailing spaces are not worth keeping at a wrap point.
        let n = self.cur.len();
        if let Some(last) = self.cur.last_mut() {
            let trimmed = last.content.trim_end_matches(' ').len();
            if trimmed == 0 && n > 1 {
                self.cur.pop();
            } else {
                last.content.to_mut().truncate(trimmed);
            }
        }
        let spans = std::mem::take(&mut self.cur);
        self.lines.push(Line::from(spans));
        self.start_line();
        self.wrapped = true;
    }

    fn room(&self) -> usize {
        self.width.saturating_sub(self.cur_w)
    }
}

/// Wraps one logical line of styled spans to `width` cells. `first_prefix` starts the first
/// output line and `cont_prefix` every continuation (list indents, quote bars). Words longer than
/// a line are split between characters. Always returns at least one line.
pub fn wrap_spans(
    spans: &[Span<'_>],
    width: usize,
    first_prefix: Vec<Span<'static>>,
    cont_prefix: Vec<Span<'static>>,
) -> Vec<Line<'static>> {
    let width = width.max(4);
    let mut b = LineBuilder {
        lines: Vec::new(),
        cur: Vec::new(),
        cur_w: 0,
        width,
        first_prefix,
        cont_prefix,
        prefix_w: 0,
        wrapped: false,
    };
    b.start_line();
    let atoms = atoms(spans);
    let mut i = 0;
    while i < atoms.len() {
        if atoms[i].space {
            if !(b.wrapped && b.at_line_start()) {
                let take = atoms[i].text.len().min(b.room());
                if take < atoms[i].text.len() {
                    b.break_line();
                } else {
                    b.push(&atoms[i].text, atoms[i].style);
                }
            }
            i += 1;
            continue;
        }
        // A word: consecutive non-space atoms, possibly in several styles.
        let mut j = i;
        let mut w = 0;
        while j < atoms.len() && !atoms[j].space {
            w += self::width(&atoms[j].text);
            j += 1;
        }
        if w > b.room() && !b.at_line_start() && w <= width.saturating_sub(b.cont_w()) {
            b.break_line();
        }
        b.wrapped = false;
        for atom in &atoms[i..j] {
            push_hard(&mut b, &atom.text, atom.style);
        }
        i = j;
    }
    let spans = std::mem::take(&mut b.cur);
    b.lines.push(Line::from(spans));
    b.lines
}

impl LineBuilder {
    fn cont_w(&self) -> usize {
        self.cont_prefix.iter().map(|s| width(&s.content)).sum()
    }
}

/// Cuts styled text at the width without re-flowing it: code and tool output keep their spaces.
pub fn wrap_hard(
    spans: &[Span<'static>],
    width: usize,
    prefix: Vec<Span<'static>>,
) -> Vec<Line<'static>> {
    let prefix_w: usize = prefix.iter().map(|s| self::width(&s.content)).sum();
    let room = width.saturating_sub(prefix_w).max(1);
    let mut lines = Vec::new();
    let mut cur = prefix.clone();
    let mut cur_w = 0;
    for span in spans {
        let mut chunk = String::new();
        let safe = llm_repl_protocol::terminal_safe(&span.content);
        for g in safe.graphemes(true) {
            let g = if g == "\t" { " " } else { g };
            if g.chars().any(char::is_control) {
                continue;
            }
            let cw = grapheme_width(g);
            if cur_w + cw > room {
                if !chunk.is_empty() {
                    cur.push(Span::styled(std::mem::take(&mut chunk), span.style));
                }
                lines.push(Line::from(std::mem::replace(&mut cur, prefix.clone())));
                cur_w = 0;
            }
            chunk.push_str(g);
            cur_w += cw;
        }
        if !chunk.is_empty() {
            cur.push(Span::styled(chunk, span.style));
        }
    }
    lines.push(Line::from(cur));
    lines
}

/// Pushes text, breaking between characters where it does not fit.
fn push_hard(b: &mut LineBuilder, text: &str, style: Style) {
    if width(text) <= b.room() {
        b.push(text, style);
        return;
    }
    let mut chunk = String::new();
    let mut chunk_w = 0;
    for g in text.graphemes(true) {
        let cw = grapheme_width(g);
        if chunk_w + cw > b.room() {
            if !chunk.is_empty() {
                b.push(&chunk, style);
                chunk.clear();
                chunk_w = 0;
            }
            if !b.at_line_start() || b.room() < cw {
                b.break_line();
            }
        }
        chunk.push_str(g);
        chunk_w += cw;
    }
    if !chunk.is_empty() {
        b.push(&chunk, style);
    }
}

/// Wraps plain text that may hold newlines, every line in one style.
pub fn wrap_text(text: &str, width: usize, style: Style, indent: &str) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for raw in text.split('\n') {
        let prefix = vec![Span::raw(indent.to_string())];
        out.extend(wrap_spans(
            &[Span::styled(raw, style)],
            width,
            prefix.clone(),
            prefix,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(lines: &[Line<'_>]) -> Vec<String> {
        lines.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn wraps_at_word_boundaries() {
        let lines = wrap_text("the quick brown fox jumps", 10, Style::default(), "");
        assert_eq!(texts(&lines), vec!["the quick", "brown fox", "jumps"]);
    }

    #[test]
    fn splits_long_words_and_keeps_prefixes() {
        let lines = wrap_spans(
            &[Span::raw("abcdefghijkl")],
            6,
            vec![Span::raw("- ")],
            vec![Span::raw("  ")],
        );
        assert_eq!(texts(&lines), vec!["- abcd", "  efgh", "  ijkl"]);
        for l in &lines {
            assert!(l.width() <= 6);
        }
    }

    #[test]
    fn keeps_spaces_after_styled_prefix_and_leading_indent() {
        let lines = wrap_text("  a b c", 40, Style::default(), "  ");
        assert_eq!(texts(&lines), vec!["    a b c"]);
        let hard = wrap_hard(&[Span::raw("    x = 1")], 8, vec![Span::raw("| ")]);
        assert_eq!(texts(&hard), vec!["|     x ", "| = 1"]);
    }

    #[test]
    fn keeps_empty_lines_and_wide_chars() {
        let lines = wrap_text("a\n\n日本語日本語", 6, Style::default(), "");
        assert_eq!(texts(&lines), vec!["a", "", "日本語", "日本語"]);
    }

    #[test]
    fn zwj_sequences_are_one_two_cell_glyph() {
        let coder = "👩‍💻";
        assert_eq!(width(coder), 2);
        assert_eq!(width("👨‍👩‍👧 x"), 4);
        // Ten cells hold five of them, and no cut splits one.
        let hard = wrap_hard(&[Span::raw(coder.repeat(12))], 10, vec![]);
        assert_eq!(texts(&hard)[0], coder.repeat(5));
        assert_eq!(hard.len(), 3);
        let soft = wrap_spans(&[Span::raw(coder.repeat(12))], 10, vec![], vec![]);
        assert_eq!(texts(&soft)[0], coder.repeat(5));
        for l in hard.iter().chain(&soft) {
            assert!(l.width() <= 10, "{l}");
        }
        assert_eq!(clip(&format!("ab{coder}{coder}"), 5), format!("ab{coder}…"));
        assert_eq!(pad(coder, 4, true), format!("  {coder}"));
    }
}
