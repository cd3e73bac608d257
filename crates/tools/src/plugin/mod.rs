//! Plugin tools: plain Python functions marked with `@tool`, in `<config dir>/tools/*.py` and
//! `<workspace>/.llm-repl/tools/*.py`.
//!
//! ```python
//! from llm_repl import tool
//!
//! @tool
//! def word_count(text: str, unique: bool = False) -> int:
//!     """Count the words in a text.
//!
//!     Args:
//!         text: The text to count.
//!         unique: Count distinct words only.
//!     """
//!     return len(set(text.split())) if unique else len(text.split())
//! ```
//!
//! Discovery parses the files with Python's `ast` and never runs them: the signature, type hints
//! and docstring become the tool's JSON schema. A call runs the plugin's source and then the
//! function in the session's sandboxed interpreter (the sandbox cannot read the config dir, so
//! the source travels with the call).
//!
//! Approval: a plugin is code the model did not write and the user may not have read, so it goes
//! through the same policy as the built-in tools. The rule: plugins in the user's config dir are
//! **trusted** (the user installed them there): their source's findings are shown, nothing is
//! asked. Plugins in the workspace (`.llm-repl/tools`) are **third-party code** (they came with
//! the repository): under `on-risk` every call asks (approve for the session to stop asking),
//! with the findings of the plugin's source (the Rust analyzer, once per plugin) attached.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::future::BoxFuture;
use llm_repl_core::tool::Assessment;
use llm_repl_core::{Tool, ToolContext, ToolOutcome, ToolSpec};
use llm_repl_protocol::{Finding, RiskLevel};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::python::PythonTool;

const DISCOVER: &str = include_str!("discover.py");

/// Source files larger than this are skipped.
const MAX_PLUGIN_BYTES: u64 = 1024 * 1024;

/// The folders plugins are looked for in, in order (later ones win on a name clash).
pub fn plugin_dirs(config_dir: Option<&Path>, workdir: &Path) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(c) = config_dir {
        dirs.push(c.join("tools"));
    }
    dirs.push(workdir.join(".llm-repl").join("tools"));
    dirs
}

#[derive(Debug, Deserialize)]
struct Found {
    file: String,
    function: Option<String>,
    name: Option<String>,
    description: Option<String>,
    parameters: Option<Value>,
    error: Option<String>,
}

/// The plugin tools found, and one line per file or function that was skipped.
#[derive(Default)]
pub struct PluginScan {
    pub tools: Vec<Arc<dyn Tool>>,
    pub warnings: Vec<String>,
}

/// Finds the plugin tools in `dirs`. Spawns one short parse-only interpreter when (and only
/// when) there are plugin files. Names in `reserved` (the built-in tools) are refused.
pub fn plugin_tools(python: &PythonTool, dirs: &[PathBuf], reserved: &[String]) -> PluginScan {
    let mut scan = PluginScan::default();
    let mut files: Vec<(String, String)> = Vec::new();
    let mut trusted_files: Vec<String> = Vec::new();
    for dir in dirs {
        let trusted = !is_workspace_dir(dir);
        let Ok(rd) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "py"))
            .collect();
        paths.sort();
        for p in paths {
            match p.metadata() {
                Ok(m) if m.is_file() && m.len() <= MAX_PLUGIN_BYTES => {}
                _ => {
                    scan.warnings.push(format!(
                        "{}: skipped (not a file or too large)",
                        p.display()
                    ));
                    continue;
                }
            }
            match std::fs::read_to_string(&p) {
                Ok(src) => {
                    if trusted {
                        trusted_files.push(p.display().to_string());
                    }
                    files.push((p.display().to_string(), src))
                }
                Err(e) => scan.warnings.push(format!("{}: {e}", p.display())),
            }
        }
    }
    if files.is_empty() {
        return scan;
    }
    let found = match discover(&python.python, &files) {
        Ok(f) => f,
        Err(e) => {
            scan.warnings.push(format!("plugin discovery failed: {e}"));
            return scan;
        }
    };
    let mut by_name: std::collections::BTreeMap<String, Arc<dyn Tool>> = Default::default();
    for f in found {
        if let Some(err) = f.error {
            scan.warnings.push(format!("{}: {err}", f.file));
            continue;
        }
        let (Some(function), Some(name), Some(parameters)) = (f.function, f.name, f.parameters)
        else {
            continue;
        };
        if reserved.contains(&name) {
            scan.warnings.push(format!(
                "{}: the plugin {name} is skipped: a built-in tool has that name",
                f.file
            ));
            continue;
        }
        let source = files
            .iter()
            .find(|(p, _)| *p == f.file)
            .map(|(_, s)| s.clone())
            .unwrap_or_default();
        let spec = ToolSpec {
            name: name.clone(),
            description: f.description.unwrap_or_default(),
            parameters,
        };
        let source_assessment =
            crate::python::assess::assessment(&crate::python::assess::analyze(&source));
        by_name.insert(
            name,
            Arc::new(PluginTool {
                python: python.clone(),
                trusted: trusted_files.contains(&f.file),
                source_assessment,
                file: f.file,
                function,
                source,
                spec,
            }),
        );
    }
    scan.tools = by_name.into_values().collect();
    scan
}

