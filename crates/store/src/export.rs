//! Export and import of whole sessions.
use serde::{Deserialize, Serialize};

/// A whole session as one JSON document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionExport {}
