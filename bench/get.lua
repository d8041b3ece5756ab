-- The conversations-at-scale scenario: one GET, the path from BENCH_PATH (the scale seed's conversations, pages and
-- searches).
local path = os.getenv("BENCH_PATH")

function request()
  return wrk.format("GET", path)
end

dofile(os.getenv("BENCH_DIR") .. "/report.lua")
