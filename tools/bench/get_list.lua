-- GET /v1 of one user with many containers, one page.
package.path = package.path .. ";" .. os.getenv("BENCH_LUA_DIR") .. "/?.lua"
local limit = os.getenv("BENCH_LIST_LIMIT") or "100"
request = function()
  return wrk.format("GET", "/v1?limit=" .. limit,
                    {["X-User-Id"] = os.getenv("BENCH_LIST_USER")})
end
