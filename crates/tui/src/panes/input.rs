//! The prompt input: a multiline tui-textarea with prompt history (Up/Down at the edges) and a
//! reverse search over earlier prompts (Ctrl+R).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use tui_textarea::{CursorMove, TextArea, WrapMode};

use crate::theme::Theme;

/// Ctrl+R state: the query and the history index it currently shows.
#[derive(Debug, Clone, Default)]
pub struct HistorySearch {
    pub query: String,
    pub hit: Option<usize>,
}

#[derive(Debug)]
pub struct InputPane {
    pub textarea: TextArea<'static>,
    pub history: Vec<String>,
    /// Index into `history` while recalling; `None` when editing a fresh prompt.
    recall: Option<usize>,
    /// The unsent text put aside while recalling.
    draft: String,
    pub search: Option<HistorySearch>,
    /// Long pastes shown in the box as a marker ("[pasted 120 lines]") and sent whole.
    pastes: Vec<(String, String)>,
}

/// Pastes of more lines than this show as a marker in the box (and are sent whole).
pub const PASTE_FOLD_LINES: usize = 20;

impl Default for InputPane {
    fn default() -> Self {
        let mut textarea = TextArea::default();
        textarea.set_wrap_mode(WrapMode::WordOrGlyph);
        textarea.set_placeholder_text(
            "Ask anything · Enter sends · Alt+Enter newline · / commands · F1 help",
        );
        InputPane {
            textarea,
            history: Vec::new(),
            recall: None,
            draft: String::new(),
            search: None,
            pastes: Vec::new(),
        }
    }
}

impl InputPane {
    pub fn text(&self) -> String {
        self.textarea.lines().join("\n")
    }

    pub fn is_empty(&self) -> bool {
        self.textarea.is_empty() || self.text().is_empty()
    }

    /// Replaces the text and puts the cursor at its end.
    pub fn set_text(&mut self, text: &str) {
        let placeholder = self.textarea.placeholder_text().to_string();
        let style = self.textarea.style();
        let cursor_line = self.textarea.cursor_line_style();
        let mut ta = TextArea::new(text.split('\n').map(str::to_string).collect());
        ta.set_placeholder_text(placeholder);
        ta.set_style(style);
        ta.set_cursor_line_style(cursor_line);
        ta.set_wrap_mode(WrapMode::WordOrGlyph);
        ta.move_cursor(CursorMove::Bottom);
        ta.move_cursor(CursorMove::End);
        self.textarea = ta;
    }

    /// Inserts pasted text as one edit (one undo removes it). More than [`PASTE_FOLD_LINES`]
    /// lines show as a marker such as "[pasted 120 lines]"; [`Self::take_expanded`] sends them whole.
    pub fn paste(&mut self, text: &str) {
        let lines = text.trim_end_matches('\n').split('\n').count();
        if lines <= PASTE_FOLD_LINES {
            self.textarea.insert_str(text);
            return;
        }
        let n = self.pastes.len() + 1;
        let marker = if n == 1 {
            format!("[pasted {lines} lines]")
        } else {
            format!("[pasted {lines} lines #{n}]")
        };
        self.textarea.insert_str(&marker);
        self.pastes.push((marker, text.to_string()));
    }

    /// The text with every paste marker still in it replaced by its paste.
    pub fn expanded_text(&self) -> String {
        expand(self.text(), &self.pastes)
    }

    /// Replaces the whole text (pastes already expanded in it), e.g. with an editor's result.
    pub fn replace_all(&mut self, text: &str) {
        self.pastes.clear();
        self.set_text(text);
    }

    /// Like [`Self::take`], with every paste marker still in the text replaced by its paste.
    pub fn take_expanded(&mut self) -> String {
        let pastes = std::mem::take(&mut self.pastes);
        let text = expand(self.take(), &pastes);
        if let Some(last) = self.history.last_mut()
            && !pastes.is_empty()
        {
            last.clone_from(&text);
        }
        text
    }

    /// Takes the text for sending, records it in the history and clears the input.
    pub fn take(&mut self) -> String {
        let text = self.text();
        if !text.trim().is_empty() && self.history.last() != Some(&text) {
            self.history.push(text.clone());
        }
        self.recall = None;
        self.draft.clear();
        self.set_text("");
        text
    }

    pub fn on_first_row(&self) -> bool {
        self.textarea.cursor().0 == 0
    }

    pub fn on_last_row(&self) -> bool {
        self.textarea.cursor().0 + 1 >= self.textarea.lines().len()
    }

    /// Shows the previous prompt; false when there is none.
    pub fn recall_prev(&mut self) -> bool {
        let next = match self.recall {
            None if self.history.is_empty() => return false,
            None => {
                self.draft = self.text();
                self.history.len() - 1
            }
            Some(0) => return false,
            Some(i) => i - 1,
        };
        self.recall = Some(next);
        let t = self.history[next].clone();
        self.set_text(&t);
        true
    }

