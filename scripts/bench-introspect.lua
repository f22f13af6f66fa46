-- wrk script for scripts/bench: POST /oauth/introspect of the client's own
-- token (BENCH_TOKEN), the client authenticating with HTTP Basic
-- (BENCH_AUTH). The reporting is bench.lua's.
dofile(os.getenv("BENCH_LUA_DIR") .. "/bench.lua")

wrk.method = "POST"
wrk.body = "token=" .. os.getenv("BENCH_TOKEN")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. os.getenv("BENCH_AUTH")
