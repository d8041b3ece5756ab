-- The bearer scenario: the send scenario's new-conversation sends with a bearer token instead of user_id: the tokens
-- of BENCH_TOKENS (one per line, one per user), in turn.
local counter = 0
thread_id = 0 -- a global: thread:set() assigns it per thread
local threads = 0
local tokens = {}

function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end

function init(args)
  for line in io.lines(os.getenv("BENCH_TOKENS")) do
    tokens[#tokens + 1] = "Bearer " .. line
  end
end

function request()
  counter = counter + 1
  local path = string.format(
    "/chat-message?message=Hello%%20there%%2C%%20how%%20are%%20you%%3F&message_id=t-%d-%d&message_count=1&conversation_id=",
    thread_id, counter)
  return wrk.format("POST", path, { ["Authorization"] = tokens[(counter % #tokens) + 1] })
end

dofile(os.getenv("BENCH_DIR") .. "/report.lua")
