-- The responses scenario: non-streaming POST /v1/responses, each a new conversation, with the API keys of BENCH_KEYS
-- (one per line, one per user) in turn, as the OpenAI SDKs send them.
local counter = 0
local keys = {}
local body = '{"input":"Hello there, how are you?"}'

function init(args)
  for line in io.lines(os.getenv("BENCH_KEYS")) do
    keys[#keys + 1] = "Bearer " .. line
  end
end

function request()
  counter = counter + 1
  return wrk.format("POST", "/v1/responses",
    { ["Authorization"] = keys[(counter % #keys) + 1], ["Content-Type"] = "application/json" }, body)
end

dofile(os.getenv("BENCH_DIR") .. "/report.lua")
