//! `write_file` and `edit_file`: changing files of the workspace, never beyond it and never
//! under a protected path (`[sandbox] protect`), with a unified diff of every change in the
//! observation (the trace shows it).
//!
//! The target is resolved by the kernel beneath the workspace handle and replaced atomically
//! beneath its directory's handle ([`workspace::WriteTarget`]): a reader sees the old file or
//! the new one, and a symlink swapped in meanwhile is replaced, never written through.

use std::path::Path;

use tokio_util::sync::CancellationToken;

use futures::future::BoxFuture;
use llm_repl_core::tool::Assessment;
use llm_repl_core::{Tool, ToolContext, ToolOutcome, ToolSpec};
use llm_repl_protocol::{Finding, OutputStream, RiskLevel};
use serde_json::{Value, json};

use crate::workspace::{self, Protected, Workspace};

/// Lines of context around a change.
const CONTEXT: usize = 3;

/// Diff lines shown at most.
const MAX_DIFF_LINES: usize = 400;

fn str_arg<'a>(args: &'a Value, key: &str) -> Result<&'a str, String> {
    args.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("missing required argument \"{key}\" (a string)"))
}

fn write_assessment(args: &Value, what: &str) -> Assessment {
    let path = args.get("path").and_then(Value::as_str).unwrap_or("?");
    Assessment {
        findings: vec![Finding {
            level: RiskLevel::Medium,
            code: "write-file".into(),
            message: format!("{what} {path} in the workspace"),
            line: None,
        }],
        needs_approval: Some(format!("it {what} {path} in the workspace")),
    }
}

/// The largest file `edit_file` reads (and `write_file` reads for its diff).
const MAX_EDIT_BYTES: u64 = 32 * 1024 * 1024;

fn utf8(bytes: Vec<u8>, shown: &str) -> Result<String, String> {
    String::from_utf8(bytes).map_err(|_| format!("{shown} is not UTF-8 text: not edited"))
}

/// A unified diff of `old` -> `new` (one hunk spanning the changed lines).
pub fn unified_diff(name: &str, old: &str, new: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let max_suffix = a.len().min(b.len()) - prefix;
    let suffix = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take(max_suffix)
        .take_while(|(x, y)| x == y)
        .count();
    let mut out = format!("--- a/{name}\n+++ b/{name}\n");
    if prefix == a.len() && prefix == b.len() {
        return out + "(no change)\n";
    }
    let start = prefix.saturating_sub(CONTEXT);
    let a_end = (a.len() - suffix + CONTEXT).min(a.len());
    let b_end = (b.len() - suffix + CONTEXT).min(b.len());
    out.push_str(&format!(
        "@@ -{},{} +{},{} @@\n",
        start + 1,
        a_end - start,
        start + 1,
        b_end - start
    ));
    let mut lines = Vec::new();
    for l in &a[start..prefix] {
        lines.push(format!(" {l}"));
    }
    for l in &a[prefix..a.len() - suffix] {
        lines.push(format!("-{l}"));
    }
    for l in &b[prefix..b.len() - suffix] {
        lines.push(format!("+{l}"));
    }
    for l in &a[a.len() - suffix..a_end] {
        lines.push(format!(" {l}"));
    }
    let total = lines.len();
    for l in lines.into_iter().take(MAX_DIFF_LINES) {
        out.push_str(&l);
        out.push('\n');
    }
    if total > MAX_DIFF_LINES {
        out.push_str(&format!(
            "[{} more diff lines not shown]\n",
            total - MAX_DIFF_LINES
        ));
    }
    out
}

/// Creates or overwrites a text file.
#[derive(Debug, Clone, Default)]
pub struct WriteFile {
    /// Paths never written (the config's `[sandbox] protect`).
    pub protected: Protected,
}

fn write_file(
    workdir: &Path,
    args: &Value,
    protected: &Protected,
    cancel: &CancellationToken,
) -> Result<String, String> {
    let path = str_arg(args, "path")?;
    let content = str_arg(args, "content")?;
    let ws = Workspace::open(workdir)?;
    let target = ws.target(path, true, protected)?;
    let old = target.current(path, MAX_EDIT_BYTES, cancel)?;
    target.replace(
        path,
        content.as_bytes(),
        old.as_ref().map(|o| o.mode),
        cancel,
    )?;
    Ok(match old {
        None => format!("created {path} ({} bytes)\n", content.len()),
        Some(old) => match old.bytes {
            Some(bytes) => format!(
                "replaced {path} ({} bytes)\n{}",
                content.len(),
                unified_diff(path, &String::from_utf8_lossy(&bytes), content)
            ),
            None => format!(
                "replaced {path} ({} bytes; the old {} bytes were too many for a diff)\n",
                content.len(),
                old.size
            ),
        },
    })
}

