# shellcheck shell=bash
# telemetry: send on an API that exports its telemetry to the Aspire dashboard (standalone, from the AppHost's
# Aspire.Dashboard.Sdk package) and on one that exports nothing, alternately, BENCH_ROUNDS times each.
# BENCH_PROTOCOL: what the API exports with: grpc (what the AppHost gives its projects) or http/protobuf.
# BENCH_API_OTEL: more VAR=value settings for the exporting API.
protocol=${BENCH_PROTOCOL:-grpc}

telemetry_run() {
  local aspire_dashboard dashboard_ui dashboard_grpc dashboard_http export_api_port plain_api_port
  aspire_dashboard=$(find "${NUGET_PACKAGES:-$HOME/.nuget/packages}/aspire.dashboard.sdk.linux-x64" -name Aspire.Dashboard -type f | sort | tail -1)
  [ -x "$aspire_dashboard" ] || die "The Aspire dashboard was not found in the NuGet cache; build ChatBackend.AppHost first."
  dashboard_ui=$((db_port + 4))
  dashboard_grpc=$((db_port + 5))
  dashboard_http=$((db_port + 8))
  dashboard_otlp=$([ "$protocol" = grpc ] && echo "$dashboard_grpc" || echo "$dashboard_http")
  log "telemetry: send exporting ($protocol) to the Aspire dashboard ($aspire_dashboard) and without export, $rounds rounds each"
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
  # Longer warm-ups than send's: the first seconds of both APIs (JIT, pools, the dashboard's first batches) run slow.
  wrk_rps 10s "http://127.0.0.1:$export_api_port" >/dev/null
  wrk_rps 10s "http://127.0.0.1:$plain_api_port" >/dev/null
  exported=() plain=()
  for _ in $(seq 1 "$rounds"); do
    exported+=("$(wrk_rps "${duration}s" "http://127.0.0.1:$export_api_port")")
    plain+=("$(wrk_rps "${duration}s" "http://127.0.0.1:$plain_api_port")")
  done
  # That the export really flows: the API's OTLP connections to the dashboard.
  otlp_connections=$(ss -Htn state established "( dport = :$dashboard_otlp )" | wc -l)
}

telemetry_report() {
  echo
  echo "telemetry: sends/s exporting ($protocol) to the Aspire dashboard: ${exported[*]}; without export: ${plain[*]}" \
    "(OTLP connections to the dashboard at the end: $otlp_connections)"
  awk -v e="$(median "${exported[@]}")" -v p="$(median "${plain[@]}")" \
    'BEGIN { printf "    medians %.0f and %.0f: with export %.0f%% of without\n", e, p, 100 * e / p }'
}
