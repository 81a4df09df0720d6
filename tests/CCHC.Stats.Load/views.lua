-- wrk script: public page views from many visitors (distinct User-Agents) to many pages.
-- Usage: wrk -t2 -c256 -d20s -s views.lua http://127.0.0.1:5080 -- <siteId> [visitors]
local site, visitors = "load", 20000
local counter = 0

function init(args)
  site = args[1] or site
  visitors = tonumber(args[2] or visitors)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end

function request()
  counter = counter + 1
  local body = string.format('{"url":"https://load.test/page/%d","referrer":"https://www.google.com/"}', counter % 5000)
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
