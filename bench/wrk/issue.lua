-- POST /v1/tokens/issue with BENCH_ISSUE_BODY (10 blinded elements), the
-- sessions of BENCH_SESSIONS (one bearer token a line) in turn, so that
-- no member's quota runs out.
dofile("bench/wrk/common.lua")
local sessions, n = nil, 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("BENCH_ISSUE_BODY")
function init(args) sessions = my_lines(os.getenv("BENCH_SESSIONS")) end
function request()
  n = n % #sessions + 1
  return wrk.format(nil, nil, with_headers({ ["Authorization"] = "Bearer " .. sessions[n] }))
end
