//! The workspace paths tools may read but never write (`[sandbox] protect`), matched on the
//! location the kernel reports, by whole components.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

/// Workspace paths tools may read but never write (`[sandbox] protect`).
#[derive(Debug, Clone)]
pub struct Protected(Arc<[PathBuf]>);

impl Default for Protected {
    /// The config's default list: failing safe when a caller forgets to pass one.
    fn default() -> Self {
        Self::new(llm_repl_core::config::DEFAULT_PROTECTED)
    }
}

impl Protected {
    /// Entries are relative to the workspace (`./` ignored) or absolute; matched by whole
    /// components, case-sensitively.
    pub fn new<S: AsRef<str>>(entries: &[S]) -> Self {
        let list: Vec<PathBuf> = entries
            .iter()
            .map(|e| {
                Path::new(e.as_ref())
                    .components()
                    .filter(|c| !matches!(c, Component::CurDir))
                    .collect()
            })
            .collect();
        Self(list.into())
    }

    /// The entry covering `loc` (relative to the root at `root`), if any.
    /// Besides the name itself, what it points to inside the workspace (`.git -> real-git`,
    /// a `.git` file's `gitdir:`), as the sandbox protects it.
    fn covering(&self, loc: &Path, root: &Path) -> Option<&Path> {
        let abs = root.join(loc);
        self.0
            .iter()
            .find(|e| {
                if e.is_absolute() {
                    abs.starts_with(e)
                } else {
                    loc.starts_with(e)
                        || llm_repl_sandbox::protected_paths(root, e)
                            .iter()
                            .filter_map(|t| t.strip_prefix(root).ok())
                            .any(|t| !t.as_os_str().is_empty() && loc.starts_with(t))
                }
            })
            .map(PathBuf::as_path)
    }

    pub(super) fn check(&self, path: &str, loc: &Path, root: &Path) -> Result<(), String> {
        match self.covering(loc, root) {
            None => Ok(()),
            Some(p) => Err(format!(
                "{path}: refused: it is {}, under the protected path {} of the workspace. Tools \
                 may read it but not create, change or delete anything there (code written there \
                 runs later outside the sandbox: git hooks, workspace plugins). The user can open \
                 it by removing {:?} from `protect` under `[sandbox]` in the config.",
                if loc.as_os_str().is_empty() {
                    ".".into()
                } else {
                    loc.display().to_string()
                },
                p.display(),
                p.display().to_string(),
            )),
        }
    }
}
