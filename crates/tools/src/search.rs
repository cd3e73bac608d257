//! `search`: grep-like search of the workspace in Rust (no process, no shell).
//!
//! Walks the tree through directory handles, each entry opened beneath its directory's handle
//! with `O_NOFOLLOW` (a symlink is skipped, one swapped in meanwhile fails to open), so it cannot
//! leave the workspace; skips version-control and build directories, binary and non-regular
//! files (checked by `fstat` of the open handle). File names are filtered by a `globset` glob
//! (linear time, whatever the model sends). The walk looks at the cancel token at every entry
//! and is bounded in depth, entries and files; it caps what it returns.

use std::ffi::CStr;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use futures::future::BoxFuture;
use globset::{GlobBuilder, GlobMatcher};
use llm_repl_core::{Tool, ToolContext, ToolOutcome, ToolSpec};
use regex::{Regex, RegexBuilder};
use rustix::fs::{AtFlags, FileType, Mode, OFlags, ResolveFlags};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::workspace::{self, Workspace};

const SKIP_DIRS: &[&str] = &[
    ".git",
    "target",
    "node_modules",
    ".venv",
    "__pycache__",
    ".hg",
];
const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;
const MAX_LINE_CHARS: usize = 300;
const DEFAULT_MAX_RESULTS: usize = 100;
const MAX_GLOB_CHARS: usize = 1024;

/// How far one search goes.
#[derive(Debug, Clone, Copy)]
struct Limits {
    files: usize,
    entries: usize,
    depth: usize,
}

const LIMITS: Limits = Limits {
    files: 50_000,
    entries: 500_000,
    depth: 64,
};

/// Searches file contents for a regular expression or a literal string.
#[derive(Debug, Clone, Default)]
pub struct Search;

impl Tool for Search {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "search".into(),
            description: "Search the text files of the workspace for a pattern (a regular \
                          expression unless literal is true). Returns path:line: text for each \
                          match."
                .into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "pattern": {"type": "string", "description": "What to look for."},
                    "path": {"type": "string", "description": "File or directory to search, relative to the workspace (default: all)."},
                    "literal": {"type": "boolean", "description": "Treat the pattern as plain text (default false)."},
                    "ignore_case": {"type": "boolean", "description": "Case-insensitive (default false)."},
                    "glob": {"type": "string", "description": "Only files whose name matches, e.g. *.py"},
                    "max_results": {"type": "integer", "minimum": 1, "description": "At most this many matches (default 100)."}
                },
                "required": ["pattern"],
                "additionalProperties": false
            }),
        }
    }

    fn run(&self, args: Value, ctx: ToolContext) -> BoxFuture<'_, ToolOutcome> {
        Box::pin(async move {
            workspace::run_blocking(&ctx, "search", move |dir, cancel| {
                search(dir, &args, cancel, LIMITS)
            })
            .await
        })
    }
}

/// The glob a file must match: against its name, or its workspace path when it has a `/`.
fn glob_matcher(glob: &str) -> Result<(GlobMatcher, bool), String> {
    if glob.chars().count() > MAX_GLOB_CHARS {
        return Err(format!("glob is longer than {MAX_GLOB_CHARS} characters"));
    }
    let m = GlobBuilder::new(glob)
        .literal_separator(true)
        .build()
        .map_err(|e| format!("invalid glob: {e}"))?
        .compile_matcher();
    Ok((m, glob.contains('/')))
}

struct Walk<'a> {
    re: Regex,
    glob: Option<(GlobMatcher, bool)>,
    cancel: &'a CancellationToken,
    limits: Limits,
    max: usize,
    hits: Vec<String>,
    total: usize,
    files: usize,
    entries: usize,
    /// Why the walk stopped early, if it did.
    stopped: Option<String>,
}

