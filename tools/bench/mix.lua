-- 90% GET of a small value by path, 10% POST of one.
package.path = package.path .. ";" .. os.getenv("BENCH_LUA_DIR") .. "/?.lua"
local common = require("common")
request = function()
  if math.random(10) == 1 then
    return wrk.format("POST", "/v1/bench/small", common.headers(),
                      common.small_value())
  end
  return wrk.format("GET", "/v1/bench/small", common.headers())
end
