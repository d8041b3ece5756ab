# shellcheck shell=bash
# minimal-write: the physical ceiling of a send's writes (bench/DataPath minimal-write): BENCH_CONNECTIONS workers each
# running turns of exactly two transactions of one round trip each, INSERT conversation + INSERT message (Pending),
# then INSERT reply + UPDATE the message's status + UPDATE the conversation's count and time, and nothing else, on
# copies of the product's two tables (same columns, keys and indexes). With send, it runs in send's rounds (send.sh),
# where send/minimal-write has the bar 0.8.
labels[minimal-write]="minimal-write: the minimal two-transaction write"

minimal_write_once() { run_datapath minimal-write; }

minimal_write_run() {
  wanted send && return 0  # measured in send's rounds
  log "minimal-write: the minimal two-transaction write, $connections workers, ${duration}s"
  results[minimal-write]=$(minimal_write_once)
}
