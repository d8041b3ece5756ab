#!/usr/bin/env bash
# The bench: a private MariaDB, the migrator and the API (Release, offline model), then in one run
#   (a) new-conversation sends in the query-string form   (b) follow-up sends   (c) history reads of 100 messages
#   (d) the same data path without HTTP (bench/DataPath), the ceiling for (a); with both, (a) and (d) run alternately,
#       BENCH_ROUNDS (3) times each, and (a)/(d) is the median of the rounds' ratios
#   (e) 1,000 sends at once to a second API whose model (bench/Burst fake-model) takes 1 s per reply
#   (f) (a) on a second API that exports its telemetry to the Aspire dashboard (standalone, from the AppHost's
#       Aspire.Dashboard.Sdk package) and on a third that exports nothing, alternately, BENCH_ROUNDS (3) times each
#   (g) seconds from `dotnet run` of the built AppHost to the API healthy: a first start (new data) and a second
#   (h) streamed replies/s (bench/Streams; a fake model streaming 20 pieces at 50/s) on an API writing its replies'
#       progress for other instances (Chat:ProgressInterval 250 ms) and on one that does not, alternately, BENCH_ROUNDS
#       times each
#   (l) streams at scale: N (500, 1,000, 2,000) replies streamed at once from a fake model at 20 pieces/s for 20 s
#       (bench/Streams hold): the gap between pieces as the client sees it (p50, p99), the API's peak RSS and CPU,
#       and the peak of database connections
#   (k) a user's conversations at scale (bench/DataPath scale: 10,000 conversations and one of 10,000 messages):
#       the list's first page and a deep one (after 90%), a search, the history's newest and an old page of 50
#   (i) resuming a dropped stream on another instance: from the resume request to its next piece, p50 and p99; and a
#       cancel through another instance: the cancel request's p50 and p99
#   (p) where (a)'s time goes: dotnet-trace (its sampled thread time) on the API under (a)'s load, summarised by
#       bench/Profile/summarize.py into the frames with the largest inclusive share of the samples running managed code
#   (m) (a) on an API with a bearer scheme (a symmetric key as dotnet user-jwts makes it; a token of one of 256 users on
#       every request; rate limits set too high to bind) and on one without, alternately, BENCH_ROUNDS times each
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
  # Newest first: the APIs end before the dashboard they export to, and before the database.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[$i]}" 2>/dev/null || true; done
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
log "Seeding conversations"
dotnet "$datapath" seed "$connection" 256 1 "$work/conversations.txt"
dotnet "$datapath" seed "$connection" 1 50 "$work/long.txt"

export BENCH_DIR="$root/bench" BENCH_CONVERSATIONS="$work/conversations.txt" BENCH_LONG_CONVERSATION="$work/long.txt"
url="http://127.0.0.1:$api_port"
declare -A results
only=${BENCH_ONLY:-a b c d e f g h i k l m p}  # a subset, for a quick look at one figure
wanted() { [[ " $only " == *" $1 "* ]]; }
run_wrk() { # name script
  wanted "$1" || return 0
  wrk -t"$threads" -c"$connections" -d3s -s "$root/bench/$2" "$url" >/dev/null  # warm-up
  results[$1]=$(wrk -t"$threads" -c"$connections" -d"${duration}s" -s "$root/bench/$2" "$url" | grep '^RESULT')
}
rounds=${BENCH_ROUNDS:-3}
run_d() { # the ceiling: the same TurnStore calls without HTTP
  dotnet "$datapath" turns "$connection" 3 "$connections" >/dev/null  # warm-up
  dotnet "$datapath" turns "$connection" "$duration" "$connections" | grep '^RESULT'
}
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
rps_of() { sed -E 's/.*rps=([0-9.]+).*/\1/' <<<"$1"; }
median_line() { # RESULT lines: the one with the median req/s
  local middle line
  middle=$(median $(for line in "$@"; do rps_of "$line"; done))
  for line in "$@"; do [ "$(rps_of "$line")" = "$middle" ] && { echo "$line"; return; }; done
}
if wanted a && wanted d; then
  # (a) against its ceiling, alternately, so that both meet the same state of the machine and of the tables; each
  # figure is its median round, and (a)/(d) the median of the rounds' ratios.
  log "(a) new-conversation sends, query string, $connections connections, and (d) the same data path without HTTP, $connections workers: $rounds rounds of ${duration}s each"
  a_lines=() d_lines=() ratio_lines=() ratios=()
  for round in $(seq 1 "$rounds"); do
    run_wrk a new-conversation.lua
    a_lines+=("${results[a]}")
    results[d]=$(run_d)
    d_lines+=("${results[d]}")
    ratios+=("$(awk -v a="$(rps_of "${results[a]}")" -v d="$(rps_of "${results[d]}")" 'BEGIN { printf "%.1f", 100 * a / d }')")
    ratio_lines+=("round $round: (a) $(rps_of "${results[a]}") req/s, (d) $(rps_of "${results[d]}") req/s, (a)/(d) ${ratios[-1]}%")
  done
  results[a]=$(median_line "${a_lines[@]}")
  results[d]=$(median_line "${d_lines[@]}")
