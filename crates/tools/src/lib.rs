//! The built-in tools and plugin tools, on top of the sandbox.
//!
//! `python` (a persistent sandboxed interpreter per session), `shell` (`sh -c` in the same
//! sandbox), `read_file`, `list_dir`, `write_file`, `edit_file`, `search` (all confined to the
//! workspace), and plugin tools (`@tool` functions in Python files). Each implements
//! `llm_repl_core::Tool` and gives an accurate `assess()` (syntax, AST / command findings,
//! whether approval is advised); the approval decision itself is the agent's.
//!
//! A tool must never talk to a provider or the store: it gets arguments and a context and
//! returns an observation. Nothing here spawns a process before the first call (plugin
//! discovery, when asked for, parses files in one short-lived interpreter).

mod edit;
mod files;
mod plugin;
mod python;
mod runner;
mod search;
mod shell;
mod shell_risk;
pub mod workspace;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use llm_repl_core::Tool;
use llm_repl_core::config::{SandboxConfig, ToolsConfig};
use llm_repl_sandbox::Settings;

pub use edit::{EditFile, WriteFile, unified_diff};
pub use files::{ListDir, ReadFile};
/// What the kernel offers the sandbox (for `doctor`).
pub use llm_repl_sandbox::{SandboxSupport, probe as sandbox_probe};
pub use plugin::{PluginScan, PluginTool, plugin_dirs, plugin_tools};
pub use python::PythonTool;
pub use python::assess::{Analysis, SyntaxProblem, analyze};
pub use runner::Runner;
pub use search::Search;
pub use shell::{ShellTool, assess_command};

/// Interpreters tried, in order, when the config names none.
const PYTHON_CANDIDATES: &[&str] = &[
    "/usr/bin/python3",
    "/usr/local/bin/python3",
    "/bin/python3",
    "/opt/homebrew/bin/python3",
];

/// The absolute path of the Python interpreter: `configured` when set (it must be an absolute
/// path to an executable file), else the first of the usual places that exists.
pub fn find_python(configured: &str) -> Option<PathBuf> {
    if !configured.is_empty() {
        let p = Path::new(configured);
        return (p.is_absolute() && is_executable(p)).then(|| p.to_path_buf());
    }
    PYTHON_CANDIDATES
        .iter()
        .map(Path::new)
        .find(|p| is_executable(p))
        .map(Path::to_path_buf)
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// The sandbox settings the config asks for (paths are filled per call).
pub fn sandbox_settings(tools: &ToolsConfig, sandbox: &SandboxConfig) -> Settings {
    const MIB: u64 = 1024 * 1024;
    Settings {
        network: sandbox.network,
        require: sandbox.require,
        cpu_secs: sandbox.cpu_secs,
        memory_bytes: sandbox.memory_mb * MIB,
        max_processes: sandbox.max_processes,
        max_file_bytes: sandbox.max_file_mb * MIB,
        max_output_bytes: tools.max_output_bytes,
        protected: sandbox.protect.iter().map(PathBuf::from).collect(),
        ..Settings::default()
    }
}

/// The built-in tools, plus the shared interpreter plugin tools run in.
#[derive(Clone)]
pub struct ToolSet {
    pub python: PythonTool,
    pub tools: Vec<Arc<dyn Tool>>,
}

impl ToolSet {
    /// Adds the plugin tools found in `dirs` (see [`plugin_dirs`]); returns one line per file
    /// or function that was skipped. Spawns a parse-only interpreter only if there are files.
    pub fn load_plugins(&mut self, dirs: &[PathBuf]) -> Vec<String> {
        let reserved: Vec<String> = self.tools.iter().map(|t| t.spec().name).collect();
        let scan = plugin_tools(&self.python, dirs, &reserved);
        self.tools.extend(scan.tools);
        scan.warnings
    }
}

/// The built-in tools: `python`, `shell`, `read_file`, `list_dir`, `write_file`, `edit_file`,
/// `search`. Fails when no Python interpreter is found (the message says how to configure
/// one). Spawns nothing.
pub fn toolset(tools: &ToolsConfig, sandbox: &SandboxConfig) -> anyhow::Result<ToolSet> {
    runner::remove_old_scratch();
    let python = find_python(&tools.python).ok_or_else(|| {
        if tools.python.is_empty() {
            anyhow::anyhow!(
                "no Python interpreter found (tried {}): set tools.python to its absolute path",
                PYTHON_CANDIDATES.join(", ")
            )
        } else {
            anyhow::anyhow!(
                "tools.python = {:?} is not an absolute path to an executable",
                tools.python
            )
        }
    })?;
    let runner = Runner {
        base: sandbox_settings(tools, sandbox),
        timeout: Duration::from_secs(tools.timeout_secs.max(1)),
    };
    let max_bytes = tools.max_output_bytes;
    let protected = workspace::Protected::new(&sandbox.protect);
    let python = PythonTool::new(python, runner.clone());
    Ok(ToolSet {
        tools: vec![
            Arc::new(python.clone()),
            Arc::new(ShellTool { runner }),
            Arc::new(ReadFile { max_bytes }),
            Arc::new(ListDir),
            Arc::new(WriteFile {
                protected: protected.clone(),
            }),
            Arc::new(EditFile { protected }),
            Arc::new(Search),
        ],
        python,
    })
}

/// The built-in tools (see [`toolset`]).
pub fn builtin_tools(
    tools: &ToolsConfig,
    sandbox: &SandboxConfig,
) -> anyhow::Result<Vec<Arc<dyn Tool>>> {
    Ok(toolset(tools, sandbox)?.tools)
}
