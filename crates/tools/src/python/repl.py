# The persistent interpreter driver of llm-repl's python tool. Shipped inside the binary and run
# as `python3 -I -u -c <this>` inside the sandbox.
#
# Protocol. Requests on fd 0: u32 big-endian length + JSON {"id": int, "nonce": str, "code": str}.
# Replies on fd 1: frames of u32 big-endian length + 1 kind byte + payload:
#   b"R" ready (once, at start), b"o" stdout bytes, b"e" stderr bytes, b"r" result JSON:
#   {"id": the request's id, "nonce": the request's nonce, "value": repr|null,
#    "error": {"type", "message", "traceback"}|null,
#    "syntax": {"message", "line", "column", "text"}|null, "duration_ms": float}
# User code is not handed fds 0 and 1: stdin is /dev/null, fds 1 and 2 are pipes whose bytes a
# thread forwards as frames (so subprocess output is captured too), and sys.stdout/sys.stderr
# write frames directly. It runs in this same interpreter, though, so it CAN reach the
# protocol fds (this module's globals, /proc/self/fd) and write a result frame of its own. The
# Rust side therefore trusts a result only with the current call's id and nonce: the nonce is
# fresh per call, is not in any namespace user code is given, and is dropped from the request
# before the code runs (it lives on as a local of _serve only). Code that digs it out of the
# interpreter's frames can fake its own call's result once; the genuine frame then arrives as a
# second result for that call and the next call reports the forgery and restarts the
# interpreter, so later results never shift.
import ast
import io
import json
import linecache
import os
import struct
import sys
import threading
import time
import traceback

_proto_in = os.fdopen(os.dup(0), "rb", buffering=0)
_proto_out = os.dup(1)
_lock = threading.Lock()
_null = os.open("/dev/null", os.O_RDONLY)
os.dup2(_null, 0)
os.close(_null)
_SYNC = b"\x00llm-repl-sync-" + os.urandom(8).hex().encode() + b"\x00"


def _send(kind, payload):
    data = struct.pack(">IB", len(payload) + 1, ord(kind)) + payload
    with _lock:
        view = memoryview(data)
        while view:
            n = os.write(_proto_out, view)
            view = view[n:]


class _FrameRaw(io.RawIOBase):
    def __init__(self, kind, fd):
        self._kind = kind
        self._fd = fd

    def writable(self):
        return True

    def write(self, b):
        b = bytes(b)
        if b:
            _send(self._kind, b)
        return len(b)

    def fileno(self):
        return self._fd

    def isatty(self):
        return False


def _forward(fd, kind, synced):
    buf = b""
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:
            return
        if not data:
            return
        buf += data
        while True:
            i = buf.find(_SYNC)
            if i < 0:
                break
            if i:
                _send(kind, buf[:i])
            buf = buf[i + len(_SYNC):]
            synced.set()
        keep = 0
        for k in range(min(len(_SYNC) - 1, len(buf)), 0, -1):
            if _SYNC.startswith(buf[-k:]):
                keep = k
                break
        if len(buf) > keep:
            _send(kind, buf[: len(buf) - keep])
            buf = buf[len(buf) - keep:]


_pipes = []
for _fd, _kind in ((1, "o"), (2, "e")):
    _r, _w = os.pipe()
    os.dup2(_w, _fd)
    os.close(_w)
    _ev = threading.Event()
    threading.Thread(target=_forward, args=(_r, _kind, _ev), daemon=True).start()
    _pipes.append((_fd, _ev))

sys.stdin = open(os.devnull)
sys.stdout = io.TextIOWrapper(_FrameRaw("o", 1), encoding="utf-8", errors="backslashreplace", write_through=True)
sys.stderr = io.TextIOWrapper(_FrameRaw("e", 2), encoding="utf-8", errors="backslashreplace", write_through=True)
sys.__stdout__, sys.__stderr__ = sys.stdout, sys.stderr

_ns = {"__name__": "__main__", "__builtins__": __builtins__}
_driver_pid = os.getpid()
_cell = 0
_MAX_REPR = 10000
_MAX_TRACEBACK = 50000


def _end_processes():
    # Processes a call started end with the call (the interpreter's state and threads stay).
    # This driver is pid 1 of its own pid namespace: kill(-1) reaches every other process in
    # it and nothing outside.
    if os.getpid() != 1:
        return
    try:
        os.kill(-1, 9)
    except OSError:
        pass
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            # Killed children may take a moment to become reapable.
            time.sleep(0.001)


def _sync_fds():
    # Everything already written to fds 1 and 2 is forwarded before the result.
    for fd, ev in _pipes:
        ev.clear()
        try:
            os.write(fd, _SYNC)
        except OSError:
            continue
        # Generous: the forwarder answers in microseconds, but a starved thread on a loaded
        # machine must not let the result overtake output already written (it would land in
        # the next call).
        ev.wait(10.0)


def _run(code):
    global _cell
    _cell += 1
    name = "<cell %d>" % _cell
    linecache.cache[name] = (len(code), None, code.splitlines(True), name)
    reply = {"value": None, "error": None, "syntax": None}
    try:
        tree = ast.parse(code, name)
    except SyntaxError as e:
        reply["syntax"] = {"message": e.msg, "line": e.lineno or 1, "column": e.offset or 1,
                           "text": (e.text or "").rstrip("\n")}
        return reply
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    try:
        exec(compile(tree, name, "exec"), _ns)
        if last is not None:
            value = eval(compile(last, name, "eval"), _ns)
            if value is not None:
                _ns["_"] = value
                text = repr(value)
                if len(text) > _MAX_REPR:
                    text = text[:_MAX_REPR] + "... [%d more characters]" % (len(text) - _MAX_REPR)
                reply["value"] = text
    except BaseException as e:  # noqa: B036 - report everything, SystemExit included
        tb = e.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != name:
            tb = tb.tb_next
        text = "".join(traceback.format_exception(type(e), e, tb))
        if len(text) > _MAX_TRACEBACK:
            half = _MAX_TRACEBACK // 2
            text = text[:half] + "\n[... %d characters cut ...]\n" % (len(text) - 2 * half) + text[-half:]
        reply["error"] = {"type": type(e).__name__, "traceback": text}
    return reply


def _read_exact(n):
    data = b""
    while len(data) < n:
        chunk = _proto_in.read(n - len(data))
        if not chunk:
            sys.exit(0)
        data += chunk
    return data


def _serve():
    while True:
        (size,) = struct.unpack(">I", _read_exact(4))
        request = json.loads(_read_exact(size))
        call_id = request.get("id")
        nonce = request.pop("nonce", None)
        code = request.get("code", "")
        del request
        started = time.perf_counter()
        result = _run(code)
        if os.getpid() != _driver_pid:
            # A process forked by the user's code finished the cell: it must not answer too.
            os._exit(0)
        _end_processes()
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except Exception:
            pass
        _sync_fds()
        result["duration_ms"] = (time.perf_counter() - started) * 1000.0
        result["id"] = call_id
        result["nonce"] = nonce
        _send("r", json.dumps(result).encode())


_send("R", b"")
_serve()
