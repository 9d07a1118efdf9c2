package.path = package.path .. ";" .. os.getenv("BENCH_LUA_DIR") .. "/?.lua"
local common = require("common")
request = function()
  return wrk.format("POST", "/v1/bench", common.headers(),
                    '{"merged":' .. common.small_value() .. '}')
end