else
  log "(a) new-conversation sends, query string, $connections connections, ${duration}s"
  run_wrk a new-conversation.lua
  if wanted d; then
    log "(d) the same data path without HTTP, $connections workers"
    results[d]=$(run_d)
  fi
fi
log "(b) follow-up sends"
run_wrk b follow-up.lua
log "(c) history reads of a 100-message conversation"
run_wrk c history.lua

# Before (e), which stops the API of (a).
if wanted p; then
  log "(p) a profile of the API under (a)'s load"
  trace_tool=$(command -v dotnet-trace || true)
  if [ -z "$trace_tool" ]; then
    dotnet tool install dotnet-trace --version 10.0.750501 --tool-path "$work/tools" >/dev/null
    trace_tool="$work/tools/dotnet-trace"
  fi
  profile_seconds=$((duration < 10 ? duration : 10))
  wrk -t"$threads" -c"$connections" -d3s -s "$root/bench/new-conversation.lua" "$url" >/dev/null
  wrk -t"$threads" -c"$connections" -d"$((profile_seconds + 5))s" -s "$root/bench/new-conversation.lua" "$url" >/dev/null &
  load=$!
  sleep 2
  "$trace_tool" collect -p "$offline_api" --profile dotnet-sampled-thread-time --format Speedscope \
    --duration "00:00:00:$(printf '%02d' "$profile_seconds")" -o "$work/send.nettrace" >/dev/null
  wait "$load"
  profile_summary=$(python3 "$root/bench/Profile/summarize.py" "$work/send.speedscope.json" 25)
fi

burst=${BENCH_BURST:-1000}
if wanted e; then
  model_port=$((db_port + 2))
  model_api_port=$((db_port + 3))
  log "(e) $burst sends at once; the model takes 1 s per reply"
  # Only the API under test may hold database connections while they are counted.
  stop_apis
  dotnet "$root/bench/Burst/bin/Release/net10.0/ChatBackend.Bench.Burst.dll" fake-model "$model_port" 1000 &
  pids+=($!)
  listening "$model_port"
  start_api "$model_api_port" "ConnectionStrings__openai=Endpoint=http://127.0.0.1:$model_port/v1;Key=bench;Model=gpt-4o-mini"
  results[e]=$(dotnet "$root/bench/Burst/bin/Release/net10.0/ChatBackend.Bench.Burst.dll" \
    burst "http://127.0.0.1:$model_api_port" "$burst" "$connection" | grep '^RESULT')
fi

