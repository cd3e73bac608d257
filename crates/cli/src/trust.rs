//! Workspace trust: what a directory may make llm-repl load, and who said it may.
//!
//! A workspace can carry code that llm-repl would run on its own: plugin tools in
//! `<workspace>/.llm-repl/tools/*.py` (and, later, project config or instruction files). A
//! cloned repository, or a tool that wrote there in an earlier session, must not get that for
//! free: nothing of the workspace loads until the workspace is trusted, by `--trust`, by the
//! config's `trust = ["/path", ...]`, or by the user's answer to the full-screen interface's
//! question, which is remembered per directory in `<data dir>/trusted-workspaces`
//! (`yes <path>` / `no <path>` lines; the last line for a path wins). Starting in `$HOME` or `/`
//! gives tools the whole home or disk, so it needs the same trust even when nothing would
//! load: the TUI asks and does not start on "no"; `exec` refuses without `--trust`/config.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::settings::Settings;

/// What a workspace would make llm-repl load, and whether it is a directory too wide to be one.
#[derive(Debug, Default)]
pub struct Workspace {
    pub dir: PathBuf,
    /// `.llm-repl/tools/*.py`.
    pub plugin_files: Vec<PathBuf>,
    /// `$HOME` or `/`: tools would see all of it.
    pub too_wide: Option<&'static str>,
}

