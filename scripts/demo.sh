#!/usr/bin/env bash
# make demo: validate the example tenants, start the embedded Graph sandbox with the demo
# fleet, and run the drift report against it (table on the terminal, HTML in out/).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
mkdir -p out

"$BIN/sage365" validate tenants/

# The sandbox prints its base URL as its first line; port 0 picks a free port.
coproc SANDBOX { exec "$BIN/sage365" sandbox serve --state sandbox/demo.yaml --port 0; }
trap 'kill "$SANDBOX_PID" 2>/dev/null; wait "$SANDBOX_PID" 2>/dev/null || true' EXIT
read -r -t 30 URL <&"${SANDBOX[0]}"
echo "Graph sandbox at $URL"

set +e
"$BIN/sage365" drift tenants/ --graph-url "$URL" --format table
rc=$?
"$BIN/sage365" drift tenants/ --graph-url "$URL" --format html --output out/drift.html >/dev/null
set -e
echo "Fleet report: out/drift.html"
# The demo fleet has drift by design (exit 1); only an error (exit 2) fails the demo.
if [ "$rc" -ge 2 ]; then
  echo "demo: drift could not check every tenant (exit $rc)" >&2
  exit "$rc"
fi