if wanted f; then
  aspire_dashboard=$(find "${NUGET_PACKAGES:-$HOME/.nuget/packages}/aspire.dashboard.sdk.linux-x64" -name Aspire.Dashboard -type f | sort | tail -1)
  [ -x "$aspire_dashboard" ] || die "The Aspire dashboard was not found in the NuGet cache; build ChatBackend.AppHost first."
  dashboard_ui=$((db_port + 4))
  dashboard_grpc=$((db_port + 5))
  dashboard_http=$((db_port + 8))
  # BENCH_PROTOCOL: what the API exports with: grpc (what the AppHost gives its projects) or http/protobuf.
  protocol=${BENCH_PROTOCOL:-grpc}
  dashboard_otlp=$([ "$protocol" = grpc ] && echo "$dashboard_grpc" || echo "$dashboard_http")
  log "(f) (a) exporting ($protocol) to the Aspire dashboard ($aspire_dashboard) and without export, $rounds rounds each"
  # As under the AppHost: an OTLP API key, the browser token, Aspire's Development delays of 1 s.
  (cd "$(dirname "$aspire_dashboard")" && exec env ASPNETCORE_URLS="http://127.0.0.1:$dashboard_ui" \
    ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL="http://127.0.0.1:$dashboard_grpc" \
    ASPIRE_DASHBOARD_OTLP_HTTP_ENDPOINT_URL="http://127.0.0.1:$dashboard_http" ASPIRE_ALLOW_UNSECURED_TRANSPORT=true \
    Dashboard__Otlp__AuthMode=ApiKey Dashboard__Otlp__PrimaryApiKey=bench \
    Dashboard__Frontend__AuthMode=BrowserToken Dashboard__Frontend__BrowserToken=bench \
    Logging__LogLevel__Default=Warning ./Aspire.Dashboard >/dev/null) &
  pids+=($!)
  for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$dashboard_ui/" && break; sleep 0.2; done
  export_api_port=$((db_port + 6))
  plain_api_port=$((db_port + 7))
  start_api "$export_api_port" "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$dashboard_otlp" "OTEL_EXPORTER_OTLP_PROTOCOL=$protocol" \
    OTEL_EXPORTER_OTLP_HEADERS=x-otlp-api-key=bench OTEL_SERVICE_NAME=apiservice \
    OTEL_BSP_SCHEDULE_DELAY=1000 OTEL_BLRP_SCHEDULE_DELAY=1000 OTEL_METRIC_EXPORT_INTERVAL=1000 ${BENCH_API_OTEL:-}
  start_api "$plain_api_port"
  wrk_rps() { rps_of "$(wrk -t"$threads" -c"$connections" -d"$1" -s "$root/bench/new-conversation.lua" "$2" | grep '^RESULT')"; }
  # Longer warm-ups than (a)'s: the first seconds of both APIs (JIT, pools, the dashboard's first batches) run slow.
  wrk_rps 10s "http://127.0.0.1:$export_api_port" >/dev/null
  wrk_rps 10s "http://127.0.0.1:$plain_api_port" >/dev/null
  exported=() plain=()
  for _ in $(seq 1 "$rounds"); do
    exported+=("$(wrk_rps "${duration}s" "http://127.0.0.1:$export_api_port")")
    plain+=("$(wrk_rps "${duration}s" "http://127.0.0.1:$plain_api_port")")
  done
  # That the export really flows: the API's OTLP connections to the dashboard.
  otlp_connections=$(ss -Htn state established "( dport = :$dashboard_otlp )" | wc -l)
fi
if wanted g; then
  log "(g) the AppHost, from dotnet run to the API healthy"
  apphost_data="$work/apphost"
  time_apphost() { # seconds until http://localhost:5380/health answers 200, then SIGTERM (a script's background job ignores SIGINT)
    local start end
    start=$(date +%s.%N)
    # Its own MySQL (the local server), not the bench's: the bench's connection string is not inherited.
    env -u ConnectionStrings__chatdb dotnet run --no-build -c Release --project "$root/ChatBackend.AppHost" -- \
      "--AppHost:DataDirectory=$apphost_data" >/dev/null 2>&1 &
    local apphost=$! deadline=$(($(date +%s) + 180))
    until curl -sf --max-time 2 http://localhost:5380/health >/dev/null; do
      if (($(date +%s) > deadline)) || ! kill -0 "$apphost" 2>/dev/null; then start=; break; fi
      sleep 0.1
    done
    end=$(date +%s.%N)
    pkill -TERM -P "$apphost" 2>/dev/null || true   # the AppHost, child of dotnet run
    wait "$apphost" 2>/dev/null || true
    # DCP stops the API and the dashboard after the AppHost has gone, within seconds: a next start before they have
    # would find their ports taken (or time the old API).
    for _ in $(seq 1 60); do
      curl -s --max-time 1 -o /dev/null http://localhost:5380/health || curl -s --max-time 1 -o /dev/null http://localhost:15170 || break
      sleep 1
    done
    if [ -z "$start" ]; then printf 'not healthy within 180 s'; return; fi
    awk -v s="$start" -v e="$end" 'BEGIN { printf "%.1f", e - s }'
  }
  apphost_first=$(time_apphost)
  apphost_second=$(time_apphost)
fi

streams="$root/bench/Streams/bin/Release/net10.0/ChatBackend.Bench.Streams.dll"
stream_concurrency=${BENCH_STREAMS:-200}
if wanted h || wanted i; then
  stream_model_port=$((db_port + 9))
  dotnet "$streams" fake-model "$stream_model_port" 20 50 &
  pids+=($!)
  listening "$stream_model_port"
  stream_model="ConnectionStrings__openai=Endpoint=http://127.0.0.1:$stream_model_port/v1;Key=bench;Model=gpt-4o-mini"
  progress_api_port=$((db_port + 10))
  start_api "$progress_api_port" "$stream_model"
fi
if wanted h; then
  quiet_api_port=$((db_port + 11))
  start_api "$quiet_api_port" "$stream_model" Chat__ProgressInterval=00:00:00
  log "(h) streamed replies, $stream_concurrency clients, progress writes on and off, $rounds rounds each"
  stream_rps() { dotnet "$streams" throughput "$2" "$stream_concurrency" "$1" | grep '^RESULT'; }
  stream_rps 5 "http://127.0.0.1:$progress_api_port" >/dev/null
  stream_rps 5 "http://127.0.0.1:$quiet_api_port" >/dev/null
  progress_on=() progress_off=() progress_lines=()
  for _ in $(seq 1 "$rounds"); do
    line=$(stream_rps "$duration" "http://127.0.0.1:$progress_api_port"); progress_lines+=("on:  $line")
    progress_on+=("$(rps_of "$line")")
    line=$(stream_rps "$duration" "http://127.0.0.1:$quiet_api_port"); progress_lines+=("off: $line")
    progress_off+=("$(rps_of "$line")")
  done
fi
if wanted i; then
  # A slower model (30 pieces at 20/s, 1.5 s a reply), so that every resume and cancel meets a reply still running.
  slow_model_port=$((db_port + 12))
  dotnet "$streams" fake-model "$slow_model_port" 30 20 &
  pids+=($!)
  listening "$slow_model_port"
  slow_model="ConnectionStrings__openai=Endpoint=http://127.0.0.1:$slow_model_port/v1;Key=bench;Model=gpt-4o-mini"
  first_api_port=$((db_port + 13))
  other_api_port=$((db_port + 14))
  start_api "$first_api_port" "$slow_model"
  start_api "$other_api_port" "$slow_model"
  resumes=${BENCH_RESUMES:-100}
  log "(i) $resumes streams dropped on one API and resumed on another; $resumes cancelled through the other"
  results[i]=$(dotnet "$streams" resume "http://127.0.0.1:$first_api_port" "http://127.0.0.1:$other_api_port" "$resumes" | grep '^RESULT')
  results[j]=$(dotnet "$streams" cancel "http://127.0.0.1:$first_api_port" "http://127.0.0.1:$other_api_port" "$resumes" | grep '^RESULT')
fi

hold_lines=()
if wanted l; then
  hold_model_port=$((db_port + 16))
  hold_api_port=$((db_port + 17))
  dotnet "$streams" fake-model "$hold_model_port" 400 20 &
  pids+=($!); hold_model=$!
  listening "$hold_model_port"
  stop_apis
  start_api "$hold_api_port" "ConnectionStrings__openai=Endpoint=http://127.0.0.1:$hold_model_port/v1;Key=bench;Model=gpt-4o-mini"
  hold_api=${pids[-1]}
  for n in ${BENCH_HOLD:-500 1000 2000}; do
    log "(l) $n streams at once, 20 pieces/s for 20 s each"
    hold_lines+=("$n: $(dotnet "$streams" hold "http://127.0.0.1:$hold_api_port" "$n" "$hold_api" "$connection" "$hold_model" | grep '^RESULT')")
  done
fi

declare -A scale
if wanted k; then
  log "(k) conversations at scale: seeding 10,000 conversations and one of 10,000 messages"
  dotnet "$datapath" scale "$connection" 900000001 10000 10000 "$work/scale.txt"
  { read -r scale_user; read -r scale_big; read -r scale_cursor; } <"$work/scale.txt"
  # An API of its own: (e) stops the first one.
  scale_api_port=$((db_port + 15))
  start_api "$scale_api_port"
  scale_url="http://127.0.0.1:$scale_api_port"
  scale_run() { # name path
    BENCH_PATH="$2" wrk -t"$threads" -c"$connections" -d3s -s "$root/bench/get.lua" "$scale_url" >/dev/null
    scale[$1]=$(BENCH_PATH="$2" wrk -t"$threads" -c"$connections" -d"${duration}s" -s "$root/bench/get.lua" "$scale_url" | grep '^RESULT')
  }
  scale_run first "/conversations?user_id=$scale_user&limit=20"
  scale_run deep "/conversations?user_id=$scale_user&limit=20&after=$scale_cursor"
  scale_run search "/conversations?user_id=$scale_user&limit=20&q=needle"
  scale_run newest "/get-conversation-history/$scale_big?user_id=$scale_user&limit=50"
  scale_run old "/get-conversation-history/$scale_big?user_id=$scale_user&limit=50&before=200"
fi

if wanted m; then
  log "(m) sends with a bearer token on every request, and without, alternately"
  # HS256 tokens made here with openssl, as dotnet user-jwts makes them: issuer, audience, a subject per user.
  signing_key=$(openssl rand -base64 32)
  hex_key=$(base64 -d <<<"$signing_key" | od -An -tx1 | tr -d ' \n')
  b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
  header=$(printf '{"alg":"HS256","typ":"JWT"}' | b64url)
  now=$(date +%s)
  for i in $(seq 1 256); do
    payload=$(printf '{"sub":"bench-user-%d","iss":"bench","aud":"bench","nbf":%d,"iat":%d,"exp":%d}' "$i" "$now" "$now" $((now + 86400)) | b64url)
    signature=$(printf '%s' "$header.$payload" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$hex_key" -binary | b64url)
    echo "$header.$payload.$signature"
  done >"$work/tokens.txt"
  bearer_api_port=$((db_port + 40))
  open_api_port=$((db_port + 41))
  start_api "$bearer_api_port" Authentication__Schemes__Bearer__ValidIssuer=bench Authentication__Schemes__Bearer__ValidAudiences__0=bench \
    Authentication__Schemes__Bearer__SigningKeys__0__Issuer=bench "Authentication__Schemes__Bearer__SigningKeys__0__Value=$signing_key" \
    RateLimits__SendsPerMinute=10000000 RateLimits__ConcurrentTurnsPerUser=100000
  start_api "$open_api_port"
  curl -sf -H "Authorization: Bearer $(head -1 "$work/tokens.txt")" "http://127.0.0.1:$bearer_api_port/usage" >/dev/null \
    || die "The bench's token was refused."
  token_rps() { BENCH_TOKENS="$work/tokens.txt" wrk -t"$threads" -c"$connections" -d"$1" -s "$root/bench/$2" "$3" | grep '^RESULT'; }
  token_rps 5s new-conversation-token.lua "http://127.0.0.1:$bearer_api_port" >/dev/null
  token_rps 5s new-conversation.lua "http://127.0.0.1:$open_api_port" >/dev/null
  with_token=() without_token=() token_lines=()
  for _ in $(seq 1 "$rounds"); do
    line=$(token_rps "${duration}s" new-conversation-token.lua "http://127.0.0.1:$bearer_api_port")
    with_token+=("$(rps_of "$line")"); token_lines+=("with a token:    $line")
    line=$(token_rps "${duration}s" new-conversation.lua "http://127.0.0.1:$open_api_port")
    without_token+=("$(rps_of "$line")"); token_lines+=("without a token: $line")
  done
fi

field() { sed -E "s/.*$2=([0-9.]+).*/\1/" <<<"${results[$1]}"; }
echo
printf '%-52s %10s %9s %9s %7s\n' "run" "req/s" "p50 ms" "p99 ms" "errors"
for key in $(tr -d 'efghiklmp' <<<"$only"); do
  case $key in
    a) label="(a) new-conversation sends (query string)";;
    b) label="(b) follow-up sends";;
    c) label="(c) history reads, 100 messages";;
    d) label="(d) data path without HTTP (ceiling)";;
  esac
  printf '%-52s %10s %9s %9s %7s\n' "$label" "$(field $key rps)" "$(field $key p50_ms)" "$(field $key p99_ms)" "$(field $key errors)"
