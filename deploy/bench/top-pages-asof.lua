-- wrk script: the most-read list of a random bench site and period as it stood at a random moment of the last 300
-- days (never from memory: the stored day and hour counts of the period's pages, summed).
-- Usage: wrk -t2 -c4 -d15s --latency -s top-pages-asof.lua http://127.0.0.1:5080
local periods = { "day", "week", "month", "year", "total" }
math.randomseed(os.time())
request = function()
  local asOf = os.date("!%Y-%m-%dT%H:%M:%SZ", os.time() - math.random(86400 * 2, 86400 * 300))
  return wrk.format("GET", "/api/v1/sites/bench-" .. math.random(0, 19) .. "/pages/top?period=" .. periods[math.random(1, 5)]
    .. "&limit=10&asOf=" .. asOf)
end
