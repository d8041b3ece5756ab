# shellcheck shell=bash
# cluster: ChatBackend on a three-node MariaDB Galera cluster on this machine (eng/galera.sh: nodes on loopback, haproxy
# in front), against the one server of the other scenarios, all with the offline model:
#   - new-conversation sends (bench/new-conversation.lua, wrk, BENCH_CONNECTIONS connections) on one server, on the
#     cluster through haproxy's single writer, and multi-primary (two APIs on nodes 1 and 2, wrk on each with half
#     the connections; req/s added, p99 the worse of the two);
#   - the writer killed (SIGKILL) under load behind haproxy: the longest time without an answer (bench/Cluster,
#     8 clients through two APIs, node 1 killed at 6 s and started again at 16 s);
#   - the soak: BENCH_SOAK (10,000) acknowledged sends through two APIs on nodes 1 and 2, node 2 killed at 10 s and
#     started again at 25 s; lost and doubled counted in the database (bench/Cluster's check).
# Installs galera-4, rsync and haproxy when missing. The cluster's three nodes share this machine's cores with the
# APIs and the load: the figures compare topologies here, they do not predict a cluster of three machines.
soak=${BENCH_SOAK:-10000}

cluster_run() {
  ensure_galera
  local dir base=$((db_port + 40)) galera="$root/eng/galera.sh" half=$(((connections + 1) / 2))
  local cluster_client="$root/bench/Cluster/bin/Release/net10.0/ChatBackend.Bench.Cluster.dll"
  log "cluster: three Galera nodes and haproxy on ports $base-$((base + 13))"
  # Not under $work (mode 700): as root the nodes run as the mysql user, which must reach their directories.
  dir=$(mktemp -d /tmp/chatbackend-galera.XXXXXX)
  chmod 755 "$dir"
  cluster_dir=$dir
  bash "$galera" init "$dir" $(seq "$base" $((base + 13)))
  bash "$galera" start "$dir" 1 new
  bash "$galera" start "$dir" 2
  bash "$galera" start "$dir" 3
  bash "$galera" haproxy "$dir"
  local node1="Server=127.0.0.1;Port=$base;User ID=root;Password=;Database=chatdb"
  local node2="Server=127.0.0.1;Port=$((base + 4));User ID=root;Password=;Database=chatdb"
  local writer="Server=127.0.0.1;Port=$((base + 12));User ID=root;Password=;Database=chatdb"
  (cd "$root/ChatBackend.DbMigrator/bin/Release/net10.0" && ConnectionStrings__chatdb="$node1" dotnet ChatBackend.DbMigrator.dll >/dev/null)

  local p1=$((db_port + 30)) p2=$((db_port + 31))
  stop_apis
  log "cluster: sends on one server"
  start_api "$p1"
  cluster_wrk "http://127.0.0.1:$p1" "$connections" >"$work/one.txt"
  results[cluster-one]=$(cat "$work/one.txt")
  stop_apis

  log "cluster: sends through haproxy's single writer"
  start_api "$p1" ConnectionStrings__chatdb="$writer"
  cluster_wrk "http://127.0.0.1:$p1" "$connections" >"$work/writer.txt"
  results[cluster-writer]=$(cat "$work/writer.txt")
  stop_apis

  log "cluster: sends multi-primary, two APIs on nodes 1 and 2"
  start_api "$p1" ConnectionStrings__chatdb="$node1"
  start_api "$p2" ConnectionStrings__chatdb="$node2"
  cluster_wrk "http://127.0.0.1:$p1" "$half" >"$work/a.txt" &
  local first=$!
  cluster_wrk "http://127.0.0.1:$p2" "$half" >"$work/b.txt"
  wait "$first"
  results[cluster-multi]=$(awk '/^RESULT/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "rps") rps += kv[2]; if (kv[1] == "p99_ms" && kv[2] > p99) p99 = kv[2]; if (kv[1] == "p50_ms" && kv[2] > p50) p50 = kv[2]; if (kv[1] == "errors") errors += kv[2] } }
    END { printf "RESULT rps=%.1f p50_ms=%.2f p99_ms=%.2f errors=%d\n", rps, p50, p99, errors }' "$work/a.txt" "$work/b.txt")

  log "cluster: the single writer killed under load"
  stop_apis
  start_api "$p1" ConnectionStrings__chatdb="$writer"
  start_api "$p2" ConnectionStrings__chatdb="$writer"
  results[cluster-failover]=$(dotnet "$cluster_client" load "http://127.0.0.1:$p1,http://127.0.0.1:$p2" "$node2" 24 8 0 \
    6 "bash '$galera' kill '$dir' 1" 16 "bash '$galera' start '$dir' 1" | grep '^RESULT')
  stop_apis

  log "cluster: soak, $soak acknowledged sends multi-primary, node 2 killed at 10 s and started again at 25 s"
  start_api "$p1" ConnectionStrings__chatdb="$node1"
  start_api "$p2" ConnectionStrings__chatdb="$node2"
  results[cluster-soak]=$(dotnet "$cluster_client" load "http://127.0.0.1:$p1,http://127.0.0.1:$p2" "$node1" 30 16 "$soak" \
    10 "bash '$galera' kill '$dir' 2" 25 "bash '$galera' start '$dir' 2" | grep '^RESULT')
  stop_apis
  bash "$galera" stop "$dir"
  rm -rf "$dir"
  cluster_dir=""
}

cluster_wrk() { # url connections: a warm-up, then the run's RESULT line
  wrk -t"$threads" -c"$2" -d3s -s "$root/bench/new-conversation.lua" "$1" >/dev/null
  wrk -t"$threads" -c"$2" -d"${duration}s" -s "$root/bench/new-conversation.lua" "$1" | grep '^RESULT'
}

cluster_report() {
  echo
  echo "cluster (three Galera nodes on this machine, offline model, $connections connections):"
  local name
  for name in one writer multi; do
    printf '    %-44s %8s req/s  p50 %6s ms  p99 %7s ms  errors %s\n' \
      "$(case $name in one) echo "one server";; writer) echo "cluster, single writer (haproxy)";; multi) echo "cluster, multi-primary (2 APIs on 2 nodes)";; esac)" \
      "$(field "cluster-$name" rps)" "$(field "cluster-$name" p50_ms)" "$(field "cluster-$name" p99_ms)" "$(field "cluster-$name" errors)"
  done
  echo "    writer killed under load: longest stall $(field cluster-failover stall_ms) ms; $(field cluster-failover acknowledged) acknowledged," \
    "lost $(field cluster-failover lost), doubled $(field cluster-failover doubled); statuses $(sed -E 's/.*statuses=//' <<<"${results[cluster-failover]}")"
  echo "    soak with node 2 killed: $(field cluster-soak acknowledged) acknowledged in $(field cluster-soak seconds) s," \
    "lost $(field cluster-soak lost), doubled $(field cluster-soak doubled), stall $(field cluster-soak stall_ms) ms;" \
    "statuses $(sed -E 's/.*statuses=//' <<<"${results[cluster-soak]}")"
}