impl Workspace {
    /// Looks at `dir` (canonical) without reading any file's content.
    pub fn inspect(dir: &Path) -> Self {
        let mut plugin_files: Vec<PathBuf> = std::fs::read_dir(dir.join(".llm-repl").join("tools"))
            .map(|rd| {
                rd.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "py"))
                    .collect()
            })
            .unwrap_or_default();
        plugin_files.sort();
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .and_then(|h| h.canonicalize().ok());
        let too_wide = if dir == Path::new("/") {
            Some("the filesystem root (/)")
        } else if home.as_deref() == Some(dir) {
            Some("your home directory")
        } else {
            None
        };
        Self {
            dir: dir.to_path_buf(),
            plugin_files,
            too_wide,
        }
    }

    /// Whether there is anything to decide.
    pub fn needs_trust(&self) -> bool {
        !self.plugin_files.is_empty() || self.too_wide.is_some()
    }

    /// The files that would load, relative to the workspace, comma-separated.
    pub fn listing(&self) -> String {
        self.plugin_files
            .iter()
            .map(|p| p.strip_prefix(&self.dir).unwrap_or(p).display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The file the answers are remembered in.
fn memory_file(data_dir: &Path) -> PathBuf {
    data_dir.join("trusted-workspaces")
}

/// The remembered answer for `dir`: `Some(true)` trusted, `Some(false)` refused.
pub fn remembered(data_dir: &Path, dir: &Path) -> Option<bool> {
    let text = std::fs::read_to_string(memory_file(data_dir)).ok()?;
    let want = dir.to_string_lossy();
    text.lines()
        .rev()
        .filter_map(|l| l.split_once(' '))
        .find(|(_, path)| *path == want)
        .map(|(answer, _)| answer == "yes")
}

/// Remembers the answer for `dir` (appends a line; the last one wins).
pub fn remember(data_dir: &Path, dir: &Path, trusted: bool) -> anyhow::Result<()> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    let path = memory_file(data_dir);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    let answer = if trusted { "yes" } else { "no" };
    writeln!(f, "{answer} {}", dir.display())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Whether the config's `trust` list names `dir`.
fn configured(settings: &Settings, dir: &Path) -> bool {
    settings
        .config
        .trust
        .iter()
        .filter_map(|p| Path::new(p).canonicalize().ok())
        .any(|p| p == dir)
}

/// Trusted without asking: `--trust` (remembered), the config's list, or an earlier yes.
/// `Some(false)` for an earlier no; `None` when nobody has said.
pub fn known(settings: &Settings, ws: &Workspace) -> Option<bool> {
    let data_dir = settings.data_dir();
    if settings.trust_flag {
        if remembered(&data_dir, &ws.dir) != Some(true)
            && let Err(e) = remember(&data_dir, &ws.dir, true)
        {
            tracing::warn!("cannot remember the trust decision: {e:#}");
        }
        return Some(true);
    }
    if configured(settings, &ws.dir) {
        return Some(true);
    }
    remembered(&data_dir, &ws.dir)
}

/// The headless decision and the lines to print on stderr about it; an error for `$HOME` or
/// `/` that nobody trusted (nobody is there to confirm).
pub fn headless(settings: &Settings, ws: &Workspace) -> anyhow::Result<(bool, Vec<String>)> {
    if !ws.needs_trust() {
        return Ok((false, Vec::new()));
    }
    let trusted = known(settings, ws) == Some(true);
    let mut lines = Vec::new();
    if let Some(what) = ws.too_wide {
        if !trusted {
            anyhow::bail!(
                "not running in {what} ({}): tools could read and write all of it; run in a \
                 project directory, or pass --trust to confirm",
                ws.dir.display()
            );
        }
        lines.push(format!(
            "warning: the workspace is {what} ({}): tools can read and write all of it",
            ws.dir.display()
        ));
    }
    if !trusted && !ws.plugin_files.is_empty() {
        lines.push(format!(
            "note: workspace {} is not trusted, so its plugin tools were not loaded ({}); \
             to load them pass --trust, or add it to `trust = [...]` in the config",
            ws.dir.display(),
            ws.listing()
        ));
    }
    Ok((trusted, lines))
}

/// Asks on the terminal (before the full screen starts). Standard input that is not a terminal
/// answers no. Returns the answer; it is remembered.
pub fn ask(settings: &Settings, ws: &Workspace) -> anyhow::Result<bool> {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "llm-repl is starting in {}.", ws.dir.display());
    if let Some(what) = ws.too_wide {
        let _ = writeln!(
            err,
            "Warning: this is {what}: the tools will be able to read and write all of it."
        );
    }
    if !ws.plugin_files.is_empty() {
        let _ = writeln!(
            err,
            "Trusting it loads and runs its plugin tools: {}",
            ws.listing()
        );
    }
    let _ = write!(err, "Trust this directory? [y/N] ");
    let _ = err.flush();
    drop(err);
    let stdin = std::io::stdin();
    let yes = if stdin.is_terminal() {
        let mut answer = String::new();
        stdin
            .lock()
            .read_line(&mut answer)
            .context("cannot read the answer")?;
        matches!(answer.trim(), "y" | "Y" | "yes" | "Yes" | "YES")
    } else {
        eprintln!("(standard input is not a terminal: no)");
        false
    };
    remember(&settings.data_dir(), &ws.dir, yes)?;
    Ok(yes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_remembered_per_directory_and_the_last_wins() {
        let data = tempfile::tempdir().unwrap();
        let a = Path::new("/work/a");
        let b = Path::new("/work/a b");
        assert_eq!(remembered(data.path(), a), None);
        remember(data.path(), a, true).unwrap();
        remember(data.path(), b, false).unwrap();
        assert_eq!(remembered(data.path(), a), Some(true));
        assert_eq!(remembered(data.path(), b), Some(false));
        remember(data.path(), a, false).unwrap();
        assert_eq!(remembered(data.path(), a), Some(false));
        assert_eq!(remembered(data.path(), Path::new("/work")), None);
    }

    #[test]
    fn inspect_lists_plugin_files_only() {
        let ws = tempfile::tempdir().unwrap();
        let dir = ws.path().canonicalize().unwrap();
        assert!(!Workspace::inspect(&dir).needs_trust());
        let tools = dir.join(".llm-repl").join("tools");
        std::fs::create_dir_all(&tools).unwrap();
        std::fs::write(tools.join("a.py"), "").unwrap();
        std::fs::write(tools.join("notes.txt"), "").unwrap();
        let w = Workspace::inspect(&dir);
        assert!(w.needs_trust());
        assert_eq!(w.listing(), ".llm-repl/tools/a.py");
        assert!(Workspace::inspect(Path::new("/")).too_wide.is_some());
    }
}
