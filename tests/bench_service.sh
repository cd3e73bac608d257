#!/usr/bin/env bash
# Start-up and memory with the agent service (release build, offline mock provider, private
# XDG_RUNTIME_DIR and data dir under a temp dir; every service started here is stopped):
#  - full-screen interface start to first frame (the status bar's "idle" drawn) in a pty, with
#    the service already running, when it must be started, and --standalone;
#  - `exec hello` wall time through a running service and --standalone;
#  - the idle service's resident memory (VmRSS) after serving those.
# Reproduces the figures in .ai/ledgers/v4.0/agent-service.md.
#
# Usage: tests/bench_service.sh [RUNS]   (default 20; env CARGO_TARGET_DIR is honoured;
# SKIP_BUILD=1 uses the release binary already built)
set -euo pipefail

RUNS="${1:-20}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
[ -n "${SKIP_BUILD:-}" ] || (cd "$ROOT" && cargo build --release -q -p llm-repl --bin llm-repl)
BIN="$TARGET/release/llm-repl"

WORK="$(mktemp -d)"
mkdir -p "$WORK/run" "$WORK/home" "$WORK/ws"
export XDG_RUNTIME_DIR="$WORK/run" HOME="$WORK/home" XDG_CONFIG_HOME="$WORK/home/.config"
export XDG_DATA_HOME="$WORK/home/.data" XDG_STATE_HOME="$WORK/home/.state" TERM=xterm-256color
printf 'provider = "mock"\n' > "$WORK/config.toml"
LR=("$BIN" --config "$WORK/config.toml" --data-dir "$WORK/data")
cleanup() {
    "${LR[@]}" service stop >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT
cd "$WORK/ws"

# Milliseconds from spawning the interface in a pty until "idle" is on screen; then Ctrl-C.
first_frame() {
    python3 - "$@" <<'PY'
import os, pty, select, sys, time, signal, fcntl, termios, struct
argv = sys.argv[1:]
t0 = time.perf_counter()
pid, fd = pty.fork()
if pid == 0:
    # A 120x40 terminal (a pty starts at 0x0, where nothing is drawn).
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    os.execv(argv[0], argv)
buf = b""
deadline = t0 + 20
while b"idle" not in buf and time.perf_counter() < deadline:
    r, _, _ = select.select([fd], [], [], 0.05)
    if r:
        try:
            buf += os.read(fd, 65536)
        except OSError:
            break
t = (time.perf_counter() - t0) * 1000
os.write(fd, b"\x03")
time.sleep(0.05)
os.write(fd, b"\x03")
end = time.time() + 5
while time.time() < end:
    done, _ = os.waitpid(pid, os.WNOHANG)
    if done:
        break
    try:
        os.read(fd, 65536)
    except OSError:
        pass
    time.sleep(0.02)
else:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
print(f"{t:.1f}")
PY
}

summary() {
    python3 -c '
import sys
v = sorted(float(x) for x in sys.stdin.read().split())
print(f"median {v[len(v)//2]:.1f} ms, min {v[0]:.1f}, p90 {v[int(len(v)*0.9)]:.1f} (n={len(v)})")'
}

wait_socket() {
    for _ in $(seq 500); do
        ls "$XDG_RUNTIME_DIR"/llm-repl/*.sock >/dev/null 2>&1 && return 0
        sleep 0.01
    done
    return 1
}

echo "== TUI start to first frame, service already running"
"${LR[@]}" serve --idle-exit-secs 0 2>/dev/null &
wait_socket
for _ in $(seq "$RUNS"); do first_frame "${LR[@]}"; done | summary

echo "== exec hello through the running service"
for _ in $(seq "$RUNS"); do
    s=$EPOCHREALTIME; "${LR[@]}" exec hello >/dev/null 2>&1; e=$EPOCHREALTIME
    echo "($e - $s) * 1000" | bc -l
done | summary
pid=$(cat "$XDG_RUNTIME_DIR"/llm-repl/*.pid)
echo "== idle service memory: $(grep VmRSS /proc/"$pid"/status | awk '{printf "%.1f MiB", $2/1024}')"
"${LR[@]}" service stop >/dev/null

echo "== TUI start to first frame, service started on demand"
for _ in $(seq "$RUNS"); do
    first_frame "${LR[@]}"
    "${LR[@]}" service stop >/dev/null
done | summary

echo "== TUI start to first frame, --standalone"
for _ in $(seq "$RUNS"); do first_frame "${LR[@]}" --standalone; done | summary

echo "== exec hello --standalone"
for _ in $(seq "$RUNS"); do
    s=$EPOCHREALTIME; "${LR[@]}" --standalone exec hello >/dev/null 2>&1; e=$EPOCHREALTIME
    echo "($e - $s) * 1000" | bc -l
done | summary
