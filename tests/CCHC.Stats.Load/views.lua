-- wrk script: public page views from many visitors (distinct User-Agents) to many pages.
-- Usage: wrk -t2 -c256 -d20s -s views.lua http://127.0.0.1:5080 -- <siteId> [visitors] [views/s per thread]
-- PAGES (environment, default 5000): how many distinct pages the views go to, in turn.
-- With a rate, each thread sends on a fixed schedule (a view every 1/rate s, whichever connection is free), so
-- the load is paced as a portal's visitors would send it, not as fast as the answers come back.
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } cchc_timespec;
int clock_gettime(int clock_id, cchc_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local timespec = ffi.new("cchc_timespec")

local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
  return tonumber(timespec.tv_sec) * 1000 + tonumber(timespec.tv_nsec) / 1e6
end

local site, visitors = "load", 20000
local pages = tonumber(os.getenv("PAGES") or 5000)
local counter = 0
local interval, next_at = 0, nil

-- Milliseconds until this thread's next slot. A schedule that fell behind by more than a second starts afresh
-- rather than sending the backlog at once.
local function paced()
  local now = now_ms()
  if next_at == nil or next_at < now - 1000 then
    next_at = now
  end
  next_at = next_at + interval
  return math.max(0, math.floor(next_at - now))
end

function init(args)
  site = args[1] or site
  visitors = tonumber(args[2] or visitors)
  local rate = tonumber(args[3] or 0)
  if rate > 0 then
    interval = 1000 / rate
    delay = paced -- wrk only waits between requests when the script defines delay()
  end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end

function request()
  counter = counter + 1
  -- Where readers come from, as a portal's referrers mix them: engines, networks, its own pages, none.
  local referrers = { '"https://www.google.com.vn/"', '"https://l.facebook.com/"', 'null', '"https://load.test/page/1"', '"https://zalo.me/"',
    '"https://coccoc.com/search"', 'null', '"https://baochinhphu.vn/a"' }
  local body = string.format('{"url":"https://load.test/page/%d","referrer":%s}', counter % pages, referrers[counter % #referrers + 1])
  local headers = {
    ["Content-Type"] = "application/json",
    ["User-Agent"] = string.format("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.%d.0 Safari/537.36", math.random(visitors)),
  }
  return wrk.format("POST", "/api/v1/sites/" .. site .. "/views", headers, body)
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format("wrk: requests=%d non2xx=%d connect=%d read=%d write=%d timeout=%d p50=%.1fms p99=%.1fms\n",
    summary.requests, errors.status, errors.connect, errors.read, errors.write, errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
