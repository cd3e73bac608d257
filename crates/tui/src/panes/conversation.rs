//! The conversation pane: user prompts, streamed and final answers (markdown), one-line tool
//! summaries tied to trace entries, notices and errors.
//!
//! Each item caches its wrapped lines per (width, revision); a frame sums cached heights and copies
//! only the visible lines, so drawing a 10,000-message session costs what the screen shows.

use std::cell::RefCell;
use std::time::Instant;

use llm_repl_protocol::{CallId, NoticeLevel};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::trace::Trace;
use crate::render::scroll::Scroll;
use crate::render::{markdown, wrap};
use crate::theme::Theme;

/// What an item is.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemKind {
    User,
    Assistant {
        streaming: bool,
    },
    /// A tool call: its line is drawn from the trace entry of this id.
    Tool {
        call_id: CallId,
    },
    Notice(NoticeLevel),
    Error,
}

/// One entry of the conversation.
#[derive(Debug)]
pub struct Item {
    pub kind: ItemKind,
    pub text: String,
    /// A prompt whose turn failed before any answer: the agent dropped it from the context, so
    /// it gets no prompt number (see `rewind.rs`).
    pub out_of_context: bool,
    /// The key of a status line that updates in place (see [`Conversation::set_status`]).
    status: Option<String>,
    rev: u64,
    cache: RefCell<Option<Cached>>,
}

#[derive(Debug)]
struct Cached {
    width: u16,
    rev: u64,
    lines: Vec<Line<'static>>,
    /// For a streaming answer: bytes of text whose lines are settled (top-level blocks before
    /// the last blank line outside a code fence) and how many of `lines` they fill. A delta then
    /// renders only the block still growing, and newly settled blocks are rendered once. (Until
    /// the answer completes, a list split by blank lines may show tighter than its final form.)
    settled_len: usize,
    settled_rows: usize,
}

impl Item {
    pub fn new(kind: ItemKind, text: impl Into<String>) -> Item {
        Item {
            kind,
            text: text.into(),
            out_of_context: false,
            status: None,
            rev: 0,
            cache: RefCell::new(None),
        }
    }

    fn touch(&mut self) {
        self.rev += 1;
    }
}

/// The conversation's items and scroll state.
#[derive(Debug, Default)]
pub struct Conversation {
    pub items: Vec<Item>,
    pub scroll: Scroll,
}

impl Conversation {
    pub fn clear(&mut self) {
        self.items.clear();
        self.scroll = Scroll::default();
    }

    pub fn push(&mut self, kind: ItemKind, text: impl Into<String>) {
        self.items.push(Item::new(kind, text));
    }

    /// Shows the status line `key`, updates it in place, or (empty `text`) removes it: a
    /// provider's retries are one line that changes, not a line per attempt.
    pub fn set_status(&mut self, key: &str, level: NoticeLevel, text: &str) {
        let at = self
            .items
            .iter()
            .rposition(|i| i.status.as_deref() == Some(key));
        match at {
            Some(i) if text.is_empty() => {
                self.items.remove(i);
            }
            Some(i) => {
                let item = &mut self.items[i];
                item.kind = ItemKind::Notice(level);
                item.text = text.to_string();
                item.touch();
            }
            None if text.is_empty() => {}
            None => {
                let mut item = Item::new(ItemKind::Notice(level), text);
                item.status = Some(key.to_string());
                self.items.push(item);
            }
        }
    }

    /// Removes every status line (the turn ended: nothing is retrying any more).
    pub fn clear_statuses(&mut self) {
        self.items.retain(|i| i.status.is_none());
    }

    /// Appends streamed text to the open answer, opening one if needed. A status line shown
    /// while the answer streams (a resumed stream) does not split the answer.
    pub fn append_delta(&mut self, text: &str) {
        let last = self.items.iter().rposition(|i| i.status.is_none());
        match last.map(|i| &mut self.items[i]) {
            Some(item) if item.kind == (ItemKind::Assistant { streaming: true }) => {
                item.text.push_str(text);
                item.touch();
            }
            _ => self.push(ItemKind::Assistant { streaming: true }, text),
        }
    }

