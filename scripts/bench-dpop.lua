-- wrk script for scripts/bench's dpop rows: each request with the next of
-- the proofs scripts/bench-dpop.py made (BENCH_DPOP_LUA), never one twice
-- while they last: POST /oauth/token with Basic credentials and a proof
-- (token mode), or GET /verify with "Authorization: DPoP <token>" and a
-- proof (verify mode). The reporting is bench.lua's.
dofile(os.getenv("BENCH_LUA_DIR") .. "/bench.lua")

local set
local i = 0

function init(args)
	set = dofile(os.getenv("BENCH_DPOP_LUA"))
end

function request()
	i = i + 1
	local p = set.proofs[(i - 1) % #set.proofs + 1]
	if set.token ~= nil then
		return wrk.format("GET", nil, { ["Authorization"] = "DPoP " ..
		    set.token, ["DPoP"] = p })
	end
	return wrk.format("POST", nil, { ["Authorization"] = set.auth,
	    ["Content-Type"] = "application/x-www-form-urlencoded",
	    ["DPoP"] = p }, "grant_type=client_credentials")
end
