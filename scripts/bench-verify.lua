-- wrk script for scripts/bench: GET /verify with one token, sent again and
-- again, as a gateway does (BENCH_TOKEN, issued by the instance measured).
-- The reporting is bench.lua's.
dofile(os.getenv("BENCH_LUA_DIR") .. "/bench.lua")

wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
