#!/usr/bin/env bash
# Line coverage per crate, measured with cargo-llvm-cov (source-based LLVM coverage).
#
#   tests/coverage.sh                 # the whole workspace: every crate's tests plus the e2e crate
#   tests/coverage.sh -p llm-repl-store   # one package's own tests (fast, while writing tests)
#   COVERAGE_JSON=cov.json tests/coverage.sh   # keep the raw llvm-cov JSON summary
#
# Extra arguments go to `cargo test --tests` (default `--workspace`), run under
# `cargo llvm-cov show-env` in $CARGO_TARGET_DIR/llvm-cov-target (default target/llvm-cov-target),
# so the end-to-end tests' own `cargo build` of the binary is instrumented as well. Installs
# cargo-llvm-cov and the llvm-tools rustup component when missing. Prints lines
# covered/total/percent per crate, counting files under crates/NAME/src (and tests/src for the
# e2e crate's library). Heavy: an instrumented build of everything plus the whole test suite;
# not part of .ci/run. Code run by a sandboxed child between fork and exec is never counted
# (the child execs before it could write its profile).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo llvm-cov --version >/dev/null 2>&1; then
  rustup component add llvm-tools >/dev/null 2>&1 || rustup component add llvm-tools-preview
  cargo install --locked cargo-llvm-cov
fi
command -v python3 >/dev/null || { echo "python3 is needed to aggregate the figures" >&2; exit 1; }

args=("$@")
[ ${#args[@]} -eq 0 ] && args=(--workspace)
json="${COVERAGE_JSON:-$(mktemp --suffix=.json)}"

# `show-env` instead of `cargo llvm-cov test`: the end-to-end tests build and run the real binary
# with a nested `cargo build`, which must land in the same (instrumented) target directory; the
# binary writes its profile where LLVM_PROFILE_FILE says (tests/src/home.rs passes it on).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}/llvm-cov-target"
eval "$(cargo llvm-cov show-env --sh 2>/dev/null)"
rm -f "$CARGO_TARGET_DIR"/*.profraw
# The report reads every executable in the target directory: test binaries of an older tree
# would add their (uncounted) lines, so they are removed and relinked.
if [ -d "$CARGO_TARGET_DIR/debug/deps" ]; then
  find "$CARGO_TARGET_DIR/debug/deps" -maxdepth 1 -type f -perm -u+x ! -name '*.so' -delete
fi

# A failing test must not hide the figures; its failure is still reported by cargo above them.
status=0
cargo test --tests "${args[@]}" --no-fail-fast || status=$?
cargo llvm-cov report --json --summary-only --output-path "$json"

python3 - "$json" <<'PY'
import json, re, sys
data = json.load(open(sys.argv[1]))["data"][0]["files"]
per = {}
for f in data:
    m = re.search(r"/(crates/([^/]+)|(tests))/src/", f["filename"])
    if not m:
        continue
    crate = m.group(2) or "e2e"
    l = f["summary"]["lines"]
    c = per.setdefault(crate, [0, 0])
    c[0] += l["covered"]; c[1] += l["count"]
print(f"{'crate':<10} {'covered':>8} {'total':>8} {'percent':>8}")
tc = tt = 0
for crate in sorted(per):
    c, t = per[crate]
    tc += c; tt += t
    print(f"{crate:<10} {c:>8} {t:>8} {100*c/t if t else 0:>7.2f}%")
print(f"{'total':<10} {tc:>8} {tt:>8} {100*tc/tt if tt else 0:>7.2f}%")
PY
exit $status
