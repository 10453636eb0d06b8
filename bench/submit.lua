-- wrk script for bench/audit-seal.sh: named submissions (POST
-- /v1/suggestions) spread over the units in BENCH_UNITS, as the member
-- whose bearer token is BENCH_TOKEN. Prints one machine-readable line.
local token = os.getenv("BENCH_TOKEN")
local category = os.getenv("BENCH_CATEGORY")
local units = {}
for u in string.gmatch(os.getenv("BENCH_UNITS"), "%d+") do
  units[#units + 1] = u
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token

local n = 0
function request()
  n = n + 1
  local body = string.format(
    '{"unit_id":%s,"category_id":%s,"title":"基准测试 %d","body":"吞吐量测试：第 %d 条意见。"}',
    units[n % #units + 1], category, n, n)
  return wrk.format(nil, nil, nil, body)
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  io.write(string.format("RESULT requests=%d seconds=%.2f rps=%.1f non2xx=%d errors=%d p50_ms=%.2f p99_ms=%.2f\n",
    summary.requests, seconds, summary.requests / seconds, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
