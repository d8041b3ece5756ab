#!/usr/bin/env bash
# A three-node MariaDB Galera cluster on loopback, for the tests (GaleraCluster.cs) and the bench: every node's data,
# socket, log and ports under one directory, nothing installed or touched outside it. /work/shared/GALERA.md and
# docs/topologies.md tell why each setting is there.
#
#   eng/galera.sh init DIR PORTS...     data directories for three nodes; PORTS: 12 free loopback ports, node by node
#                                       (SQL, group communication, IST, SST), and 2 more for haproxy (single writer,
#                                       multi-primary)
#   eng/galera.sh start DIR N [new]     starts node N (1-3) in the background and waits until it is Synced; "new"
#                                       bootstraps a new cluster from it; a node that was killed recovers its position
#                                       first (--wsrep-recover) so that it rejoins by an incremental transfer
#   eng/galera.sh kill DIR N            SIGKILL to node N
#   eng/galera.sh isolate DIR N 1|0     cuts node N off the group (gmcast.isolate) or lets it back
#   eng/galera.sh haproxy DIR           starts haproxy: a single writer (node 1, nodes 2 and 3 as backups) and a
#                                       round-robin over the three, each with a health check that passes only on a
#                                       Synced, Primary node
#   eng/galera.sh stop DIR              stops haproxy and the nodes (SIGTERM, then SIGKILL after 30 s)
#
# Each node logs the conflicts it resolves (wsrep_log_conflicts) in DIR/nN/err.log; GALERA_EXTRA_ARGS adds server
# options to every node (e.g. --general_log=ON while looking into a failure).
# Run as root, the nodes run as the mysql user: Galera's rsync state transfer drops to nobody and cannot write to a
# root-owned data directory.
set -euo pipefail

galera_provider() {
  local candidate
  for candidate in /usr/lib/galera/libgalera_smm.so /usr/lib/libgalera_smm.so /usr/lib/galera-4/libgalera_smm.so \
    /usr/lib64/galera-4/libgalera_smm.so /usr/lib64/galera/libgalera_smm.so; do
    if [ -f "$candidate" ]; then echo "$candidate"; return 0; fi
  done
  echo "No Galera provider (libgalera_smm.so): install Debian's galera-4." >&2
  return 1
}

port() { sed -n "$2p" "$1/ports"; } # DIR INDEX (1-based)
sql_port() { port "$1" $((($2 - 1) * 4 + 1)); }
node_owner() { if [ "$(id -u)" -eq 0 ]; then echo --user=mysql; fi; }
client() { # DIR N SQL...
  local dir=$1 n=$2
  shift 2
  mariadb --no-defaults -h127.0.0.1 -P"$(sql_port "$dir" "$n")" -uroot --connect-timeout=2 -N -B -e "$*"
}

