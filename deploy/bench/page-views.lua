-- wrk script: one page's views ("Lượt xem"), as every article of a portal asks them. A page is drawn from PAGES
-- pages of a bench site: with "skew", as readers read (a few articles most: the square of a uniform draw); with
-- "hot", from the first 100 (the day's news, each read many times a second: memory answers); otherwise uniformly
-- (every read likely a page not read in the last second: the database's read, not the memory's).
-- Usage: wrk -t2 -c64 -d15s --latency -s page-views.lua http://127.0.0.1:5080 -- <pages> [skew|hot]
local pages, mode = 100000, "uniform"
function init(args)
  pages = tonumber(args[1] or pages)
  mode = args[2] or mode
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end

request = function()
  local r = math.random()
  local page = mode == "hot" and math.floor(r * 100) or math.floor((mode == "skew" and r * r or r) * pages)
  return wrk.format("GET", "/api/v1/sites/bench-" .. (page % 20) .. "/pages/views?url=https%3A%2F%2Fbench.test%2Fpage%2F" .. page)
end
