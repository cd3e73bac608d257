//! The model picker (`/model` with no name): the current provider's models as the agent lists
//! them (`Op::ListModels` -> `Event::ModelList`: the server's `/models`, priced models, routes),
//! filtered by what is typed (case-insensitive substring), picked with the arrows and Enter.
//!
//! It shows "loading…" until the answer comes and the reason in one line when the server's
//! list could not be had; a typed name can always be used as it is (the last row), so a
//! server without a model list is no dead end. Enter goes the way `/model NAME` goes
//! (`Op::SetModel`); a route switches the provider to it (`Op::SetProvider`), as
//! `/provider ROUTE` does. The TUI does no HTTP: the agent asks the provider.

use crossterm::event::{KeyCode, KeyEvent};
use llm_repl_protocol::{ModelChoice, ModelSource, Op, RequestId};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph};
use unicode_width::UnicodeWidthStr;

use super::{Overlay, centered};
use crate::app::App;
use crate::keys::{Action, Context};
use crate::panes::input_keys::typed;
use crate::render::wrap::wrap_text;

/// Rows a page key moves.
const PAGE: usize = 10;

/// The picker's state.
#[derive(Debug, Clone, PartialEq)]
pub struct PickerState {
    /// The request whose answer fills the list (answers to other requests are ignored).
    pub request: RequestId,
    pub provider: String,
    /// The session's model when the picker opened (marked in the list).
    pub current: String,
    /// No answer yet.
    pub loading: bool,
    /// Why the server's list is missing (the other entries are still offered).
    pub error: Option<String>,
    pub models: Vec<ModelChoice>,
    pub filter: String,
    /// Index into [`PickerState::rows`].
    pub sel: usize,
}

/// One row of the filtered list.
#[derive(Debug, Clone, PartialEq)]
pub enum Row<'a> {
    Choice(&'a ModelChoice),
    /// The filter text itself, used as a model name.
    Typed(&'a str),
}

impl PickerState {
    /// The entries matching the filter, then the typed name unless an entry is exactly it.
    pub fn rows(&self) -> Vec<Row<'_>> {
        let needle = self.filter.trim().to_lowercase();
        let mut rows: Vec<Row<'_>> = self
            .models
            .iter()
            .filter(|m| m.name.to_lowercase().contains(&needle))
            .map(Row::Choice)
            .collect();
        let typed = self.filter.trim();
        if !typed.is_empty() && !self.models.iter().any(|m| m.name == typed) {
            rows.push(Row::Typed(typed));
        }
        rows
    }

    /// The row of `name` (exact, else case-insensitive), or the first.
    fn row_of(&self, name: &str) -> usize {
        let rows = self.rows();
        let is = |r: &Row<'_>, exact: bool| match r {
            Row::Choice(m) if exact => m.name == name,
            Row::Choice(m) => m.name.eq_ignore_ascii_case(name),
            Row::Typed(_) => false,
        };
        rows.iter()
            .position(|r| is(r, true))
            .or_else(|| rows.iter().position(|r| is(r, false)))
            .unwrap_or(0)
    }

    fn refilter(&mut self) {
        let filter = self.filter.trim().to_string();
        self.sel = self.row_of(&filter);
    }
}

/// `/model` with no name: opens the picker and asks the agent for the list.
pub fn open(app: &mut App) {
    let (provider, current) = app
        .session
        .as_ref()
        .map(|s| (s.provider.clone(), s.model.clone()))
        .unwrap_or_default();
    app.send(Op::ListModels);
    app.overlay = Some(Overlay::Models(PickerState {
        request: app.last_request(),
        provider,
        current,
        loading: true,
        error: None,
        models: Vec::new(),
        filter: String::new(),
        sel: 0,
    }));
}

