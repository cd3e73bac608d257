//! Markdown to styled, wrapped lines (pulldown-cmark): headings, lists, emphasis, quotes, rules,
//! tables as plain rows, and fenced code highlighted by [`super::highlight`].
//!
//! The output is already wrapped to the width asked for, so the caller caches it per width and a
//! frame never parses markdown for lines it does not show.

use pulldown_cmark::{CodeBlockKind, Event as Md, HeadingLevel, Options, Parser, Tag, TagEnd};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::highlight::highlight;
use super::wrap::{width as text_width, wrap_hard, wrap_spans};
use crate::theme::Theme;

fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS
}

struct Renderer<'t> {
    theme: &'t Theme,
    width: usize,
    out: Vec<Line<'static>>,
    /// The logical line being built.
    cur: Vec<Span<'static>>,
    styles: Vec<Style>,
    /// Prefix of every line in the current block (quote bars, list indents).
    indent: Vec<Span<'static>>,
    /// Bullet replacing the indent's tail on the first line of a list item.
    bullet: Option<Vec<Span<'static>>>,
    lists: Vec<Option<u64>>,
    code: Option<(String, String)>,
    need_blank: bool,
    table_row: Vec<String>,
    in_cell: bool,
}

impl<'t> Renderer<'t> {
    fn style(&self) -> Style {
        self.styles.last().copied().unwrap_or(self.theme.text)
    }

    fn push_style(&mut self, f: impl FnOnce(Style) -> Style) {
        let s = f(self.style());
        self.styles.push(s);
    }

    fn blank_if_needed(&mut self) {
        if self.need_blank && !self.out.is_empty() {
            self.out.push(Line::default());
        }
        self.need_blank = false;
    }

    fn flush(&mut self) {
        if self.cur.is_empty() && self.bullet.is_none() {
            return;
        }
        self.blank_if_needed();
        let first = self.bullet.take().unwrap_or_else(|| self.indent.clone());
        let spans = std::mem::take(&mut self.cur);
        self.out
            .extend(wrap_spans(&spans, self.width, first, self.indent.clone()));
    }

