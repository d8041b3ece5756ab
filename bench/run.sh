#!/usr/bin/env bash
# The bench: a private MariaDB, the migrator and the API (Release, offline model), then in one run
#   (a) new-conversation sends in the query-string form   (b) follow-up sends   (c) history reads of 100 messages
#   (d) the same data path without HTTP (bench/DataPath), the ceiling for (a)
#   (e) 1,000 sends at once to a second API whose model (bench/Burst fake-model) takes 1 s per reply
#   (f) (a) again on an API that exports its telemetry to the dashboard (bench/Dashboard host: the AppHost's hosting
#       layer with no resources) while a generator sends it BENCH_SPANS (5,000) more spans a second
#   (g) the dashboard's traces page (100 traces) over a store of 100,000 spans
# Prints requests/s, p50 and p99 for (a)-(d) and the ratio (a)/(d); for (e) the wall time and the peak of database
# connections. Figures go into bench/README.md by hand.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/eng/common.sh"

duration=${BENCH_DURATION:-15}
connections=${BENCH_CONNECTIONS:-16}
threads=${BENCH_THREADS:-2}

ensure_dotnet
ensure_mysql_server
command -v wrk >/dev/null 2>&1 || install_packages wrk

work=$(mktemp -d /tmp/chatbackend-bench.XXXXXX)
db_port=$((20000 + RANDOM % 20000))
api_port=$((db_port + 1))
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

log "Building (Release)"
dotnet build "$root/ChatBackend.sln" -c Release -v quiet -nologo >/dev/null

server=$(find_mysql_server)
log "Starting a private database server ($server) on port $db_port"
init_mysql_datadir "$server" "$work/data"
start_mysql_server "$server" "$work/data" "$db_port" --innodb-buffer-pool-size=1G --max-connections=1000 ${BENCH_MYSQLD_ARGS:-}
pids+=($!)
connection="Server=127.0.0.1;Port=$db_port;User ID=root;Password=;Database=chatdb${BENCH_CONNECTION_OPTIONS:-}"
export ConnectionStrings__chatdb="$connection"

log "Migrating"
(cd "$root/ChatBackend.DbMigrator/bin/Release/net10.0" && dotnet ChatBackend.DbMigrator.dll >/dev/null)

start_api() { # port [VAR=value...]: the API in Release and Production, quiet, until healthy
  local port=$1; shift
  (cd "$root/ChatBackend.ApiService/bin/Release/net10.0" && \
    exec env ASPNETCORE_ENVIRONMENT=Production Logging__LogLevel__Default=Warning "$@" \
    dotnet ChatBackend.ApiService.dll --urls "http://127.0.0.1:$port") &
  pids+=($!)
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.2; done
  curl -sf "http://127.0.0.1:$port/health" >/dev/null || die "The API on port $port did not become healthy."
}
log "Starting the API on port $api_port"
start_api "$api_port"
offline_api=${pids[-1]}

datapath="$root/bench/DataPath/bin/Release/net10.0/ChatBackend.Bench.DataPath.dll"
log "Seeding conversations"
dotnet "$datapath" seed "$connection" 256 1 "$work/conversations.txt"
dotnet "$datapath" seed "$connection" 1 50 "$work/long.txt"

export BENCH_DIR="$root/bench" BENCH_CONVERSATIONS="$work/conversations.txt" BENCH_LONG_CONVERSATION="$work/long.txt"
url="http://127.0.0.1:$api_port"
declare -A results
only=${BENCH_ONLY:-a b c d e f g}  # a subset, for a quick look at one figure
wanted() { [[ " $only " == *" $1 "* ]]; }
run_wrk() { # name script
  wanted "$1" || return 0
  wrk -t"$threads" -c"$connections" -d3s -s "$root/bench/$2" "$url" >/dev/null  # warm-up
  results[$1]=$(wrk -t"$threads" -c"$connections" -d"${duration}s" -s "$root/bench/$2" "$url" | grep '^RESULT')
}
log "(a) new-conversation sends, query string, $connections connections, ${duration}s"
run_wrk a new-conversation.lua
log "(b) follow-up sends"
run_wrk b follow-up.lua
log "(c) history reads of a 100-message conversation"
run_wrk c history.lua
if wanted d; then
  log "(d) the same data path without HTTP, $connections workers"
  dotnet "$datapath" turns "$connection" 3 "$connections" >/dev/null
  results[d]=$(dotnet "$datapath" turns "$connection" "$duration" "$connections" | grep '^RESULT')
