-- The send scenario: new-conversation sends, every field in the query string, as the original's clients send them.
local counter = 0
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
    (counter % 5000) + 1, thread_id, counter)
  return wrk.format("POST", path)
end

dofile(os.getenv("BENCH_DIR") .. "/report.lua")
