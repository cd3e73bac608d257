//! `read_file` and `list_dir`: reading the workspace, never beyond it.
//!
//! Paths are resolved by the kernel beneath the workspace handle ([`workspace`]); what is read
//! is the handle that resolution returned, after `fstat` says it is a regular file (or a
//! directory for `list_dir`). Both stop when the call is interrupted or times out.

use std::os::fd::AsFd;
use std::path::Path;

use rustix::fs::{AtFlags, FileType};
use tokio_util::sync::CancellationToken;

use futures::future::BoxFuture;
use llm_repl_core::{Tool, ToolContext, ToolOutcome, ToolSpec};
use serde_json::{Value, json};

use crate::workspace::{self, Workspace};

/// Entries shown by one `list_dir` call.
const MAX_ENTRIES: usize = 1000;

/// Entries read from one directory at most (a huge directory is counted only this far).
const MAX_SCANNED: usize = 100_000;

/// Reads a text file of the workspace, optionally a range of lines.
#[derive(Debug, Clone)]
pub struct ReadFile {
    pub max_bytes: usize,
}

impl Tool for ReadFile {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "read_file".into(),
            description: "Read a text file in the workspace. Optionally only lines \
                          start_line..=end_line (1-based)."
                .into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "path": {"type": "string", "description": "File path, relative to the workspace."},
                    "start_line": {"type": "integer", "minimum": 1, "description": "First line to show (1-based)."},
                    "end_line": {"type": "integer", "minimum": 1, "description": "Last line to show (inclusive)."}
                },
                "required": ["path"],
                "additionalProperties": false
            }),
        }
    }

    fn run(&self, args: Value, ctx: ToolContext) -> BoxFuture<'_, ToolOutcome> {
        let max = self.max_bytes;
        Box::pin(async move {
            workspace::run_blocking(&ctx, "read_file", move |dir, cancel| {
                read_file(dir, &args, max, cancel)
            })
            .await
        })
    }
}

fn line_arg(args: &Value, key: &str) -> Result<Option<usize>, String> {
    match args.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_u64() {
            Some(n) if n >= 1 => Ok(Some(n as usize)),
            _ => Err(format!("{key} must be a positive integer, got {v}")),
        },
    }
}

fn read_file(
    workdir: &Path,
    args: &Value,
    max_bytes: usize,
    cancel: &CancellationToken,
) -> Result<String, String> {
    let path = args
        .get("path")
        .and_then(Value::as_str)
        .ok_or("missing required argument \"path\" (a string)")?;
    let start = line_arg(args, "start_line")?;
    let end = line_arg(args, "end_line")?;
    let ws = Workspace::open(workdir)?;
    let (fd, st) = ws.open_existing(path)?;
    match workspace::kind(&st) {
        FileType::RegularFile => {}
        FileType::Directory => return Err(format!("{path} is a directory: use list_dir")),
        t => return Err(workspace::not_regular(path, t)),
    }
    let total = st.st_size as u64;
    let bytes = workspace::read_capped(fd, max_bytes as u64, cancel, path)?;
    if bytes.contains(&0) {
        return Err(format!("{path} looks binary ({total} bytes): not shown"));
    }
    let mut dec = llm_repl_sandbox::Utf8Carry::default();
    let mut text = dec.push(&bytes);
    text.push_str(&dec.finish());
    let lines: Vec<&str> = text.lines().collect();
    let n = lines.len();
    let mut out = match (start, end) {
        (None, None) => text.clone(),
        _ => {
            let s = start.unwrap_or(1);
            let e = end.unwrap_or(n).min(n);
            if s > n.max(1) || s > e {
                return Err(format!(
                    "{path}: line range {s}..{e} is empty (the file has {n} lines)"
                ));
            }
            let mut o = format!("[{path}: lines {s}-{e} of {n}]\n");
            for line in &lines[s - 1..e] {
                o.push_str(line);
                o.push('\n');
            }
            o
        }
    };
    if total > max_bytes as u64 {
        out.push_str(&format!(
            "\n[file cut: {} of {total} bytes not shown; use start_line/end_line]",
            total - max_bytes as u64
        ));
    }
    Ok(out)
}

