# shellcheck shell=bash
# profile: where send's time goes: dotnet-trace (its sampled thread time) on the API under send's load, summarised by
# bench/Profile/summarize.py into the frames with the largest inclusive share of the samples running managed code.

profile_run() {
  local trace_tool load
  log "profile: a profile of the API under send's load"
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
}

profile_report() {
  echo
  echo "profile: the API under send's load, ${profile_seconds} s of dotnet-trace's sampled thread time:"
  sed 's/^/    /' <<<"$profile_summary"
}
