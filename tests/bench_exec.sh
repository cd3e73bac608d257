#!/usr/bin/env bash
# Times `llm-repl exec hello` against the fake OpenAI-compatible server, with the sled store and
# with --no-store: wall time (mean, min, p50, p90 over RUNS runs) and peak memory (max RSS from
# /usr/bin/time -v). Reproduces the figures in .ai/ledgers/v3.1/headless-exec.md.
#
# Usage: tests/bench_exec.sh [RUNS]   (default 50; env CARGO_TARGET_DIR is honoured)
# Needs GNU time (/usr/bin/time): installed from Debian (`apt-get install time`) if missing.
set -euo pipefail

RUNS="${1:-50}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"

if [ ! -x /usr/bin/time ]; then
    echo "installing GNU time (Debian package 'time')" >&2
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get install -y time >/dev/null
fi

(cd "$ROOT" && cargo build --release -q -p llm-repl -p llm-repl-e2e --bin llm-repl --bin fake-openai)
BIN="$TARGET/release/llm-repl"
FAKE="$TARGET/release/fake-openai"

WORK="$(mktemp -d)"
FAKE_PID=""
cleanup() {
    [ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

"$FAKE" >"$WORK/url" 2>/dev/null &
FAKE_PID=$!
for _ in $(seq 100); do
    [ -s "$WORK/url" ] && break
    sleep 0.05
done
URL="$(head -n1 "$WORK/url")"
[ -n "$URL" ] || { echo "fake-openai did not start" >&2; exit 1; }

mkdir -p "$WORK/home/.config/llm-repl" "$WORK/data" "$WORK/ws"
cat >"$WORK/config.toml" <<TOML
provider = "fake"
[providers.fake]
kind = "openai"
base_url = "$URL"
api_key_env = "FAKE_KEY"
model = "fake-model"
[store]
model_titles = false
TOML

run() {
    # $1: label; the rest: extra arguments. Prints one line of figures.
    local label="$1"
    shift
    local times="$WORK/times.$label" rss="$WORK/rss.$label"
    : >"$times"
    : >"$rss"
    for _ in $(seq "$RUNS"); do
        local start end
        start=$EPOCHREALTIME
        env -i HOME="$WORK/home" XDG_CONFIG_HOME="$WORK/home/.config" FAKE_KEY=k PATH=/usr/bin:/bin \
            "$BIN" --config "$WORK/config.toml" --data-dir "$WORK/data" "$@" exec hello >/dev/null 2>"$WORK/err" \
            || { cat "$WORK/err" >&2; exit 1; }
        end=$EPOCHREALTIME
        echo "$start $end" | awk '{ printf "%d\n", ($2 - $1) * 1000000 }' >>"$times"
    done
    # Peak memory from separate runs (GNU time's own fork would blur the wall times).
    for _ in $(seq 5); do
        env -i HOME="$WORK/home" XDG_CONFIG_HOME="$WORK/home/.config" FAKE_KEY=k PATH=/usr/bin:/bin \
            /usr/bin/time -f "%M" -o "$WORK/one.rss" \
            "$BIN" --config "$WORK/config.toml" --data-dir "$WORK/data" "$@" exec hello >/dev/null 2>/dev/null
        tail -n1 "$WORK/one.rss" >>"$rss"
    done
    sort -n "$times" | awk -v label="$label" -v runs="$RUNS" -v rssfile="$rss" '
        { t[NR] = $1; sum += $1 }
        END {
            while ((getline r < rssfile) > 0) if (r > max) max = r
            printf "%-9s %d runs: mean %.1f ms, min %.1f ms, p50 %.1f ms, p90 %.1f ms; peak RSS %.1f MiB\n",
                label, runs, sum / NR / 1000, t[1] / 1000, t[int(NR * 0.5) + 1] / 1000,
                t[int(NR * 0.9)] / 1000, max / 1024
        }'
}

cd "$WORK/ws"
run store
run no-store --no-store
