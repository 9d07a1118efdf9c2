-- Shared by the workload scripts: spread requests over the seeded users.
-- BENCH_USERS users named bench-1..N; with BENCH_TOKENS_FILE, one Keystone
-- token per line is used instead (X-Auth-Token); with BENCH_USER_IDS_FILE,
-- one user id per line (X-User-Id, with the roles a member's token has).
local M = {}
local users = tonumber(os.getenv("BENCH_USERS") or "100")

local function read_lines(name)
  local file = os.getenv(name)
  if not file or file == "" then return nil end
  local lines = {}
  for line in io.lines(file) do table.insert(lines, line) end
  users = #lines
  return lines
end

local tokens = read_lines("BENCH_TOKENS_FILE")
local user_ids = read_lines("BENCH_USER_IDS_FILE")

function M.headers(extra)
  local i = math.random(users)
  local headers = extra or {}
  if tokens then
    headers["X-Auth-Token"] = tokens[i]
  elseif user_ids then
    headers["X-User-Id"] = user_ids[i]
    headers["X-Roles"] = "reader,member"
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
