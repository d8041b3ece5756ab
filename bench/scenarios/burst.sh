# shellcheck shell=bash
# burst: BENCH_BURST (1,000) sends at once to an API whose model (bench/Burst fake-model) takes 1 s per reply: the wall
# time, the answers, and the peak of database connections. It stops every API before (only the API under test may hold
# database connections while they are counted).
burst=${BENCH_BURST:-1000}

burst_run() {
  local model_port=$((db_port + 2)) model_api_port=$((db_port + 3))
  log "burst: $burst sends at once; the model takes 1 s per reply"
  stop_apis
  dotnet "$root/bench/Burst/bin/Release/net10.0/ChatBackend.Bench.Burst.dll" fake-model "$model_port" 1000 &
  pids+=($!)
  listening "$model_port"
  start_api "$model_api_port" "ConnectionStrings__openai=Endpoint=http://127.0.0.1:$model_port/v1;Key=bench;Model=gpt-4o-mini"
  results[burst]=$(dotnet "$root/bench/Burst/bin/Release/net10.0/ChatBackend.Bench.Burst.dll" \
    burst "http://127.0.0.1:$model_api_port" "$burst" "$connection" | grep '^RESULT')
}

burst_report() {
  echo
  echo "burst: $(field burst ok) of $burst answered 200 in $(field burst wall_ms) ms wall (p50 $(field burst p50_ms) ms," \
    "p99 $(field burst p99_ms) ms); other answers: $(sed -E 's/.*others=(.*)/\1/' <<<"${results[burst]}")"
  echo "    database connections: peak open $(field burst peak_open_connections), peak running a statement" \
    "$(field burst peak_running_connections); the pool's maximum is 100 (MySqlConnector's default)"
}
