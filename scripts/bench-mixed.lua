-- wrk script for scripts/bench --soak: alternately POST /oauth/token
-- (BENCH_AUTH, as bench-token.lua) and GET /verify of BENCH_TOKEN, so that
-- a long run goes through issuing, verifying and the store. The reporting
-- is bench.lua's.
dofile(os.getenv("BENCH_LUA_DIR") .. "/bench.lua")

local token_req, verify_req
local n = 0

function init(args)
	token_req = wrk.format("POST", "/oauth/token", {
		["Content-Type"] = "application/x-www-form-urlencoded",
		["Authorization"] = "Basic " .. os.getenv("BENCH_AUTH"),
	}, "grant_type=client_credentials")
	verify_req = wrk.format("GET", "/verify", {
		["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN"),
	})
end

function request()
	n = n + 1
	if n % 2 == 0 then
		return token_req
	end
	return verify_req
end
