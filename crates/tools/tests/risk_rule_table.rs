//! Every rule family of the Python and shell risk analysis that the other tables leave out:
//! each snippet must produce its finding code at its level (other findings may come along).
//! A rule dropped or downgraded in `python/assess/rules.rs` or `shell_risk.rs` fails here.

#![allow(clippy::unwrap_used)]

use llm_repl_protocol::RiskLevel::{self, High, Low, Medium};

/// (snippet, finding code, level)
const PYTHON: &[(&str, &str, RiskLevel)] = &[
    // Modules.
    ("import posix", "import-posix", High),
    ("import runpy", "import-runpy", High),
    ("from code import interact", "import-code", High),
    ("import marshal", "import-marshal", High),
    ("import pty", "import-pty", High),
    ("import builtins", "import-builtins", High),
    ("import timeit", "import-timeit", Medium),
    ("import inspect", "import-inspect", Medium),
    ("import site", "import-site", Medium),
    ("import multiprocessing", "import-multiprocessing", Medium),
    ("import webbrowser", "import-webbrowser", Medium),
    ("import requests", "import-requests", Medium),
    ("import pickle", "import-pickle", Low),
    ("import signal", "import-signal", Low),
    // Qualified names.
    ("import os\nos.fork()", "os-fork", High),
    ("import os\nos.setuid(0)", "setuid", High),
    ("import os\nos.popen('ls')", "os-popen", High),
    ("import os\nos.chown('a', 0, 0)", "chown", Medium),
    ("import os\nos.chmod('a', 0o777)", "chmod", Medium),
    ("import os\nos.rmdir('d')", "delete-dir", Medium),
    ("import os\nos.rename('a', 'b')", "rename", Medium),
    ("import os\nos.symlink('a', 'b')", "symlink", Medium),
    ("import os\nos.truncate('a', 0)", "truncate", Medium),
    ("import os\nos.dup2(1, 2)", "fd-access", Medium),
    ("import os\nos.putenv('A', '1')", "env-write", Medium),
    (
        "import shutil\nshutil.copy('a', 'b')",
        "shutil-copy",
        Medium,
    ),
    (
        "import shutil\nshutil.move('a', 'b')",
        "shutil-move",
        Medium,
    ),
    ("import sys\nsys._getframe()", "frame-access", High),
    ("import sys\nm = sys.modules['os']", "module-table", High),
    ("import sys\nprint(sys.path)", "import-path", Low),
    ("import gc\ngc.get_objects()", "object-walk", High),
    ("import types\nf = types.FunctionType", "code-object", High),
    (
        "import operator\noperator.attrgetter('a')",
        "dynamic-attr",
        High,
    ),
    ("import pickle\npickle.loads(b'')", "unpickle", High),
    (
        "import typing\ntyping.get_type_hints(f)",
        "exec-string",
        High,
    ),
    (
        "import asyncio\nasyncio.create_subprocess_exec('ls')",
        "spawn",
        High,
    ),
    (
        "import concurrent.futures\nconcurrent.futures.ProcessPoolExecutor()",
        "import-multiprocessing",
        Medium,
    ),
    ("import os\nos.spawnl(0, 'x', 'x')", "os-spawn", High),
    ("import os\nos.posix_spawn('x', [], {})", "os-spawn", High),
    // Attributes on any object (an alias from an earlier cell is invisible to this one).
    ("o.spawnv(0, 'a', [])", "os-spawn", High),
    ("o.execvp('sh', ['sh'])", "os-exec", High),
    ("o.setgid(0)", "setuid", High),
    ("o.killpg(1, 9)", "os-kill", High),
    ("frame.f_globals['x']", "frame-access", High),
    ("loop.create_unix_connection(p)", "unix-socket", High),
    ("loop.open_connection('h', 1)", "network", Medium),
    ("shlex.os.getcwd()", "module-reach", High),
    ("getattr(o, name)('ls')", "dynamic-attr", High),
    ("getattr(o, 'system')('ls')", "os-system", High),
    ("globals()['x'] = 1", "namespace-access", High),
    ("breakpoint()", "debugger", High),
    // Effects of calls and stores.
    ("import os\nos.environ.update(A='1')", "env-write", Medium),
    ("import os\nos.environ['A'] = '1'", "env-write", Medium),
    (
        "import sys\nsys.path.insert(0, '/x')",
        "import-path",
        Medium,
    ),
    ("m = 'w'\nopen('a', m)", "open-write", Medium),
    ("open('a', **opts)", "open-write", Medium),
    ("import os\nos.open('a', os.O_WRONLY)", "open-write", Medium),
    (
        "from pathlib import Path\nPath('a').unlink()",
        "path-write",
        Medium,
    ),
];

