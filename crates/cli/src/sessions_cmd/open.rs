//! Opening the store for one command, and finding a session by an id prefix.
//!
//! One process owns a store at a time. A command that only reads falls back to a snapshot (a
//! copy in a scratch directory, removed afterwards) when another llm-repl holds the store, and
//! says so on stderr; a command that writes refuses with the owner's pid. Nothing here waits on
//! the other process, so no command can hang on a held store.

use std::path::{Path, PathBuf};

use llm_repl_protocol::calendar::Calendar;
use llm_repl_store::{DB_DIR, SessionRecord, Store, StoreError};

/// What the command will do to the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Browse: a snapshot will do when the store is held; a missing store reads as empty.
    Read,
    /// Change: needs the store itself; a missing one is created.
    Write,
}

/// No session matched: the command exits with code 2.
#[derive(Debug)]
pub struct NotFound(pub String);

impl std::fmt::Display for NotFound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NotFound {}

impl NotFound {
    pub fn session(id: &str) -> Self {
        NotFound(format!("no session {id:?}"))
    }
}

/// An id prefix that matches several sessions: a usage error (exit 2), with the candidates.
#[derive(Debug)]
pub struct Ambiguous(pub String);

impl std::fmt::Display for Ambiguous {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Ambiguous {}

/// An open store, and the scratch directory of its snapshot (removed once the store is closed).
pub struct Opened {
    store: Option<Store>,
    scratch: Option<PathBuf>,
}

impl Opened {
    pub fn store(&self) -> &Store {
        // Invariant: `store` is only taken in `drop`.
        self.store.as_ref().expect("store present until drop")
    }
}

impl std::ops::Deref for Opened {
    type Target = Store;

    fn deref(&self) -> &Store {
        self.store()
    }
}

impl Drop for Opened {
    fn drop(&mut self) {
        // Close the snapshot's database before deleting its files.
        drop(self.store.take());
        if let Some(dir) = self.scratch.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Opens the store in `data_dir` for `access`, counting days in `cal`. `Ok(None)`: reading a
/// store that does not exist.
pub fn open(data_dir: &Path, access: Access, cal: &Calendar) -> anyhow::Result<Option<Opened>> {
    let opened = open_store(data_dir, access)?;
    if let Some(o) = &opened {
        o.set_calendar(cal.clone());
    }
    Ok(opened)
}

fn open_store(data_dir: &Path, access: Access) -> anyhow::Result<Option<Opened>> {
    if access == Access::Read && !data_dir.join(DB_DIR).is_dir() {
        return Ok(None);
    }
    match Store::open(data_dir) {
        Ok(store) => Ok(Some(Opened {
            store: Some(store),
            scratch: None,
        })),
        Err(StoreError::Locked { pid, holder, .. }) => {
            let who = match pid {
                Some(pid) => format!("another llm-repl (pid {pid})"),
                None => "another llm-repl".to_string(),
            };
            if access == Access::Write {
                anyhow::bail!(
                    "the store in {} is in use by another llm-repl ({holder}); close it first \
                     (`llm-repl service stop` if it is the agent service), or use --data-dir for \
                     another store; nothing was changed",
                    data_dir.display()
                );
            }
            eprintln!(
                "note: the store is in use by {who}; reading a snapshot (read-only, may miss the \
                 last second of writes)"
            );
            let scratch = std::env::temp_dir().join(format!(
                "llm-repl-snapshot-{}-{}",
                std::process::id(),
                llm_repl_store::now_ms()
            ));
            match Store::open_snapshot(data_dir, &scratch) {
                Ok(store) => Ok(Some(Opened {
                    store: Some(store),
                    scratch: Some(scratch),
                })),
                Err(e) => {
                    let _ = std::fs::remove_dir_all(&scratch);
                    Err(anyhow::Error::new(e).context("cannot take a snapshot of the store"))
                }
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// Most candidates an ambiguity error lists.
const MAX_CANDIDATES: usize = 10;

/// The session whose id is `prefix` or the only one starting with it.
pub fn resolve(store: &Store, prefix: &str) -> anyhow::Result<SessionRecord> {
    let prefix = prefix.trim();
    if prefix.is_empty() {
        anyhow::bail!("the session id is empty");
    }
    if let Some(rec) = store.get_session(prefix)? {
        return Ok(rec);
    }
    // The store has no id-prefix index: walk the session list (one pass over the sessions).
    let (all, _) = store.list_sessions(0, usize::MAX)?;
    let matches: Vec<_> = all.iter().filter(|s| s.id.starts_with(prefix)).collect();
    match matches.as_slice() {
        [] => Err(NotFound::session(prefix).into()),
        [one] => store
            .get_session(&one.id)?
            .ok_or_else(|| NotFound::session(&one.id).into()),
        many => {
            let mut list: Vec<String> = many
                .iter()
                .take(MAX_CANDIDATES)
                .map(|s| format!("  {}  {}", s.id, s.title.trim()))
                .collect();
            if many.len() > MAX_CANDIDATES {
                list.push(format!("  ... and {} more", many.len() - MAX_CANDIDATES));
            }
            Err(Ambiguous(format!(
                "the id prefix {prefix:?} matches {} sessions; give more of the id:\n{}",
                many.len(),
                list.join("\n")
            ))
            .into())
        }
    }
}