impl Walk<'_> {
    fn go_on(&mut self) -> Result<bool, String> {
        if self.cancel.is_cancelled() {
            return Err(workspace::INTERRUPTED.into());
        }
        Ok(self.stopped.is_none())
    }

    fn dir(&mut self, fd: OwnedFd, rel: &Path, depth: usize) -> Result<(), String> {
        if depth > self.limits.depth {
            self.stopped = Some(format!(
                "{} is nested more than {} directories deep",
                rel.display(),
                self.limits.depth
            ));
            return Ok(());
        }
        let Ok(mut dir) = rustix::fs::Dir::read_from(&fd) else {
            return Ok(());
        };
        let mut names: Vec<(std::ffi::CString, FileType)> = Vec::new();
        while let Some(Ok(entry)) = dir.read() {
            if !self.go_on()? {
                break;
            }
            let name = entry.file_name();
            if name == c"." || name == c".." {
                continue;
            }
            self.entries += 1;
            if self.entries > self.limits.entries {
                self.stopped = Some(format!("{} entries", self.limits.entries));
                break;
            }
            names.push((name.to_owned(), entry.file_type()));
        }
        drop(dir);
        names.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, mut t) in names {
            if !self.go_on()? {
                break;
            }
            if t == FileType::Unknown {
                match rustix::fs::statat(&fd, name.as_c_str(), AtFlags::SYMLINK_NOFOLLOW) {
                    Ok(st) => t = workspace::kind(&st),
                    Err(_) => continue,
                }
            }
            let shown = rel.join(name.to_string_lossy().as_ref());
            match t {
                FileType::Directory => {
                    if SKIP_DIRS.contains(&name.to_string_lossy().as_ref()) {
                        continue;
                    }
                    let flags = OFlags::RDONLY | OFlags::DIRECTORY;
                    if let Some(sub) = open_entry(&fd, &name, flags) {
                        self.dir(sub, &shown, depth + 1)?;
                    }
                }
                FileType::RegularFile => self.file_entry(&fd, &name, &shown)?,
                _ => {}
            }
        }
        Ok(())
    }

    fn file_entry(&mut self, dir: &OwnedFd, name: &CStr, shown: &Path) -> Result<(), String> {
        if let Some((glob, on_path)) = &self.glob {
            let hit = if *on_path {
                glob.is_match(shown)
            } else {
                glob.is_match(Path::new(name.to_string_lossy().as_ref()))
            };
            if !hit {
                return Ok(());
            }
        }
        let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY;
        if let Some(fd) = open_entry(dir, name, flags) {
            self.file(fd, shown)?;
        }
        Ok(())
    }

    /// Searches one open file (skipped unless `fstat` says it is a small regular file).
    fn file(&mut self, fd: OwnedFd, shown: &Path) -> Result<(), String> {
        let Ok(st) = rustix::fs::fstat(&fd) else {
            return Ok(());
        };
        if workspace::kind(&st) != FileType::RegularFile || st.st_size as u64 > MAX_FILE_BYTES {
            return Ok(());
        }
        self.files += 1;
        if self.files > self.limits.files {
            self.stopped = Some(format!("{} files", self.limits.files));
            return Ok(());
        }
        let shown_s = shown.display().to_string();
        let bytes = match workspace::read_capped(fd, MAX_FILE_BYTES, self.cancel, &shown_s) {
            Ok(b) => b,
            Err(e) if e == workspace::INTERRUPTED => return Err(e),
            Err(_) => return Ok(()),
        };
        if bytes[..bytes.len().min(8192)].contains(&0) {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&bytes);
        for (i, line) in text.lines().enumerate() {
            if self.re.is_match(line) {
                self.total += 1;
                if self.hits.len() < self.max {
                    let mut l: String = line.chars().take(MAX_LINE_CHARS).collect();
                    if l.len() < line.len() {
                        l.push_str(" [...]");
                    }
                    self.hits.push(format!("{shown_s}:{}: {l}", i + 1));
                }
            }
        }
        Ok(())
    }
}

/// One directory entry opened beneath its directory's handle, never through a symlink.
fn open_entry(dir: &OwnedFd, name: &CStr, flags: OFlags) -> Option<OwnedFd> {
    let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS;
    let flags = flags | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    rustix::fs::openat2(dir, name, flags, Mode::empty(), resolve).ok()
}