    /// Closes the open answer with the authoritative final text (when given). An empty final
    /// text (a step that only calls tools) keeps what was streamed, and an answer left empty is
    /// dropped rather than shown as a bare header.
    pub fn finish_answer(&mut self, final_text: Option<&str>) {
        let final_text = final_text.filter(|t| !t.trim().is_empty());
        let open = self
            .items
            .iter()
            .rposition(|i| matches!(i.kind, ItemKind::Assistant { streaming: true }));
        match open {
            Some(idx) => {
                let item = &mut self.items[idx];
                item.kind = ItemKind::Assistant { streaming: false };
                if let Some(t) = final_text {
                    item.text = t.to_string();
                }
                item.touch();
                if item.text.trim().is_empty() {
                    self.items.remove(idx);
                }
            }
            None => {
                if let Some(t) = final_text {
                    self.push(ItemKind::Assistant { streaming: false }, t);
                }
            }
        }
    }

    /// The last assistant answer, for `/copy`.
    pub fn last_answer(&self) -> Option<&str> {
        self.items
            .iter()
            .rev()
            .find(|i| matches!(i.kind, ItemKind::Assistant { .. }) && !i.text.is_empty())
            .map(|i| i.text.as_str())
    }

    /// Total wrapped height at `width`, filling caches as needed.
    fn with_lines<R>(
        item: &Item,
        width: u16,
        theme: &Theme,
        f: impl FnOnce(&[Line<'static>]) -> R,
    ) -> R {
        let mut cache = item.cache.borrow_mut();
        let fresh = matches!(&*cache, Some(c) if c.width == width && c.rev == item.rev);
        if !fresh {
            let streaming = item.kind == (ItemKind::Assistant { streaming: true });
            match cache.as_mut() {
                Some(c) if streaming && c.width == width && c.settled_len > 0 => {
                    let split = markdown::stable_split_from(&item.text, c.settled_len);
                    c.lines.truncate(c.settled_rows);
                    if split > c.settled_len {
                        // Newly settled blocks are rendered once and appended.
                        let seg = item.text[c.settled_len..split].trim_start_matches('\n');
                        let w = (width as usize).saturating_sub(2);
                        c.lines.extend(indented(markdown::render(seg, w, theme)));
                        c.lines.push(Line::default());
                        c.settled_len = split;
                        c.settled_rows = c.lines.len();
                    }
                    c.lines
                        .extend(answer_tail(item, split, width as usize, theme));
                    c.rev = item.rev;
                }
                _ if streaming => {
                    let split = markdown::stable_split_from(&item.text, 0);
                    *cache = Some(streaming_lines(item, width, theme, split));
                }
                _ => {
                    *cache = Some(Cached {
                        width,
                        rev: item.rev,
                        lines: item_lines(item, width as usize, theme),
                        settled_len: 0,
                        settled_rows: 0,
                    });
                }
            }
        }
        match &*cache {
            Some(c) => f(&c.lines),
            None => f(&[]),
        }
    }

    /// Rows of item `i`: a tool line takes one, plus a blank one after the last of a run.
    fn height(&self, i: usize, width: u16, theme: &Theme) -> usize {
        let item = &self.items[i];
        if matches!(item.kind, ItemKind::Tool { .. }) {
            let next_is_tool = matches!(
                self.items.get(i + 1).map(|n| &n.kind),
                Some(ItemKind::Tool { .. })
            );
            return if next_is_tool { 1 } else { 2 };
        }
        Self::with_lines(item, width, theme, |l| l.len())
    }

    /// The lines of rows `top..top+height` of the whole conversation.
    #[allow(clippy::too_many_arguments)]
    fn visible(
        &self,
        width: u16,
        top: usize,
        height: usize,
        theme: &Theme,
        trace: &Trace,
        spin: usize,
        now: Option<Instant>,
    ) -> Vec<Line<'static>> {
        let mut out = Vec::with_capacity(height);
        let mut row = 0;
        for (i, item) in self.items.iter().enumerate() {
            if out.len() >= height {
                break;
            }
            let h = self.height(i, width, theme);
            if row + h <= top {
                row += h;
                continue;
            }
            let skip = top.saturating_sub(row);
            if let ItemKind::Tool { call_id } = &item.kind {
                let lines = [
                    trace.summary_line(call_id, theme, spin, now),
                    Line::default(),
                ];
                out.extend(
                    lines
                        .into_iter()
                        .take(h)
                        .skip(skip)
                        .take(height - out.len()),
                );
            } else {
                Self::with_lines(item, width, theme, |lines| {
                    out.extend(lines.iter().skip(skip).take(height - out.len()).cloned());
                });
            }
            row += h;
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    pub fn draw(
        &self,
        f: &mut Frame<'_>,
        area: Rect,
        block: Block<'_>,
        theme: &Theme,
        trace: &Trace,
        spin: usize,
        now: Option<Instant>,
    ) {
        let inner = block.inner(area);
        let width = inner.width.saturating_sub(1).max(1);
        let total: usize = (0..self.items.len())
            .map(|i| self.height(i, width, theme))
            .sum();
        let height = inner.height as usize;
        let top = self.scroll.top_for(total, height);
        let below = self.scroll.below(total, height);
        let mut block = block;
        if !self.scroll.following() && below > 0 {
            block = block.title_bottom(
                Line::styled(format!(" ↓ {below} more lines · End follows "), theme.warn)
                    .right_aligned(),
            );
        }
        let lines = self.visible(width, top, height, theme, trace, spin, now);
        f.render_widget(Paragraph::new(lines).block(block), area);
    }
}

fn item_lines(item: &Item, width: usize, theme: &Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    match &item.kind {
        ItemKind::User => {
            out.push(Line::from(Span::styled("› you", theme.user)));
            out.extend(wrap::wrap_text(&item.text, width, theme.text, "  "));
        }
        ItemKind::Assistant { .. } => {
            out.push(Line::from(Span::styled("◆ assistant", theme.assistant)));
            out.extend(indented(markdown::render(
                &item.text,
                width.saturating_sub(2),
                theme,
            )));
        }
        ItemKind::Tool { .. } => {}
        ItemKind::Notice(level) => {
            let (mark, style) = match level {
                NoticeLevel::Info => ("ℹ ", theme.info),
                NoticeLevel::Warn => ("⚠ ", theme.warn),
                NoticeLevel::Error => ("✗ ", theme.error),
            };
            let prefix = vec![Span::styled(mark, style)];
            for (i, raw) in item.text.split('\n').enumerate() {
                let first = if i == 0 {
                    prefix.clone()
                } else {
                    vec![Span::raw("  ")]
                };
                out.extend(wrap::wrap_spans(
                    &[Span::styled(raw.to_string(), notice_body(style))],
                    width,
                    first,
                    vec![Span::raw("  ")],
                ));
            }
        }
        ItemKind::Error => {
            let prefix = vec![Span::styled("✗ error: ", theme.error)];
            out.extend(wrap::wrap_spans(
                &[Span::styled(
                    item.text.clone(),
                    theme.error.remove_modifier(Modifier::BOLD),
                )],
                width,
                prefix,
                vec![Span::raw("  ")],
            ));
        }
    }
    out.push(Line::default());
    out
}

fn indented(lines: Vec<Line<'static>>) -> impl Iterator<Item = Line<'static>> {
    lines.into_iter().map(|mut l| {
        if !l.spans.is_empty() {
            l.spans.insert(0, Span::raw("  "));
        }
        l
    })
}

/// The lines of the still-growing part of a streaming answer (from byte `from`), with the cursor
/// and the blank line that ends every item.
fn answer_tail(item: &Item, from: usize, width: usize, theme: &Theme) -> Vec<Line<'static>> {
    let tail = item.text[from..].trim_start_matches('\n');
    let mut body: Vec<Line<'static>> =
        indented(markdown::render(tail, width.saturating_sub(2), theme)).collect();
    if let Some(last) = body.last_mut() {
        last.spans.push(Span::styled("▌", theme.accent));
    }
    body.push(Line::default());
    body
}

/// A streaming answer rendered afresh: header, settled blocks (up to `split`), growing tail.
fn streaming_lines(item: &Item, width: u16, theme: &Theme, split: usize) -> Cached {
    let w = width as usize;
    let mut lines = vec![Line::from(vec![
        Span::styled("◆ assistant", theme.assistant),
        Span::styled(" …", theme.dim),
    ])];
    if split > 0 {
        lines.extend(indented(markdown::render(
            &item.text[..split],
            w.saturating_sub(2),
            theme,
        )));
        lines.push(Line::default());
    }
    let settled_rows = lines.len();
    lines.extend(answer_tail(item, split, w, theme));
    Cached {
        width,
        rev: item.rev,
        lines,
        settled_len: split,
        settled_rows,
    }
}

fn notice_body(style: Style) -> Style {
    // Stats tables arrive as notices: keep them in the plain text colour so columns read well.
    style.remove_modifier(Modifier::ITALIC)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(item: &Item, width: u16, theme: &Theme) -> Vec<String> {
        Conversation::with_lines(item, width, theme, |l| {
            l.iter().map(|l| l.to_string()).collect()
        })
    }

    #[test]
    fn incremental_streaming_render_matches_a_fresh_render() {
        let theme = Theme::builtin_default();
        let text = "# T\n\npara one is long enough to wrap around\n\n```py\nx = 1\n\ny = 2\n```\n\n- a\n- b\n\npara\n\n- c\n\n  more\n\nend";
        let mut c = Conversation::default();
        for chunk in text.as_bytes().chunks(3) {
            c.append_delta(std::str::from_utf8(chunk).unwrap_or(""));
            // Render after every delta, as frames would.
            rendered(&c.items[0], 30, &theme);
        }
        let incremental = rendered(&c.items[0], 30, &theme);
        let fresh = Item::new(ItemKind::Assistant { streaming: true }, text);
        assert_eq!(incremental, rendered(&fresh, 30, &theme));
        assert!(incremental.iter().any(|l| l.contains("y = 2")));
        // Width changes and the final text re-render everything.
        assert_eq!(
            rendered(&c.items[0], 20, &theme),
            rendered(&fresh, 20, &theme)
        );
        c.finish_answer(None);
        let done = rendered(&c.items[0], 30, &theme);
        assert_eq!(done[0], "◆ assistant");
        assert!(!done.concat().contains('▌'));
    }

    #[test]
    fn deltas_stream_into_one_answer_and_finish() {
        let mut c = Conversation::default();
        c.push(ItemKind::User, "hi");
        c.append_delta("Hel");
        c.append_delta("lo");
        assert_eq!(c.items.len(), 2);
        assert_eq!(c.items[1].text, "Hello");
        c.finish_answer(Some("Hello!"));
        assert_eq!(c.items[1].kind, ItemKind::Assistant { streaming: false });
        assert_eq!(c.last_answer(), Some("Hello!"));
        // A final message without deltas still shows.
        c.finish_answer(Some("second"));
        assert_eq!(c.items.len(), 3);
        // Empty final text of a tool-only step adds nothing and keeps what streamed.
        c.finish_answer(Some(""));
        assert_eq!(c.items.len(), 3);
        c.append_delta("streamed");
        c.finish_answer(Some(" "));
        assert_eq!(c.last_answer(), Some("streamed"));
        c.append_delta("");
        c.finish_answer(None);
        assert_eq!(c.items.len(), 4);
    }
}
