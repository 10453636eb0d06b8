-- GET requests: the path as given to wrk, or (BENCH_PATHS, a file of
-- paths) one after another from this thread's share. Headers come from
-- wrk -H.
dofile("bench/wrk/common.lua")
local paths, n = nil, 0
function init(args)
  local f = os.getenv("BENCH_PATHS")
  if f and f ~= "" then
    paths = my_lines(f)
    -- fewer lines than threads: every thread takes them all
    if #paths == 0 then for line in io.lines(f) do paths[#paths + 1] = line end end
  end
end
function request()
  if not paths then return wrk.format() end
  n = n % #paths + 1
  return wrk.format(nil, paths[n])
end