/// A workspace plugin folder (`<workspace>/.llm-repl/tools`): its plugins are third-party.
fn is_workspace_dir(dir: &Path) -> bool {
    dir.ends_with(Path::new(".llm-repl").join("tools"))
}

fn discover(python: &Path, files: &[(String, String)]) -> Result<Vec<Found>, String> {
    let input: Vec<Value> = files
        .iter()
        .map(|(file, source)| json!({"file": file, "source": source}))
        .collect();
    let input = serde_json::to_vec(&input).map_err(|e| e.to_string())?;
    let out = crate::python::run_script(python, DISCOVER, input)?;
    serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("{e}: {}", String::from_utf8_lossy(&out.stderr).trim()))
}

/// One plugin function, run in the session's sandboxed interpreter.
pub struct PluginTool {
    python: PythonTool,
    /// From the user's config dir (trusted) or the workspace (third-party).
    trusted: bool,
    /// The analysis of the plugin's source, made once.
    source_assessment: Assessment,
    file: String,
    function: String,
    source: String,
    spec: ToolSpec,
}

impl PluginTool {
    /// The code sent to the interpreter for one call (JSON strings are Python literals).
    fn code(&self, args: &Value) -> String {
        let lit = |s: &str| Value::String(s.to_string()).to_string();
        format!(
            "def __llm_repl_plugin(src, file, fn, args):\n\
             \x20   import json, sys, types\n\
             \x20   if 'llm_repl' not in sys.modules:\n\
             \x20       m = types.ModuleType('llm_repl')\n\
             \x20       m.tool = lambda f=None, **kw: f if callable(f) else (lambda g: g)\n\
             \x20       sys.modules['llm_repl'] = m\n\
             \x20   ns = {{'__name__': '__llm_repl_plugin__'}}\n\
             \x20   exec(compile(src, file, 'exec'), ns)\n\
             \x20   return ns[fn](**json.loads(args))\n\
             __llm_repl_plugin({}, {}, {}, {})\n",
            lit(&self.source),
            lit(&self.file),
            lit(&self.function),
            lit(&args.to_string()),
        )
    }
}

impl Tool for PluginTool {
    fn spec(&self) -> ToolSpec {
        self.spec.clone()
    }

    fn assess(&self, _args: &Value) -> Assessment {
        let mut findings = self.source_assessment.findings.clone();
        if self.trusted {
            return Assessment {
                findings,
                needs_approval: None,
            };
        }
        let why = format!(
            "runs the workspace plugin {} ({}): third-party code",
            self.function, self.file
        );
        findings.insert(
            0,
            Finding {
                level: RiskLevel::Medium,
                code: "third-party-code".into(),
                message: why.clone(),
                line: None,
            },
        );
        let needs_approval = Some(match &self.source_assessment.needs_approval {
            Some(more) => format!("it {why}; {more}"),
            None => format!("it {why}"),
        });
        Assessment {
            findings,
            needs_approval,
        }
    }

    fn run(&self, args: Value, ctx: ToolContext) -> BoxFuture<'_, ToolOutcome> {
        Box::pin(async move {
            if !args.is_object() {
                return ToolOutcome::error("the arguments must be a JSON object");
            }
            let code = self.code(&args);
            self.python.call(&code, &ctx).await
        })
    }
}
