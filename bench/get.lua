-- The conversations-at-scale scenario: one GET, the path from BENCH_PATH (the scale seed's conversations, pages and
-- searches), with BENCH_KEY as its bearer credential when set (the /v1 items).
local path = os.getenv("BENCH_PATH")
local key = os.getenv("BENCH_KEY")
local headers = key and { ["Authorization"] = "Bearer " .. key } or {}

function request()
  return wrk.format("GET", path, headers)
end

dofile(os.getenv("BENCH_DIR") .. "/report.lua")
