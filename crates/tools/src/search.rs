//! `search`: grep-like search of the workspace in Rust (no process, no shell).
//!
//! Walks the tree without following symlinks (so it cannot leave the workspace), skips
//! version-control and build directories and binary files, and caps what it returns.

use std::path::{Path, PathBuf};

use futures::future::BoxFuture;
use llm_repl_core::{Tool, ToolContext, ToolOutcome, ToolSpec};
use regex::RegexBuilder;
use serde_json::{Value, json};

use crate::workspace;

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
const MAX_FILES: usize = 50_000;

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
            let cancel = ctx.cancel.clone();
            let dir = ctx.workdir.clone();
            let res = tokio::task::spawn_blocking(move || search(&dir, &args, &cancel)).await;
            match res {
                Ok(Ok(text)) => ToolOutcome::ok(text),
                Ok(Err(e)) => ToolOutcome::error(e),
                Err(e) => ToolOutcome::error(format!("search failed: {e}")),
            }
        })
    }
}

/// `*` and `?` wildcards against a file name.
fn glob_match(glob: &str, name: &str) -> bool {
    fn m(g: &[char], n: &[char]) -> bool {
        match (g.first(), n.first()) {
            (None, None) => true,
            (Some('*'), _) => m(&g[1..], n) || (!n.is_empty() && m(g, &n[1..])),
            (Some('?'), Some(_)) => m(&g[1..], &n[1..]),
            (Some(a), Some(b)) if a == b => m(&g[1..], &n[1..]),
            _ => false,
        }
    }
    let g: Vec<char> = glob.chars().collect();
    let n: Vec<char> = name.chars().collect();
    m(&g, &n)
}

fn search(
    workdir: &Path,
    args: &Value,
    cancel: &tokio_util::sync::CancellationToken,
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
    let glob = args.get("glob").and_then(Value::as_str);
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
    let start = match args.get("path").and_then(Value::as_str) {
        Some(p) if !p.is_empty() => workspace::resolve_existing(workdir, p)?,
        _ => workspace::root(workdir)?,
    };
    let mut stack: Vec<PathBuf> = vec![start];
    let (mut hits, mut files, mut total) = (Vec::new(), 0usize, 0usize);
    while let Some(path) = stack.pop() {
        if cancel.is_cancelled() {
            return Err("search interrupted".into());
        }
        let Ok(meta) = path.symlink_metadata() else {
            continue;
        };
        if meta.is_dir() {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if SKIP_DIRS.contains(&name) {
                continue;
            }
            let Ok(rd) = std::fs::read_dir(&path) else {
                continue;
            };
            let mut children: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
            children.sort_by(|a, b| b.cmp(a));
            stack.extend(children);
            continue;
        }
        if !meta.is_file() || meta.len() > MAX_FILE_BYTES {
            continue;
        }
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if glob.is_some_and(|g| !glob_match(g, name)) {
            continue;
        }
        files += 1;
        if files > MAX_FILES {
            break;
        }
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        if bytes[..bytes.len().min(8192)].contains(&0) {
            continue;
        }
        let text = String::from_utf8_lossy(&bytes);
        let shown = workspace::display(workdir, &path);
        for (i, line) in text.lines().enumerate() {
            if re.is_match(line) {
                total += 1;
                if hits.len() < max {
                    let mut l: String = line.chars().take(MAX_LINE_CHARS).collect();
                    if l.len() < line.len() {
                        l.push_str(" [...]");
                    }
                    hits.push(format!("{shown}:{}: {l}", i + 1));
                }
            }
        }
    }
    if hits.is_empty() {
        return Ok(format!(
            "no matches for {pattern:?} ({files} files searched)\n"
        ));
    }
    let mut out = hits.join("\n");
    out.push('\n');
    if total > hits.len() {
        out.push_str(&format!(
            "[{} more matches not shown; narrow the search or raise max_results]\n",
            total - hits.len()
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("*.py", "a.py"));
        assert!(!glob_match("*.py", "a.pyc"));
        assert!(glob_match("te?t_*.rs", "test_x.rs"));
        assert!(glob_match("*", ""));
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
        let out = search(&ws, &json!({"pattern": "hello", "ignore_case": true}), &c).unwrap();
        assert_eq!(
            out,
            "src/a.py:1: def hello():\nsrc/a.py:2:     return 'Hello'\n"
        );
        let out = search(&ws, &json!({"pattern": "(", "literal": true}), &c).unwrap();
        assert!(out.starts_with("src/a.py:1:"), "{out}");
        assert!(
            search(&ws, &json!({"pattern": "("}), &c)
                .unwrap_err()
                .contains("invalid")
        );
        let out = search(&ws, &json!({"pattern": "e", "max_results": 1}), &c).unwrap();
        assert!(out.contains("more matches not shown"), "{out}");
        assert!(search(&ws, &json!({"pattern": "x", "path": "up"}), &c).is_err());
        let out = search(&ws, &json!({"pattern": "hello", "glob": "*.rs"}), &c).unwrap();
        assert!(out.starts_with("no matches"), "{out}");
    }
}
