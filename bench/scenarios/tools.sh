# shellcheck shell=bash
# tools: what ChatBackend adds per MCP tool round, beyond the model's own time and the tool's (issue #27; bar: p50
# under 5 ms at one turn at a time). bench/Tools serves a fake model that calls `add` when offered tools and an MCP
# server with `add`, on loopback; an API of its own on them (no bearer scheme, Tools:Mcp:Servers:bench). Sends with
# the tool (one round: model, tool, model) against sends without (one model call), one at a time and 100 at once:
# added = with - without - the model's latency - the tool's latency (each called directly), per percentile.
tools_count=${BENCH_TOOLS_COUNT:-500}

tools_run() {
  local model_port=$((db_port + 50)) mcp_port=$((db_port + 51)) tools_api_port=$((db_port + 52))
  local bench_tools="$root/bench/Tools/bin/Release/net10.0/ChatBackend.Bench.Tools.dll"
  log "tools: sends with one MCP tool round against sends without, 1 and 100 at once"
  stop_apis
  dotnet "$bench_tools" servers "$model_port" "$mcp_port" &
  pids+=($!)
  listening "$model_port"
  listening "$mcp_port"
  start_api "$tools_api_port" "ConnectionStrings__openai=Endpoint=http://127.0.0.1:$model_port/v1;Key=bench;Model=gpt-4o-mini" \
    "Tools__Mcp__Servers__bench__Url=http://127.0.0.1:$mcp_port/mcp" RateLimits__SendsPerMinute=10000000 \
    RateLimits__ConcurrentTurnsPerUser=100000 Chat__AutoTitle=false
  results[tools]=$(dotnet "$bench_tools" measure "http://127.0.0.1:$tools_api_port" "http://127.0.0.1:$model_port" \
    "http://127.0.0.1:$mcp_port/mcp" "$tools_count" | grep '^RESULT')
}

tools_report() {
  echo
  echo "tools: the model alone p50 $(field tools model_p50_ms) ms, p99 $(field tools model_p99_ms) ms; the tool alone p50 $(field tools tool_p50_ms) ms, p99 $(field tools tool_p99_ms) ms"
  local c
  for c in 1 100; do
    echo "    $c at once: with the tool p50 $(field tools "c${c}_p50_with_ms") / p99 $(field tools "c${c}_p99_with_ms") ms," \
      "without p50 $(field tools "c${c}_p50_without_ms") / p99 $(field tools "c${c}_p99_without_ms") ms;" \
      "added per round p50 $(field tools "c${c}_p50_added_ms") ms, p99 $(field tools "c${c}_p99_added_ms") ms"
  done
  awk -v a="$(field tools c1_p50_added_ms)" 'BEGIN { printf "    bar (p50 added at 1 under 5 ms): %s\n", (a < 5 ? "met" : "not met") }'
}
