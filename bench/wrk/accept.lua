-- POST /v1/suggestions/{id}/accept as the assignee whose bearer token is
-- BENCH_TOKEN, each suggestion of the file BENCH_PATHS (one path a line)
-- once, this thread's share: a suggestion is accepted only once.
dofile("bench/wrk/common.lua")
local paths, n = {}, 0
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
function init(args)
  paths = my_lines(os.getenv("BENCH_PATHS"))
end
function request()
  n = n + 1
  -- Past the end the request is one the service refuses (409): the run
  -- then reports failed requests instead of measuring something else.
  return wrk.format(nil, paths[n] or paths[#paths])
end
