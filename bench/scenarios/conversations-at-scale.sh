# shellcheck shell=bash
# conversations-at-scale: a user's conversations at scale (bench/DataPath scale: 10,000 conversations and one of 10,000
# messages), on an API of its own (burst stops the first one): the list's first page and a deep one (after 90%), a
# search, the history's newest and an old page of 50, and the same conversation's items through /v1 with an API key,
# its newest 50 and the 50 after its 150th (bench/get.lua).
declare -A scale_labels=(
  [first]="conversations-at-scale: list, first page of 20 (10,000 conversations)"
  [deep]="conversations-at-scale: list, a page after 90% of them"
  [search]="conversations-at-scale: search, q=needle (100 of them match)"
  [newest]="conversations-at-scale: history, newest 50 of 10,000 messages"
  [old]="conversations-at-scale: history, 50 before message 200"
  [items-newest]="conversations-at-scale: /v1 items, newest 50 of 10,000"
  [items-old]="conversations-at-scale: /v1 items, 50 after the 150th (order=asc)"
)

conversations_at_scale_run() {
  local scale_user scale_big scale_cursor scale_key item150 scale_api_port=$((db_port + 15))
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
  scale_key=$(curl -sf -H 'Content-Type: application/json' -d "{\"name\":\"bench\",\"user_id\":$scale_user}" "$scale_url/api-keys" \
    | sed -E 's/.*"key":"([^"]+)".*/\1/')
  item150=$(curl -sf "$scale_url/get-conversation-history/$scale_big?user_id=$scale_user&limit=1&before=151" \
    | sed -E 's/.*"message_id":"([^"]+)".*/\1/')
  [ -n "$scale_key" ] && [ -n "$item150" ] || die "No API key or item id for the /v1 items."
  BENCH_KEY=$scale_key scale_run items-newest "/v1/conversations/$scale_big/items?limit=50"
  BENCH_KEY=$scale_key scale_run items-old "/v1/conversations/$scale_big/items?limit=50&order=asc&after=$item150"
}

scale_run() { # name path: a warm-up, then the run into results[scale-name]
  BENCH_PATH="$2" wrk -t"$threads" -c"$connections" -d3s -s "$root/bench/get.lua" "$scale_url" >/dev/null
  results[scale-$1]=$(BENCH_PATH="$2" wrk -t"$threads" -c"$connections" -d"${duration}s" -s "$root/bench/get.lua" "$scale_url" | grep '^RESULT')
}

conversations_at_scale_report() {
  local key
  echo
  for key in first deep search newest old items-newest items-old; do table_row "${scale_labels[$key]}" "scale-$key"; done
  awk -v d="$(field scale-deep rps)" -v f="$(field scale-first rps)" 'BEGIN { printf "    deep page / first page = %.0f%%\n", 100 * d / f }'
}