    fn text(&mut self, t: &str) {
        if self.in_cell {
            if let Some(cell) = self.table_row.last_mut() {
                cell.push_str(t);
            }
            return;
        }
        if let Some((_, buf)) = self.code.as_mut() {
            buf.push_str(t);
            return;
        }
        let style = self.style();
        self.cur.push(Span::styled(t.to_string(), style));
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Paragraph => {}
            Tag::Heading { level, .. } => {
                self.flush();
                self.need_blank = !self.out.is_empty();
                let hashes = match level {
                    HeadingLevel::H1 => 1,
                    HeadingLevel::H2 => 2,
                    HeadingLevel::H3 => 3,
                    HeadingLevel::H4 => 4,
                    HeadingLevel::H5 => 5,
                    HeadingLevel::H6 => 6,
                };
                let h = self.theme.heading;
                self.styles.push(h);
                self.cur
                    .push(Span::styled(format!("{} ", "#".repeat(hashes)), h));
            }
            Tag::BlockQuote(_) => {
                self.flush();
                self.indent.push(Span::styled("│ ", self.theme.quote));
                self.push_style(|_| self.theme.quote);
            }
            Tag::CodeBlock(kind) => {
                self.flush();
                let lang = match kind {
                    CodeBlockKind::Fenced(l) => {
                        l.split([' ', ',']).next().unwrap_or("").to_string()
                    }
                    CodeBlockKind::Indented => String::new(),
                };
                self.code = Some((lang, String::new()));
            }
            Tag::List(start) => {
                self.flush();
                if self.lists.is_empty() {
                    self.need_blank = !self.out.is_empty();
                }
                self.lists.push(start);
            }
            Tag::Item => {
                self.flush();
                let depth = self.lists.len().saturating_sub(1);
                let marker = match self.lists.last_mut() {
                    Some(Some(n)) => {
                        let m = format!("{n}. ");
                        *n += 1;
                        m
                    }
                    _ => ["• ", "◦ ", "▪ "][depth % 3].to_string(),
                };
                let mut first = self.indent.clone();
                first.push(Span::styled(marker.clone(), self.theme.accent));
                self.indent.push(Span::raw(" ".repeat(text_width(&marker))));
                self.bullet = Some(first);
            }
            Tag::Emphasis => self.push_style(|s| s.add_modifier(Modifier::ITALIC)),
            Tag::Strong => self.push_style(|s| s.add_modifier(Modifier::BOLD)),
            Tag::Strikethrough => self.push_style(|s| s.add_modifier(Modifier::CROSSED_OUT)),
            Tag::Link { .. } | Tag::Image { .. } => {
                let l = self.theme.link;
                self.styles.push(l);
            }
            Tag::Table(_) => {
                self.flush();
                self.need_blank = !self.out.is_empty();
            }
            Tag::TableHead | Tag::TableRow => self.table_row.clear(),
            Tag::TableCell => {
                self.table_row.push(String::new());
                self.in_cell = true;
            }
            _ => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Paragraph => {
                self.flush();
                self.need_blank = true;
            }
            TagEnd::Heading(_) => {
                self.flush();
                self.styles.pop();
                self.need_blank = true;
            }
            TagEnd::BlockQuote(_) => {
                self.flush();
                self.indent.pop();
                self.styles.pop();
                self.need_blank = true;
            }
            TagEnd::CodeBlock => {
                if let Some((lang, buf)) = self.code.take() {
                    self.code_block(&lang, &buf);
                }
                self.need_blank = true;
            }
            TagEnd::List(_) => {
                self.flush();
                self.lists.pop();
                if self.lists.is_empty() {
                    self.need_blank = true;
                }
            }
            TagEnd::Item => {
                self.flush();
                self.bullet = None;
                self.indent.pop();
            }
            TagEnd::Emphasis
            | TagEnd::Strong
            | TagEnd::Strikethrough
            | TagEnd::Link
            | TagEnd::Image => {
                self.styles.pop();
            }
            TagEnd::TableCell => self.in_cell = false,
            TagEnd::TableHead | TagEnd::TableRow => {
                let row = self.table_row.join(" │ ");
                let style = if matches!(tag, TagEnd::TableHead) {
                    self.theme.title
                } else {
                    self.theme.text
                };
                self.cur.push(Span::styled(row, style));
                self.flush();
            }
            TagEnd::Table => self.need_blank = true,
            _ => {}
        }
    }

    fn code_block(&mut self, lang: &str, buf: &str) {
        self.blank_if_needed();
        let gutter = Span::styled("▎ ", self.theme.dim);
        if !lang.is_empty() {
            let mut head = self.indent.clone();
            head.push(gutter.clone());
            head.push(Span::styled(lang.to_string(), self.theme.dim));
            self.out.push(Line::from(head));
        }
        let mut prefix = self.indent.clone();
        prefix.push(gutter);
        for spans in highlight(buf, lang, self.theme) {
            self.out
                .extend(wrap_hard(&spans, self.width, prefix.clone()));
        }
    }
}

/// Renders markdown to lines wrapped at `width` cells.
pub fn render(text: &str, width: usize, theme: &Theme) -> Vec<Line<'static>> {
    let mut r = Renderer {
        theme,
        width: width.max(8),
        out: Vec::new(),
        cur: Vec::new(),
        styles: vec![theme.text],
        indent: Vec::new(),
        bullet: None,
        lists: Vec::new(),
        code: None,
        need_blank: false,
        table_row: Vec::new(),
        in_cell: false,
    };
    for ev in Parser::new_ext(text, options()) {
        match ev {
            Md::Start(tag) => r.start(tag),
            Md::End(tag) => r.end(tag),
            Md::Text(t) => r.text(&t),
            Md::Code(t) => {
                if r.in_cell {
                    r.text(&t);
                } else {
                    r.cur.push(Span::styled(t.to_string(), theme.inline_code));
                }
            }
            Md::SoftBreak => r.text(" "),
            Md::HardBreak => r.flush(),
            Md::Rule => {
                r.flush();
                r.blank_if_needed();
                r.out
                    .push(Line::styled("─".repeat(r.width.min(40)), theme.dim));
                r.need_blank = true;
            }
            Md::TaskListMarker(done) => r.text(if done { "[x] " } else { "[ ] " }),
            Md::Html(t) | Md::InlineHtml(t) => {
                let s = t.trim_end_matches('\n').to_string();
                r.cur.push(Span::styled(s, theme.dim));
                if t.ends_with('\n') {
                    r.flush();
                }
            }
            Md::FootnoteReference(t) => r.text(&format!("[{t}]")),
            Md::InlineMath(t) | Md::DisplayMath(t) => r.text(&t),
        }
    }
    if let Some((lang, buf)) = r.code.take() {
        r.code_block(&lang, &buf);
    }
    r.flush();
    if r.out.is_empty() {
        r.out.push(Line::default());
    }
    r.out
}

