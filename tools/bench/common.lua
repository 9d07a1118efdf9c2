-- Shared by the workload scripts: spread requests over the seeded users.
-- BENCH_USERS users named bench-1..N; with BENCH_TOKENS_FILE, one Keystone
-- token per line is used instead (X-Auth-Token), user i with token i.
local M = {}
local users = tonumber(os.getenv("BENCH_USERS") or "100")
local tokens = nil
local tokens_file = os.getenv("BENCH_TOKENS_FILE")
if tokens_file and tokens_file ~= "" then
  tokens = {}
  for line in io.lines(tokens_file) do table.insert(tokens, line) end
  users = #tokens
end

function M.headers(extra)
  local i = math.random(users)
  local headers = extra or {}
  if tokens then
    headers["X-Auth-Token"] = tokens[i]
  else
    headers["X-User-Id"] = "bench-" .. i
  end
  return headers
end

function M.small_value()
  -- About 100 bytes of JSON.
  return string.format('{"theme":"dark","lang":"en","n":%d,"flags":' ..
    '["a","b","c"],"note":"%s"}', math.random(1000000), string.rep("x", 24))
end

return M
