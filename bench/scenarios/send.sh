# shellcheck shell=bash
# send: new-conversation sends through the API in the query-string form, as the original's clients send them
# (bench/new-conversation.lua), offline model, wrk with BENCH_CONNECTIONS connections. With ceiling or minimal-write
# (or both) it runs in BENCH_ROUNDS rounds, each a send run then one run of each of them, so that all meet the same
# state of the machine and of the tables: each figure is its median round, and send/ceiling and send/minimal-write are
# the medians of the rounds' ratios. Bar (#25): send/minimal-write at least 0.8.
labels[send]="send: new-conversation sends (query string)"
send_bar=0.8
send_against=()  # the scenarios run in send's rounds

send_run() {
  local name round ratio lines against
  for name in ceiling minimal-write; do
    if wanted "$name"; then send_against+=("$name"); fi
  done
  if ((${#send_against[@]} == 0)); then
    log "send: new-conversation sends, query string, $connections connections, ${duration}s"
    run_wrk send new-conversation.lua
    return
  fi
  against=$(printf '%s and ' "${send_against[@]}")
  log "send: new-conversation sends, query string, $connections connections, alternating with ${against% and }" \
    "($connections workers): $rounds rounds of ${duration}s each"
  declare -gA send_rounds=() send_ratios=() send_ratio_lines=()
  for round in $(seq 1 "$rounds"); do
    run_wrk send new-conversation.lua
    send_rounds[send]+="${results[send]}"$'\n'
    for name in "${send_against[@]}"; do
      results[$name]=$("$(function_of "$name" once)")
      send_rounds[$name]+="${results[$name]}"$'\n'
      ratio=$(awk -v a="$(rps_of "${results[send]}")" -v d="$(rps_of "${results[$name]}")" 'BEGIN { printf "%.1f", 100 * a / d }')
      send_ratios[$name]+="$ratio "
      send_ratio_lines[$name]+="round $round: send $(rps_of "${results[send]}") req/s, $name $(rps_of "${results[$name]}") req/s, send/$name $ratio%"$'\n'
    done
  done
  for name in send "${send_against[@]}"; do
    mapfile -t lines <<<"${send_rounds[$name]%$'\n'}"
    results[$name]=$(median_line "${lines[@]}")
  done
}

send_report() {
  local name median_ratio
  for name in "${send_against[@]}"; do
    echo
    sed "s|^|send/$name |" <<<"${send_ratio_lines[$name]%$'\n'}"
    # shellcheck disable=SC2086 # the ratios, space-separated
    median_ratio=$(median ${send_ratios[$name]})
    case $name in
      ceiling)
        echo "send/ceiling = $(awk -v r="$median_ratio" 'BEGIN { printf "%.0f", r }')% (the median of the rounds' ratios;" \
          "send and ceiling above are their median rounds)";;
      minimal-write)
        awk -v r="$median_ratio" -v bar="$send_bar" \
          'BEGIN { printf "send/minimal-write = %.3f, bar %.1f: %s", r / 100, bar, (r / 100 >= bar ? "met" : "not met") }'
        echo " (the median of the rounds' ratios; send and minimal-write above are their median rounds)";;
    esac
  done
  # Where each send's time goes beyond the minimal write's, in CPU (the median rounds above).
  printf '\nCPU per request: send API %s us, database %s us' "$(field send api_cpu_us)" "$(field send db_cpu_us)"
  for name in "${send_against[@]}"; do printf '; %s database %s us' "$name" "$(field "$name" db_cpu_us)"; done
  echo
}
