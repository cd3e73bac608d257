//! The tables of the Python risk analysis: which modules, qualified names, attribute names and
//! builtins are worth a finding, and at what level.
//!
//! Kept apart from the walk so a reviewer can read the policy in one place. The rule of thumb:
//! whatever runs other programs, reaches native code, executes computed code, looks names up
//! dynamically or reaches the interpreter's internals is `High`; network, file writes and
//! deletes are `Medium` (both ask under `on-risk`); the rest is `Low` (shown, not asked).

use llm_repl_protocol::RiskLevel::{self, High, Low, Medium};

/// (level, finding code, why).
pub(super) type Rule = (RiskLevel, &'static str, &'static str);

/// A module imported (`import m`, `from m import x`): matched on the full name, then on its
/// top-level package.
pub(super) fn module(m: &str) -> Option<Rule> {
    Some(match m {
        "subprocess" | "_posixsubprocess" | "asyncio.subprocess" => {
            (High, "import-subprocess", "runs other programs")
        }
        "socket" | "_socket" => (High, "import-socket", "opens network connections"),
        "ctypes" | "_ctypes" | "cffi" => (High, "import-ctypes", "calls native code directly"),
        "pty" => (High, "import-pty", "spawns a pseudo-terminal"),
        "posix" | "nt" => (
            High,
            "import-posix",
            "the raw OS interface (system, exec, fork)",
        ),
        "builtins" | "__builtin__" => (
            High,
            "import-builtins",
            "reaches exec, eval and __import__ under other names",
        ),
        "importlib" | "imp" | "zipimport" => {
            (High, "import-importlib", "imports modules by computed name")
        }
        "runpy" | "code" | "codeop" | "pdb" | "bdb" => {
            (High, "exec-module", "runs code given as a string or file")
        }
        "marshal" | "dill" | "cloudpickle" => (High, "code-loading", "loads code objects"),
        "paramiko" => (High, "network", "opens remote shells"),
        "multiprocessing" => (Medium, "import-multiprocessing", "starts processes"),
        "timeit" | "cProfile" | "profile" | "trace" | "doctest" => {
            (Medium, "exec-string", "runs code given as a string")
        }
        "inspect" => (
            Medium,
            "import-inspect",
            "introspection reaches frames and any object's members",
        ),
        "site" | "pkgutil" => (Medium, "import-path", "changes where imports come from"),
        "webbrowser" | "pydoc" => (Medium, "runs-program", "may start other programs"),
        "urllib" | "urllib.request" | "http.client" | "requests" | "httpx" | "ftplib"
        | "smtplib" | "telnetlib" | "urllib3" | "aiohttp" | "websocket" | "websockets"
        | "xmlrpc" | "xmlrpc.client" | "ssl" | "poplib" | "imaplib" | "http.server"
        | "socketserver" | "asyncore" | "asynchat" => {
            (Medium, "network-import", "can reach the network")
        }
        "pickle" | "_pickle" | "shelve" => (Low, "import-pickle", "unpickling runs code"),
        "shutil" => (Low, "import-shutil", "copies, moves and deletes trees"),
        "signal" => (Low, "import-signal", "handles or sends signals"),
        _ => return None,
    })
}

/// Modules whose `from m import *` hides risky names behind plain ones.
pub(super) fn star_import_is_risky(m: &str) -> bool {
    let top = m.split('.').next().unwrap_or(m);
    module(m).is_some()
        || module(top).is_some()
        || matches!(
            top,
            "os" | "sys" | "io" | "types" | "operator" | "gc" | "functools" | "pathlib"
        )
}