done
if wanted a && wanted d; then
  echo
  printf '(a)/(d) %s\n' "${ratio_lines[@]}"
  echo "(a)/(d) = $(median "${ratios[@]}" | awk '{ printf "%.0f", $1 }')% (the median of the rounds' ratios; (a) and (d) above are their median rounds)"
fi
if wanted a && wanted c; then
  awk -v c="$(field c rps)" -v a="$(field a rps)" \
    'BEGIN { printf "(c)/(a) = %.2fx (history reads against sends; bar: at least 2x)\n", c / a }'
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
  echo "(f) sends/s exporting ($protocol) to the Aspire dashboard: ${exported[*]}; without export: ${plain[*]}" \
    "(OTLP connections to the dashboard at the end: $otlp_connections)"
  awk -v e="$(median "${exported[@]}")" -v p="$(median "${plain[@]}")" \
    'BEGIN { printf "    medians %.0f and %.0f: with export %.0f%% of without\n", e, p, 100 * e / p }'
fi
if wanted g; then
  echo
  echo "(g) dotnet run of the built AppHost to the API healthy: ${apphost_first} s (new data), ${apphost_second} s (its data again)"
fi
if wanted h; then
  echo
  printf '(h) %s\n' "${progress_lines[@]}"
  awk -v on="$(median "${progress_on[@]}")" -v off="$(median "${progress_off[@]}")" \
    'BEGIN { printf "    streamed replies/s, medians: progress writes on %.0f, off %.0f: on is %.0f%% of off\n", on, off, 100 * on / off }'
