-- POST /token grant_type=refresh_token: sustained rotation. Each thread starts from its own
-- slice of the seed tokens in $TOKENS and spends each token once, queueing the successor every
-- response returns, so a token is never reused (which would revoke its family).
local queue, head, tail = {}, 1, 0
local threads = 0
function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end
function init(args)
  local stride, i = tonumber(os.getenv("THREADS") or "2"), 0
  for line in io.lines(os.getenv("TOKENS")) do
    if i % stride == id then tail = tail + 1; queue[tail] = line end
    i = i + 1
  end
end
function request()
  local token = queue[head] or "exhausted"
  queue[head] = nil
  head = head + 1
  return wrk.format("POST", "/token", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Authorization"] = "Basic " .. os.getenv("BASIC"),
  }, "grant_type=refresh_token&refresh_token=" .. token)
end
function response(status, headers, body)
  local token = body:match('"refresh_token":"([^"]+)"')
  if token then tail = tail + 1; queue[tail] = token end
end
