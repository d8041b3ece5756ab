# shellcheck shell=bash
# bearer: send on an API with a bearer scheme (a symmetric key as dotnet user-jwts makes it; a token of one of 256
# users on every request, bench/new-conversation-token.lua; rate limits set too high to bind) and on one without,
# alternately, BENCH_ROUNDS times each. Bar: with a token at least 90% of without.

bearer_run() {
  local signing_key hex_key header now payload signature i line
  local bearer_api_port=$((db_port + 40)) open_api_port=$((db_port + 41))
  log "bearer: sends with a bearer token on every request, and without, alternately"
  # HS256 tokens made here with openssl, as dotnet user-jwts makes them: issuer, audience, a subject per user.
  signing_key=$(openssl rand -base64 32)
  hex_key=$(base64 -d <<<"$signing_key" | od -An -tx1 | tr -d ' \n')
  b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
  header=$(printf '{"alg":"HS256","typ":"JWT"}' | b64url)
  now=$(date +%s)
  for i in $(seq 1 256); do
    payload=$(printf '{"sub":"bench-user-%d","iss":"bench","aud":"bench","nbf":%d,"iat":%d,"exp":%d}' "$i" "$now" "$now" $((now + 86400)) | b64url)
    signature=$(printf '%s' "$header.$payload" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$hex_key" -binary | b64url)
    echo "$header.$payload.$signature"
  done >"$work/tokens.txt"
  start_api "$bearer_api_port" Authentication__Schemes__Bearer__ValidIssuer=bench Authentication__Schemes__Bearer__ValidAudiences__0=bench \
    Authentication__Schemes__Bearer__SigningKeys__0__Issuer=bench "Authentication__Schemes__Bearer__SigningKeys__0__Value=$signing_key" \
    RateLimits__SendsPerMinute=10000000 RateLimits__ConcurrentTurnsPerUser=100000
  start_api "$open_api_port"
  curl -sf -H "Authorization: Bearer $(head -1 "$work/tokens.txt")" "http://127.0.0.1:$bearer_api_port/usage" >/dev/null \
    || die "The bench's token was refused."
  token_rps() { BENCH_TOKENS="$work/tokens.txt" wrk -t"$threads" -c"$connections" -d"$1" -s "$root/bench/$2" "$3" | grep '^RESULT'; }
  token_rps 5s new-conversation-token.lua "http://127.0.0.1:$bearer_api_port" >/dev/null
  token_rps 5s new-conversation.lua "http://127.0.0.1:$open_api_port" >/dev/null
  with_token=() without_token=() token_lines=()
  for _ in $(seq 1 "$rounds"); do
    line=$(token_rps "${duration}s" new-conversation-token.lua "http://127.0.0.1:$bearer_api_port")
    with_token+=("$(rps_of "$line")"); token_lines+=("with a token:    $line")
    line=$(token_rps "${duration}s" new-conversation.lua "http://127.0.0.1:$open_api_port")
    without_token+=("$(rps_of "$line")"); token_lines+=("without a token: $line")
  done
}

bearer_report() {
  echo
  printf 'bearer %s\n' "${token_lines[@]}"
  awk -v t="$(median "${with_token[@]}")" -v n="$(median "${without_token[@]}")" \
    'BEGIN { printf "    sends/s, medians: with a token %.0f, without %.0f: with is %.0f%% of without (bar: at least 90%%)\n", t, n, 100 * t / n }'
}