/// A fully qualified name (after resolving import aliases), referenced or called.
pub(super) fn qualified(d: &str) -> Option<Rule> {
    let rule = match d {
        "os.system" | "posix.system" => (High, "os-system", "runs a shell command"),
        "os.popen" | "platform.popen" => (High, "os-popen", "runs a shell command"),
        "os.fork" | "os.forkpty" | "os.register_at_fork" => {
            (High, "os-fork", "forks the interpreter")
        }
        "os.kill" | "os.killpg" | "os.pidfd_open" => {
            (High, "os-kill", "sends a signal to a process")
        }
        "os.setuid" | "os.setgid" | "os.seteuid" | "os.setreuid" | "os.setresuid" => {
            (High, "setuid", "changes user id")
        }
        "os.remove" | "os.unlink" => (Medium, "delete-file", "deletes a file"),
        "os.rmdir" | "os.removedirs" => (Medium, "delete-dir", "deletes directories"),
        "os.rename" | "os.renames" | "os.replace" => (Medium, "rename", "renames a file"),
        "os.chmod" | "os.fchmod" | "os.lchmod" => (Medium, "chmod", "changes file permissions"),
        "os.chown" | "os.fchown" | "os.lchown" | "shutil.chown" => {
            (Medium, "chown", "changes file ownership")
        }
        "os.symlink" | "os.link" => (Medium, "symlink", "creates a link"),
        "os.truncate" | "os.ftruncate" => (Medium, "truncate", "truncates a file"),
        "os.putenv" | "os.unsetenv" => (Medium, "env-write", "changes the environment"),
        "os.fdopen" | "os.dup2" => (Medium, "fd-access", "reuses raw file descriptors"),
        "shutil.rmtree" => (High, "shutil-rmtree", "deletes a whole directory tree"),
        "shutil.move" => (Medium, "shutil-move", "moves files"),
        "shutil.copy" | "shutil.copy2" | "shutil.copyfile" | "shutil.copytree" => {
            (Medium, "shutil-copy", "writes copies of files")
        }
        "importlib.import_module" | "importlib.__import__" | "importlib.reload" => {
            (High, "dynamic-import", "imports a module by computed name")
        }
        "sys.modules" => (
            High,
            "module-table",
            "reaches any loaded module by computed name",
        ),
        "sys._getframe" | "inspect.currentframe" | "inspect.stack" | "inspect.trace" => (
            High,
            "frame-access",
            "reaches the globals and builtins of running frames",
        ),
        "sys.path" | "sys.meta_path" | "sys.path_hooks" => (
            Low,
            "import-path",
            "reads or changes where imports come from",
        ),
        "inspect.getmembers"
        | "inspect.getattr_static"
        | "operator.attrgetter"
        | "operator.methodcaller" => (High, "dynamic-attr", "looks up attributes by computed name"),
        "gc.get_objects" | "gc.get_referrers" | "gc.get_referents" => {
            (High, "object-walk", "reaches any object of the interpreter")
        }
        "types.FunctionType" | "types.CodeType" | "types.LambdaType" => {
            (High, "code-object", "builds functions from code objects")
        }
        "pickle.load" | "pickle.loads" | "pickle.Unpickler" | "_pickle.loads" | "_pickle.load"
        | "shelve.open" | "marshal.load" | "marshal.loads" => {
            (High, "unpickle", "deserialising can run arbitrary code")
        }
        "typing.get_type_hints" => (High, "exec-string", "evaluates string annotations as code"),
        "asyncio.create_subprocess_exec" | "asyncio.create_subprocess_shell" | "pty.spawn" => {
            (High, "spawn", "runs another program")
        }
        "pydoc.pipepager" | "pydoc.pager" | "webbrowser.open" => {
            (Medium, "runs-program", "may start other programs")
        }
        "concurrent.futures.ProcessPoolExecutor" => {
            (Medium, "import-multiprocessing", "starts processes")
        }
        "os.environ" => return None, // reads are fine; writes are checked by the walk
        _ => return prefixed(d),
    };
    Some(rule)
}

fn prefixed(d: &str) -> Option<Rule> {
    if d.starts_with("os.exec") || d.starts_with("posix.exec") {
        return Some((
            High,
            "os-exec",
            "replaces the interpreter with another program",
        ));
    }
    if d.starts_with("os.spawn") || d.starts_with("os.posix_spawn") {
        return Some((High, "os-spawn", "runs another program"));
    }
    if d.starts_with("builtins.") || d.starts_with("ctypes.") || d.starts_with("importlib.") {
        return Some((
            High,
            "builtins-access",
            "reaches interpreter internals by another name",
        ));
    }
    None
}

/// Attribute names risky on any object: modules reach each other (`shlex.os.system`), and an
/// alias made in an earlier cell (`import os as o`) is not visible to this cell's analysis.
pub(super) fn attribute(attr: &str) -> Option<Rule> {
    Some(match attr {
        "system" => (High, "os-system", "runs a shell command"),
        "popen" => (High, "os-popen", "runs a shell command"),
        "fork" | "forkpty" => (High, "os-fork", "forks the interpreter"),
        "killpg" => (High, "os-kill", "sends a signal to a process group"),
        "setuid" | "setgid" | "seteuid" | "setreuid" | "setresuid" => {
            (High, "setuid", "changes user id")
        }
        "rmtree" => (High, "shutil-rmtree", "deletes a whole directory tree"),
        "import_module" | "__import__" => {
            (High, "dynamic-import", "imports a module by computed name")
        }
        "_getframe" | "f_globals" | "f_builtins" | "f_locals" | "f_back" | "gi_frame"
        | "cr_frame" | "ag_frame" | "tb_frame" | "f_code" => (
            High,
            "frame-access",
            "reaches the globals and builtins of running frames",
        ),
        "open_unix_connection"
        | "create_unix_connection"
        | "start_unix_server"
        | "create_unix_server"
        | "AF_UNIX" => (
            High,
            "unix-socket",
            "talks to a local service over a Unix socket",
        ),
        "open_connection"
        | "create_connection"
        | "start_server"
        | "create_server"
        | "create_datagram_endpoint" => (Medium, "network", "opens network connections"),
        "ctypeslib" => (High, "import-ctypes", "calls native code directly"),
        "subprocess_exec"
        | "subprocess_shell"
        | "create_subprocess_exec"
        | "create_subprocess_shell" => (High, "spawn", "runs another program"),
        // Reaching a module through another one: `shlex.os`, `pathlib.os`, `x.sys.modules`.
        "os" | "sys" | "subprocess" | "builtins" | "posix" | "nt" | "_os" | "importlib"
        | "ctypes" | "_posixsubprocess" | "shutil" => (
            High,
            "module-reach",
            "reaches a module through another object",
        ),
        _ if is_exec_family(attr) => (
            High,
            "os-exec",
            "replaces the interpreter with another program",
        ),
        "spawn" | "spawnl" | "spawnle" | "spawnlp" | "spawnlpe" | "spawnv" | "spawnve"
        | "spawnvp" | "spawnvpe" | "posix_spawn" | "posix_spawnp" => {
            (High, "os-spawn", "runs another program")
        }
        _ => return None,
    })
}

