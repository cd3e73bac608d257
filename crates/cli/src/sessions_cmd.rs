//! `llm-repl sessions`: the stored sessions from the command line (list, show, search, export,
//! import, rm), as text for people or `--json` for scripts.
//!
//! Read commands work even while another llm-repl owns the store (they browse a snapshot);
//! commands that change the store refuse then, naming the owner. Exit codes: 0 done, 1 error,
//! 2 no such session.

mod open;
pub(crate) use open::resolve;
mod render;

use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use llm_repl_protocol::calendar::Calendar;
use llm_repl_protocol::terminal_safe;
use llm_repl_store::{SessionRecord, StoreError};
use serde_json::json;

pub use open::{Access, NotFound, open};

use crate::settings::Settings;

pub const AFTER_HELP: &str = "An ID may be given as any unique prefix of it.\n\n\
Exit codes: 0 done, 1 error (including a store in use by another llm-repl for import/rm), \
2 no such session, an ambiguous id prefix, or another usage error.\n\nExamples:\n  llm-repl sessions list --limit 50\n  \
llm-repl sessions search \"parse error\"\n  llm-repl sessions export 0193ab --format md -o chat.md\n  \
llm-repl sessions rm 0193ab --yes";

#[derive(Debug, Args)]
pub struct SessionsArgs {
    /// Print JSON on stdout instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Debug, Subcommand)]
pub enum Action {
    /// Sessions, most recently updated first.
    List {
        /// Sessions per page.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Sessions to skip (the next page starts at offset + limit).
        #[arg(long, default_value_t = 0)]
        offset: usize,
    },
    /// A session's transcript: messages, tool calls and their outputs.
    Show {
        /// Session id, or a unique prefix of it.
        id: String,
    },
    /// Full-text search over every message and tool output, best matches first.
    Search {
        /// Words that must all occur.
        #[arg(required = true, num_args = 1..)]
        query: Vec<String>,
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Write a session as Markdown (readable) or JSON (every record, re-importable).
    Export {
        /// Session id, or a unique prefix of it.
        id: String,
        /// `md`: a readable transcript; `json`: every record (what `import` reads).
        #[arg(long, value_enum, default_value_t = Format::Md)]
        format: Format,
        /// Write to FILE instead of standard output.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Import a session from a JSON export (`-` reads standard input).
    Import {
        /// A file written by `export --format json`, or `-` for standard input.
        file: PathBuf,
    },
    /// Delete a session and everything of it.
    Rm {
        /// Session id, or a unique prefix of it.
        id: String,
        /// Do not ask for confirmation (required when standard input is not a terminal).
        #[arg(long, short = 'y')]
        yes: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Md,
    Json,
}

/// Runs a `sessions` command; errors are printed here so that "not found" can exit with 2.
pub fn run(settings: &Settings, args: SessionsArgs) -> anyhow::Result<ExitCode> {
    let dir = settings.data_dir();
    match dispatch(&dir, &settings.calendar(), args) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(err) => Ok(report_error(&err)),
    }
}

/// Prints `err` and picks the exit code: 2 for a missing session or an ambiguous id prefix
/// (usage errors), 1 for anything else.
pub fn report_error(err: &anyhow::Error) -> ExitCode {
    eprintln!("error: {err:#}");
    let missing = err.downcast_ref::<NotFound>().is_some()
        || err.downcast_ref::<open::Ambiguous>().is_some()
        || matches!(
            err.downcast_ref::<StoreError>(),
            Some(StoreError::NoSession(_))
        );
    ExitCode::from(if missing { 2 } else { 1 })
}

fn dispatch(dir: &Path, cal: &Calendar, args: SessionsArgs) -> anyhow::Result<()> {
    let json = args.json;
    let dir = &Place { dir, cal };
    match args.action {
        Action::List { limit, offset } => list(dir, json, limit, offset),
        Action::Show { id } => show(dir, json, &id),
        Action::Search { query, limit } => search(dir, json, &query.join(" "), limit),
        Action::Export { id, format, output } => export(dir, json, &id, format, output),
        Action::Import { file } => import(dir, json, &file),
        Action::Rm { id, yes } => rm(dir, json, &id, yes),
    }
}

/// Where the store is and whose days it counts in.
struct Place<'a> {
    dir: &'a Path,
    cal: &'a Calendar,
}

impl Place<'_> {
    fn open(&self, access: Access) -> anyhow::Result<Option<open::Opened>> {
        open(self.dir, access, self.cal)
    }
}

/// Writes `text` to stdout; a closed pipe (`| head`) is not an error worth a message.
pub(crate) fn out(text: &str) -> anyhow::Result<()> {
    let mut o = std::io::stdout().lock();
    match o.write_all(text.as_bytes()).and_then(|()| o.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e).context("cannot write"),
        _ => Ok(()),
    }
}

