# Shared by run.sh, test.sh and bench/run.sh: find what the system needs, install what is missing.
# shellcheck shell=bash

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf '\033[31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# Prints the path of a MariaDB or MySQL server binary, or nothing.
find_mysql_server() {
  local dir name
  for dir in ${PATH//:/ } /usr/sbin /usr/local/sbin /usr/local/mysql/bin; do
    for name in mariadbd mysqld; do
      if [ -x "$dir/$name" ]; then echo "$dir/$name"; return 0; fi
    done
  done
  return 1
}

# Runs a command as root: directly when we are root, through sudo otherwise.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else return 127
  fi
}

# Installs Debian packages; says plainly what to do when that is impossible.
install_packages() {
  command -v apt-get >/dev/null 2>&1 \
    || die "apt-get is not available. Install these yourself and run this again: $*"
  if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null 2>&1; then
    die "Installing $* needs root. Run as root, install sudo, or run: apt-get install -y $*"
  fi
  log "Installing $* (apt-get)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
    && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null \
    || die "Could not install $*. Install them yourself (apt-get install -y $*) and run this again."
}

ensure_dotnet() {
  command -v dotnet >/dev/null 2>&1 \
    || die "The .NET 10 SDK is required: https://dotnet.microsoft.com/download (or apt-get install dotnet-sdk-10.0)."
}

# A MariaDB/MySQL server binary for the tests and the local run: the distribution's MariaDB when there is none.
ensure_mysql_server() {
  if ! find_mysql_server >/dev/null; then
    install_packages mariadb-server
  fi
  find_mysql_server >/dev/null || die "mariadb-server was installed but no mariadbd binary was found."
}

# What the Galera tests and the cluster bench run (eng/galera.sh): Debian's galera-4 (the wsrep provider for mariadbd),
# rsync (its state transfer), haproxy (the single writer and round-robin routes) and the mariadb client (haproxy's
# health check). The nodes run as the mysql user when this runs as root, so that user must exist (mariadb-server's
# package makes it).
ensure_galera() {
  local missing=()
  [ -f /usr/lib/galera/libgalera_smm.so ] || [ -f /usr/lib/libgalera_smm.so ] || [ -f /usr/lib/galera-4/libgalera_smm.so ] \
    || missing+=(galera-4)
  command -v rsync >/dev/null 2>&1 || missing+=(rsync)
  command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
  command -v mariadb >/dev/null 2>&1 || missing+=(mariadb-client)
  if [ "$(id -u)" -eq 0 ] && ! id mysql >/dev/null 2>&1; then missing+=(mariadb-server); fi
  if [ ${#missing[@]} -gt 0 ]; then install_packages "${missing[@]}"; fi
}

# Debian's Chromium for the dashboard's browser tests (Playwright drives it; it cannot download its own browser here).
find_chromium() {
  if [ -n "${CHROMIUM_PATH:-}" ] && [ -x "$CHROMIUM_PATH" ]; then echo "$CHROMIUM_PATH"; return 0; fi
  for candidate in chromium chromium-browser google-chrome; do
    if command -v "$candidate" >/dev/null 2>&1; then command -v "$candidate"; return 0; fi
  done
  return 1
}

ensure_chromium() {
  if ! find_chromium >/dev/null; then
    install_packages chromium
  fi
  find_chromium >/dev/null || die "chromium was installed but is not on PATH; set CHROMIUM_PATH to a Chromium or Chrome binary."
}

# mariadbd/mysqld refuse to run as root unless told to.
mysql_user_flag() { if [ "$(id -u)" -eq 0 ]; then echo --user=root; fi; }

# Creates a data directory whose root user has no password (the server only ever listens on loopback).
init_mysql_datadir() { # SERVER DATADIR
  if "$1" --version | grep -qi mariadb; then
    mariadb-install-db --no-defaults --datadir="$2" --auth-root-authentication-method=normal --skip-test-db >/dev/null
  else
    "$1" --no-defaults --initialize-insecure --datadir="$2" $(mysql_user_flag)
  fi
}

# Starts a server on 127.0.0.1:PORT in the background ($! is its PID). Its socket, log and temporary directory sit
# beside the data directory: servers sharing /tmp now and then delete each other's temporary tables.
start_mysql_server() { # SERVER DATADIR PORT [SERVER ARGUMENTS...]
  local server=$1 datadir=$2 port=$3 dir
  shift 3
  dir=$(dirname "$datadir")
  mkdir -p "$dir/tmp"
  "$server" --no-defaults --datadir="$datadir" --port="$port" --bind-address=127.0.0.1 --socket="$dir/mysqld.sock" \
    --character-set-server=utf8mb4 --log-error="$dir/mysqld.log" --tmpdir="$dir/tmp" "$@" $(mysql_user_flag) &
}

# The plain closing line of a `dotnet test` run whose console output is in FILE: "N passed, N failed". Fails (exit 1)
# when the run succeeded but no test ran; else exits with the run's STATUS.
closing_line() { # FILE STATUS
  local passed failed
  count() { { grep -E "^ +$1: +[0-9]+ *$" "$2" || true; } | awk '{ n += $2 } END { print n + 0 }'; }
  passed=$(count Passed "$1")
  failed=$(count Failed "$1")
  # The failed tests' names again at the end, each with the first lines of its error message, where a reader of only
  # the last lines (CI's) sees them.
  awk 'BEGIN { lines = -2 }
       /^ +Failed [A-Za-z]/ { sub(/^ +/, ""); print "failed: " $0; lines = -1; next }
       lines == -1 && /^ +Error Message:/ { lines = 0; next }
       lines >= 0 && /^ +(Stack Trace|Standard Output Messages):/ { lines = -2; next }
       lines >= 0 && lines < 8 { sub(/^ +/, ""); print "failed:     " substr($0, 1, 240); lines++ }' "$1"
  echo "$passed passed, $failed failed"
  if [ "$2" -eq 0 ] && [ "$passed" -eq 0 ]; then
    echo "No test ran." >&2
    exit 1
  fi
  exit "$2"
}
