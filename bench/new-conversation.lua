-- The send scenario: new-conversation sends, every field in the query string, as the original's clients send them:
-- BENCH_USERS users (5,000) from user_id BENCH_FIRST_USER (1) in turn.
local counter = 0
local users = tonumber(os.getenv("BENCH_USERS") or "5000")
local first_user = tonumber(os.getenv("BENCH_FIRST_USER") or "1")
thread_id = 0 -- a global: thread:set() assigns it per thread
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end

function request()
  counter = counter + 1
  local path = string.format(
    "/chat-message?message=Hello%%20there%%2C%%20how%%20are%%20you%%3F&user_id=%d&message_id=b-%d-%d&message_count=1&conversation_id=",
    (counter % users) + first_user, thread_id, counter)
  return wrk.format("POST", path)
end

dofile(os.getenv("BENCH_DIR") .. "/report.lua")
