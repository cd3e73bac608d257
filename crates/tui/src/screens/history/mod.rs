//! The history browser (Ctrl+O or /sessions): stored sessions newest first, incremental full-text
//! search, a preview of the selected session, and resume / rename / delete / export. Typing always
//! goes to the search box; the actions sit on keys that cannot be typed (the keymap's `History`
//! context), and each says what it did in the browser's status line.
//!
//! It asks the agent for everything (Op::ListSessions, Op::Search, ...) and shows what comes back
//! (Event::SessionList, Event::SearchResults); it never reads the store.

mod draw;

use crossterm::event::{KeyCode, KeyEvent};
use llm_repl_protocol::{
    ExportFormat, Message, NoticeLevel, Op, SearchHit, SessionId, SessionSummary,
};

use crate::app::{App, Screen};
use crate::keys::{Action, Context};
use crate::panes::input_keys::typed;

pub use draw::draw;

/// Sessions asked for per page.
pub const PAGE: usize = 50;
/// Search hits asked for.
pub const HITS: usize = 50;

/// What the keyboard is doing on this screen.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Mode {
    /// Typing goes to the search box; the arrows move the selection; actions are on keys that
    /// cannot be typed (see the keymap's `History` context).
    #[default]
    List,
    Rename(String),
    ConfirmDelete,
}

#[derive(Debug, Clone, Default)]
pub struct HistoryScreen {
    pub sessions: Vec<SessionSummary>,
    pub total: usize,
    pub query: String,
    /// Results of the last search and the query they answer.
    pub hits: Option<(String, Vec<SearchHit>)>,
    pub sel: usize,
    pub mode: Mode,
    /// Offset of the page asked for and not yet answered.
    pending_offset: Option<usize>,
    pub waiting_search: bool,
    /// The last notice or error that arrived while the browser was open (e.g. "no store").
    pub status: Option<(NoticeLevel, String)>,
    /// The start of the previewed session's conversation, as the agent sent it.
    pub preview: Option<(SessionId, Vec<Message>)>,
    /// The session whose preview was last asked for (asked once per selection).
    preview_asked: Option<SessionId>,
}

impl HistoryScreen {
    pub fn set_sessions(&mut self, sessions: Vec<SessionSummary>, total: usize) {
        match self.pending_offset.take() {
            Some(off) if off > 0 && off == self.sessions.len() => self.sessions.extend(sessions),
            _ => self.sessions = sessions,
        }
        self.total = total.max(self.sessions.len());
        self.clamp();
    }

    pub fn set_hits(&mut self, query: String, hits: Vec<SearchHit>) {
        // Results of an older query than the one typed are stale: keep waiting for the newest.
        if query == self.query {
            self.waiting_search = false;
        }
        self.hits = Some((query, hits));
        self.clamp();
    }

    /// True when the rows are search hits rather than sessions.
    pub fn searching(&self) -> bool {
        !self.query.trim().is_empty()
    }

    pub(super) fn hit_rows(&self) -> &[SearchHit] {
        match &self.hits {
            Some((_, h)) if self.searching() => h,
            _ => &[],
        }
    }

    pub fn rows(&self) -> usize {
        if self.searching() {
            self.hit_rows().len()
        } else {
            self.sessions.len()
        }
    }

    fn clamp(&mut self) {
        self.sel = self.sel.min(self.rows().saturating_sub(1));
    }

    /// The session of the selected row.
    pub fn selected_id(&self) -> Option<SessionId> {
        if self.searching() {
            self.hit_rows().get(self.sel).map(|h| h.session_id.clone())
        } else {
            self.sessions.get(self.sel).map(|s| s.id.clone())
        }
    }

    pub(super) fn summary(&self, id: &str) -> Option<&SessionSummary> {
        self.sessions.iter().find(|s| s.id == id)
    }
}

/// Asks the agent for the selected session's conversation when the selection changed.
pub fn sync_preview(app: &mut App) {
    if app.screen != Screen::History {
        return;
    }
    let selected = app.history.selected_id();
    if selected == app.history.preview_asked {
        return;
    }
    app.history.preview_asked = selected.clone();
    if let Some(id) = selected {
        app.send(Op::PreviewSession { id });
    }
}

/// Opens the browser and asks for the first page.
pub fn open(app: &mut App) {
    app.screen = Screen::History;
    app.history.mode = Mode::List;
    app.history.status = None;
    app.history.pending_offset = Some(0);
    app.history.preview_asked = None;
    app.send(Op::ListSessions {
        offset: 0,
        limit: PAGE,
    });
}

fn search(app: &mut App) {
    let q = app.history.query.trim().to_string();
    app.history.sel = 0;
    if q.is_empty() {
        app.history.hits = None;
        app.history.waiting_search = false;
    } else {
        app.history.waiting_search = true;
        app.send(Op::Search {
            query: q,
            limit: HITS,
        });
    }
}

pub fn paste(app: &mut App, text: &str) {
    let line = text.lines().next().unwrap_or("");
    match &mut app.history.mode {
        Mode::List => {
            app.history.query.push_str(line);
            search(app);
        }
        Mode::Rename(t) => t.push_str(line),
        Mode::ConfirmDelete => {}
    }
}

