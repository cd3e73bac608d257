# Static risk analysis of a Python snippet: reads the code on stdin, prints one JSON object.
# {"syntax_error": {"message", "line", "column"}} or {"findings": [{"level","code","message","line"}]}
# It only parses (ast.parse); it never executes the code it reads.
import ast
import json
import sys

MODULES = {
    "subprocess": ("high", "runs other programs"),
    "socket": ("high", "opens network connections"),
    "ctypes": ("high", "calls native code directly"),
    "cffi": ("high", "calls native code directly"),
    "pty": ("high", "spawns a pseudo-terminal"),
    "multiprocessing": ("medium", "starts processes"),
    "asyncio.subprocess": ("high", "runs other programs"),
    "urllib": ("medium", "can reach the network"),
    "urllib.request": ("medium", "can reach the network"),
    "http.client": ("medium", "can reach the network"),
    "requests": ("medium", "can reach the network"),
    "httpx": ("medium", "can reach the network"),
    "ftplib": ("medium", "can reach the network"),
    "smtplib": ("medium", "can reach the network"),
    "telnetlib": ("medium", "can reach the network"),
    "importlib": ("medium", "imports modules by computed name"),
    "pickle": ("low", "unpickling runs code"),
    "marshal": ("low", "loads code objects"),
    "shutil": ("low", "copies, moves and deletes trees"),
    "signal": ("low", "handles or sends signals"),
}
CALLS = {
    "os.system": ("high", "os-system", "runs a shell command"),
    "os.popen": ("high", "os-popen", "runs a shell command"),
    "os.fork": ("high", "os-fork", "forks the interpreter"),
    "os.forkpty": ("high", "os-fork", "forks the interpreter"),
    "os.kill": ("high", "os-kill", "sends a signal to a process"),
    "os.killpg": ("high", "os-kill", "sends a signal to a process group"),
    "os.remove": ("medium", "delete-file", "deletes a file"),
    "os.unlink": ("medium", "delete-file", "deletes a file"),
    "os.rmdir": ("medium", "delete-dir", "deletes a directory"),
    "os.removedirs": ("medium", "delete-dir", "deletes directories"),
    "os.rename": ("medium", "rename", "renames a file"),
    "os.replace": ("medium", "rename", "replaces a file"),
    "os.chmod": ("medium", "chmod", "changes file permissions"),
    "os.chown": ("medium", "chown", "changes file ownership"),
    "os.symlink": ("medium", "symlink", "creates a symlink"),
    "os.setuid": ("high", "setuid", "changes user id"),
    "os.putenv": ("low", "env-write", "changes the environment"),
    "shutil.rmtree": ("high", "shutil-rmtree", "deletes a whole directory tree"),
    "shutil.move": ("medium", "shutil-move", "moves files"),
    "eval": ("medium", "eval", "evaluates a computed expression"),
    "exec": ("medium", "exec", "executes computed code"),
    "compile": ("low", "compile", "compiles computed code"),
    "__import__": ("medium", "dunder-import", "imports a module by computed name"),
    "importlib.import_module": ("medium", "dynamic-import", "imports a module by computed name"),
    "getattr": ("low", "getattr", "looks up an attribute by computed name"),
    "globals": ("low", "globals", "touches the global namespace"),
}
PREFIXES = {
    "os.exec": ("high", "os-exec", "replaces the interpreter with another program"),
    "os.spawn": ("high", "os-spawn", "runs another program"),
    "os.posix_spawn": ("high", "os-spawn", "runs another program"),
}
MODE_RE = __import__("re").compile(r"^[rwxabt+]{1,4}$")
WRITE_METHODS = {"write_text", "write_bytes", "unlink", "rmdir", "touch", "symlink_to", "hardlink_to"}


def dotted(node, aliases):
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(aliases.get(node.id, node.id))
        return ".".join(reversed(parts))
    return None


def main():
    src = sys.stdin.read()
    try:
        tree = ast.parse(src, "<code>")
    except SyntaxError as e:
        print(json.dumps({"syntax_error": {"message": e.msg, "line": e.lineno or 1, "column": e.offset or 1}}))
        return
    except (ValueError, RecursionError, MemoryError) as e:
        print(json.dumps({"syntax_error": {"message": str(e), "line": 1, "column": 1}}))
        return
    findings = []
    seen = set()

    def add(level, code, message, line):
        key = (code, line)
        if key not in seen:
            seen.add(key)
            findings.append({"level": level, "code": code, "message": message, "line": line})

    aliases = {}
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            for a in node.names:
                names.append(a.name)
                aliases[(a.asname or a.name).split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
            for a in node.names:
                aliases[a.asname or a.name] = node.module + "." + a.name
                names.append(node.module + "." + a.name)
        for name in names:
            for mod in (name, name.split(".")[0]):
                if mod in MODULES:
                    level, why = MODULES[mod]
                    add(level, "import-" + mod.replace(".", "-"), "imports %s: %s" % (mod, why), node.lineno)
                    break
            if name in CALLS:
                level, code, why = CALLS[name]
                add(level, code, "imports %s: %s" % (name, why), node.lineno)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        attr = node.func.attr if isinstance(node.func, ast.Attribute) else None
        if attr in WRITE_METHODS:
            add("medium", "path-write", ".%s(): changes the file system" % attr, node.lineno)
        name = dotted(node.func, aliases)
        if name is None and attr != "open":
            continue
        name = name or ".open"
        if name in CALLS:
            level, code, why = CALLS[name]
            add(level, code, "%s(): %s" % (name, why), node.lineno)
        for pre, (level, code, why) in PREFIXES.items():
            if name.startswith(pre):
                add(level, code, "%s(): %s" % (name, why), node.lineno)
        if name in ("open", "io.open", "os.open", "builtins.open", "codecs.open") or attr == "open":
            is_method = attr == "open" and name not in ("io.open", "os.open", "builtins.open", "codecs.open")
            mode = None
            if is_method:
                # Path.open(mode) or ZipFile.open(name, mode)
                if len(node.args) > 1:
                    mode = node.args[1]
                elif node.args:
                    a = node.args[0]
                    if isinstance(a, ast.Constant) and isinstance(a.value, str) and MODE_RE.match(a.value):
                        mode = a
            elif len(node.args) > 1:
                mode = node.args[1]
            for kw in node.keywords:
                if kw.arg in ("mode", "flags"):
                    mode = kw.value
            if name == "os.open" and mode is not None:
                add("medium", "open-write", "os.open() with flags: may write files", node.lineno)
            elif isinstance(mode, ast.Constant) and isinstance(mode.value, str):
                if any(c in mode.value for c in "wax+"):
                    add("medium", "open-write", "open(..., %r): writes a file" % mode.value, node.lineno)
            elif mode is not None:
                add("medium", "open-write", "open() with a computed mode: may write a file", node.lineno)
    print(json.dumps({"findings": findings}))


main()
