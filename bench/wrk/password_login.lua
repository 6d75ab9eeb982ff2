-- Password logins through the password grant (each one bcrypt verify at the configured cost).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. os.getenv("BASIC")
-- Eight users in turn: one account's attempts are checked one at a time (lockout in-flight
-- guard), so a benchmark of throughput spreads over several people, as real traffic does.
local n = 0
request = function()
  n = n % 8 + 1
  local body = "grant_type=password&username=user" .. n .. "&password=a%20long%20enough%20passphrase"
  return wrk.format("POST", nil, nil, body)
end
