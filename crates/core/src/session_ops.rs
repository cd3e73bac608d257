//! The Ops that read or change stored sessions: open (resume), list, search, rename, delete,
//! export, stats. Each answers with an Event; without a store each says so plainly.

use std::path::PathBuf;

use llm_repl_protocol::{Event, ExportFormat, NoticeLevel, SessionId};
use llm_repl_store::Store;

use crate::agent::Agent;
use crate::persist::{repair_history, usage_rows};
use crate::pricing::stats::render_report;

impl Agent {
    pub(crate) fn store_or_say(&self) -> Option<Store> {
        let store = self.recorder.store().cloned();
        if store.is_none() {
            self.notice(
                NoticeLevel::Warn,
                "sessions are not being stored in this run, so there is no history to use",
            );
        }
        store
    }

    /// Makes a stored session current. Returns false (after an Error event) when it cannot.
    pub(crate) fn open_session(&mut self, id: &str) -> bool {
        let Some(store) = self.store_or_say() else {
            return false;
        };
        let loaded = match store.load_session(id) {
            Ok(l) => l,
            Err(e) => {
                self.emit(Event::Error {
                    message: format!("cannot open session {id}: {e}"),
                });
                return false;
            }
        };
        let mut info = loaded.info();
        // Continue on the provider and model of this run: the stored ones may not be configured.
        info.provider = self.info.provider.clone();
        info.model = self.info.model.clone();
        info.mock = self.info.mock;
        info.context_window = self.info.context_window;
        let mut messages = loaded.plain_messages();
        let repaired = repair_history(&mut messages);
        let crashed = loaded.turns.iter().filter(|t| t.crashed).count();
        self.reset_session(Some(info.clone()));
        self.history = messages.clone();
        self.emit(Event::SessionLoaded {
            info,
            messages,
            tool_runs: loaded.plain_tool_runs(),
        });
        if crashed > 0 || repaired > 0 {
            self.notice(
                NoticeLevel::Warn,
                format!(
                    "this session was cut short last time ({crashed} turn(s) marked interrupted); \
                     everything completed before that is here"
                ),
            );
        }
        true
    }

    /// After resuming at start-up: a session that ran Python had a live interpreter whose
    /// variables this new process does not have. Say so, so the user is not surprised by a
    /// `NameError` (the model finds out from the observation).
    pub(crate) fn note_fresh_interpreter(&self) {
        let used_python = self
            .history
            .iter()
            .flat_map(|m| &m.tool_calls)
            .any(|c| c.name == "python");
        if used_python && self.deps.tools.get("python").is_some() {
            self.notice(
                NoticeLevel::Info,
                "the python interpreter was restarted: variables from earlier calls are gone                  (re-run the code that made them)",
            );
        }
    }

    /// The first messages of a stored session, contents cut to a few hundred characters.
    pub(crate) fn preview_session(&self, id: &str) {
        const MESSAGES: usize = 40;
        const CHARS: usize = 400;
        let Some(store) = self.store_or_say() else {
            return;
        };
        match store.load_session(id) {
            Ok(loaded) => {
                let messages = loaded
                    .plain_messages()
                    .into_iter()
                    .take(MESSAGES)
                    .map(|mut m| {
                        if m.content.chars().count() > CHARS {
                            m.content = m.content.chars().take(CHARS).collect::<String>() + "…";
                        }
                        m
                    })
                    .collect();
                self.emit(Event::SessionPreview {
                    id: id.to_string(),
                    messages,
                });
            }
            Err(e) => self.emit(Event::Error {
                message: format!("cannot preview {id}: {e}"),
            }),
        }
    }

    pub(crate) fn list_sessions(&self, offset: usize, limit: usize) {
        let Some(store) = self.store_or_say() else {
            return;
        };
        match store.list_sessions(offset, limit.clamp(1, 1000)) {
            Ok((sessions, total)) => self.emit(Event::SessionList { sessions, total }),
            Err(e) => self.emit(Event::Error {
                message: format!("cannot list sessions: {e}"),
            }),
        }
    }

    pub(crate) fn search(&self, query: &str, limit: usize) {
        let Some(store) = self.store_or_say() else {
            return;
        };
        match store.search_incremental(query, limit.clamp(1, 500)) {
            Ok(hits) => self.emit(Event::SearchResults {
                query: query.to_string(),
                hits,
            }),
            Err(e) => self.emit(Event::Error {
                message: format!("search failed: {e}"),
            }),
        }
    }

