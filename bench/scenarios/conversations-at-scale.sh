# shellcheck shell=bash
# conversations-at-scale: a user's conversations at scale (bench/DataPath scale: 10,000 conversations and one of 10,000
# messages), on an API of its own (burst stops the first one): the list's first page and a deep one (after 90%), a
# search, the history's newest and an old page of 50 (bench/get.lua).
declare -A scale_labels=(
  [first]="conversations-at-scale: list, first page of 20 (10,000 conversations)"
  [deep]="conversations-at-scale: list, a page after 90% of them"
  [search]="conversations-at-scale: search, q=needle (100 of them match)"
  [newest]="conversations-at-scale: history, newest 50 of 10,000 messages"
  [old]="conversations-at-scale: history, 50 before message 200"
)

conversations_at_scale_run() {
  local scale_user scale_big scale_cursor scale_api_port=$((db_port + 15))
  log "conversations-at-scale: seeding 10,000 conversations and one of 10,000 messages"
  dotnet "$datapath" scale "$connection" 900000001 10000 10000 "$work/scale.txt"
  { read -r scale_user; read -r scale_big; read -r scale_cursor; } <"$work/scale.txt"
  start_api "$scale_api_port"
  scale_url="http://127.0.0.1:$scale_api_port"
  scale_run first "/conversations?user_id=$scale_user&limit=20"
  scale_run deep "/conversations?user_id=$scale_user&limit=20&after=$scale_cursor"
  scale_run search "/conversations?user_id=$scale_user&limit=20&q=needle"
  scale_run newest "/get-conversation-history/$scale_big?user_id=$scale_user&limit=50"
  scale_run old "/get-conversation-history/$scale_big?user_id=$scale_user&limit=50&before=200"
}

scale_run() { # name path: a warm-up, then the run into results[scale-name]
  BENCH_PATH="$2" wrk -t"$threads" -c"$connections" -d3s -s "$root/bench/get.lua" "$scale_url" >/dev/null
  results[scale-$1]=$(BENCH_PATH="$2" wrk -t"$threads" -c"$connections" -d"${duration}s" -s "$root/bench/get.lua" "$scale_url" | grep '^RESULT')
}

conversations_at_scale_report() {
  local key
  echo
  for key in first deep search newest old; do table_row "${scale_labels[$key]}" "scale-$key"; done
  awk -v d="$(field scale-deep rps)" -v f="$(field scale-first rps)" 'BEGIN { printf "    deep page / first page = %.0f%%\n", 100 * d / f }'
}
