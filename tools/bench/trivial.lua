request = function()
  return wrk.format("GET", "/v1/bench/small")
end
