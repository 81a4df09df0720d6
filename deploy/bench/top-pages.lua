-- wrk script: the most-read list of a random bench site, period and length (20 sites x 5 periods: each list is read
-- from the index at most once a second, its longest form, and shorter ones are its start).
-- Usage: wrk -t2 -c16 -d15s --latency -s top-pages.lua http://127.0.0.1:5080
local periods = { "day", "week", "month", "year", "total" }
math.randomseed(os.time())
request = function()
  return wrk.format("GET", "/api/v1/sites/bench-" .. math.random(0, 19) .. "/pages/top?period=" .. periods[math.random(1, 5)]
    .. "&limit=" .. math.random(1, 100))
end
