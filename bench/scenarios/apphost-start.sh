# shellcheck shell=bash
# apphost-start: seconds from `dotnet run` of the built AppHost to the API healthy: a first start (new data) and a
# second (its data again). The AppHost runs its own MySQL (the local server), not the bench's.

apphost_start_run() {
  log "apphost-start: the AppHost, from dotnet run to the API healthy"
  apphost_first=$(apphost_start_time "$work/apphost")
  apphost_second=$(apphost_start_time "$work/apphost")
}

apphost_start_time() { # data directory: seconds until http://localhost:5380/health answers 200, then SIGTERM
  local start end apphost deadline
  start=$(date +%s.%N)
  # The bench's connection string is not inherited. SIGTERM, not SIGINT: a script's background job ignores SIGINT.
  env -u ConnectionStrings__chatdb dotnet run --no-build -c Release --project "$root/ChatBackend.AppHost" -- \
    "--AppHost:DataDirectory=$1" >/dev/null 2>&1 &
  apphost=$! deadline=$(($(date +%s) + 180))
  until curl -sf --max-time 2 http://localhost:5380/health >/dev/null; do
    if (($(date +%s) > deadline)) || ! kill -0 "$apphost" 2>/dev/null; then start=; break; fi
    sleep 0.1
  done
  end=$(date +%s.%N)
  pkill -TERM -P "$apphost" 2>/dev/null || true   # the AppHost, child of dotnet run
  wait "$apphost" 2>/dev/null || true
  # DCP stops the API and the dashboard after the AppHost has gone, within seconds: a next start before they have
  # would find their ports taken (or time the old API).
  for _ in $(seq 1 60); do
    curl -s --max-time 1 -o /dev/null http://localhost:5380/health || curl -s --max-time 1 -o /dev/null http://localhost:15170 || break
    sleep 1
  done
  if [ -z "$start" ]; then printf 'not healthy within 180 s'; return; fi
  awk -v s="$start" -v e="$end" 'BEGIN { printf "%.1f", e - s }'
}

apphost_start_report() {
  echo
  echo "apphost-start: dotnet run of the built AppHost to the API healthy: ${apphost_first} s (new data), ${apphost_second} s (its data again)"
}