/// An `Event::ModelList` answering `request`: fills the open picker it belongs to.
pub fn answer(
    app: &mut App,
    request: Option<RequestId>,
    models: Vec<ModelChoice>,
    error: Option<String>,
) {
    let Some(Overlay::Models(st)) = &mut app.overlay else {
        return;
    };
    if request != Some(st.request) {
        return;
    }
    st.loading = false;
    st.error = error;
    st.models = models;
    // `/model ` completes from the same names from now on.
    let names: Vec<String> = st
        .models
        .iter()
        .filter(|m| m.source != ModelSource::Route)
        .map(|m| m.name.clone())
        .collect();
    st.sel = if st.filter.trim().is_empty() {
        let current = st.current.clone();
        st.row_of(&current)
    } else {
        let filter = st.filter.trim().to_string();
        st.row_of(&filter)
    };
    for name in names {
        if !app.options.slash.models.contains(&name) {
            app.options.slash.models.push(name);
        }
    }
}

/// Text pasted while the picker is open goes to the filter (one line of it).
pub fn paste(st: &mut PickerState, text: &str) {
    st.filter.push_str(text.lines().next().unwrap_or_default());
    st.refilter();
}

pub fn handle_key(app: &mut App, mut st: PickerState, key: KeyEvent) -> Option<Overlay> {
    let n = st.rows().len();
    let last = n.saturating_sub(1);
    match app.keymap.lookup(Context::Models, &key) {
        Some(Action::Close) => return None,
        Some(Action::LineUp) => st.sel = st.sel.saturating_sub(1),
        Some(Action::LineDown) => st.sel = (st.sel + 1).min(last),
        Some(Action::PageUp) => st.sel = st.sel.saturating_sub(PAGE),
        Some(Action::PageDown) => st.sel = (st.sel + PAGE).min(last),
        Some(Action::ClearLine) => {
            st.filter.clear();
            st.refilter();
        }
        Some(Action::Accept) => {
            let op = match st.rows().get(st.sel) {
                Some(Row::Choice(m)) if m.source == ModelSource::Route => Op::SetProvider {
                    provider: m.name.clone(),
                },
                Some(Row::Choice(m)) => Op::SetModel {
                    model: m.name.clone(),
                },
                Some(Row::Typed(name)) => Op::SetModel {
                    model: name.to_string(),
                },
                // Nothing to pick (the list is empty and nothing was typed): stay open.
                None => return Some(Overlay::Models(st)),
            };
            app.send(op);
            return None;
        }
        _ if key.code == KeyCode::Backspace => {
            st.filter.pop();
            st.refilter();
        }
        _ => {
            if let Some(c) = typed(&key) {
                st.filter.push(c);
                st.refilter();
            }
        }
    }
    Some(Overlay::Models(st))
}

/// `128k`, `1M`, `200k` for a window in tokens.
fn window_label(tokens: u64) -> String {
    if tokens >= 1_000_000 && tokens.is_multiple_of(1_000_000) {
        format!("{}M", tokens / 1_000_000)
    } else if tokens >= 1000 {
        format!("{}k", tokens / 1000)
    } else {
        tokens.to_string()
    }
}