impl Tool for WriteFile {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "write_file".into(),
            description: "Create or overwrite a text file in the workspace (missing parent \
                          directories are created)."
                .into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "path": {"type": "string", "description": "File path, relative to the workspace."},
                    "content": {"type": "string", "description": "The complete new content."}
                },
                "required": ["path", "content"],
                "additionalProperties": false
            }),
        }
    }

    fn assess(&self, args: &Value) -> Assessment {
        write_assessment(args, "writes")
    }

    fn run(&self, args: Value, ctx: ToolContext) -> BoxFuture<'_, ToolOutcome> {
        let protected = self.protected.clone();
        Box::pin(blocking(ctx, "write_file", move |dir, cancel| {
            write_file(dir, &args, &protected, cancel)
        }))
    }
}

/// Replaces an exact string in a text file.
#[derive(Debug, Clone, Default)]
pub struct EditFile {
    /// Paths never written (the config's `[sandbox] protect`).
    pub protected: Protected,
}

fn edit_file(
    workdir: &Path,
    args: &Value,
    protected: &Protected,
    cancel: &CancellationToken,
) -> Result<String, String> {
    let path = str_arg(args, "path")?;
    let old = str_arg(args, "old")?;
    let new = str_arg(args, "new")?;
    let all = args
        .get("replace_all")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if old.is_empty() {
        return Err("\"old\" is empty: give the exact text to replace".into());
    }
    let ws = Workspace::open(workdir)?;
    let target = ws.target(path, false, protected)?;
    let current = target
        .current(path, MAX_EDIT_BYTES, cancel)?
        .ok_or_else(|| format!("{path}: no such file or directory"))?;
    let Some(bytes) = current.bytes else {
        return Err(format!(
            "{path} is {} bytes, over the {MAX_EDIT_BYTES} bytes edit_file handles: use the \
             python tool",
            current.size
        ));
    };
    let mode = current.mode;
    let text = utf8(bytes, path)?;
    let count = text.matches(old).count();
    if count == 0 {
        return Err(format!(
            "{path}: the text to replace was not found (it must match exactly, whitespace \
             included; read the file first)"
        ));
    }
    if count > 1 && !all {
        return Err(format!(
            "{path}: the text to replace occurs {count} times: include more context to make it \
             unique, or set replace_all"
        ));
    }
    let updated = text.replace(old, new);
    target.replace(path, updated.as_bytes(), Some(mode), cancel)?;
    Ok(format!(
        "edited {path}: {count} replacement{}\n{}",
        if count == 1 { "" } else { "s" },
        unified_diff(path, &text, &updated)
    ))
}

impl Tool for EditFile {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "edit_file".into(),
            description: "Replace an exact piece of text in a workspace file with new text. The \
                          old text must occur exactly once unless replace_all is true. Returns a \
                          unified diff."
                .into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "path": {"type": "string", "description": "File path, relative to the workspace."},
                    "old": {"type": "string", "description": "The exact text to replace."},
                    "new": {"type": "string", "description": "The replacement text."},
                    "replace_all": {"type": "boolean", "description": "Replace every occurrence (default false)."}
                },
                "required": ["path", "old", "new"],
                "additionalProperties": false
            }),
        }
    }

    fn assess(&self, args: &Value) -> Assessment {
        write_assessment(args, "edits")
    }

    fn run(&self, args: Value, ctx: ToolContext) -> BoxFuture<'_, ToolOutcome> {
        let protected = self.protected.clone();
        Box::pin(blocking(ctx, "edit_file", move |dir, cancel| {
            edit_file(dir, &args, &protected, cancel)
        }))
    }
}

/// Runs a file operation off the async threads; the diff also goes to the live output.
async fn blocking(
    ctx: ToolContext,
    what: &'static str,
    f: impl FnOnce(&Path, &CancellationToken) -> Result<String, String> + Send + 'static,
) -> ToolOutcome {
    let out = workspace::run_blocking(&ctx, what, f).await;
    if out.status == llm_repl_protocol::ToolStatus::Ok {
        ctx.output.send(OutputStream::Stdout, out.content.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_shows_context_and_changes() {
        let old = "a\nb\nc\nd\ne\nf\ng\nh\n";
        let new = "a\nb\nc\nd\nE\nf\ng\nh\n";
        let d = unified_diff("x.txt", old, new);
        assert_eq!(
            d,
            "--- a/x.txt\n+++ b/x.txt\n@@ -2,7 +2,7 @@\n b\n c\n d\n-e\n+E\n f\n g\n h\n"
        );
        let d = unified_diff("x", "a\n", "a\nb\n");
        assert!(d.contains("@@ -1,1 +1,2 @@\n a\n+b\n"), "{d}");
        assert!(unified_diff("x", "a\n", "a\n").contains("(no change)"));
    }
}