fn move_sel(app: &mut App, delta: isize) {
    let h = &mut app.history;
    let n = h.rows();
    if n == 0 {
        return;
    }
    h.sel = (h.sel as isize + delta).clamp(0, n as isize - 1) as usize;
    // Near the end of the loaded page: ask for the next one.
    if !h.searching()
        && h.pending_offset.is_none()
        && h.sel + 10 >= h.sessions.len()
        && h.sessions.len() < h.total
    {
        let offset = h.sessions.len();
        h.pending_offset = Some(offset);
        app.send(Op::ListSessions {
            offset,
            limit: PAGE,
        });
    }
}

pub fn handle_key(app: &mut App, key: KeyEvent) {
    handle_key_inner(app, key);
    sync_preview(app);
}

fn handle_key_inner(app: &mut App, key: KeyEvent) {
    match app.history.mode.clone() {
        Mode::Rename(title) => rename_key(app, key, title),
        Mode::ConfirmDelete => {
            let yes = app.keymap.lookup(Context::Confirm, &key) == Some(Action::Accept);
            match (yes, app.history.selected_id()) {
                (true, Some(id)) => delete(app, id),
                _ => app.history.status = Some((NoticeLevel::Info, "nothing deleted".into())),
            }
            app.history.mode = Mode::List;
        }
        Mode::List => list_key(app, key),
    }
}

/// The browser's own keys; anything typed goes to the search box.
fn list_key(app: &mut App, key: KeyEvent) {
    let rows = app.history.rows() as isize;
    match app.keymap.lookup(Context::History, &key) {
        Some(Action::Close) if app.history.searching() => clear_search(app),
        Some(Action::Close) => app.screen = Screen::Chat,
        Some(Action::ClearLine) => clear_search(app),
        Some(Action::LineUp) => move_sel(app, -1),
        Some(Action::LineDown) => move_sel(app, 1),
        Some(Action::PageUp) => move_sel(app, -10),
        Some(Action::PageDown) => move_sel(app, 10),
        Some(Action::Top) => move_sel(app, -rows),
        Some(Action::Bottom) => move_sel(app, rows),
        Some(Action::Accept) => {
            if let Some(id) = app.history.selected_id() {
                app.send(Op::OpenSession { id });
                app.screen = Screen::Chat;
            }
        }
        Some(Action::Rename) => {
            if let Some(id) = app.history.selected_id() {
                let title = app
                    .history
                    .summary(&id)
                    .map(|s| s.title.clone())
                    .unwrap_or_default();
                app.history.mode = Mode::Rename(title);
            }
        }
        Some(Action::Delete) if app.history.selected_id().is_some() => {
            app.history.mode = Mode::ConfirmDelete;
        }
        Some(action @ (Action::ExportMarkdown | Action::ExportJson)) => {
            if let Some(id) = app.history.selected_id() {
                let format = if action == Action::ExportJson {
                    ExportFormat::Json
                } else {
                    ExportFormat::Markdown
                };
                app.history.status = Some((NoticeLevel::Info, format!("exporting {id}…")));
                app.send(Op::Export {
                    id: Some(id),
                    format,
                    path: None,
                });
            }
        }
        _ => {
            if let Some(c) = typed(&key) {
                app.history.query.push(c);
                search(app);
            } else if key.code == KeyCode::Backspace && app.history.query.pop().is_some() {
                search(app);
            }
        }
    }
}

fn clear_search(app: &mut App) {
    app.history.query.clear();
    app.history.hits = None;
    app.history.waiting_search = false;
    app.history.clamp();
}

fn rename_key(app: &mut App, key: KeyEvent, mut title: String) {
    match app.keymap.lookup(Context::Edit, &key) {
        Some(Action::Close) => app.history.mode = Mode::List,
        Some(Action::Accept) => {
            app.history.mode = Mode::List;
            let title = title.trim().to_string();
            if let Some(id) = app.history.selected_id()
                && !title.is_empty()
            {
                if let Some(s) = app.history.sessions.iter_mut().find(|s| s.id == id) {
                    s.title = title.clone();
                }
                app.history.status = Some((NoticeLevel::Info, format!("renaming to “{title}”…")));
                app.send(Op::RenameSession { id, title });
            }
        }
        Some(Action::ClearLine) => app.history.mode = Mode::Rename(String::new()),
        _ => {
            if let Some(c) = typed(&key) {
                title.push(c);
            } else if key.code == KeyCode::Backspace {
                title.pop();
            }
            app.history.mode = Mode::Rename(title);
        }
    }
}

fn delete(app: &mut App, id: SessionId) {
    app.history.sessions.retain(|s| s.id != id);
    if let Some((_, hits)) = &mut app.history.hits {
        hits.retain(|h| h.session_id != id);
    }
    app.history.total = app.history.total.saturating_sub(1);
    app.history.clamp();
    app.send(Op::DeleteSession { id });
}
