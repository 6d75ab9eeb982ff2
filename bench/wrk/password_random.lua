-- POST /token grant_type=password for a random user u<n>, n below $USERS.
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
local users = tonumber(os.getenv("USERS"))
function request()
  local body = "grant_type=password&username=user" .. math.random(0, users - 1) .. "&password=correct%20horse%20battery"
  return wrk.format("POST", "/token", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Authorization"] = "Basic " .. os.getenv("BASIC"),
  }, body)
end