    pub(crate) fn rename_session(&mut self, id: &str, title: &str) {
        let Some(store) = self.store_or_say() else {
            return;
        };
        match store.rename_session(id, title) {
            Ok(_) => {
                if id == self.info.id {
                    self.info.title = title.to_string();
                }
                self.notice(NoticeLevel::Info, format!("renamed {id} to {title:?}"));
                self.list_sessions(0, 50);
            }
            Err(e) => self.emit(Event::Error {
                message: format!("cannot rename {id}: {e}"),
            }),
        }
    }

    /// Deletes a stored session. Deleting the open one starts a new, empty session (so the
    /// next message cannot bring the deleted one back); while a turn runs on it, it is refused.
    pub(crate) fn delete_session(&mut self, id: &str, busy: bool) {
        let open = id == self.info.id;
        if open && busy {
            self.emit(Event::Error {
                message: format!(
                    "cannot delete {id}: it is the open session and a turn is running; \
                     interrupt it first (Esc)"
                ),
            });
            return;
        }
        let Some(store) = self.store_or_say() else {
            return;
        };
        match store.delete_session(id) {
            Ok(()) => {
                if open {
                    self.reset_session(None);
                    self.emit(Event::SessionStarted {
                        info: self.info.clone(),
                    });
                    self.notice(
                        NoticeLevel::Info,
                        format!("deleted session {id}, the open one: a new session started"),
                    );
                } else {
                    self.notice(NoticeLevel::Info, format!("deleted session {id}"));
                }
                self.list_sessions(0, 50);
            }
            Err(e) => self.emit(Event::Error {
                message: format!("cannot delete {id}: {e}"),
            }),
        }
    }

    pub(crate) fn export(&self, id: Option<SessionId>, format: ExportFormat, path: Option<String>) {
        let Some(store) = self.store_or_say() else {
            return;
        };
        let id = id.unwrap_or_else(|| self.info.id.clone());
        let (text, ext) = match format {
            ExportFormat::Markdown => (store.export_markdown(&id), "md"),
            ExportFormat::Json => (store.export_json(&id), "json"),
        };
        let text = match text {
            Ok(t) => t,
            Err(e) => {
                self.emit(Event::Error {
                    message: format!(
                        "cannot export {id}: {e} (a session is stored once it has a message)"
                    ),
                });
                return;
            }
        };
        // A relative path is the workdir's, and every export says where it went in full.
        let given = path.filter(|p| !p.trim().is_empty()).map(PathBuf::from);
        let explicit = given.is_some();
        let first = given.unwrap_or_else(|| PathBuf::from(format!("llm-repl-{id}.{ext}")));
        let first = self.deps.workdir.join(first);
        let first = std::path::absolute(&first).unwrap_or(first);
        // Never overwrite: an explicit path that exists is refused; the default name gets a
        // counter ("llm-repl-ID-2.md").
        let mut n = 1;
        let mut path = first.clone();
        let file = loop {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(f) => break Ok(f),
                Err(e)
                    if e.kind() == std::io::ErrorKind::AlreadyExists && !explicit && n < 1000 =>
                {
                    n += 1;
                    path = first.with_file_name(format!("llm-repl-{id}-{n}.{ext}"));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    break Err(format!(
                        "{} already exists: not overwritten (give another path, or delete it first)",
                        path.display()
                    ));
                }
                Err(e) => break Err(format!("cannot write {}: {e}", path.display())),
            }
        };
        let written = file.and_then(|mut f| {
            use std::io::Write;
            f.write_all(text.as_bytes())
                .map_err(|e| format!("cannot write {}: {e}", path.display()))
        });
        match written {
            Ok(()) => self.emit(Event::Exported {
                id,
                path: path.display().to_string(),
            }),
            Err(message) => self.emit(Event::Error {
                message: format!("export failed: {message}"),
            }),
        }
    }

    pub(crate) fn stats(&self, days: u32) {
        let Some(store) = self.store_or_say() else {
            return;
        };
        let to = store.today();
        let from = to.saturating_sub(days.max(1) - 1);
        let rows = match usage_rows(&store, from, to) {
            Ok(rows) => rows,
            Err(e) => {
                self.emit(Event::Error {
                    message: format!("cannot read usage: {e}"),
                });
                return;
            }
        };
        // Say whose days they are, as `llm-repl stats` does.
        let label = store.calendar().label();
        let period = if days == 1 {
            format!("today ({label})")
        } else {
            format!("last {days} days ({label})")
        };
        let text = render_report(&rows, &self.deps.prices, &period, 72);
        self.emit(Event::UsageReport {
            days,
            summary: text.lines().next().unwrap_or_default().to_string(),
            period,
            text,
        });
    }
}
