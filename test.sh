#!/usr/bin/env bash
# Runs every test. Installs what is missing (a MariaDB server binary, Chromium for the dashboard's browser tests); the
# tests start their own private server and browser.
set -euo pipefail
cd "$(dirname "$0")"
source eng/common.sh

ensure_dotnet
ensure_mysql_server
ensure_chromium
export CHROMIUM_PATH="${CHROMIUM_PATH:-$(find_chromium)}"

log "Building and testing (Release)"
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
set +e
dotnet test ChatBackend.sln -c Release --logger "console;verbosity=normal" --results-directory "$results" 2>&1 | tee "$results/output.txt"
status=${PIPESTATUS[0]}
set -e

# One plain closing line for whoever reads the output: "N passed, N failed".
count() { { grep -E "^ +$1: +[0-9]+ *$" "$results/output.txt" || true; } | awk '{ n += $2 } END { print n + 0 }'; }
passed=$(count Passed)
failed=$(count Failed)
echo "$passed passed, $failed failed"
if [ "$status" -eq 0 ] && [ "$passed" -eq 0 ]; then
  echo "No test ran." >&2
  exit 1
fi
exit "$status"
