//! Durable sessions in sled: sessions, messages, tool runs, turns, usage, audit and a full-text
//! search index, in one database under the data directory.
//!
//! This is the only crate that names sled. It must never know about providers, tools or the
//! terminal: it stores and answers questions about `protocol` types. It must never lose a write
//! it reported as done: appends of messages, tool runs and turn markers are flushed to disk before
//! they return (unless the caller opted out for a bulk load with [`Store::set_sync_writes`]).
//!
//! One process owns a data directory ([`Store::open`] refuses a second one with a message naming
//! the owner); others can browse a copy with [`Store::open_snapshot`].
//!
//! How the agent uses it, in order:
//! ```text
//! let store = Store::open(dir)?;                       // report: store.open_report()
//! store.create_session(&info)?;                        // or store.load_session(id)? to resume
//! store.begin_turn(id, turn)?;
//! store.append_message(id, &Message::user(prompt))?;   // durable, then emit the Event
//! store.record_tool_run(id, &run_started)?; ... store.record_tool_run(id, &run_finished)?;
//! store.record_usage(id, model, provider, &usage, cost, now_ms())?;
//! store.end_turn(id, turn, FinishReason::Completed)?;
//! ```
//! A turn left open (the process died) is closed as `Interrupted` with `crashed = true` by the
//! next [`Store::open`].

mod append;
mod cache;
mod error;
mod export;
mod index;
mod keys;
mod lock;
mod messages;
mod migrate;
mod pages;
mod records;
mod rewind;
mod search;
mod sessions;
mod text;
mod usage;
mod varint;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, Ordering};

pub use error::{Result, StoreError};
pub use export::{EXPORT_FORMAT, SessionExport, markdown};
use llm_repl_protocol::calendar::Calendar;
/// The project's one clock, re-exported for the store's callers (see `protocol::calendar`).
pub use llm_repl_protocol::calendar::now_ms;
pub use lock::LOCK_FILE;
pub use messages::LoadedSession;
pub use migrate::{SessionV0, v0_message_key};
pub use records::{
    AuditRecord, MessageRecord, RECORD_VERSION, SessionRecord, ToolRunRecord, TurnRecord,
    UsageRecord,
};
pub use sessions::{new_session_id, title_from_prompt};
pub use usage::{ModelUsage, UsageTotals};

/// The schema this build writes. History: 0 = the prototype layout (see `migrate.rs`), 1 = now.
pub const SCHEMA_VERSION: u32 = 1;

/// The sled database's directory inside the data directory.
pub const DB_DIR: &str = "db";

/// What happened while opening: worth a notice to the user when non-empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenReport {
    /// A lock file of a process that is gone was found and replaced (it died or crashed).
    pub stale_lock_pid: Option<u32>,
    /// Turns that were running when the previous owner died, now marked interrupted.
    pub interrupted_turns: Vec<(String, u64)>,
    /// The schema version migrated from, when a migration ran.
    pub migrated_from: Option<u32>,
    /// Sessions whose interrupted deletion was completed.
    pub finished_deletes: usize,
}

/// The trees of the database, named by what they map.
pub(crate) struct Trees {
    pub meta: sled::Tree,
    pub sessions: sled::Tree,
    pub by_updated: sled::Tree,
    pub messages: sled::Tree,
    pub tool_runs: sled::Tree,
    pub turns: sled::Tree,
    pub open_turns: sled::Tree,
    pub usage: sled::Tree,
    pub usage_by_session: sled::Tree,
    pub audit: sled::Tree,
    pub seg: sled::Tree,
    pub segs: sled::Tree,
    pub docs: sled::Tree,
    pub pending_deletes: sled::Tree,
}