/// Where the settled part of a streaming answer ends: the start of the last blank line that is
/// outside a code fence and followed by a line starting at column 0 (so not a list item's
/// continuation); 0 when there is none. Top-level blocks before it do not change as more text
/// arrives, so they can be rendered once.
#[cfg(test)]
pub fn stable_split(text: &str) -> usize {
    stable_split_from(text, 0)
}

/// [`stable_split`] scanning from `from`, an earlier split (outside any fence by definition):
/// the text only grows while it streams, so each frame scans only what is new. Returns `from`
/// when there is no later split.
pub fn stable_split_from(text: &str, from: usize) -> usize {
    if from > text.len() || !text.is_char_boundary(from) {
        return 0;
    }
    let mut in_fence = false;
    let mut split = from;
    let mut pending: Option<usize> = None;
    let mut offset = from;
    for line in text[from..].split_inclusive('\n') {
        let t = line.trim();
        if t.is_empty() {
            if !in_fence && offset > 0 && pending.is_none() {
                pending = Some(offset);
            }
        } else {
            let column0 = !line.starts_with([' ', '\t']);
            if let Some(p) = pending.take()
                && column0
            {
                split = p;
            }
            if t.starts_with("```") || t.starts_with("~~~") {
                in_fence = !in_fence;
            }
        }
        offset += line.len();
    }
    split
}

/// The fenced and indented code blocks of a markdown text, for copy mode.
pub fn code_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut cur: Option<String> = None;
    for ev in Parser::new_ext(text, options()) {
        match ev {
            Md::Start(Tag::CodeBlock(_)) => cur = Some(String::new()),
            Md::Text(t) => {
                if let Some(c) = cur.as_mut() {
                    c.push_str(&t);
                }
            }
            Md::End(TagEnd::CodeBlock) => blocks.extend(cur.take()),
            _ => {}
        }
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(lines: &[Line<'_>]) -> Vec<String> {
        lines.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn renders_blocks() {
        let t = Theme::builtin_default();
        let md = "# Title\n\nSome *em* and **strong** `x`.\n\n- one\n- two\n  1. a\n\n```python\nprint(1)\n```\n\n> quoted";
        let lines = render(md, 40, &t);
        assert_eq!(
            plain(&lines),
            vec![
                "# Title",
                "",
                "Some em and strong x.",
                "",
                "• one",
                "• two",
                "  1. a",
                "",
                "▎ python",
                "▎ print(1)",
                "",
                "│ quoted",
            ]
        );
        assert_eq!(lines[0].spans[0].style, t.heading);
        let em = lines[2].spans.iter().find(|s| s.content == "em");
        assert!(em.is_some_and(|s| s.style.add_modifier.contains(Modifier::ITALIC)));
    }

    #[test]
    fn stable_split_skips_fences_and_trailing_blanks() {
        assert_eq!(stable_split("one para"), 0);
        assert_eq!(stable_split("a\n\nb"), 2);
        assert_eq!(stable_split("a\n\n```\nx\n\ny"), 2);
        assert_eq!(stable_split("a\n\n```\nx\n```\n\ny"), 13);
        assert_eq!(stable_split("a\n\n"), 0);
        assert_eq!(stable_split("- a\n\n  more"), 0);
        assert_eq!(stable_split("a\n\n\nb"), 2);
    }

    #[test]
    fn wraps_list_items_with_hanging_indent() {
        let t = Theme::builtin_default();
        let lines = render("- alpha beta gamma delta", 12, &t);
        assert_eq!(plain(&lines), vec!["• alpha beta", "  gamma", "  delta"]);
    }

    #[test]
    fn unfinished_code_block_while_streaming_and_extraction() {
        let t = Theme::builtin_default();
        let lines = render("text\n```py\nx = 1\n", 30, &t);
        assert!(plain(&lines).contains(&"▎ x = 1".to_string()));
        assert_eq!(code_blocks("a\n```\nb\n```\n\n    c\n"), vec!["b\n", "c\n"]);
    }
}
