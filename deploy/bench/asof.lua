-- wrk script: counters as of a random moment of the last 300 days (ASOF_DAYS: of the last that many), for a random one
-- of the bench sites. A store of 1 M views spans 35 days (one view every 3 s): ASOF_DAYS=35 asks only for moments that
-- have views around them, as every moment of the 10 M store has.
math.randomseed(os.time())
local days = tonumber(os.getenv("ASOF_DAYS") or "300")
request = function()
  local t = os.time() - math.random(86400 * 2, 86400 * days)
  local asOf = os.date("!%Y-%m-%dT%H:%M:%SZ", t)
  return wrk.format("GET", "/api/v1/sites/bench-" .. math.random(0, 19) .. "/counters?asOf=" .. asOf)
end