fn is_exec_family(attr: &str) -> bool {
    matches!(
        attr,
        "execl" | "execle" | "execlp" | "execlpe" | "execv" | "execve" | "execvp" | "execvpe"
    )
}

/// Qualified names whose last attribute would match [`attribute`] but are known harmless.
pub(super) fn attribute_exempt(dotted: &str) -> bool {
    matches!(dotted, "platform.system" | "os.path" | "sys.path")
}

/// Bare names (builtins) that are risky wherever they appear, called or not.
pub(super) fn builtin(name: &str) -> Option<Rule> {
    Some(match name {
        "exec" => (High, "exec", "executes computed code"),
        "eval" => (High, "eval", "evaluates a computed expression"),
        "compile" => (High, "compile", "compiles computed code"),
        "__import__" => (High, "dunder-import", "imports a module by computed name"),
        "getattr" | "setattr" | "delattr" => (
            High,
            "dynamic-attr",
            "looks up an attribute by computed name",
        ),
        "vars" | "globals" | "locals" => (
            High,
            "namespace-access",
            "reaches a namespace as a dictionary",
        ),
        "__builtins__" | "__builtin__" => (
            High,
            "builtins-access",
            "reaches exec, eval and __import__ under other names",
        ),
        "breakpoint" => (High, "debugger", "starts a debugger that runs any code"),
        _ => return None,
    })
}

/// Dunder names harmless to read or define (everything else dunder is `High`: fail closed).
pub(super) fn dunder_allowed(name: &str) -> bool {
    matches!(
        name,
        "__name__"
            | "__qualname__"
            | "__doc__"
            | "__module__"
            | "__version__"
            | "__file__"
            | "__all__"
            | "__slots__"
            | "__annotations__"
            | "__debug__"
            | "__author__"
            | "__class__"
            | "__init__"
            | "__new__"
            | "__post_init__"
            | "__repr__"
            | "__str__"
            | "__format__"
            | "__hash__"
            | "__len__"
            | "__iter__"
            | "__next__"
            | "__enter__"
            | "__exit__"
            | "__aenter__"
            | "__aexit__"
            | "__contains__"
            | "__getitem__"
            | "__setitem__"
            | "__delitem__"
            | "__call__"
            | "__bool__"
            | "__eq__"
            | "__ne__"
            | "__lt__"
            | "__le__"
            | "__gt__"
            | "__ge__"
            | "__add__"
            | "__sub__"
            | "__mul__"
            | "__matmul__"
            | "__truediv__"
            | "__floordiv__"
            | "__mod__"
            | "__pow__"
            | "__neg__"
            | "__pos__"
            | "__abs__"
            | "__int__"
            | "__float__"
            | "__index__"
            | "__round__"
            | "__sizeof__"
            | "__dataclass_fields__"
            | "__match_args__"
            | "__array__"
    )
}

pub(super) fn is_dunder(name: &str) -> bool {
    name.len() > 4 && name.starts_with("__") && name.ends_with("__")
}

/// Calls whose mode argument decides whether they write.
pub(super) fn is_open_function(d: &str) -> bool {
    matches!(
        d,
        "open"
            | "io.open"
            | "builtins.open"
            | "codecs.open"
            | "os.open"
            | "gzip.open"
            | "bz2.open"
            | "lzma.open"
            | "io.FileIO"
            | "tarfile.open"
    )
}

/// Methods that change the file system whatever the object (`Path(...).write_text`).
pub(super) fn is_write_method(attr: &str) -> bool {
    matches!(
        attr,
        "write_text" | "write_bytes" | "unlink" | "rmdir" | "touch" | "symlink_to" | "hardlink_to"
    )
}

/// `open(..., mode)`: a mode that writes, appends, creates or updates.
pub(super) fn mode_writes(mode: &str) -> bool {
    mode.chars().any(|c| matches!(c, 'w' | 'a' | 'x' | '+'))
}

/// A string that looks like an `open` mode (`Path.open('w')`, `ZipFile.open(name, 'w')`).
pub(super) fn looks_like_mode(s: &str) -> bool {
    (1..=4).contains(&s.len()) && s.chars().all(|c| "rwxabt+".contains(c))
}