#[test]
fn python_rule_families_give_their_code_and_level() {
    let mut failures = Vec::new();
    for (code, want, level) in PYTHON {
        let a = llm_repl_tools::analyze(code);
        if let Some(e) = &a.syntax_error {
            failures.push(format!("{code:?}: syntax error {e}"));
            continue;
        }
        let same = |f: &&llm_repl_protocol::Finding| f.code == *want;
        match a
            .findings
            .iter()
            .filter(same)
            .find(|f| f.level == *level)
            .or(a.findings.iter().find(same))
        {
            Some(f) if f.level == *level => {}
            Some(f) => failures.push(format!("{code:?}: {want} at {:?}, want {level:?}", f.level)),
            None => failures.push(format!(
                "{code:?}: no {want}; got {:?}",
                a.findings.iter().map(|f| &f.code).collect::<Vec<_>>()
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn harmless_lookalikes_stay_quiet() {
    for code in [
        "import platform\nplatform.system()",
        "import os\nprint(os.path.join('a', 'b'))",
        "import os\nprint(os.environ.get('HOME'))",
        "open('a', 'r')",
        "from pathlib import Path\nPath('a').read_text()",
        "x = {'system': 1}\nx.get('system')",
    ] {
        let a = llm_repl_tools::analyze(code);
        assert!(a.syntax_error.is_none(), "{code}");
        assert!(
            a.findings.iter().all(|f| f.level == Low),
            "{code}: {:?}",
            a.findings
        );
    }
}

/// (command, finding code, level)
const SHELL: &[(&str, &str, RiskLevel)] = &[
    ("sed -i 's/a/b/' f.txt", "in-place-edit", Medium),
    ("python3 -c 'print(1)'", "interpreter", High),
    // A lone computed argument names an unknown script (once waved through as `--version`).
    ("python3 \"$SCRIPT\"", "interpreter", High),
    ("python3 $SCRIPT", "interpreter", High),
    ("python3 x.py \"$ARG\"", "interpreter", High),
    ("bash script.sh", "runs-script", Medium),
    ("./build.sh --fast", "runs-script", Medium),
    ("awk '{ system(\"ls\") }' data.txt", "awk-exec", High),
    ("cp notes.txt /etc/motd", "write-outside", Medium),
    (
        "curl --unix-socket /var/run/docker.sock http://x/",
        "unix-socket",
        High,
    ),
    ("rm -rf build", "rm-recursive", High),
];

#[test]
fn shell_rule_families_give_their_code_and_level() {
    let mut failures = Vec::new();
    for (cmd, want, level) in SHELL {
        let findings = llm_repl_tools::assess_command(cmd);
        match findings.iter().find(|f| f.code == *want) {
            Some(f) if f.level == *level => {}
            Some(f) => failures.push(format!("{cmd:?}: {want} at {:?}, want {level:?}", f.level)),
            None => failures.push(format!(
                "{cmd:?}: no {want}; got {:?}",
                findings
                    .iter()
                    .map(|f| (&f.code, f.level))
                    .collect::<Vec<_>>()
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
