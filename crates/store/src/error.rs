//! One error type for every store operation, each variant a clear one-line message.

use std::path::PathBuf;

use sled::transaction::TransactionError;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process owns the data directory. `holder` names it (pid, start time, program).
    #[error(
        "the data directory {dir} is in use by another llm-repl ({holder}); close that one, browse it read-only, or use another profile with --data-dir",
        dir = .dir.display()
    )]
    Locked {
        dir: PathBuf,
        pid: Option<u32>,
        holder: String,
    },
    #[error("store database error: {0}")]
    Db(#[from] sled::Error),
    #[error("store i/o error on {path}: {source}", path = .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("corrupt record in store tree {tree}: {detail}")]
    Corrupt { tree: &'static str, detail: String },
    #[error(
        "the store was written by a newer llm-repl (schema {found}, this build knows up to {known}); upgrade llm-repl or use another --data-dir"
    )]
    NewerSchema { found: u32, known: u32 },
    #[error("no session {0}")]
    NoSession(String),
    #[error("session {0} already exists")]
    SessionExists(String),
    #[error("invalid session id {0:?}: must be 1-128 bytes without NUL")]
    InvalidId(String),
    #[error("this store is a read-only snapshot; changes are not possible")]
    ReadOnly,
    #[error("cannot import session: {0}")]
    Import(String),
}

impl From<TransactionError<StoreError>> for StoreError {
    fn from(e: TransactionError<StoreError>) -> Self {
        match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => StoreError::Db(e),
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
