-- wrk script of test_survival.py: drives tokend and counts the answers by
-- status code. Settings come from the environment:
--
--   SURV_MIX         "token", "verify", "mix" (alternate: issue a token,
--                    verify SURV_TOKEN) or "healthz"
--   SURV_AUTH        the Authorization value for POST /oauth/token
--   SURV_TOKEN       the token GET /verify sends
--   SURV_CLOSE_EVERY N > 0: every Nth request of a thread carries
--                    "Connection: close", so wrk reconnects (new TLS
--                    handshakes during the run)
--   SURV_TOKENS_DIR  each thread writes the tokens it was issued to
--                    tokens-ID.txt here (the harness looks for them in
--                    tokend's logs)
--
-- done() prints one line:
--
--   SURV requests=N s200=N s503=N other=N statuses=200:N,503:N,...
--        err_connect=N err_read=N err_write=N err_timeout=N
--        p50_us=N p99_us=N max_us=N

local threads = {}
local next_id = 1

function setup(thread)
	thread:set("id", next_id)
	next_id = next_id + 1
	table.insert(threads, thread)
end

function init(args)
	counts = {}
	local mix = os.getenv("SURV_MIX") or "mix"
	local auth = os.getenv("SURV_AUTH") or ""
	local token = os.getenv("SURV_TOKEN") or ""
	close_every = tonumber(os.getenv("SURV_CLOSE_EVERY") or "0") or 0
	n = 0
	local form = "application/x-www-form-urlencoded"
	local function reqs(extra)
		local issue_h = { ["Authorization"] = auth,
		    ["Content-Type"] = form }
		local verify_h = { ["Authorization"] = "Bearer " .. token }
		local health_h = {}
		for k, v in pairs(extra) do
			issue_h[k] = v
			verify_h[k] = v
			health_h[k] = v
		end
		local issue = wrk.format("POST", "/oauth/token", issue_h,
		    "grant_type=client_credentials")
		local verify = wrk.format("GET", "/verify", verify_h)
		local health = wrk.format("GET", "/healthz", health_h)
		if mix == "token" then
			return { issue }
		elseif mix == "verify" then
			return { verify }
		elseif mix == "healthz" then
			return { health }
		end
		return { issue, verify }
	end
	keep = reqs({})
	closing = reqs({ ["Connection"] = "close" })
	local dir = os.getenv("SURV_TOKENS_DIR")
	if dir ~= nil and dir ~= "" then
		tokfile = io.open(dir .. "/tokens-" .. id .. ".txt", "w")
	end
end

function request()
	n = n + 1
	local set = keep
	if close_every > 0 and n % close_every == 0 then
		set = closing
	end
	return set[(n % #set) + 1]
end

function response(status, headers, body)
	counts[status] = (counts[status] or 0) + 1
	if tokfile ~= nil and status == 200 and body ~= nil then
		local t = string.match(body, '"access_token":"([^"]+)"')
		if t ~= nil then
			tokfile:write(t, "\n")
		end
	end
end

function done(summary, latency, requests)
	local total = {}
	for _, t in ipairs(threads) do
		local c = t:get("counts")
		if c ~= nil then
			for k, v in pairs(c) do
				total[k] = (total[k] or 0) + v
			end
		end
	end
	local keys = {}
	local s200, s503, other = 0, 0, 0
	for k, v in pairs(total) do
		table.insert(keys, k)
		if k == 200 then
			s200 = s200 + v
		elseif k == 503 then
			s503 = s503 + v
		else
			other = other + v
		end
	end
	table.sort(keys)
	local parts = {}
	for _, k in ipairs(keys) do
		table.insert(parts, k .. ":" .. total[k])
	end
	local e = summary.errors
	io.write(string.format(
	    "SURV requests=%d s200=%d s503=%d other=%d statuses=%s " ..
	    "err_connect=%d err_read=%d err_write=%d err_timeout=%d " ..
	    "p50_us=%d p99_us=%d max_us=%d\n",
	    summary.requests, s200, s503, other, table.concat(parts, ","),
	    e.connect, e.read, e.write, e.timeout,
	    latency:percentile(50), latency:percentile(99), latency.max))
end