fn search(
    workdir: &Path,
    args: &Value,
    cancel: &CancellationToken,
    limits: Limits,
) -> Result<String, String> {
    let pattern = args
        .get("pattern")
        .and_then(Value::as_str)
        .ok_or("missing required argument \"pattern\" (a string)")?;
    let literal = args
        .get("literal")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let ignore_case = args
        .get("ignore_case")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let glob = match args.get("glob").and_then(Value::as_str) {
        Some(g) if !g.is_empty() => Some(glob_matcher(g)?),
        _ => None,
    };
    let max = args
        .get("max_results")
        .and_then(Value::as_u64)
        .map_or(DEFAULT_MAX_RESULTS, |n| n.max(1) as usize);
    let source = if literal {
        regex::escape(pattern)
    } else {
        pattern.to_string()
    };
    let re = RegexBuilder::new(&source)
        .case_insensitive(ignore_case)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| format!("invalid pattern: {e}"))?;
    let ws = Workspace::open(workdir)?;
    let start = match args.get("path").and_then(Value::as_str) {
        Some(p) if !p.is_empty() => p,
        _ => ".",
    };
    let (fd, st) = ws.open_existing(start)?;
    let rel = match ws.location(fd.as_fd()) {
        Ok(loc) => loc,
        Err(_) => ws.relative(start)?,
    };
    let mut walk = Walk {
        re,
        glob,
        cancel,
        limits,
        max,
        hits: Vec::new(),
        total: 0,
        files: 0,
        entries: 0,
        stopped: None,
    };
    match workspace::kind(&st) {
        FileType::Directory => walk.dir(fd, &rel, 0)?,
        FileType::RegularFile => walk.file(fd, &rel)?,
        t => return Err(workspace::not_regular(start, t)),
    }
    let stopped = walk
        .stopped
        .as_ref()
        .map(|why| format!("[search stopped early ({why}): narrow it with path or glob]\n"));
    if walk.hits.is_empty() {
        return Ok(format!(
            "no matches for {pattern:?} ({} files searched)\n{}",
            walk.files.min(limits.files),
            stopped.unwrap_or_default()
        ));
    }
    let mut out = walk.hits.join("\n");
    out.push('\n');
    if walk.total > walk.hits.len() {
        out.push_str(&format!(
            "[{} more matches not shown; narrow the search or raise max_results]\n",
            walk.total - walk.hits.len()
        ));
    }
    out.push_str(&stopped.unwrap_or_default());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glob_match(glob: &str, name: &str) -> bool {
        glob_matcher(glob).unwrap().0.is_match(name)
    }

    #[test]
    fn globs() {
        assert!(glob_match("*.py", "a.py"));
        assert!(!glob_match("*.py", "a.pyc"));
        assert!(glob_match("te?t_*.rs", "test_x.rs"));
        assert!(glob_match("*", ""));
        assert!(glob_match("src/**/*.rs", "src/a/b/c.rs"));
        assert!(!glob_match("src/*.rs", "src/a/c.rs"));
        assert!(glob_matcher("[").unwrap_err().contains("invalid glob"));
    }

    #[test]
    fn limits_stop_the_walk_and_say_so() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..5 {
            std::fs::write(dir.path().join(format!("f{i}.txt")), "x\n").unwrap();
        }
        std::fs::create_dir_all(dir.path().join("a/b/c")).unwrap();
        std::fs::write(dir.path().join("a/b/c/deep.txt"), "x\n").unwrap();
        let c = tokio_util::sync::CancellationToken::new();
        let small = Limits {
            files: 2,
            entries: 100,
            depth: 64,
        };
        let out = search(dir.path(), &json!({"pattern": "x"}), &c, small).unwrap();
        assert!(out.contains("stopped early (2 files)"), "{out}");
        let shallow = Limits {
            files: 100,
            entries: 100,
            depth: 1,
        };
        let out = search(dir.path(), &json!({"pattern": "x"}), &c, shallow).unwrap();
        assert!(out.contains("nested more than 1"), "{out}");
        assert!(!out.contains("deep.txt"), "{out}");
        let few = Limits {
            files: 100,
            entries: 3,
            depth: 64,
        };
        let out = search(dir.path(), &json!({"pattern": "x"}), &c, few).unwrap();
        assert!(out.contains("stopped early (3 entries)"), "{out}");
        c.cancel();
        let e = search(dir.path(), &json!({"pattern": "x"}), &c, LIMITS).unwrap_err();
        assert_eq!(e, workspace::INTERRUPTED);
    }

    #[test]
    fn finds_matches_and_stays_inside() {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path().join("ws");
        std::fs::create_dir_all(ws.join("src")).unwrap();
        std::fs::create_dir_all(ws.join(".git")).unwrap();
        std::fs::write(ws.join("src/a.py"), "def hello():\n    return 'Hello'\n").unwrap();
        std::fs::write(ws.join(".git/x"), "hello").unwrap();
        std::fs::write(ws.join("bin"), b"hello\0").unwrap();
        std::fs::write(dir.path().join("outside.txt"), "hello").unwrap();
        std::os::unix::fs::symlink(dir.path(), ws.join("up")).unwrap();
        let c = tokio_util::sync::CancellationToken::new();
        let out = search(
            &ws,
            &json!({"pattern": "hello", "ignore_case": true}),
            &c,
            LIMITS,
        )
        .unwrap();
        assert_eq!(
            out,
            "src/a.py:1: def hello():\nsrc/a.py:2:     return 'Hello'\n"
        );
        let out = search(&ws, &json!({"pattern": "(", "literal": true}), &c, LIMITS).unwrap();
        assert!(out.starts_with("src/a.py:1:"), "{out}");
        assert!(
            search(&ws, &json!({"pattern": "("}), &c, LIMITS)
                .unwrap_err()
                .contains("invalid")
        );
        let out = search(&ws, &json!({"pattern": "e", "max_results": 1}), &c, LIMITS).unwrap();
        assert!(out.contains("more matches not shown"), "{out}");
        assert!(search(&ws, &json!({"pattern": "x", "path": "up"}), &c, LIMITS).is_err());
        let out = search(
            &ws,
            &json!({"pattern": "hello", "glob": "*.rs"}),
            &c,
            LIMITS,
        )
        .unwrap();
        assert!(out.starts_with("no matches"), "{out}");
    }
}
