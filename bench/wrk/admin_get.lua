-- GET $PATHS (a list separated by '|', taken in turn) with the bearer $TOKEN: admin API listings.
local paths, i = {}, 0
for p in string.gmatch(os.getenv("PATHS"), "[^|]+") do table.insert(paths, p) end
function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], { ["Authorization"] = "Bearer " .. os.getenv("TOKEN") })
end
