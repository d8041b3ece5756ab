# shellcheck shell=bash
# streams: streams at scale: N (BENCH_HOLD, 500 1000 2000) replies streamed at once from a fake model at 20 pieces/s
# for 20 s (bench/Streams hold): the gap between pieces as the client sees it (p50, p99), the API's peak RSS and CPU,
# and the peak of database connections; then BENCH_HOLD_RESPONSES (2000) streams through POST /v1/responses with an API
# key (one user; its rate limits set too high to bind, on the one API). It stops every API before. Bars (#14, #26):
# 2,000 streams with the p99 gap under 250 ms, RSS under 1 GiB, database connections at most the pool (100).
hold_lines=()

streams_run() {
  local hold_model_port=$((db_port + 16)) hold_api_port=$((db_port + 17)) hold_model hold_api n
  dotnet "$streams" fake-model "$hold_model_port" 400 20 &
  pids+=($!); hold_model=$!
  listening "$hold_model_port"
  stop_apis
  start_api "$hold_api_port" "ConnectionStrings__openai=Endpoint=http://127.0.0.1:$hold_model_port/v1;Key=bench;Model=gpt-4o-mini" \
    RateLimits__SendsPerMinute=10000000 RateLimits__ConcurrentTurnsPerUser=100000
  hold_api=${pids[-1]}
  for n in ${BENCH_HOLD:-500 1000 2000}; do
    log "streams: $n streams at once, 20 pieces/s for 20 s each"
    hold_lines+=("$n: $(dotnet "$streams" hold "http://127.0.0.1:$hold_api_port" "$n" "$hold_api" "$connection" "$hold_model" | grep '^RESULT')")
  done
  local key n_responses=${BENCH_HOLD_RESPONSES:-2000}
  key=$(curl -sf -H 'Content-Type: application/json' -d '{"name":"bench","user_id":7000001}' "http://127.0.0.1:$hold_api_port/api-keys" \
    | sed -E 's/.*"key":"([^"]+)".*/\1/')
  [ -n "$key" ] || die "No API key was made for the /v1 streams."
  log "streams: $n_responses streams at once through /v1/responses"
  hold_lines+=("$n_responses via /v1/responses: $(dotnet "$streams" hold "http://127.0.0.1:$hold_api_port" "$n_responses" "$hold_api" "$connection" "$hold_model" "$key" | grep '^RESULT')")
}

streams_report() {
  echo
  printf 'streams %s\n' "${hold_lines[@]}"
  echo "    bar: 2,000 streams with the p99 gap under 250 ms, RSS under 1 GiB, database connections at most the pool (100)"
}