impl Trees {
    fn open(db: &sled::Db) -> Result<Trees> {
        Ok(Trees {
            meta: db.open_tree("meta")?,
            sessions: db.open_tree("sessions")?,
            by_updated: db.open_tree("sessions_by_updated")?,
            messages: db.open_tree("messages")?,
            tool_runs: db.open_tree("tool_runs")?,
            turns: db.open_tree("turns")?,
            open_turns: db.open_tree("open_turns")?,
            usage: db.open_tree("usage")?,
            usage_by_session: db.open_tree("usage_by_session")?,
            audit: db.open_tree("audit")?,
            seg: db.open_tree("fts_seg")?,
            segs: db.open_tree("fts_segs")?,
            docs: db.open_tree("fts_docs")?,
            pending_deletes: db.open_tree("pending_deletes")?,
        })
    }
}

/// Meta keys.
pub(crate) mod meta {
    pub const SCHEMA: &[u8] = b"schema_version";
    pub const SESSIONS: &[u8] = b"session_count";
    pub const DOCS: &[u8] = b"fts_doc_count";
    pub const DOC_LEN: &[u8] = b"fts_total_len";
}

pub(crate) struct Inner {
    // Field order is drop order: the database closes (and flushes) before the lock is released.
    pub db: sled::Db,
    pub t: Trees,
    pub dir: PathBuf,
    pub read_only: bool,
    pub sync_writes: AtomicBool,
    /// Whose days the usage ledger counts in (UTC until the binary sets the configured one).
    pub calendar: RwLock<Calendar>,
    pub report: OpenReport,
    /// Serialises index merges and posting removals.
    pub merge_lock: std::sync::Mutex<()>,
    _lock: lock::DirLock,
}

