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

-- Answers other than 2xx, counted by status and the start of the body,
-- printed after the BENCH line as "BENCH_NON2XX count status body".
local threads = {}
non2xx = {}

function setup(thread)
	table.insert(threads, thread)
end

function response(status, headers, body)
	if status >= 300 then
		local k = status .. " " .. string.sub(body or "", 1, 80)
		non2xx[k] = (non2xx[k] or 0) + 1
	end
end

local report = done
function done(summary, latency, requests)
	report(summary, latency, requests)
	for _, t in ipairs(threads) do
		for k, n in pairs(t:get("non2xx")) do
			io.write(string.format("BENCH_NON2XX %d %s\n", n, k))
		end
	end
end
