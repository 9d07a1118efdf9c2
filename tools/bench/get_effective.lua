package.path = package.path .. ";" .. os.getenv("BENCH_LUA_DIR") .. "/?.lua"
local common = require("common")
-- The merged view (API 1.4) of c1k: the cloud's, the domain's and the
-- project's c1k (seeded by benchmark.py under noauth) below the user's.
request = function()
  return wrk.format("GET", "/v1/c1k?effective=true", common.headers({
    ["OpenStack-API-Version"] = "preferences 1.4",
    ["X-Project-Id"] = "bench-project",
    ["X-Project-Domain-Id"] = "bench-domain"}))
end
