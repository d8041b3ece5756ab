# shellcheck shell=bash
# history: reads of the seeded 100-message conversation's history (bench/history.lua). Bar: at least 2x send's rate.
labels[history]="history: history reads, 100 messages"

history_run() {
  log "history: history reads of a 100-message conversation"
  run_wrk history history.lua
}

history_report() {
  wanted send || return 0
  awk -v c="$(field history rps)" -v a="$(field send rps)" \
    'BEGIN { printf "history/send = %.2fx (history reads against sends; bar: at least 2x)\n", c / a }'
}
