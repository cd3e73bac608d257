//! `read_file` and `list_dir`: reading the workspace, never beyond it.

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use futures::future::BoxFuture;
use llm_repl_core::{Tool, ToolContext, ToolOutcome, ToolSpec};
use serde_json::{Value, json};

use crate::workspace;

/// Entries shown by one `list_dir` call.
const MAX_ENTRIES: usize = 1000;

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
            let res =
                tokio::task::spawn_blocking(move || read_file(&ctx.workdir, &args, max)).await;
            match res {
                Ok(Ok(text)) => ToolOutcome::ok(text),
                Ok(Err(e)) => ToolOutcome::error(e),
                Err(e) => ToolOutcome::error(format!("read_file failed: {e}")),
            }
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

fn read_file(workdir: &Path, args: &Value, max_bytes: usize) -> Result<String, String> {
    let path = args
        .get("path")
        .and_then(Value::as_str)
        .ok_or("missing required argument \"path\" (a string)")?;
    let start = line_arg(args, "start_line")?;
    let end = line_arg(args, "end_line")?;
    let real = workspace::resolve_existing(workdir, path)?;
    if real.is_dir() {
        return Err(format!("{path} is a directory: use list_dir"));
    }
    // The canonical path has no symlinks left; O_NOFOLLOW refuses one swapped in meanwhile.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&real)
        .map_err(|e| format!("{path}: {e}"))?;
    let mut bytes = Vec::new();
    let total = file.metadata().map(|m| m.len()).unwrap_or(0);
    file.take(max_bytes as u64)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{path}: {e}"))?;
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
            let res = tokio::task::spawn_blocking(move || list_dir(&ctx.workdir, &args)).await;
            match res {
                Ok(Ok(text)) => ToolOutcome::ok(text),
                Ok(Err(e)) => ToolOutcome::error(e),
                Err(e) => ToolOutcome::error(format!("list_dir failed: {e}")),
            }
        })
    }
}

fn list_dir(workdir: &Path, args: &Value) -> Result<String, String> {
    let path = match args.get("path") {
        None | Some(Value::Null) => ".",
        Some(Value::String(s)) if s.is_empty() => ".",
        Some(Value::String(s)) => s.as_str(),
        Some(v) => return Err(format!("path must be a string, got {v}")),
    };
    let real = workspace::resolve_existing(workdir, path)?;
    if !real.is_dir() {
        return Err(format!("{path} is not a directory: use read_file"));
    }
    let mut entries: Vec<String> = Vec::new();
    for entry in std::fs::read_dir(&real).map_err(|e| format!("{path}: {e}"))? {
        let entry = entry.map_err(|e| format!("{path}: {e}"))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let meta = entry.metadata().map_err(|e| format!("{name}: {e}"))?;
        let ft = meta.file_type();
        entries.push(if ft.is_symlink() {
            let target = std::fs::read_link(entry.path())
                .map(|t| t.display().to_string())
                .unwrap_or_else(|_| "?".into());
            format!("{name} -> {target}")
        } else if ft.is_dir() {
            format!("{name}/")
        } else {
            format!("{name}  ({} bytes)", meta.len())
        });
    }
    entries.sort();
    let shown = workspace::display(workdir, &real);
    let total = entries.len();
    let mut out = format!("{shown}: {total} entries\n");
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
