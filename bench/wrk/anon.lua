-- Anonymous POST /v1/suggestions to unit BENCH_UNIT, each paid with a
-- fresh token from BENCH_TOKENS (lines "key_id input output", fetched by
-- `yijian member login`), with an Idempotency-Key as the member client
-- sends. A thread that runs out of tokens starts over (and gets 409).
dofile("bench/wrk/common.lua")
local tokens, n = nil, 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
function init(args) tokens = my_lines(os.getenv("BENCH_TOKENS")) end
function request()
  n = n + 1
  local key, input, output = string.match(tokens[(n - 1) % #tokens + 1], "(%S+) (%S+) (%S+)")
  local body = string.format(
    '{"unit_id":%s,"category_id":%s,"title":"关于电梯维修的意见","body":"电梯经常出现问题，给大家带来不便，建议定期检查。",' ..
    '"token":{"key_id":"%s","input":"%s","output":"%s"}}',
    os.getenv("BENCH_UNIT"), os.getenv("BENCH_CATEGORY"), key, input, output)
  return wrk.format(nil, nil, with_headers({ ["Idempotency-Key"] = input }), body)
end
