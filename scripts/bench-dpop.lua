-- wrk script for scripts/bench's dpop rows: each request with the next of
-- the proofs scripts/bench-dpop.py made (BENCH_DPOP_LUA), never one twice
-- while they last: POST /oauth/token with Basic credentials and a proof
-- (token mode), or GET /verify with "Authorization: DPoP <token>" and a
-- proof (verify mode). A row runs wrk several times (warm-up, repeats) on
-- one file: each run starts where the last stopped (BENCH_DPOP_LUA.next).
-- The reporting is bench.lua's.
dofile(os.getenv("BENCH_LUA_DIR") .. "/bench.lua")

local path = os.getenv("BENCH_DPOP_LUA")
local threads = {}
local set
i = 0

function setup(thread)
	local f = io.open(path .. ".next")
	local start = 0
	if f ~= nil then
		start = tonumber(f:read("*l")) or 0
		f:close()
	end
	-- one thread per run (scripts/bench: THREADS=1); others after it
	thread:set("i", start + #threads * 1000000)
	table.insert(threads, thread)
end

function init(args)
	set = dofile(path)
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

local report = done

function done(summary, latency, requests)
	local last = 0
	for _, t in ipairs(threads) do
		last = math.max(last, t:get("i"))
	end
	local f = io.open(path .. ".next", "w")
	f:write(tostring(last) .. "\n")
	f:close()
	report(summary, latency, requests)
end
