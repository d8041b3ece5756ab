-- The history scenario: history reads of one 100-message conversation.
local path

function init(args)
  for line in io.lines(os.getenv("BENCH_LONG_CONVERSATION")) do
    local conversation, user = line:match("^(%S+) (%S+)$")
    path = "/get-conversation-history/" .. conversation .. "?user_id=" .. user
  end
end

function request()
  return wrk.format("GET", path)
end

dofile(os.getenv("BENCH_DIR") .. "/report.lua")
