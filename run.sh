#!/usr/bin/env bash
# Runs the whole system the Aspire way, `dotnet run --project ChatBackend.AppHost`, after installing what a fresh
# machine lacks: the AppHost needs a container runtime or a local MySQL/MariaDB server binary, unless it is given
# an existing server (ConnectionStrings__chatdb). Arguments go to the AppHost.
set -euo pipefail
cd "$(dirname "$0")"
source eng/common.sh

ensure_dotnet
answers() { command -v "$1" >/dev/null 2>&1 && "$1" info >/dev/null 2>&1; }
if [ -z "${ConnectionStrings__chatdb:-}" ] && ! answers docker && ! answers podman; then
  ensure_mysql_server
fi
exec dotnet run --project ChatBackend.AppHost -- "$@"
