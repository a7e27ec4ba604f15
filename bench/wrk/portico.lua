-- wrk script for bench/loadtest.py: one method/body/headers for every request, and either one path or a list of
-- paths (one use each, split between threads), then a JSON summary on stdout for the driver to parse.
--   BENCH_METHOD   GET (default) or POST
--   BENCH_HEADERS  "Name: value" pairs separated by "|"
--   BENCH_BODY     request body (POST)
--   BENCH_PATHS    file with one path per line; each is requested once, then the thread stops
--   BENCH_CYCLE    non-empty: go round the paths again instead of stopping (reads of many different rows)
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

local method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY")
local headers = {}
for line in string.gmatch(os.getenv("BENCH_HEADERS") or "", "[^|]+") do
  local name, value = line:match("^([^:]+):%s*(.*)$")
  if name then headers[name] = value end
end
if body and body ~= "" then headers["Content-Type"] = headers["Content-Type"] or "application/json" end

local paths = nil
local cycle = (os.getenv("BENCH_CYCLE") or "") ~= ""
local index = 0
local exhausted = false
statuses = {}

function init(args)
  local file = os.getenv("BENCH_PATHS")
  local total = tonumber(args[1] or "1")
  if file and file ~= "" then
    paths = {}
    local i = 0
    for line in io.lines(file) do
      if line ~= "" then
        if i % total == id then table.insert(paths, line) end
        i = i + 1
      end
    end
  end
end

function request()
  local path = wrk.path
  if paths then
    index = index + 1
    if cycle and index > #paths then index = 1 end
    if index > #paths then
      exhausted = true
      index = #paths -- keep sending the last one; response() stops the thread before it matters
    end
    path = paths[index]
  end
  return wrk.format(method, path, headers, body)
end

function response(status, hdrs, resp_body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
  if paths and not cycle and index >= #paths then wrk.thread:stop() end
end

function done(summary, latency, requests)
  local codes = {}
  for _, thread in ipairs(threads) do
    local s = thread:get("statuses")
    for code, count in pairs(s or {}) do codes[code] = (codes[code] or 0) + count end
  end
  local parts = {}
  for code, count in pairs(codes) do table.insert(parts, string.format('"%s": %d', code, count)) end
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "bytes": %d, "connect_errors": %d, "read_errors": %d, ' ..
    '"write_errors": %d, "status_errors": %d, "timeouts": %d, "latency_us": {"mean": %.1f, "p50": %d, ' ..
    '"p90": %d, "p99": %d, "max": %d}, "statuses": {%s}}\n',
    summary.requests, summary.duration, summary.bytes, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.status, summary.errors.timeout, latency.mean,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, table.concat(parts, ", ")))
end
