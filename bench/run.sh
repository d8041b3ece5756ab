#!/usr/bin/env bash
# The bench: a private MariaDB, the migrator and the API (Release, offline model), then the scenarios, one
# bench/scenarios/NAME.sh each (what it measures and its own settings at its top), in this order:
#   send, ceiling, minimal-write   new-conversation sends through the API; the product's data path without HTTP; the
#                                  minimal two-transaction write. Together they alternate in rounds, and run.sh prints
#                                  send/ceiling and send/minimal-write (bar: at least 0.8) as medians of the rounds'
#                                  ratios
#   follow-up, history             follow-up sends; history reads of 100 messages (bar: history/send at least 2x)
#   profile                        where send's time goes in the API (dotnet-trace)
#   burst                          1,000 sends at once against a model that takes 1 s
#   telemetry                      send exporting to the Aspire dashboard against send exporting nothing
#   apphost-start                  seconds from dotnet run of the AppHost to the API healthy
#   streams-progress               streamed replies/s with the reply progress writes on and off
#   resume-cancel                  a dropped stream resumed, and a cancel, through another instance
#   streams                        500, 1,000 and 2,000 streams at once: the gaps, RSS, CPU, database connections
#   conversations-at-scale         a user's 10,000 conversations and a 10,000-message history: lists, search, pages
#   bearer                         send with a bearer token against send without
#   responses                      /v1/responses with an API key against /chat-message (bar: at least 0.9)
#   tools                          what an MCP tool round adds beyond the model's and the tool's time (bar: p50 < 5 ms at 1)
#   cluster                        one server against a three-node Galera cluster (single writer, multi-primary), the
#                                  writer killed under load, and the soak (BENCH_SOAK acknowledged sends, a node killed)
#
# Usage:
#   bench/run.sh                                   every scenario
#   BENCH_ONLY="send minimal-write" bench/run.sh   some of them: names, space-separated, in any order
#   BENCH_DURATION=3 BENCH_ROUNDS=1 BENCH_ONLY="send ceiling minimal-write" bench/run.sh   a quick look, not a figure
# Settings: BENCH_DURATION (seconds a run, 15), BENCH_ROUNDS (3), BENCH_CONNECTIONS (wrk's connections and the
# DataPath workers, 16), BENCH_THREADS (wrk's threads, 2); for A/B runs BENCH_API_ENV (VAR=value settings for every
# API), BENCH_MYSQLD_ARGS and BENCH_CONNECTION_OPTIONS (appended to the connection string).
# Prints requests/s, p50 and p99 of send, follow-up, history, ceiling and minimal-write in one table, the ratios, then
# each other scenario's lines. Figures go into bench/README.md by hand.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/eng/common.sh"

# The order they run in: send and its ceilings first (in rounds), profile before burst (which stops the API that
# profile traces). And the order their lines are printed in, after the table.
run_order=(send ceiling minimal-write follow-up history profile burst telemetry apphost-start streams-progress
  resume-cancel streams conversations-at-scale bearer responses tools cluster)
report_order=(send history burst telemetry apphost-start streams-progress resume-cancel streams conversations-at-scale
  profile bearer responses tools cluster)
table=(send follow-up history ceiling minimal-write)

only=${BENCH_ONLY:-${run_order[*]}}  # a subset, for a quick look at one figure
for name in $only; do
  [[ " ${run_order[*]} " == *" $name "* ]] || die "No scenario '$name' (BENCH_ONLY takes names: ${run_order[*]})."
done
wanted() { [[ " $only " == *" $1 "* ]]; }
function_of() { printf '%s_%s' "${1//-/_}" "$2"; }  # name part: a scenario's function (send_run, follow_up_report)
duration=${BENCH_DURATION:-15}
connections=${BENCH_CONNECTIONS:-16}
threads=${BENCH_THREADS:-2}
rounds=${BENCH_ROUNDS:-3}
declare -A results labels  # a scenario's RESULT line and, for the table's, its row's label
for name in "${run_order[@]}"; do source "$root/bench/scenarios/$name.sh"; done

ensure_dotnet
ensure_mysql_server
command -v wrk >/dev/null 2>&1 || install_packages wrk

work=$(mktemp -d /tmp/chatbackend-bench.XXXXXX)
db_port=$((20000 + RANDOM % 20000))
api_port=$((db_port + 1))
pids=()
cleanup() {
  # Newest first: the APIs end before the dashboard they export to, and before the database.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[$i]}" 2>/dev/null || true; done
  if [ -n "${cluster_dir:-}" ]; then bash "$root/eng/galera.sh" stop "$cluster_dir" || true; rm -rf "$cluster_dir"; fi
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
  # BENCH_API_ENV: more VAR=value settings for every API the bench starts (space-separated), for A/B runs.
  local port=$1; shift
  (cd "$root/ChatBackend.ApiService/bin/Release/net10.0" && \
    exec env ASPNETCORE_ENVIRONMENT=Production Logging__LogLevel__Default=Warning ${BENCH_API_ENV:-} "$@" \
    dotnet ChatBackend.ApiService.dll --urls "http://127.0.0.1:$port") &
  pids+=($!)
  apis+=($!)
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.2; done
  curl -sf "http://127.0.0.1:$port/health" >/dev/null || die "The API on port $port did not become healthy."
}
apis=()
stop_apis() { # every API started so far: a figure of database connections counts only the API under test
  for api in "${apis[@]}"; do
    kill "$api" 2>/dev/null || true
    wait "$api" 2>/dev/null || true
  done
  apis=()
}
listening() { # port: waits until something accepts connections there (a fake model started in the background)
  for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done
  die "Nothing listens on port $1."
}
log "Starting the API on port $api_port"
start_api "$api_port"
offline_api=${pids[-1]}

