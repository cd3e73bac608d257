//! Markdown to styled, wrapped lines (pulldown-cmark): headings, lists, emphasis, quotes, rules,
//! tables in aligned columns ([`super::table`]), links as their text plus the URL, and fenced
//! code highlighted by [`super::highlight`].
//!
//! A single newline is kept as a line break (not joined into a space as CommonMark says): model
//! answers quote program output and lists of values line by line, and `0\n1\n2` must not turn
//! into `0 1 2`.
//!
//! The output is already wrapped to the width asked for, so the caller caches it per width and a
//! frame never parses markdown for lines it does not show.

use pulldown_cmark::{CodeBlockKind, Event as Md, HeadingLevel, Options, Parser, Tag, TagEnd};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::highlight::highlight;
use super::table::{self, Table};
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
    table: Option<Table>,
    table_row: Vec<String>,
    in_cell: bool,
    /// Destinations of the links being read (nested images in links), with where their text
    /// starts in `cur`.
    links: Vec<(String, usize)>,
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
            Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. } => {
                let l = self.theme.link;
                self.styles.push(l);
                self.links.push((dest_url.to_string(), self.cur.len()));
            }
            Tag::Table(align) => {
                self.flush();
                self.need_blank = !self.out.is_empty();
                self.table = Some(Table {
                    align,
                    ..Table::default()
                });
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
            TagEnd::Emphasis | TagEnd::Strong | TagEnd::Strikethrough => {
                self.styles.pop();
            }
            TagEnd::Link | TagEnd::Image => {
                self.styles.pop();
                if let Some((url, start)) = self.links.pop() {
                    self.link_url(&url, start);
                }
            }
            TagEnd::TableCell => self.in_cell = false,
            TagEnd::TableHead | TagEnd::TableRow => {
                let row = std::mem::take(&mut self.table_row);
                if let Some(t) = self.table.as_mut() {
                    if matches!(tag, TagEnd::TableHead) {
                        t.head = row;
                    } else {
                        t.rows.push(row);
                    }
                }
            }
            TagEnd::Table => {
                if let Some(t) = self.table.take() {
                    self.blank_if_needed();
                    let room = self
                        .width
                        .saturating_sub(self.indent.iter().map(|s| text_width(&s.content)).sum());
                    let (head, body, rule) = (self.theme.title, self.theme.text, self.theme.dim);
                    self.out
                        .extend(table::render(&t, room, &self.indent, head, body, rule));
                }
                self.need_blank = true;
            }
            _ => {}
        }
    }

    /// After a link's text: ` (url)`, unless the text already is the URL (autolinks) or the
    /// link is inside a table cell (the cell keeps its text only), or points inside the page.
    fn link_url(&mut self, url: &str, start: usize) {
        if url.is_empty() || url.starts_with('#') {
            return;
        }
        if self.in_cell {
            if let Some(cell) = self.table_row.last_mut()
                && !cell.ends_with(url)
            {
                cell.push_str(&format!(" ({url})"));
            }
            return;
        }
        let text: String = self.cur[start.min(self.cur.len())..]
            .iter()
            .map(|s| s.content.as_ref())
            .collect();
        let bare = url.strip_prefix("mailto:").unwrap_or(url);
        if text == url || text == bare {
            return;
        }
        self.cur.push(Span::styled(" (", self.theme.dim));
        self.cur
            .push(Span::styled(url.to_string(), self.theme.link));
        self.cur.push(Span::styled(")", self.theme.dim));
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
        table: None,
        table_row: Vec::new(),
        in_cell: false,
        links: Vec::new(),
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
            // Kept as a line break: see the module doc.
            Md::SoftBreak if r.in_cell => r.text(" "),
            Md::SoftBreak => r.flush(),
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

    fn snapshot_text(md: &str, width: usize) -> String {
        let t = Theme::builtin_default();
        let lines = render(md, width, &t);
        for l in &lines {
            assert!(l.width() <= width, "over {width} cells: {l}");
        }
        plain(&lines).join("\n")
    }

    const TABLE: &str = "Results:\n\n| file | size (bytes) | status |\n|:-----|-------------:|:------:|\n| a.txt | 12 | ok |\n| 東京.csv | 1234567 | failed to parse |\n| [docs](https://example.com/d) | 0 | `n/a` |\n";

    #[test]
    fn table_columns_are_aligned() {
        insta::assert_snapshot!(snapshot_text(TABLE, 80));
    }

    #[test]
    fn table_is_clipped_when_narrow() {
        insta::assert_snapshot!(snapshot_text(TABLE, 34));
    }

    #[test]
    fn links_show_their_url() {
        let md = "See [the docs](https://docs.rs/ratatui) and <https://example.com>, \
                  or ![a chart](img/chart.png) and [top](#intro).";
        let text = snapshot_text(md, 60);
        assert!(
            text.contains("the docs (https://docs.rs/ratatui)"),
            "{text}"
        );
        assert!(
            !text.contains("https://example.com ("),
            "autolinks once: {text}"
        );
        insta::assert_snapshot!(text);
    }

    #[test]
    fn single_newlines_in_quoted_output_are_kept() {
        let md = "Observed:\n0\n1\n2\n\n> stdout:\n> line one\n> line two\n\n- item\n  continued";
        let text = snapshot_text(md, 40);
        assert!(!text.contains("0 1 2"), "{text}");
        insta::assert_snapshot!(text);
    }
}
