-- Setup helper: password grants that collect refresh tokens into $OUT (one file per thread).
local out
local threads = 0
function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end
function init(args)
  out = io.open(os.getenv("OUT") .. "." .. id, "a")
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. os.getenv("BASIC")
wrk.body = "grant_type=password&username=bench&password=correct%20horse%20battery&scope=openid"
function response(status, headers, body)
  local token = body:match('"refresh_token":"([^"]+)"')
  if token then out:write(token, "\n"); out:flush() end
end