datapath="$root/bench/DataPath/bin/Release/net10.0/ChatBackend.Bench.DataPath.dll"
streams="$root/bench/Streams/bin/Release/net10.0/ChatBackend.Bench.Streams.dll"
log "Seeding conversations"
dotnet "$datapath" seed "$connection" 256 1 "$work/conversations.txt"
dotnet "$datapath" seed "$connection" 1 50 "$work/long.txt"

export BENCH_DIR="$root/bench" BENCH_CONVERSATIONS="$work/conversations.txt" BENCH_LONG_CONVERSATION="$work/long.txt"
url="http://127.0.0.1:$api_port"
run_wrk() { # name script: a warm-up, then the run into results[name], with the API's and the database's CPU per request
  wrk -t"$threads" -c"$connections" -d3s -s "$root/bench/$2" "$url" >/dev/null  # warm-up
  results[$1]=$(with_cpu "$offline_api" timed_wrk "$2")
}
timed_wrk() { wrk -t"$threads" -c"$connections" -d"${duration}s" -s "$root/bench/$1" "$url" | grep '^RESULT'; }
run_datapath() { # mode: bench/DataPath's timed loop of that mode with as many workers as wrk has connections
  dotnet "$datapath" "$1" "$connection" 3 "$connections" >/dev/null  # warm-up
  with_cpu "" timed_datapath "$1"
}
timed_datapath() { dotnet "$datapath" "$1" "$connection" "$duration" "$connections" | grep '^RESULT'; }
start_stream_model_api() { # once: a fake model streaming 20 pieces at 50/s, and an API on it writing reply progress
  [ -n "${stream_model:-}" ] && return 0
  stream_model_port=$((db_port + 9))
  dotnet "$streams" fake-model "$stream_model_port" 20 50 &
  pids+=($!)
  listening "$stream_model_port"
  stream_model="ConnectionStrings__openai=Endpoint=http://127.0.0.1:$stream_model_port/v1;Key=bench;Model=gpt-4o-mini"
  progress_api_port=$((db_port + 10))
  start_api "$progress_api_port" "$stream_model"
}
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
field_of() { sed -E "s/.*$2=(-?[0-9.]+).*/\1/" <<<"$1"; }  # RESULT-line name: that field's number
field() { field_of "${results[$1]}" "$2"; }               # scenario name: that field of its RESULT line
rps_of() { field_of "$1" rps; }
cpu_ms() { # PID: the process's CPU time so far (user and system), in milliseconds
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.0f\n", ($14 + $15) * 1000 / hz }' "/proc/$1/stat"
}
with_cpu() { # API_PID COMMAND...: the command's RESULT line, with the API's (no PID: none) and the database's CPU per
  # request, which the machine's swings move far less than its throughput
  local api=$1 api0=0 db0 line requests; shift
  [ -z "$api" ] || api0=$(cpu_ms "$api")
  db0=$(cpu_ms "${pids[0]}")
  line=$("$@")
  requests=$(field_of "$line" requests)
  awk -v l="$line" -v a="$([ -z "$api" ] && echo -1 || echo $(($(cpu_ms "$api") - api0)))" \
    -v d="$(($(cpu_ms "${pids[0]}") - db0))" -v n="$requests" \
    'BEGIN { printf "%s%s db_cpu_us=%.0f\n", l, (a < 0 ? "" : sprintf(" api_cpu_us=%.0f", a * 1000 / n)), d * 1000 / n }'
}
median_line() { # RESULT lines: the one with the median req/s
  local middle line
  middle=$(median $(for line in "$@"; do rps_of "$line"; done))
  for line in "$@"; do [ "$(rps_of "$line")" = "$middle" ] && { echo "$line"; return; }; done
}
row_format='%-70s %10s %9s %9s %7s\n'
table_row() { # label key: a row of req/s, p50, p99 and errors from results[key]
  printf "$row_format" "$1" "$(field "$2" rps)" "$(field "$2" p50_ms)" "$(field "$2" p99_ms)" "$(field "$2" errors)"
}

for name in "${run_order[@]}"; do
  if wanted "$name"; then "$(function_of "$name" run)"; fi
done

echo
printf "$row_format" "run" "req/s" "p50 ms" "p99 ms" "errors"
for name in "${table[@]}"; do
  if wanted "$name"; then table_row "${labels[$name]}" "$name"; fi
done
for name in "${report_order[@]}"; do
  if wanted "$name"; then "$(function_of "$name" report)"; fi
done
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ { print $2 }') GiB, $("$server" --version | head -1)"