fi
if wanted i; then
  echo
  echo "(i) resume on another instance, to its next piece: p50 $(field i p50_ms) ms, p99 $(field i p99_ms) ms," \
    "max $(field i max_ms) ms over $(field i resumes) resumes; replies that did not add up: $(field i mismatches)"
  echo "    cancel through another instance: p50 $(field j p50_ms) ms, p99 $(field j p99_ms) ms, max $(field j max_ms) ms" \
    "over $(field j cancels) cancels; not ended Cancelled: $(sed -E 's/.*not_cancelled=//' <<<"${results[j]}")"
fi
if wanted l; then
  echo
  printf '(l) %s\n' "${hold_lines[@]}"
  echo "    bar: 2,000 streams with the p99 gap under 250 ms, RSS under 1 GiB, database connections at most the pool (100)"
fi
if wanted k; then
  echo
  scale_field() { sed -E "s/.*$2=([0-9.]+).*/\1/" <<<"${scale[$1]}"; }
  for key in first deep search newest old; do
    case $key in
      first) label="(k) list, first page of 20 (10,000 conversations)";;
      deep) label="(k) list, a page after 90% of them";;
      search) label="(k) search, q=needle (100 of them match)";;
      newest) label="(k) history, newest 50 of 10,000 messages";;
      old) label="(k) history, 50 before message 200";;
    esac
    printf '%-52s %10s %9s %9s %7s\n' "$label" "$(scale_field $key rps)" "$(scale_field $key p50_ms)" "$(scale_field $key p99_ms)" "$(scale_field $key errors)"
  done
  awk -v d="$(scale_field deep rps)" -v f="$(scale_field first rps)" 'BEGIN { printf "    deep page / first page = %.0f%%\n", 100 * d / f }'
fi
if wanted p; then
  echo
  echo "(p) the API under (a)'s load, ${profile_seconds} s of dotnet-trace's sampled thread time:"
  sed 's/^/    /' <<<"$profile_summary"
fi
if wanted m; then
  echo
  printf '(m) %s\n' "${token_lines[@]}"
  awk -v t="$(median "${with_token[@]}")" -v n="$(median "${without_token[@]}")" \
    'BEGIN { printf "    sends/s, medians: with a token %.0f, without %.0f: with is %.0f%% of without (bar: at least 90%%)\n", t, n, 100 * t / n }'
fi
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ { print $2 }') GiB, $("$server" --version | head -1)"