fn out_json(v: &serde_json::Value) -> anyhow::Result<()> {
    out(&format!("{}\n", serde_json::to_string_pretty(v)?))
}

fn list(dir: &Place<'_>, json: bool, limit: usize, offset: usize) -> anyhow::Result<()> {
    let (page, total) = match dir.open(Access::Read)? {
        Some(s) => s.list_sessions(offset, limit)?,
        None => (Vec::new(), 0),
    };
    if json {
        return out_json(&json!({ "total": total, "offset": offset, "sessions": page }));
    }
    out(&terminal_safe(&render::list(
        &page, total, offset, limit, dir.cal,
    )))
}

fn show(dir: &Place<'_>, json: bool, id: &str) -> anyhow::Result<()> {
    let store = dir
        .open(Access::Read)?
        .ok_or_else(|| NotFound::session(id))?;
    let rec = open::resolve(&store, id)?;
    let e = store.export_session(&rec.id)?;
    if json {
        return out_json(&serde_json::to_value(&e)?);
    }
    out(&terminal_safe(&render::transcript(&e, &store.calendar())))
}

fn search(dir: &Place<'_>, json: bool, query: &str, limit: usize) -> anyhow::Result<()> {
    let hits = match dir.open(Access::Read)? {
        Some(s) => s.search(query, limit)?,
        None => Vec::new(),
    };
    if json {
        return out_json(&json!({ "query": query, "hits": hits }));
    }
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    out(&render::hits(query, &hits, color))
}

fn export(
    dir: &Place<'_>,
    json: bool,
    id: &str,
    format: Format,
    output: Option<PathBuf>,
) -> anyhow::Result<()> {
    let store = dir
        .open(Access::Read)?
        .ok_or_else(|| NotFound::session(id))?;
    let rec = open::resolve(&store, id)?;
    let mut text = match format {
        Format::Md => store.export_markdown(&rec.id)?,
        Format::Json => store.export_json(&rec.id)?,
    };
    if !text.ends_with('\n') {
        text.push('\n');
    }
    let Some(path) = output else {
        // Byte-exact into a pipe or file; made inert when it lands on a terminal.
        if std::io::stdout().is_terminal() {
            return out(&terminal_safe(&text));
        }
        return out(&text);
    };
    std::fs::write(&path, &text).with_context(|| format!("cannot write {}", path.display()))?;
    if json {
        out_json(&json!({ "exported": rec.id, "path": path, "bytes": text.len() }))
    } else {
        eprintln!(
            "wrote session {} ({}) to {}",
            rec.id,
            terminal_safe(rec.title.trim()),
            path.display()
        );
        Ok(())
    }
}

fn import(dir: &Place<'_>, json: bool, file: &Path) -> anyhow::Result<()> {
    let mut text = String::new();
    if file == Path::new("-") {
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read standard input")?;
    } else {
        text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
    }
    let store = dir
        .open(Access::Write)?
        .context("the store could not be opened")?;
    let id = store.import_json(&text)?;
    let rec = store
        .get_session(&id)?
        .ok_or_else(|| NotFound::session(&id))?;
    if json {
        return out_json(&json!({ "imported": id, "title": rec.title, "messages": rec.messages }));
    }
    out(&format!(
        "imported session {id} ({}, {} messages)\n",
        terminal_safe(rec.title.trim()),
        rec.messages
    ))
}

fn rm(dir: &Place<'_>, json: bool, id: &str, yes: bool) -> anyhow::Result<()> {
    let store = dir
        .open(Access::Write)?
        .ok_or_else(|| NotFound::session(id))?;
    let rec = open::resolve(&store, id)?;
    if !yes && !confirm(&rec)? {
        anyhow::bail!("not deleted");
    }
    store.delete_session(&rec.id)?;
    if json {
        return out_json(&json!({ "deleted": rec.id }));
    }
    out(&format!(
        "deleted session {} ({})\n",
        rec.id,
        terminal_safe(rec.title.trim())
    ))
}

/// Asks y/N on the terminal; refuses outright when nobody can answer.
fn confirm(rec: &SessionRecord) -> anyhow::Result<bool> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        anyhow::bail!(
            "refusing to delete session {} without --yes (standard input is not a terminal)",
            rec.id
        );
    }
    eprint!(
        "Delete session {} \"{}\" ({} message{})? [y/N] ",
        rec.id,
        terminal_safe(rec.title.trim()),
        rec.messages,
        if rec.messages == 1 { "" } else { "s" }
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .context("cannot read the answer")?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}
