package.path = package.path .. ";" .. os.getenv("BENCH_LUA_DIR") .. "/?.lua"
local common = require("common")
request = function()
  return wrk.format("GET", "/v1/c1k", common.headers())
end