init() {
  local dir=$1 n
  shift
  [ $# -eq 14 ] || { echo "init takes 14 ports, not $#" >&2; return 2; }
  mkdir -p "$dir"
  printf '%s\n' "$@" >"$dir/ports"
  for n in 1 2 3; do
    mkdir -p "$dir/n$n/tmp"
    # One after another: several mariadb-install-db at once clash on temporary tables.
    mariadb-install-db --no-defaults --datadir="$dir/n$n/data" --auth-root-authentication-method=normal \
      --skip-test-db --tmpdir="$dir/n$n/tmp" >"$dir/n$n/install.log" 2>&1
  done
  if [ "$(id -u)" -eq 0 ]; then
    chown -R mysql:mysql "$dir"
    chmod 755 "$dir"
    su -s /bin/sh mysql -c "test -x '$dir'" \
      || { echo "The mysql user cannot reach $dir (a parent directory is not searchable by others)." >&2; return 1; }
  fi
}

node_arguments() { # DIR N
  local dir=$1 n=$2 i cluster=""
  for i in 1 2 3; do cluster+="${cluster:+,}127.0.0.1:$(port "$dir" $(((i - 1) * 4 + 2)))"; done
  local gc ist sst
  gc=$(port "$dir" $(((n - 1) * 4 + 2)))
  ist=$(port "$dir" $(((n - 1) * 4 + 3)))
  sst=$(port "$dir" $(((n - 1) * 4 + 4)))
  printf '%s\n' --no-defaults --datadir="$dir/n$n/data" --port="$(sql_port "$dir" "$n")" --bind-address=127.0.0.1 \
    --socket="$dir/n$n/sock" --pid-file="$dir/n$n/pid" --log-error="$dir/n$n/err.log" --tmpdir="$dir/n$n/tmp" \
    --character-set-server=utf8mb4 --innodb-buffer-pool-size=128M --max-connections=500 $(node_owner) \
    --wsrep_on=ON --wsrep_provider="$(galera_provider)" --wsrep_cluster_name=chatbackend \
    --wsrep_cluster_address="gcomm://$cluster" \
    --wsrep_provider_options="gmcast.listen_addr=tcp://127.0.0.1:$gc;ist.recv_addr=127.0.0.1:$ist;gcache.size=128M" \
    --wsrep_node_address="127.0.0.1:$gc" --wsrep_node_name="node$n" \
    --wsrep_sst_method=rsync --wsrep_sst_receive_address="127.0.0.1:$sst" \
    --binlog_format=ROW --innodb_autoinc_lock_mode=2 --default_storage_engine=InnoDB --wsrep_log_conflicts=ON ${GALERA_EXTRA_ARGS:-}
}

state() { client "$1" "$2" "SELECT variable_value FROM information_schema.global_status WHERE variable_name = 'wsrep_local_state_comment'" 2>/dev/null || true; }

start() {
  local dir=$1 n=$2 mode=${3:-} position="" args
  mapfile -t args < <(node_arguments "$dir" "$n")
  if [ -f "$dir/n$n/killed" ] && [ "$mode" != new ]; then
    # A node that died: its last committed position, so that it asks for the writesets it missed (IST), not a full copy.
    mariadbd "${args[@]}" --wsrep-recover --log-error="$dir/n$n/recover.log" >/dev/null 2>&1 || true
    position=$(grep -o 'Recovered position: .*' "$dir/n$n/recover.log" | tail -1 | sed 's/Recovered position: //')
    rm -f "$dir/n$n/killed"
  fi
  local extra=()
  [ "$mode" = new ] && extra+=(--wsrep-new-cluster)
  [ -n "$position" ] && extra+=(--wsrep_start_position="$position")
  setsid mariadbd "${args[@]}" "${extra[@]}" >/dev/null 2>&1 </dev/null &
  echo $! >"$dir/n$n/process"
  local waited=0
  until [ "$(state "$dir" "$n")" = Synced ]; do
    if ! kill -0 "$(cat "$dir/n$n/process")" 2>/dev/null; then
      echo "node $n exited at start:" >&2
      tail -20 "$dir/n$n/err.log" >&2
      return 1
    fi
    sleep 0.2
    waited=$((waited + 1))
    [ $waited -lt 900 ] || { echo "node $n not Synced after 180 s" >&2; tail -20 "$dir/n$n/err.log" >&2; return 1; }
  done
}

kill_node() {
  local dir=$1 n=$2
  kill -KILL "$(cat "$dir/n$n/process")" 2>/dev/null || true
  while kill -0 "$(cat "$dir/n$n/process")" 2>/dev/null; do sleep 0.05; done
  touch "$dir/n$n/killed"
}

isolate() { client "$1" "$2" "SET GLOBAL wsrep_provider_options='gmcast.isolate=$3'"; }

haproxy_start() {
  local dir=$1 n
  cat >"$dir/check.sh" <<EOF
#!/bin/sh
# haproxy's external check: passes only on a node that is Synced (4) and Primary. \$3 is the node's address, \$4 its port.
PATH=/usr/local/bin:/usr/bin:/bin
out=\$(mariadb --no-defaults -h"\$3" -P"\$4" -uroot --connect-timeout=1 -N -B -e "SELECT variable_value FROM information_schema.global_status WHERE variable_name IN ('wsrep_local_state', 'wsrep_cluster_status') ORDER BY variable_name" 2>/dev/null | tr '\n' ' ')
[ "\$out" = "Primary 4 " ]
EOF
  chmod 755 "$dir/check.sh"
  {
    cat <<EOF
global
  external-check
  insecure-fork-wanted
  maxconn 4000
defaults
  mode tcp
  timeout connect 2s
  timeout client 1h
  timeout server 1h
  option external-check
  external-check command $dir/check.sh
  default-server inter 1s fall 2 rise 2 on-marked-down shutdown-sessions
listen single_writer
  bind 127.0.0.1:$(port "$dir" 13)
  balance first
  server node1 127.0.0.1:$(sql_port "$dir" 1) check on-marked-up shutdown-backup-sessions
  server node2 127.0.0.1:$(sql_port "$dir" 2) check backup
  server node3 127.0.0.1:$(sql_port "$dir" 3) check backup
listen multi_primary
  bind 127.0.0.1:$(port "$dir" 14)
  balance roundrobin
EOF
    for n in 1 2 3; do echo "  server node$n 127.0.0.1:$(sql_port "$dir" "$n") check"; done
  } >"$dir/haproxy.cfg"
  setsid haproxy -f "$dir/haproxy.cfg" -db >"$dir/haproxy.log" 2>&1 </dev/null &
  echo $! >"$dir/haproxy.process"
}

stop() {
  local dir=$1 n pid waited
  if [ -f "$dir/haproxy.process" ]; then kill "$(cat "$dir/haproxy.process")" 2>/dev/null || true; fi
  for n in 3 2 1; do
    [ -f "$dir/n$n/process" ] || continue
    pid=$(cat "$dir/n$n/process")
    kill -TERM "$pid" 2>/dev/null || continue
    waited=0
    while kill -0 "$pid" 2>/dev/null && [ $waited -lt 300 ]; do sleep 0.1; waited=$((waited + 1)); done
    kill -KILL "$pid" 2>/dev/null || true
  done
}

command=$1
shift
case "$command" in
  init) init "$@" ;;
  start) start "$@" ;;
  kill) kill_node "$@" ;;
  isolate) isolate "$@" ;;
  haproxy) haproxy_start "$@" ;;
  stop) stop "$@" ;;
  *) echo "unknown command $command" >&2; exit 2 ;;
esac
