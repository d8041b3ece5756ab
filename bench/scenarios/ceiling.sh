# shellcheck shell=bash
# ceiling: the product's own data path without HTTP (bench/DataPath turns): BENCH_CONNECTIONS workers each running
# new-conversation turns through TurnStore, the same statements as POST /chat-message, so the ceiling of send with its
# extra statements included. With send, it runs in send's rounds (send.sh).
labels[ceiling]="ceiling: the product's data path without HTTP"

ceiling_once() { run_datapath turns; }

ceiling_run() {
  wanted send && return 0  # measured in send's rounds
  log "ceiling: the product's data path without HTTP, $connections workers, ${duration}s"
  results[ceiling]=$(ceiling_once)
}
