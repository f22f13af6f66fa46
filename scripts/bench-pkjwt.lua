-- wrk script for scripts/bench: POST /oauth/token authenticated with a
-- private_key_jwt client assertion (RFC 7523), each assertion once: the
-- table in BENCH_ASSERTIONS_LUA (scripts/bench-assertions.py) is walked in
-- order, from the offset kept in the file BENCH_ASSERTIONS_LUA .. ".next"
-- across the row's wrk runs: setup() hands each thread the offset, done()
-- writes back the furthest index any thread reached (every request it
-- made, sent or in flight). Running out wraps round: the replays are 401s,
-- which fail the row. The reporting is bench.lua's.
dofile(os.getenv("BENCH_LUA_DIR") .. "/bench.lua")

local file = os.getenv("BENCH_ASSERTIONS_LUA")
local prefix = "grant_type=client_credentials&client_assertion_type=" ..
    "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer" ..
    "&client_assertion="
local threads = {}
local list
i = 0

function setup(thread)
	local f = io.open(file .. ".next", "r")
	local start = f and tonumber(f:read("*l")) or 0
	if f then f:close() end
	-- one thread per run (scripts/bench: -t1); others after it
	thread:set("i", start + #threads * 1000000)
	table.insert(threads, thread)
end

function init(args)
	list = dofile(file)
end

function request()
	i = i + 1
	return wrk.format("POST", nil,
	    { ["Content-Type"] = "application/x-www-form-urlencoded" },
	    prefix .. list[(i - 1) % #list + 1])
end

local report = done
function done(summary, latency, requests)
	local last = 0
	for _, t in ipairs(threads) do
		last = math.max(last, t:get("i"))
	end
	local f = io.open(file .. ".next", "w")
	f:write(tostring(last), "\n")
	f:close()
	report(summary, latency, requests)
end
