-- wrk script for scripts/bench: GET /verify, cycling through many distinct
-- tokens (the Lua table in the file BENCH_TOKENS_LUA, made by
-- scripts/bench-issue.py), as a gateway in front of many clients does.
-- The requests are formatted once, in init(). The reporting is bench.lua's.
dofile(os.getenv("BENCH_LUA_DIR") .. "/bench.lua")

local reqs = {}
local i = 0

function init(args)
	local tokens = dofile(os.getenv("BENCH_TOKENS_LUA"))
	for k, t in ipairs(tokens) do
		reqs[k] = wrk.format("GET", nil,
		    { ["Authorization"] = "Bearer " .. t })
	end
	-- Threads (and connections) start at different places in the cycle.
	i = math.random(#reqs) - 1
end

function request()
	i = i % #reqs + 1
	return reqs[i]
end
