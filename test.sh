#!/usr/bin/env bash
# Runs every test but the deployment's (Category=Deployment: ./deploy-test.sh runs those, with the container engine
# they need). Installs what is missing (a MariaDB server binary, Galera, rsync and haproxy for the cluster tests, Chromium
# for the dashboard's browser tests); the tests start their own private servers, cluster and browser.
set -euo pipefail
cd "$(dirname "$0")"
source eng/common.sh

ensure_dotnet
ensure_mysql_server
ensure_galera
ensure_chromium
export CHROMIUM_PATH="${CHROMIUM_PATH:-$(find_chromium)}"

log "Building and testing (Release)"
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
set +e
dotnet test ChatBackend.sln -c Release --filter "Category!=Deployment" --logger "console;verbosity=normal" --results-directory "$results" 2>&1 | tee "$results/output.txt"
status=${PIPESTATUS[0]}
set -e

# One plain closing line for whoever reads the output: "N passed, N failed".
closing_line "$results/output.txt" "$status"
