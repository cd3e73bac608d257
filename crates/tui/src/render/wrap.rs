//! Word wrapping of styled text to a width.
//!
//! Everything the panes show is wrapped here once per (item, width) and cached by the caller,
//! so a frame only copies the visible lines: rendering cost follows the screen, not the session.

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Display width of a string in terminal cells.
pub fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
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
        for ch in llm_repl_protocol::terminal_safe(&span.content).chars() {
            let ch = if ch == '\t' { ' ' } else { ch };
            if ch.is_control() {
                continue;
            }
            let space = ch == ' ';
            match out.last_mut() {
                Some(a) if a.space == space && a.style == span.style => a.text.push(ch),
                _ => out.push(Atom {
                    text: ch.to_string(),
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
        for ch in llm_repl_protocol::terminal_safe(&span.content).chars() {
            let ch = if ch == '\t' { ' ' } else { ch };
            if ch.is_control() {
                continue;
            }
            let cw = UnicodeWidthChar::width(ch).unwrap_or(0);
            if cur_w + cw > room {
                if !chunk.is_empty() {
                    cur.push(Span::styled(std::mem::take(&mut chunk), span.style));
                }
                lines.push(Line::from(std::mem::replace(&mut cur, prefix.clone())));
                cur_w = 0;
            }
            chunk.push(ch);
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
    for ch in text.chars() {
        let cw = UnicodeWidthChar::width(ch).unwrap_or(0);
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
        chunk.push(ch);
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
}
