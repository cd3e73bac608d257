#!/usr/bin/env bash
# Times `llm-repl exec hello` against the fake OpenAI-compatible server, with the sled store and
# with --no-store, for a server that reports usage and one that does not: wall time (mean, min, p50, p90 over RUNS runs) and peak memory (max RSS from
# /usr/bin/time -v). Reproduces the figures in .ai/ledgers/v3.1/headless-exec.md.
#
# Usage: tests/bench_exec.sh [RUNS]   (default 50; env CARGO_TARGET_DIR and LLM_REPL_BIN are honoured)
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
# LLM_REPL_BIN=path times another build of llm-repl (e.g. a copy of the one before a change).
BIN="${LLM_REPL_BIN:-$TARGET/release/llm-repl}"
FAKE="$TARGET/release/fake-openai"

WORK="$(mktemp -d)"
FAKE_PIDS=()
cleanup() {
    for pid in "${FAKE_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

# Two servers: the default one streams no usage (llm-repl then counts the tokens itself, which
# builds the cl100k tokenizer: the `estimated` rows); the other reports usage in its last chunk,
# as OpenAI, Groq, OpenRouter, vLLM and llama.cpp do for the `include_usage` llm-repl sends.
cat >"$WORK/usage.toml" <<'TOML'
models = ["fake-model"]
[fallback]
kind = "reply"
text = "hello from the fake server"
usage = { prompt_tokens = 12, completion_tokens = 6, cached_tokens = 0 }
TOML

start_fake() {
    # $1: name; $2: optional script. Writes $WORK/$1.toml, a config for that server.
    local name="$1" url
    "$FAKE" ${2:+"$2"} >"$WORK/$name.url" 2>/dev/null &
    FAKE_PIDS+=($!)
    for _ in $(seq 100); do
        [ -s "$WORK/$name.url" ] && break
        sleep 0.05
    done
    url="$(head -n1 "$WORK/$name.url")"
    [ -n "$url" ] || { echo "fake-openai did not start" >&2; exit 1; }
    cat >"$WORK/$name.toml" <<TOML
provider = "fake"
[providers.fake]
kind = "openai"
base_url = "$url"
api_key_env = "FAKE_KEY"
model = "fake-model"
[store]
model_titles = false
TOML
}
start_fake estimated
start_fake reported "$WORK/usage.toml"

mkdir -p "$WORK/home/.config/llm-repl" "$WORK/data" "$WORK/ws"

run() {
    # $1: label; $2: server (estimated|reported); the rest: extra arguments. Prints one line.
    local label="$1" config="$WORK/$2.toml"
    shift 2
    local times="$WORK/times.$label" rss="$WORK/rss.$label"
    : >"$times"
    : >"$rss"
    for _ in $(seq "$RUNS"); do
        local start end
        start=$EPOCHREALTIME
        env -i HOME="$WORK/home" XDG_CONFIG_HOME="$WORK/home/.config" FAKE_KEY=k PATH=/usr/bin:/bin \
            "$BIN" --config "$config" --data-dir "$WORK/data" "$@" exec hello >/dev/null 2>"$WORK/err" \
            || { cat "$WORK/err" >&2; exit 1; }
        end=$EPOCHREALTIME
        echo "$start $end" | awk '{ printf "%d\n", ($2 - $1) * 1000000 }' >>"$times"
    done
    # Peak memory from separate runs (GNU time's own fork would blur the wall times).
    for _ in $(seq 5); do
        env -i HOME="$WORK/home" XDG_CONFIG_HOME="$WORK/home/.config" FAKE_KEY=k PATH=/usr/bin:/bin \
            /usr/bin/time -f "%M" -o "$WORK/one.rss" \
            "$BIN" --config "$config" --data-dir "$WORK/data" "$@" exec hello >/dev/null 2>/dev/null
        tail -n1 "$WORK/one.rss" >>"$rss"
    done
    sort -n "$times" | awk -v label="$label" -v runs="$RUNS" -v rssfile="$rss" '
        { t[NR] = $1; sum += $1 }
        END {
            while ((getline r < rssfile) > 0) if (r > max) max = r
            printf "%-28s %d runs: mean %.1f ms, min %.1f ms, p50 %.1f ms, p90 %.1f ms; peak RSS %.1f MiB\n",
                label, runs, sum / NR / 1000, t[1] / 1000, t[int(NR * 0.5) + 1] / 1000,
                t[int(NR * 0.9)] / 1000, max / 1024
        }'
}

cd "$WORK/ws"
run "store, usage reported" reported
run "no-store, usage reported" reported --no-store
run "store, usage estimated" estimated
run "no-store, usage estimated" estimated --no-store
