#!/bin/sh
# Installs the pinned reference MCP servers from the npm registry into DIR (a cache the tests
# own; default: $TMPDIR/llm-repl-mcp-servers). Used by crates/mcp/tests and tests/tests/mcp_e2e.rs.
# Prints the directory whose node_modules/.bin holds the servers. Exits 3 when node or npm is
# missing (the tests then skip, saying so); any other failure is a test failure.
set -eu
EVERYTHING=2026.8.31
FILESYSTEM=2026.8.31
dir="${1:-${TMPDIR:-/tmp}/llm-repl-mcp-servers}"
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || exit 3
mkdir -p "$dir"
(
  # Test binaries run in parallel: one installs, the others wait for it.
  flock 9
  stamp="$dir/.installed-$EVERYTHING-$FILESYSTEM"
  if [ ! -e "$stamp" ]; then
    npm install --prefix "$dir" --no-audit --no-fund --loglevel=error \
      "@modelcontextprotocol/server-everything@$EVERYTHING" \
      "@modelcontextprotocol/server-filesystem@$FILESYSTEM" >&2
    touch "$stamp"
  fi
) 9>"$dir/.lock"
echo "$dir"
