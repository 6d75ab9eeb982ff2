-- GET with the bearer $TOKEN: /gateway/check as nginx asks it (X-Original-*), or any path
-- through a gateway.
wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
wrk.headers["X-Original-Method"] = "GET"
wrk.headers["X-Original-URI"] = "/parcels/42"
