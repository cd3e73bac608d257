# Thin aliases of cargo commands. `just` lists them.
default:
    @just --list

# Start the full-screen interface (release build).
run *ARGS:
    cargo run --release -- {{ARGS}}

# One prompt headless.
exec PROMPT:
    cargo run --release -- exec "{{PROMPT}}"

# The whole test suite (what CI runs after fmt and clippy).
test:
    cargo test --workspace

# Format check and clippy with warnings as errors.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Benchmarks (criterion); numbers go into the feature's ledger.
bench:
    cargo bench --workspace

# End-to-end tests only (the real binary against the fake server, headless and in a pty).
e2e:
    cargo test -p llm-repl-e2e

# What CI runs.
ci:
    bash .ci/run
