#!/usr/bin/env bash
# Runs the whole system locally: a MariaDB/MySQL server in a private data directory, the migrator, then the API.
# With ConnectionStrings__chatdb set, it uses that database instead of starting one.
# (Once the AppHost lands, this becomes `dotnet run --project ChatBackend.AppHost`.)
set -euo pipefail
cd "$(dirname "$0")"
source eng/common.sh

ensure_dotnet
data_home="${XDG_DATA_HOME:-$HOME/.local/share}/ChatBackend"
db_port="${CHATBACKEND_DB_PORT:-3406}"
pids=()

stop_all() {
  trap - EXIT INT TERM
  # Reverse order: the API first, then the database, cleanly (SIGTERM), so the next start needs no crash recovery.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[i]}" 2>/dev/null || true
    wait "${pids[i]}" 2>/dev/null || true
  done
  log "Stopped."
}
trap stop_all EXIT
trap 'exit 0' INT TERM

if [ -z "${ConnectionStrings__chatdb:-}" ]; then
  ensure_mysql_server
  server=$(find_mysql_server)
  mkdir -p "$data_home"
  init_file=()
  if [ ! -d "$data_home/mysql" ]; then
    log "Creating the database server's data directory in $data_home/mysql"
    init_mysql_datadir "$server" "$data_home/mysql"
    # A root password generated once and kept, like Aspire's generated mysql-password parameter.
    (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$data_home/mysql-password")
    (umask 077; echo "ALTER USER 'root'@'localhost' IDENTIFIED BY '$(cat "$data_home/mysql-password")';" > "$data_home/init.sql")
    init_file=(--init-file="$data_home/init.sql")
  fi
  (exec 3<>"/dev/tcp/127.0.0.1/$db_port") 2>/dev/null \
    && die "Port $db_port is in use. Set CHATBACKEND_DB_PORT to a free port."
  log "Starting the database server ($server) on 127.0.0.1:$db_port"
  start_mysql_server "$server" "$data_home/mysql" "$db_port" "${init_file[@]}"
  pids+=($!)
  export ConnectionStrings__chatdb="Server=127.0.0.1;Port=$db_port;User ID=root;Password=$(cat "$data_home/mysql-password");Database=chatdb"
fi

log "Building"
dotnet build ChatBackend.sln -v quiet -nologo >/dev/null

log "Migrating the schema (waits for the server to accept connections)"
(cd ChatBackend.DbMigrator && DOTNET_ENVIRONMENT=Development dotnet bin/Debug/net10.0/ChatBackend.DbMigrator.dll)
rm -f "$data_home/init.sql"

log "Starting the API: http://localhost:5380 (OpenAPI UI: http://localhost:5380/swagger). Ctrl+C stops everything."
# The app itself, not `dotnet run`, so that stopping this PID stops the API (the launch profile's URL and environment).
(cd ChatBackend.ApiService && ASPNETCORE_ENVIRONMENT=Development \
  exec dotnet bin/Debug/net10.0/ChatBackend.ApiService.dll --urls http://localhost:5380) &
pids+=($!)
wait "${pids[-1]}"
