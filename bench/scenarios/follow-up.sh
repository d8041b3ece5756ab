# shellcheck shell=bash
# follow-up: follow-up sends into the 256 seeded one-turn conversations (bench/follow-up.lua).
labels[follow-up]="follow-up: follow-up sends"

follow_up_run() {
  log "follow-up: follow-up sends"
  run_wrk follow-up follow-up.lua
}
