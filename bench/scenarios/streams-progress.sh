# shellcheck shell=bash
# streams-progress: streamed replies/s (bench/Streams throughput, BENCH_STREAMS (200) clients; a fake model streaming
# 20 pieces at 50/s) on an API writing its replies' progress for other instances (Chat:ProgressInterval 250 ms) and on
# one that does not, alternately, BENCH_ROUNDS times each.
stream_concurrency=${BENCH_STREAMS:-200}

streams_progress_run() {
  local quiet_api_port=$((db_port + 11)) line
  start_stream_model_api
  start_api "$quiet_api_port" "$stream_model" Chat__ProgressInterval=00:00:00
  log "streams-progress: streamed replies, $stream_concurrency clients, progress writes on and off, $rounds rounds each"
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
}

streams_progress_report() {
  echo
  printf 'streams-progress %s\n' "${progress_lines[@]}"
  awk -v on="$(median "${progress_on[@]}")" -v off="$(median "${progress_off[@]}")" \
    'BEGIN { printf "    streamed replies/s, medians: progress writes on %.0f, off %.0f: on is %.0f%% of off\n", on, off, 100 * on / off }'
}