/// `name` cut to `width` display columns (with `…` when cut).
fn clip(name: &str, width: usize) -> String {
    if name.width() <= width {
        return name.to_string();
    }
    let mut out = String::new();
    for c in name.chars() {
        if out.width() + c.to_string().width() + 1 > width {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

pub fn draw(f: &mut Frame<'_>, app: &App, area: Rect, st: &PickerState) {
    let t = &app.theme;
    let w = 72.min(area.width.saturating_sub(2));
    let inner_w = w.saturating_sub(2) as usize;
    let mut lines: Vec<Line<'static>> = vec![Line::from(vec![
        Span::styled(" filter: ", t.dim),
        Span::styled(st.filter.clone(), t.text),
        Span::styled("▏", t.accent),
    ])];
    if st.loading {
        lines.push(Line::styled(
            format!(" loading… (asking {} for its models)", st.provider),
            t.dim,
        ));
    }
    if let Some(e) = &st.error {
        let text = format!("could not list models: {e}");
        lines.extend(wrap_text(&text, inner_w.saturating_sub(1), t.error, " "));
    }
    let rows = st.rows();
    if rows.is_empty() && !st.loading {
        lines.push(Line::styled(" no models: type a name", t.dim));
    }
    let max_h = area.height.saturating_sub(2).min(24);
    let want = (lines.len() + rows.len() + 2).max(8) as u16;
    let h = want.min(max_h);
    let r = centered(area, w, h);
    let list_h = (h as usize).saturating_sub(2 + lines.len()).max(1);
    let first = st.sel.saturating_sub(list_h.saturating_sub(1));
    let tag_w = 16;
    let name_w = inner_w.saturating_sub(tag_w + 4);
    for (i, row) in rows.iter().enumerate().skip(first).take(list_h) {
        let (current, name, tag) = match row {
            Row::Choice(m) => {
                let source = match m.source {
                    ModelSource::Listed => "listed",
                    ModelSource::Priced => "priced",
                    ModelSource::Route => "route",
                };
                let tag = match m.context_window {
                    Some(w) => format!("{source} · {}", window_label(w)),
                    None => source.to_string(),
                };
                (m.name == st.current, m.name.clone(), tag)
            }
            Row::Typed(name) => (false, format!("use “{name}”"), "typed".to_string()),
        };
        let selected = i == st.sel;
        // The caret and the dot read without colour too (NO_COLOR, a pty test's screen).
        let mark = format!(
            "{}{} ",
            if selected { "›" } else { " " },
            if current { "●" } else { " " }
        );
        let name = clip(&name, name_w);
        let pad = name_w.saturating_sub(name.width());
        let line = Line::from(vec![
            Span::styled(mark, t.accent),
            Span::styled(format!("{name}{}", " ".repeat(pad)), t.text),
            Span::styled(format!("{tag:>tag_w$}"), t.dim),
        ]);
        lines.push(if selected {
            line.patch_style(t.selection)
        } else {
            line
        });
    }
    let title = format!(" Model · {} · current {} ", st.provider, st.current);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(t.border_focused)
        .title(Span::styled(clip(&title, inner_w), t.title))
        .title_bottom(
            Line::styled(
                app.keymap.footer(
                    Context::Models,
                    &[
                        (&[Action::LineUp, Action::LineDown], "select"),
                        (&[Action::Accept], "switch"),
                        (&[Action::Close], "close"),
                    ],
                ),
                t.dim,
            )
            .right_aligned(),
        );
    f.render_widget(Clear, r);
    f.render_widget(Paragraph::new(lines).block(block), r);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choice(name: &str, source: ModelSource) -> ModelChoice {
        ModelChoice {
            name: name.into(),
            source,
            context_window: None,
        }
    }

    fn state(filter: &str) -> PickerState {
        PickerState {
            request: 1,
            provider: "openai".into(),
            current: "gpt-4o".into(),
            loading: false,
            error: None,
            models: vec![
                choice("gpt-4o-mini", ModelSource::Listed),
                choice("gpt-4o", ModelSource::Listed),
                choice("o3", ModelSource::Priced),
                choice("auto", ModelSource::Route),
            ],
            filter: filter.into(),
            sel: 0,
        }
    }

    fn names(st: &PickerState) -> Vec<String> {
        st.rows()
            .iter()
            .map(|r| match r {
                Row::Choice(m) => m.name.clone(),
                Row::Typed(t) => format!("typed:{t}"),
            })
            .collect()
    }

    #[test]
    fn filter_is_a_case_insensitive_substring_and_a_typed_name_is_offered() {
        assert_eq!(names(&state("4O")), ["gpt-4o-mini", "gpt-4o", "typed:4O"]);
        assert_eq!(names(&state("gpt-4o")), ["gpt-4o-mini", "gpt-4o"]);
        assert_eq!(names(&state("zz")), ["typed:zz"]);
        assert_eq!(names(&state("")).len(), 4);
    }

    #[test]
    fn an_exact_name_is_selected_over_a_longer_match() {
        let mut st = state("gpt-4o");
        st.refilter();
        assert_eq!(st.sel, 1);
    }

    #[test]
    fn windows_read_short() {
        assert_eq!(window_label(128_000), "128k");
        assert_eq!(window_label(1_000_000), "1M");
        assert_eq!(window_label(1_048_576), "1048k");
        assert_eq!(window_label(512), "512");
    }
}