fi

burst=${BENCH_BURST:-1000}
if wanted e; then
  model_port=$((db_port + 2))
  model_api_port=$((db_port + 3))
  log "(e) $burst sends at once; the model takes 1 s per reply"
  # Only the API under test may hold database connections while they are counted.
  kill "$offline_api" 2>/dev/null || true
  wait "$offline_api" 2>/dev/null || true
  dotnet "$root/bench/Burst/bin/Release/net10.0/ChatBackend.Bench.Burst.dll" fake-model "$model_port" 1000 &
  pids+=($!)
  start_api "$model_api_port" "ConnectionStrings__openai=Endpoint=http://127.0.0.1:$model_port/v1;Key=bench;Model=gpt-4o-mini"
  results[e]=$(dotnet "$root/bench/Burst/bin/Release/net10.0/ChatBackend.Bench.Burst.dll" \
    burst "http://127.0.0.1:$model_api_port" "$burst" "$connection" | grep '^RESULT')
fi

dashboard="$root/bench/Dashboard/bin/Release/net10.0/ChatBackend.Bench.Dashboard.dll"
dashboard_ui=$((db_port + 4))
dashboard_grpc=$((db_port + 5))
dashboard_http=$((db_port + 7))
start_dashboard() { # data directory: the dashboard alone, its OTLP key and browser token both "bench"
  ${BENCH_DASHBOARD_PREFIX:-} dotnet "$dashboard" host "--ASPNETCORE_URLS=http://127.0.0.1:$dashboard_ui" \
    "--ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL=http://127.0.0.1:$dashboard_grpc" \
    "--ASPIRE_DASHBOARD_OTLP_HTTP_ENDPOINT_URL=http://127.0.0.1:$dashboard_http" --AppHost:OtlpApiKey=bench \
    --ASPIRE_DASHBOARD_FRONTEND_BROWSERTOKEN=bench "--AppHost:DataDirectory=$1" >/dev/null &
  pids+=($!)
  for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$dashboard_ui/" && break; sleep 0.2; done
  curl -s -o /dev/null "http://127.0.0.1:$dashboard_ui/" || die "The dashboard on port $dashboard_ui did not start."
}
stop_last() { kill "${pids[-1]}" 2>/dev/null || true; wait "${pids[-1]}" 2>/dev/null || true; }
dashboard_status() { # what the store holds and dropped, as JSON
  curl -s -c "$work/cookies" -o /dev/null "http://127.0.0.1:$dashboard_ui/login?t=bench"
  curl -s -b "$work/cookies" "http://127.0.0.1:$dashboard_ui/api/status"
}
spans=${BENCH_SPANS:-5000}
if wanted f; then
  export_api_port=$((db_port + 6))
  log "(f) (a) on an API exporting to the dashboard, plus $spans generated spans/s"
  start_dashboard "$work/dashboard-f"
  dashboard_f=${pids[-1]}
  # BENCH_EXPORT=0: the same second API without export, the control for the position of (f) in the run.
  if [ "${BENCH_EXPORT:-1}" = 1 ]; then
    # BENCH_PROTOCOL=http/protobuf: the API exports over HTTP instead of gRPC (what Aspire sets).
    protocol=${BENCH_PROTOCOL:-grpc}
    otlp_port=$([ "$protocol" = grpc ] && echo "$dashboard_grpc" || echo "$dashboard_http")
    start_api "$export_api_port" "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$otlp_port" "OTEL_EXPORTER_OTLP_PROTOCOL=$protocol" \
      OTEL_EXPORTER_OTLP_HEADERS=x-otlp-api-key=bench OTEL_SERVICE_NAME=apiservice \
      OTEL_BSP_SCHEDULE_DELAY=1000 OTEL_BLRP_SCHEDULE_DELAY=1000 OTEL_METRIC_EXPORT_INTERVAL=1000 ${BENCH_API_OTEL:-}
  else
    start_api "$export_api_port"
  fi
  before=$(dashboard_status)
  if [ "$spans" -gt 0 ]; then
    ${BENCH_DASHBOARD_PREFIX:-} dotnet "$dashboard" spans "http://127.0.0.1:$dashboard_grpc" bench "$spans" $((duration + 5)) > "$work/spans.txt" &
    generator=$!
  fi
  wrk -t"$threads" -c"$connections" -d3s -s "$root/bench/new-conversation.lua" "http://127.0.0.1:$export_api_port" >/dev/null
  results[f]=$(wrk -t"$threads" -c"$connections" -d"${duration}s" -s "$root/bench/new-conversation.lua" "http://127.0.0.1:$export_api_port" | grep '^RESULT')
  if [ "$spans" -gt 0 ]; then wait "$generator"; fi
  sleep 3
  after=$(dashboard_status)
  written=$(( $(grep -o '"written":[0-9]*' <<<"$after" | cut -d: -f2) - $(grep -o '"written":[0-9]*' <<<"$before" | cut -d: -f2) ))
  dropped=$(grep -o '"droppedSpans":[0-9]*' <<<"$after" | cut -d: -f2)
  ingest_seconds=$((duration + 8))
  # (g) starts its own dashboard on the same ports.
  kill "$dashboard_f" 2>/dev/null || true
  wait "$dashboard_f" 2>/dev/null || true
