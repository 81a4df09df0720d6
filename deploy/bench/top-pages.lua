-- wrk script: the most-read list of a random bench site, period and length (5 periods x 100 lengths x 20 sites: most
-- reads miss the second-long memory and read the index).
-- Usage: wrk -t2 -c16 -d15s --latency -s top-pages.lua http://127.0.0.1:5080
local periods = { "day", "week", "month", "year", "total" }
math.randomseed(os.time())
request = function()
  return wrk.format("GET", "/api/v1/sites/bench-" .. math.random(0, 19) .. "/pages/top?period=" .. periods[math.random(1, 5)]
    .. "&limit=" .. math.random(1, 100))
end
