-- wrk script for scripts/bench: the request to send, and a done() that
-- prints the results as one machine-readable line:
--
--   BENCH requests=N duration_us=N rps=F p50_us=N p90_us=N p99_us=N
--         max_us=N non2xx=N err_connect=N err_read=N err_write=N
--         err_timeout=N
--
-- Latencies are in microseconds. non2xx is wrk's count of responses with
-- a status of 400 or more (wrk counts no others; the endpoints measured
-- here answer 200 or an error, never a redirect).
--
-- The method comes from BENCH_METHOD (default GET), and a body, if any,
-- from BENCH_BODY with BENCH_CONTENT_TYPE. A script for an endpoint that
-- needs more (say, Basic credentials) can load this one with
--   dofile(os.getenv("BENCH_LUA"))
-- and then set wrk.headers or define request().

local method = os.getenv("BENCH_METHOD")
if method ~= nil and method ~= "" then
	wrk.method = method
end
local body = os.getenv("BENCH_BODY")
if body ~= nil and body ~= "" then
	wrk.body = body
	wrk.headers["Content-Type"] = os.getenv("BENCH_CONTENT_TYPE")
	    or "application/x-www-form-urlencoded"
end

function done(summary, latency, requests)
	local secs = summary.duration / 1e6
	local e = summary.errors
	io.write(string.format(
	    "BENCH requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d " ..
	    "p99_us=%d max_us=%d non2xx=%d err_connect=%d err_read=%d " ..
	    "err_write=%d err_timeout=%d\n",
	    summary.requests, summary.duration, summary.requests / secs,
	    latency:percentile(50), latency:percentile(90),
	    latency:percentile(99), latency.max, e.status, e.connect,
	    e.read, e.write, e.timeout))
end
