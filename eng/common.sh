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
