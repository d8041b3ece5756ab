# shellcheck shell=bash
# responses: non-streaming POST /v1/responses (a new conversation each, an API key of one of 256 users on every
# request, bench/responses.lua) against the send scenario's POST /chat-message (query string, user_id), on one API of
# its own (offline model, no bearer scheme, rate limits too high to bind), alternately, BENCH_ROUNDS times each. Bar
# (#26): responses at least 0.9 of the native sends. A third kind in the same rounds, the native sends with the same
# API keys instead of user_id (bench/new-conversation-token.lua), parts what the key costs from what the /v1 surface
# does. All three kinds send as the same 256 users (the native sends name them by user_id), so that they differ only in
# the credential and the surface: each turn updates its user's row of the day's usage, and fewer users wait on each
# other's rows more. Each run also gives the API's and the database's CPU time per send (api_cpu_us, db_cpu_us), which
# the machine's swings move far less than its throughput: where a kind's extra cost is spent.

responses_run() {
  local user key line api responses_url="http://127.0.0.1:$((db_port + 42))"
  log "responses: /v1/responses with an API key, and /chat-message, alternately"
  stop_apis  # an API of an earlier scenario (the streams' one) would share the cores
  start_api "$((db_port + 42))" RateLimits__SendsPerMinute=10000000 RateLimits__ConcurrentTurnsPerUser=100000
  api=${apis[-1]}
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
  responses_rps=() native_rps=() native_key_rps=() responses_lines=() responses_cpu=() native_cpu=() native_key_cpu=()
  for _ in $(seq 1 "$rounds"); do
    line=$(with_cpu "$api" keyed_rps "${duration}s" responses.lua)
    responses_rps+=("$(rps_of "$line")"); responses_lines+=("/v1/responses: $line")
    responses_cpu+=("$(field_of "$line" api_cpu_us) $(field_of "$line" db_cpu_us)")
    line=$(with_cpu "$api" keyed_rps "${duration}s" new-conversation.lua)
    native_rps+=("$(rps_of "$line")"); responses_lines+=("/chat-message: $line")
    native_cpu+=("$(field_of "$line" api_cpu_us) $(field_of "$line" db_cpu_us)")
    line=$(with_cpu "$api" keyed_rps "${duration}s" new-conversation-token.lua)
    native_key_rps+=("$(rps_of "$line")"); responses_lines+=("/chat-message with the API key: $line")
    native_key_cpu+=("$(field_of "$line" api_cpu_us) $(field_of "$line" db_cpu_us)")
  done
}

responses_report() {
  echo
  printf 'responses %s\n' "${responses_lines[@]}"
  awk -v r="$(median "${responses_rps[@]}")" -v n="$(median "${native_rps[@]}")" \
    'BEGIN { printf "    sends/s, medians: /v1/responses %.0f, /chat-message %.0f: %.2f of the native sends (bar: at least 0.9): %s\n", r, n, r / n, (r / n >= 0.9 ? "met" : "not met") }'
  awk -v r="$(median "${responses_rps[@]}")" -v n="$(median "${native_rps[@]}")" -v k="$(median "${native_key_rps[@]}")" \
    'BEGIN { printf "    /chat-message with the API key %.0f: the key'"'"'s lookup leaves %.2f of the native sends; /v1/responses is %.2f of the keyed native sends\n", k, k / n, r / k }'
  cpu_medians() { printf 'API %s us, database %s us' "$(median $(printf '%s\n' "$@" | cut -d' ' -f1))" "$(median $(printf '%s\n' "$@" | cut -d' ' -f2))"; }
  printf '    CPU per send, medians: /v1/responses %s; /chat-message %s; /chat-message with the API key %s\n' \
    "$(cpu_medians "${responses_cpu[@]}")" "$(cpu_medians "${native_cpu[@]}")" "$(cpu_medians "${native_key_cpu[@]}")"
}