/// The session store. Cheap to clone (an `Arc` inside), `Send + Sync`; every method is
/// synchronous and short except where noted (appends wait for an fsync: call them from a blocking
/// context such as `tokio::task::spawn_blocking` if the caller must not stall).
#[derive(Clone)]
pub struct Store {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.inner.dir)
            .field("read_only", &self.inner.read_only)
            .finish()
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Store {
    /// Opens (creating if needed) the store in `data_dir`, taking exclusive ownership of it.
    ///
    /// Fails with [`StoreError::Locked`] (naming the owner's pid) if another process, or another
    /// `Store` in this process, has it open. Migrates an older schema, completes interrupted
    /// deletions and marks turns left running by a crash as interrupted ([`Store::open_report`]).
    pub fn open(data_dir: &Path) -> Result<Store> {
        std::fs::create_dir_all(data_dir).map_err(io_err(data_dir))?;
        let lock = lock::acquire(data_dir)?;
        Self::open_locked(data_dir, lock, false)
    }

    /// Opens a read-only copy of the store in `data_dir` for browsing while another process owns
    /// it: the database files are copied into `scratch` (which must not exist yet or be empty)
    /// and opened there. Best effort: the copy is taken while the owner may be writing, so it can
    /// miss the last second of writes; write methods return [`StoreError::ReadOnly`].
    pub fn open_snapshot(data_dir: &Path, scratch: &Path) -> Result<Store> {
        let src = data_dir.join(DB_DIR);
        if !src.is_dir() {
            return Err(StoreError::Io {
                path: src,
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no store here"),
            });
        }
        std::fs::create_dir_all(scratch).map_err(io_err(scratch))?;
        let lock = lock::acquire(scratch)?;
        copy_db(&src, &scratch.join(DB_DIR))?;
        Self::open_locked(scratch, lock, true)
    }

    fn open_locked(dir: &Path, lock: lock::DirLock, read_only: bool) -> Result<Store> {
        let db = sled::Config::new()
            .path(dir.join(DB_DIR))
            .cache_capacity(256 * 1024 * 1024)
            .open()?;
        let t = Trees::open(&db)?;
        let mut report = OpenReport {
            stale_lock_pid: lock.stale_pid,
            ..OpenReport::default()
        };
        report.migrated_from = migrate::check_and_migrate(&db, &t)?;
        let mut inner = Inner {
            db,
            t,
            dir: dir.to_path_buf(),
            read_only,
            sync_writes: AtomicBool::new(true),
            calendar: RwLock::new(Calendar::utc()),
            report: OpenReport::default(),
            merge_lock: std::sync::Mutex::new(()),
            _lock: lock,
        };
        if !read_only {
            report.finished_deletes = sessions::finish_pending_deletes(&inner)?;
            report.interrupted_turns = messages::close_crashed_turns(&inner)?;
            index::maybe_merge(&inner)?;
            inner.db.flush()?;
        }
        inner.report = report;
        Ok(Store {
            inner: Arc::new(inner),
        })
    }

    /// Who owns `data_dir` (or last owned it), as written in its lock file: pid and a description.
    pub fn owner_of(data_dir: &Path) -> Option<(Option<u32>, String)> {
        lock::holder_of(data_dir)
    }

    /// What opening found and repaired.
    pub fn open_report(&self) -> &OpenReport {
        &self.inner.report
    }

    /// The directory this store lives in.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    pub fn is_read_only(&self) -> bool {
        self.inner.read_only
    }

    /// With `false`, appends no longer wait for the disk (sled still flushes every 500 ms): for
    /// bulk loads only; call [`Store::flush`] at the end. Default `true`.
    pub fn set_sync_writes(&self, sync: bool) {
        self.inner.sync_writes.store(sync, Ordering::Relaxed);
    }

    /// The calendar that decides which day a usage record belongs to, for [`Store::today`],
    /// budgets, the ledger's queries and exported times. Default: UTC days; the binary sets the
    /// one the config's `days` key names.
    pub fn set_calendar(&self, calendar: Calendar) {
        // A poisoned lock only means a writer panicked mid-assignment of a whole value.
        match self.inner.calendar.write() {
            Ok(mut c) => *c = calendar,
            Err(poisoned) => *poisoned.into_inner() = calendar,
        }
    }

    /// The calendar in force (cheap: a zone handle).
    pub fn calendar(&self) -> Calendar {
        match self.inner.calendar.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Today's day number in the store's calendar.
    pub fn today(&self) -> u32 {
        self.calendar().today()
    }

    /// Makes every write so far durable (fsync). Returns after the disk confirmed.
    pub fn flush(&self) -> Result<()> {
        self.inner.db.flush()?;
        Ok(())
    }

    /// [`Store::flush`] as a future (sled's own; runtime-agnostic).
    pub async fn flush_async(&self) -> Result<()> {
        self.inner.db.flush_async().await?;
        Ok(())
    }

    /// Size of the database on disk, in bytes.
    pub fn size_on_disk(&self) -> Result<u64> {
        Ok(self.inner.db.size_on_disk()?)
    }

    pub(crate) fn writable(&self) -> Result<()> {
        if self.inner.read_only {
            Err(StoreError::ReadOnly)
        } else {
            Ok(())
        }
    }

    /// Flushes when writes are synchronous (the default).
    pub(crate) fn sync(&self) -> Result<()> {
        if self.inner.sync_writes.load(Ordering::Relaxed) {
            self.inner.db.flush()?;
        }
        Ok(())
    }

    pub(crate) fn t(&self) -> &Trees {
        &self.inner.t
    }
}

/// Copies sled's files: the config and snapshots first, the log last, so the copied log is at
/// least as new as the copied snapshot.
fn copy_db(src: &Path, dst: &Path) -> Result<()> {
    std::fs::create_dir_all(dst).map_err(io_err(dst))?;
    let mut entries: Vec<PathBuf> = std::fs::read_dir(src)
        .map_err(io_err(src))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort_by_key(|p| p.file_name().is_some_and(|n| n == "db"));
    for p in entries {
        let Some(name) = p.file_name() else { continue };
        let to = dst.join(name);
        if p.is_dir() {
            copy_db(&p, &to)?;
        } else {
            std::fs::copy(&p, &to).map_err(io_err(&p))?;
        }
    }
    Ok(())
}