    /// Shows the next prompt, then the draft; false when already at the draft.
    pub fn recall_next(&mut self) -> bool {
        match self.recall {
            None => false,
            Some(i) if i + 1 < self.history.len() => {
                self.recall = Some(i + 1);
                let t = self.history[i + 1].clone();
                self.set_text(&t);
                true
            }
            Some(_) => {
                self.recall = None;
                let d = std::mem::take(&mut self.draft);
                self.set_text(&d);
                true
            }
        }
    }

    /// Finds the newest prompt at or before `before` containing the query.
    fn find(&self, query: &str, before: usize) -> Option<usize> {
        let q = query.to_lowercase();
        (0..before.min(self.history.len()))
            .rev()
            .find(|&i| self.history[i].to_lowercase().contains(&q))
    }

    pub fn search_start(&mut self) {
        self.search = Some(HistorySearch::default());
    }

    pub fn search_type(&mut self, c: Option<char>) {
        let len = self.history.len();
        let hit = if let Some(s) = self.search.as_mut() {
            match c {
                Some(c) => s.query.push(c),
                None => {
                    s.query.pop();
                }
            }
            Some(s.query.clone())
        } else {
            None
        };
        if let Some(q) = hit {
            let found = self.find(&q, len);
            if let Some(s) = self.search.as_mut() {
                s.hit = found;
            }
        }
    }

    /// Ctrl+R again: the next older match.
    pub fn search_older(&mut self) {
        if let Some(s) = &self.search {
            let before = s.hit.unwrap_or(self.history.len());
            let q = s.query.clone();
            if let Some(found) = self.find(&q, before)
                && let Some(s) = self.search.as_mut()
            {
                s.hit = Some(found);
            }
        }
    }

    /// Ends the search, putting the match into the input when `accept`.
    pub fn search_end(&mut self, accept: bool) {
        if let Some(s) = self.search.take()
            && accept
            && let Some(i) = s.hit
        {
            let t = self.history[i].clone();
            self.set_text(&t);
        }
    }

    /// Rows the input wants (text lines plus border), between 3 and 10.
    /// Rows the input wants at `width` (soft-wrapped text plus border), between 3 and 10.
    pub fn wanted_height(&self, width: u16) -> u16 {
        let inner = (width.saturating_sub(2)).max(1) as usize;
        let rows: usize = self
            .textarea
            .lines()
            .iter()
            .map(|l| crate::render::wrap::width(l).div_ceil(inner).max(1))
            .sum();
        (rows.min(64) as u16 + 2).clamp(3, 10)
    }

    pub fn draw(
        &self,
        f: &mut Frame<'_>,
        area: Rect,
        block: Block<'_>,
        theme: &Theme,
        focused: bool,
        search_footer: &str,
    ) {
        if let Some(s) = &self.search {
            let found = s
                .hit
                .map(|i| self.history[i].replace('\n', " ⏎ "))
                .unwrap_or_else(|| "(no match)".into());
            let line = Line::from(vec![
                Span::styled("history search: ", theme.accent),
                Span::styled(s.query.clone(), theme.match_hl),
                Span::styled("  → ", theme.dim),
                Span::styled(found, theme.text),
            ]);
            let block = block.title_bottom(Line::styled(search_footer.to_string(), theme.dim));
            f.render_widget(Paragraph::new(line).block(block), area);
            return;
        }
        let mut ta = self.textarea.clone();
        ta.set_block(block);
        ta.set_style(theme.text);
        ta.set_placeholder_style(theme.dim);
        ta.set_cursor_line_style(ratatui::style::Style::default());
        if !focused {
            ta.set_cursor_style(ratatui::style::Style::default());
        }
        f.render_widget(&ta, area);
    }
}

/// `text` with each paste marker in it replaced by its paste.
fn expand(mut text: String, pastes: &[(String, String)]) -> String {
    for (marker, pasted) in pastes.iter().rev() {
        if let Some(at) = text.find(marker.as_str()) {
            text.replace_range(at..at + marker.len(), pasted);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recall_walks_history_and_restores_draft() {
        let mut p = InputPane::default();
        p.set_text("first");
        p.take();
        p.set_text("second");
        p.take();
        p.set_text("draft");
        assert!(p.recall_prev());
        assert_eq!(p.text(), "second");
        assert!(p.recall_prev());
        assert_eq!(p.text(), "first");
        assert!(!p.recall_prev());
        assert!(p.recall_next());
        assert!(p.recall_next());
        assert_eq!(p.text(), "draft");
        assert!(!p.recall_next());
    }

    #[test]
    fn reverse_search_finds_older_matches() {
        let mut p = InputPane::default();
        for t in ["plot sin", "other", "plot cos"] {
            p.set_text(t);
            p.take();
        }
        p.search_start();
        for c in "plot".chars() {
            p.search_type(Some(c));
        }
        assert_eq!(p.search.as_ref().and_then(|s| s.hit), Some(2));
        p.search_older();
        assert_eq!(p.search.as_ref().and_then(|s| s.hit), Some(0));
        p.search_end(true);
        assert_eq!(p.text(), "plot sin");
    }
}
