-- The follow-up scenario: follow-up sends into existing conversations (seeded), each thread on its own share of them.
local conversations = {}
local counter, threads = 0, 0
thread_id = 0 -- a global: thread:set() assigns it per thread

function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end

function init(args)
  for line in io.lines(os.getenv("BENCH_CONVERSATIONS")) do
    local conversation, user = line:match("^(%S+) (%S+)$")
    conversations[#conversations + 1] = { conversation, user }
  end
end

function request()
  counter = counter + 1
  local pick = conversations[((counter * 7 + thread_id * 131) % #conversations) + 1]
  local path = string.format(
    "/chat-message?message=And%%20another%%20thing&user_id=%s&message_id=f-%d-%d&message_count=2&conversation_id=%s",
    pick[2], thread_id, counter, pick[1])
  return wrk.format("POST", path)
end

dofile(os.getenv("BENCH_DIR") .. "/report.lua")