/// Lists a directory of the workspace.
#[derive(Debug, Clone, Default)]
pub struct ListDir;

impl Tool for ListDir {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "list_dir".into(),
            description: "List the entries of a directory in the workspace (directories end \
                          with '/', symlinks show their target, files their size)."
                .into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "path": {"type": "string", "description": "Directory, relative to the workspace (default: the workspace root)."}
                },
                "additionalProperties": false
            }),
        }
    }

    fn run(&self, args: Value, ctx: ToolContext) -> BoxFuture<'_, ToolOutcome> {
        Box::pin(async move {
            workspace::run_blocking(&ctx, "list_dir", move |dir, cancel| {
                list_dir(dir, &args, cancel)
            })
            .await
        })
    }
}

fn list_dir(workdir: &Path, args: &Value, cancel: &CancellationToken) -> Result<String, String> {
    let path = match args.get("path") {
        None | Some(Value::Null) => ".",
        Some(Value::String(s)) if s.is_empty() => ".",
        Some(Value::String(s)) => s.as_str(),
        Some(v) => return Err(format!("path must be a string, got {v}")),
    };
    let ws = Workspace::open(workdir)?;
    let (fd, st) = ws.open_existing(path)?;
    if workspace::kind(&st) != FileType::Directory {
        return Err(format!("{path} is not a directory: use read_file"));
    }
    let shown = match ws.location(fd.as_fd()) {
        Ok(loc) if loc.as_os_str().is_empty() => ".".to_string(),
        Ok(loc) => loc.display().to_string(),
        Err(_) => path.to_string(),
    };
    let mut dir = rustix::fs::Dir::read_from(&fd).map_err(|e| format!("{path}: {e}"))?;
    let mut entries: Vec<String> = Vec::new();
    let mut more = false;
    while let Some(entry) = dir.read() {
        if cancel.is_cancelled() {
            return Err(workspace::INTERRUPTED.into());
        }
        let entry = entry.map_err(|e| format!("{path}: {e}"))?;
        let raw = entry.file_name();
        if raw == c"." || raw == c".." {
            continue;
        }
        if entries.len() >= MAX_SCANNED {
            more = true;
            break;
        }
        let name = raw.to_string_lossy().into_owned();
        // Looked at beneath the handle, never followed: a symlink shows where it points.
        let line = match rustix::fs::statat(&fd, raw, AtFlags::SYMLINK_NOFOLLOW) {
            Err(_) => format!("{name}  (vanished)"),
            Ok(st) => match workspace::kind(&st) {
                FileType::Symlink => {
                    let target = rustix::fs::readlinkat(&fd, raw, Vec::new())
                        .map(|t| t.to_string_lossy().into_owned())
                        .unwrap_or_else(|_| "?".into());
                    format!("{name} -> {target}")
                }
                FileType::Directory => format!("{name}/"),
                FileType::RegularFile => format!("{name}  ({} bytes)", st.st_size),
                t => format!("{name}  ({})", kind_word(t)),
            },
        };
        entries.push(line);
    }
    entries.sort();
    let total = entries.len();
    let mut out = if more {
        format!("{shown}: more than {total} entries\n")
    } else {
        format!("{shown}: {total} entries\n")
    };
    for e in entries.iter().take(MAX_ENTRIES) {
        out.push_str(e);
        out.push('\n');
    }
    if total > MAX_ENTRIES {
        out.push_str(&format!(
            "[{} more entries not shown]\n",
            total - MAX_ENTRIES
        ));
    }
    Ok(out)
}

fn kind_word(t: FileType) -> &'static str {
    match t {
        FileType::Fifo => "fifo",
        FileType::Socket => "socket",
        FileType::CharacterDevice => "char device",
        FileType::BlockDevice => "block device",
        _ => "other",
    }
}
