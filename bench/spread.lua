-- wrk script: GET PREFIX..0 .. PREFIX..(USERS-1) in turn (bench.bench_line_rate), so the
-- requests spread over many cached users. The requests are built once, in init.
-- Environment: WRK_PREFIX (default "/recommendations/u"), WRK_USERS (default 500).
local prefix = os.getenv("WRK_PREFIX") or "/recommendations/u"
local users = tonumber(os.getenv("WRK_USERS") or "500")
local requests = {}
local i = 0

init = function(args)
  for u = 0, users - 1 do
    requests[u + 1] = wrk.format("GET", prefix .. u)
  end
end

request = function()
  i = i % users + 1
  return requests[i]
end
