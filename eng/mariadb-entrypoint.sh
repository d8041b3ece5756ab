#!/bin/bash
# The entrypoint of the local MariaDB image (deploy-test.sh builds it from Debian's mariadb-server): the contract of the
# official mysql and mariadb images, which cannot be pulled here. Data in /var/lib/mysql; on the first start (an empty
# data directory) root gets MYSQL_ROOT_PASSWORD, for local and remote connections, and MYSQL_DATABASE is created; later
# starts keep what the data directory holds, as the official images do. The server runs as the mysql user.
set -euo pipefail

datadir=/var/lib/mysql
mkdir -p /run/mysqld "$datadir"
chown mysql:mysql /run/mysqld "$datadir"

if [ ! -d "$datadir/mysql" ]; then
  if [ -z "${MYSQL_ROOT_PASSWORD:-}" ]; then
    echo "error: the data directory is empty and MYSQL_ROOT_PASSWORD is not set" >&2
    exit 1
  fi
  mariadb-install-db --user=mysql --datadir="$datadir" --auth-root-authentication-method=normal --skip-test-db >/dev/null
  quote() { printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e "s/'/\\\\'/g"; }
  password=$(quote "$MYSQL_ROOT_PASSWORD")
  # The first start's SQL: a file only the server's user reads, deleted as soon as the server answers (it runs the
  # file before it takes connections).
  init=/run/mysqld/init.sql
  (umask 077; cat >"$init") <<SQL
ALTER USER 'root'@'localhost' IDENTIFIED BY '$password';
CREATE USER 'root'@'%' IDENTIFIED BY '$password';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION;
${MYSQL_DATABASE:+CREATE DATABASE IF NOT EXISTS \`$MYSQL_DATABASE\`;}
SQL
  chown mysql:mysql "$init"
  (until mysqladmin ping --socket=/run/mysqld/mysqld.sock --silent 2>/dev/null; do sleep 1; done; rm -f "$init") &
  set -- --init-file="$init" "$@"
fi

exec mariadbd --user=mysql --datadir="$datadir" --bind-address=0.0.0.0 --skip-name-resolve \
  --socket=/run/mysqld/mysqld.sock --character-set-server=utf8mb4 "$@"
