-- Named POST /v1/suggestions as the member whose bearer token is
-- BENCH_TOKEN, spread over the units in BENCH_UNITS, each with an
-- Idempotency-Key of its own.
dofile("bench/wrk/common.lua")
local units, n, run = {}, 0, tostring(os.time())
for u in string.gmatch(os.getenv("BENCH_UNITS"), "%d+") do units[#units + 1] = u end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
function request()
  n = n + 1
  local body = string.format(
    '{"unit_id":%s,"category_id":%s,"title":"关于食堂饭菜价格的建议 %d","body":"食堂饭菜价格偏高，建议公开成本，听取职工意见。第 %d 条。"}',
    units[n % #units + 1], os.getenv("BENCH_CATEGORY"), n, n)
  return wrk.format(nil, nil,
    with_headers({ ["Idempotency-Key"] = string.format("wrk-%s-%d-%d", run, thread_id, n) }), body)
end
