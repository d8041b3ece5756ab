# shellcheck shell=bash
# responses: non-streaming POST /v1/responses (a new conversation each, an API key of one of 256 users on every
# request, bench/responses.lua) against the send scenario's POST /chat-message (query string, user_id), on one API of
# its own (offline model, no bearer scheme, rate limits too high to bind), alternately, BENCH_ROUNDS times each. Bar
# (#26): responses at least 0.9 of the native sends. A third kind in the same rounds, the native sends with the same
# API keys instead of user_id (bench/new-conversation-token.lua), parts what the key costs from what the /v1 surface
# does. All three kinds send as the same 256 users (the native sends name them by user_id), so that they differ only in
# the credential and the surface: each turn updates its user's row of the day's usage, and fewer users wait on each
# other's rows more.

responses_run() {
  local user key line responses_url="http://127.0.0.1:$((db_port + 42))"
  log "responses: /v1/responses with an API key, and /chat-message, alternately"
  stop_apis  # an API of an earlier scenario (the streams' one) would share the cores
  start_api "$((db_port + 42))" RateLimits__SendsPerMinute=10000000 RateLimits__ConcurrentTurnsPerUser=100000
  for user in $(seq 900001 900256); do
    key=$(curl -sf -H 'Content-Type: application/json' -d "{\"name\":\"bench\",\"user_id\":$user}" "$responses_url/api-keys" | sed -E 's/.*"key":"([^"]+)".*/\1/')
    [ -n "$key" ] || die "No API key was made for the bench."
    echo "$key"
  done >"$work/keys.txt"
  curl -sf -H "Authorization: Bearer $(head -1 "$work/keys.txt")" -H 'Content-Type: application/json' \
    -d '{"input":"hi"}' "$responses_url/v1/responses" | grep -q '"status":"completed"' || die "The bench's response did not complete."
  keyed_rps() { BENCH_KEYS="$work/keys.txt" BENCH_TOKENS="$work/keys.txt" BENCH_USERS=256 BENCH_FIRST_USER=900001 wrk -t"$threads" -c"$connections" -d"$1" -s "$root/bench/$2" "$responses_url" | grep '^RESULT'; }
  keyed_rps 5s responses.lua >/dev/null
  keyed_rps 5s new-conversation.lua >/dev/null
  keyed_rps 5s new-conversation-token.lua >/dev/null
  responses_rps=() native_rps=() native_key_rps=() responses_lines=()
  for _ in $(seq 1 "$rounds"); do
    line=$(keyed_rps "${duration}s" responses.lua)
    responses_rps+=("$(rps_of "$line")"); responses_lines+=("/v1/responses: $line")
    line=$(keyed_rps "${duration}s" new-conversation.lua)
    native_rps+=("$(rps_of "$line")"); responses_lines+=("/chat-message: $line")
    line=$(keyed_rps "${duration}s" new-conversation-token.lua)
    native_key_rps+=("$(rps_of "$line")"); responses_lines+=("/chat-message with the API key: $line")
  done
}

responses_report() {
  echo
  printf 'responses %s\n' "${responses_lines[@]}"
  awk -v r="$(median "${responses_rps[@]}")" -v n="$(median "${native_rps[@]}")" \
    'BEGIN { printf "    sends/s, medians: /v1/responses %.0f, /chat-message %.0f: %.2f of the native sends (bar: at least 0.9): %s\n", r, n, r / n, (r / n >= 0.9 ? "met" : "not met") }'
  awk -v r="$(median "${responses_rps[@]}")" -v n="$(median "${native_rps[@]}")" -v k="$(median "${native_key_rps[@]}")" \
    'BEGIN { printf "    /chat-message with the API key %.0f: the key'"'"'s lookup leaves %.2f of the native sends; /v1/responses is %.2f of the keyed native sends\n", k, k / n, r / k }'
}
