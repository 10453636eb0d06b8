-- Shared by the wrk scripts of bench/run.sh: the machine-readable result
-- line, and per-thread numbering (setup runs in the main state, once per
-- thread; each thread then sees its own `thread_id` and `thread_count`).
local threads = {}
function setup(thread)
  thread:set("thread_id", #threads)
  threads[#threads + 1] = thread
  for _, t in ipairs(threads) do t:set("thread_count", #threads) end
end

-- Lines of a file, the share of this thread (every thread_count-th line).
function my_lines(path)
  local out, i = {}, 0
  for line in io.lines(path) do
    if i % thread_count == thread_id then out[#out + 1] = line end
    i = i + 1
  end
  return out
end

-- wrk.headers with some more: wrk.format replaces wrk.headers with the
-- table it is given, it does not add to them.
function with_headers(more)
  local h = {}
  for k, v in pairs(wrk.headers) do h[k] = v end
  for k, v in pairs(more) do h[k] = v end
  return h
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  io.write(string.format("RESULT requests=%d seconds=%.2f rps=%.1f non2xx=%d errors=%d p50_ms=%.2f p99_ms=%.2f\n",
    summary.requests, seconds, summary.requests / seconds, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
