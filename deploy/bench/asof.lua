-- wrk script: counters as of a random moment of the last 300 days, for a random one of the bench sites.
math.randomseed(os.time())
request = function()
  local t = os.time() - math.random(86400 * 2, 86400 * 300)
  local asOf = os.date("!%Y-%m-%dT%H:%M:%SZ", t)
  return wrk.format("GET", "/api/v1/sites/bench-" .. math.random(0, 19) .. "/counters?asOf=" .. asOf)
end
