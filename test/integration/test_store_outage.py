"""
Losing Redis: /readyz, recovery, one log line per state change, and a
stalled (SIGSTOPped) Redis.

Setup:
- "readyz_outage": the shared TLS instance (--workers 2, --redis-timeout
  500); redis-server is killed with SIGKILL and restarted on the same port.
- "readyz_stalled_redis": TLS instance with --redis-timeout 300; redis-server
  is SIGSTOPped, then SIGCONTed.
Every /readyz probe uses a new connection, so both workers get asked.

Expected:
- Before: /readyz -> 200 {"ready":true,...} on 4 connections in a row.
- Redis killed: within 2.5 s /readyz -> 503 with a JSON "reason" that
  mentions the store, on 4 connections in a row; /healthz stays 200; no
  probe takes more than 1.5 s.
- Redis restarted on the same port: /readyz -> 200 again within 7 s,
  without restarting tokend.
- The log of that outage has exactly one event=store_down line and exactly
  one event=store_up line (not one per request, retry or worker).
- Redis SIGSTOPped: every /readyz answers within 1.5 s (never hangs), and a
  503 comes within 1.5 s of the SIGSTOP; after SIGCONT, 200 again within
  7 s.
"""

import time

from tokend_harness import check, check_eq, fail, scenario, short

PROBE_MAX = 1.5          # no /readyz may take longer than this


def probe(t, what):
    """One /readyz on a new connection: (Response, seconds)."""
    t0 = time.monotonic()
    r = t.request("GET", "/readyz", timeout=10)
    dt = time.monotonic() - t0
    check(dt <= PROBE_MAX, "%s: /readyz took %.2f s (limit %.1f s)"
          % (what, dt, PROBE_MAX))
    return r, dt


def wait_stable(t, status, timeout, what, n=4):
    """Poll /readyz until n probes in a row answer status; the last one."""
    t0 = time.monotonic()
    streak, last = 0, None
    while True:
        r, _ = probe(t, what)
        last = r
        streak = streak + 1 if r.status == status else 0
        if streak >= n:
            return r, time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            fail("%s: /readyz not %d on %d probes in a row within %.1f s "
                 "(last %d %s)" % (what, status, n, timeout, last.status,
                                   short(last.body)))
        time.sleep(0.05 if r.status == status else 0.1)


def check_not_ready(r, what):
    check_eq(r.status, 503, what + ": status")
    check_eq(r.content_type(), "application/json", what + ": Content-Type")
    check(isinstance(r.json, dict), what + ": body is not JSON: %s"
          % short(r.body))
    reason = r.json.get("reason")
    check(isinstance(reason, str) and "store" in reason.lower(),
          what + ": reason does not mention the store: %s" % short(r.body))
    check(r.json.get("ready") is not True, what + ": says ready")


@scenario("readyz_outage")
def readyz_outage(ctx):
    t = ctx.tls_default()
    r, _ = wait_stable(t, 200, 5, "before the outage")
    check(isinstance(r.json, dict) and r.json.get("ready") is True,
          "/readyz 200 body lacks ready:true: %s" % short(r.body))
    offset = t.log_offset()

    ctx.redis.kill()
    t_kill = time.monotonic()
    r, _ = wait_stable(t, 503, 2.5, "redis killed", n=1)
    ctx.vlog("503 after %.2f s" % (time.monotonic() - t_kill))
    check_not_ready(r, "redis killed")
    r, _ = wait_stable(t, 503, 1.0, "redis killed (both workers)")
    check_not_ready(r, "redis killed")
    check_eq(t.request("GET", "/healthz").status, 200,
             "/healthz while redis is down")
    # Let the reconnect loop retry a few times and keep asking.
    t_end = time.monotonic() + 1.5
    while time.monotonic() < t_end:
        r, _ = probe(t, "redis down")
        check_eq(r.status, 503, "/readyz while redis is down")
        time.sleep(0.1)

    ctx.redis.start()
    _, dt = wait_stable(t, 200, 7.0, "redis restarted")
    ctx.vlog("ready again %.2f s after the restart" % dt)
    check(t.running(), "tokend exited during the outage")

    time.sleep(0.3)
    down = t.log_lines(r"event=store_down\b", offset)
    up = t.log_lines(r"event=store_up\b", offset)
    check_eq(len(down), 1, "event=store_down lines for one outage (%s)"
             % short(" | ".join(down), 400))
    check_eq(len(up), 1, "event=store_up lines for one outage (%s)"
             % short(" | ".join(up), 400))


@scenario("readyz_stalled_redis")
def readyz_stalled(ctx):
    t = ctx.start_tokend("redis300", args=["--redis-timeout", "300"])
    wait_stable(t, 200, 5, "before SIGSTOP")

    ctx.redis.pause()
    try:
        t_stop = time.monotonic()
        first_503 = None
        while time.monotonic() - t_stop < PROBE_MAX:
            r, dt = probe(t, "redis stopped")
            if r.status == 503:
                first_503 = time.monotonic() - t_stop
                check_not_ready(r, "redis stopped")
                break
            check_eq(r.status, 200, "/readyz while redis is stopped")
            time.sleep(0.05)
        check(first_503 is not None,
              "/readyz still 200 %.1f s after redis was SIGSTOPped "
              "(--redis-timeout 300)" % PROBE_MAX)
        ctx.vlog("first 503 %.2f s after SIGSTOP" % first_503)
        # Still stopped: every probe answers promptly.
        for i in range(4):
            r, _ = probe(t, "redis still stopped")
            check_eq(r.status, 503, "/readyz %d while redis is stopped"
                     % (i + 1))
        check_eq(t.request("GET", "/healthz").status, 200,
                 "/healthz while redis is stopped")
    finally:
        ctx.redis.cont()
    _, dt = wait_stable(t, 200, 7.0, "after SIGCONT")
    ctx.vlog("ready %.2f s after SIGCONT" % dt)
    t.stop()
