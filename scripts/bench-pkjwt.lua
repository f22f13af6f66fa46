-- wrk script for scripts/bench: POST /oauth/token authenticated with a
-- private_key_jwt client assertion (RFC 7523), each assertion once: the
-- table in BENCH_ASSERTIONS_LUA (scripts/bench-assertions.py) is walked in
-- order, from the offset kept in the file BENCH_ASSERTIONS_LUA .. ".next"
-- across the row's wrk runs (done() moves it past every request this run
-- sent, and past those still in flight). Running out wraps round: the
-- replays are 401s, which fail the row. The reporting is bench.lua's.
dofile(os.getenv("BENCH_LUA_DIR") .. "/bench.lua")

local file = os.getenv("BENCH_ASSERTIONS_LUA")
local prefix = "grant_type=client_credentials&client_assertion_type=" ..
    "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer" ..
    "&client_assertion="
local list, i

local function offset()
	local f = io.open(file .. ".next", "r")
	local n = f and tonumber(f:read("*l")) or 0
	if f then f:close() end
	return n
end

function init(args)
	list = dofile(file)
	i = offset()
end

function request()
	i = i % #list + 1
	return wrk.format("POST", nil,
	    { ["Content-Type"] = "application/x-www-form-urlencoded" },
	    prefix .. list[i])
end

local report = done
function done(summary, latency, requests)
	local f = io.open(file .. ".next", "w")
	-- in flight at the end: at most one per connection; 1000 is plenty
	f:write(tostring(offset() + summary.requests + 1000), "\n")
	f:close()
	report(summary, latency, requests)
end
