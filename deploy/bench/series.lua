-- wrk script: a random bench site's views per hour over the 31 days before a random moment of the last 300 days
-- (744 points, read from the stored hour counts).
-- Usage: wrk -t2 -c16 -d15s --latency -s series.lua http://127.0.0.1:5080
math.randomseed(os.time())
request = function()
  local to = os.time() - math.random(0, 86400 * 269)
  local from = to - 86400 * 31
  return wrk.format("GET", "/api/v1/sites/bench-" .. math.random(0, 19) .. "/stats/series?interval=hour&from="
    .. os.date("!%Y-%m-%dT%H:00:00Z", from) .. "&to=" .. os.date("!%Y-%m-%dT%H:00:00Z", to))
end