fi
if wanted g; then
  log "(g) the traces page over 100,000 stored spans"
  start_dashboard "$work/dashboard-g"
  dotnet "$dashboard" fill "http://127.0.0.1:$dashboard_grpc" bench 100000 >/dev/null
  for _ in $(seq 1 100); do grep -q '"spans":100000' <<<"$(dashboard_status)" && break; sleep 0.2; done
  results[g]=$(dotnet "$dashboard" page "http://127.0.0.1:$dashboard_ui" bench 50 | grep '^RESULT')
  stop_last
fi

field() { sed -E "s/.*$2=([0-9.]+).*/\1/" <<<"${results[$1]}"; }
echo
printf '%-52s %10s %9s %9s %7s\n' "run" "req/s" "p50 ms" "p99 ms" "errors"
for key in $(tr -d 'eg' <<<"$only"); do
  case $key in
    a) label="(a) new-conversation sends (query string)";;
    b) label="(b) follow-up sends";;
    c) label="(c) history reads, 100 messages";;
    d) label="(d) data path without HTTP (ceiling)";;
    f) label="(f) (a) exporting to the dashboard, +$spans spans/s";;
  esac
  printf '%-52s %10s %9s %9s %7s\n' "$label" "$(field $key rps)" "$(field $key p50_ms)" "$(field $key p99_ms)" "$(field $key errors)"
done
if wanted a && wanted d; then
  awk -v a="$(field a rps)" -v d="$(field d rps)" 'BEGIN { printf "\n(a)/(d) = %.0f%%\n", 100 * a / d }'
fi
if wanted e; then
  echo
  echo "(e) $(field e ok) of $burst answered 200 in $(field e wall_ms) ms wall (p50 $(field e p50_ms) ms," \
    "p99 $(field e p99_ms) ms); other answers: $(sed -E 's/.*others=(.*)/\1/' <<<"${results[e]}")"
  echo "    database connections: peak open $(field e peak_open_connections), peak running a statement" \
    "$(field e peak_running_connections); the pool's maximum is 100 (MySqlConnector's default)"
fi
if wanted f; then
  echo
  echo "(f) the dashboard stored $written telemetry items in about $ingest_seconds s" \
    "($((written / ingest_seconds)) a second; the generator: $(sed -E 's/RESULT //' "$work/spans.txt" 2>/dev/null)); spans dropped: $dropped"
  if wanted a; then
    awk -v a="$(field a rps)" -v f="$(field f rps)" 'BEGIN { printf "    (f)/(a) = %.0f%% of the throughput without export\n", 100 * f / a }'
  fi
fi
if wanted g; then
  echo
  echo "(g) traces page over 100,000 spans: p50 $(field g page_p50_ms) ms, p99 $(field g page_p99_ms) ms for all its requests;" \
    "the 100-trace query p50 $(field g traces_api_p50_ms) ms"
fi
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ { print $2 }') GiB, $("$server" --version | head -1)"
