# shellcheck shell=bash
# resume-cancel: BENCH_RESUMES (100) streams dropped on one API and resumed on another: from the resume request to its
# next piece, p50 and p99; and as many cancels through another instance: the cancel request's p50 and p99
# (bench/Streams resume and cancel). A slower model (30 pieces at 20/s, 1.5 s a reply), so that every resume and
# cancel meets a reply still running.
resumes=${BENCH_RESUMES:-100}

resume_cancel_run() {
  local slow_model_port=$((db_port + 12)) first_api_port=$((db_port + 13)) other_api_port=$((db_port + 14)) slow_model
  start_stream_model_api  # as the streams-progress scenario leaves it, when it runs alone
  dotnet "$streams" fake-model "$slow_model_port" 30 20 &
  pids+=($!)
  listening "$slow_model_port"
  slow_model="ConnectionStrings__openai=Endpoint=http://127.0.0.1:$slow_model_port/v1;Key=bench;Model=gpt-4o-mini"
  start_api "$first_api_port" "$slow_model"
  start_api "$other_api_port" "$slow_model"
  log "resume-cancel: $resumes streams dropped on one API and resumed on another; $resumes cancelled through the other"
  results[resume]=$(dotnet "$streams" resume "http://127.0.0.1:$first_api_port" "http://127.0.0.1:$other_api_port" "$resumes" | grep '^RESULT')
  results[cancel]=$(dotnet "$streams" cancel "http://127.0.0.1:$first_api_port" "http://127.0.0.1:$other_api_port" "$resumes" | grep '^RESULT')
}

resume_cancel_report() {
  echo
  echo "resume-cancel: resume on another instance, to its next piece: p50 $(field resume p50_ms) ms, p99 $(field resume p99_ms) ms," \
    "max $(field resume max_ms) ms over $(field resume resumes) resumes; replies that did not add up: $(field resume mismatches)"
  echo "    cancel through another instance: p50 $(field cancel p50_ms) ms, p99 $(field cancel p99_ms) ms, max $(field cancel max_ms) ms" \
    "over $(field cancel cancels) cancels; not ended Cancelled: $(sed -E 's/.*not_cancelled=//' <<<"${results[cancel]}")"
}
