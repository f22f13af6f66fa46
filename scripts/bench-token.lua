-- wrk script for scripts/bench: POST /oauth/token, client credentials grant,
-- authenticated with HTTP Basic as the client scripts/bench seeds
-- (BENCH_AUTH is base64("bench:SECRET")). The reporting is bench.lua's.
dofile(os.getenv("BENCH_LUA_DIR") .. "/bench.lua")

wrk.method = "POST"
wrk.body = "grant_type=client_credentials"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. os.getenv("BENCH_AUTH")
