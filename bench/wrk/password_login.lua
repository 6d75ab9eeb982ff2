-- Password logins through the password grant (each one bcrypt verify at the configured cost).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. os.getenv("BASIC")
wrk.body = "grant_type=password&username=known&password=a%20long%20enough%20passphrase"
