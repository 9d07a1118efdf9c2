package.path = package.path .. ";" .. os.getenv("BENCH_LUA_DIR") .. "/?.lua"
local common = require("common")
request = function()
  return wrk.format("POST", "/v1/bench/small", common.headers(),
                    common.small_value())
end
