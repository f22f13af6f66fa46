"""
SIGTERM drain and SIGINT.

Setup:
- "sigterm_drain": TLS instance with --redis-timeout 2000 (--workers 2);
  redis-server SIGSTOPped so that a GET /readyz is held in flight by its
  Redis command for about 2 s.
- "sigint_exit": TLS instance with the defaults.

Expected:
- The held /readyz is still in flight when SIGTERM arrives (200 ms after
  it was sent) and gets its full response: 503 with a JSON body, about 2 s
  after it was sent.
- The listening port refuses new connections within 1.5 s of SIGTERM.
- tokend exits with status 0 within 5 s of SIGTERM (the drain is bounded).
- SIGINT: exit status 0 within 5 s; the log says event=shutdown.
"""

import signal
import threading
import time

from tokend_harness import (check, check_eq, port_listening, scenario,
                            short, wait_exit)


@scenario("sigterm_drain")
def sigterm_drain(ctx):
    t = ctx.start_tokend("drain", args=["--redis-timeout", "2000"])
    # Both workers' links must be up, so /readyz reaches Redis.
    ok = 0
    t_end = time.monotonic() + 5
    while ok < 4 and time.monotonic() < t_end:
        ok = ok + 1 if t.request("GET", "/readyz").status == 200 else 0
    check(ok >= 4, "/readyz not 200 before the test")

    result = {}

    def inflight():
        t0 = time.monotonic()
        try:
            result["resp"] = t.request("GET", "/readyz", timeout=15)
        except Exception as e:               # noqa: BLE001
            result["error"] = repr(e)
        result["elapsed"] = time.monotonic() - t0

    ctx.redis.pause()
    try:
        th = threading.Thread(target=inflight, daemon=True)
        th.start()
        time.sleep(0.2)
        check("elapsed" not in result,
              "/readyz answered within 200 ms although redis is stopped "
              "and --redis-timeout is 2000 (%s): nothing was in flight at "
              "SIGTERM" % result.get("resp"))
        t.signal(signal.SIGTERM)
        t_term = time.monotonic()

        refused_at = None
        while time.monotonic() - t_term < 3:
            if not port_listening(t.port, timeout=0.5):
                refused_at = time.monotonic() - t_term
                break
            time.sleep(0.05)
        check(refused_at is not None and refused_at <= 1.5,
              "port still accepting connections %s s after SIGTERM"
              % ("3" if refused_at is None else "%.2f" % refused_at))

        th.join(10)
        check(not th.is_alive(), "in-flight /readyz got no answer in 10 s")
        check("error" not in result,
              "in-flight /readyz failed after SIGTERM: %s"
              % result.get("error"))
        r = result["resp"]
        check_eq(r.status, 503, "in-flight /readyz status (body %s)"
                 % short(r.body))
        check(isinstance(r.json, dict),
              "in-flight /readyz: body is not JSON: %s" % short(r.body))
        check(result["elapsed"] >= 1.0,
              "in-flight /readyz answered after only %.2f s; expected about "
              "2 s (--redis-timeout 2000)" % result["elapsed"])

        st = wait_exit(t.proc, max(0.5, 5 - (time.monotonic() - t_term)))
        check(st is not None, "tokend still running 5 s after SIGTERM")
        check_eq(st, 0, "exit status after SIGTERM (log: %s)"
                 % t.log_tail(5))
    finally:
        ctx.redis.cont()


@scenario("sigint_exit")
def sigint_exit(ctx):
    t = ctx.start_tokend("sigint")
    offset = t.log_offset()
    t.signal(signal.SIGINT)
    st = wait_exit(t.proc, 5)
    check(st is not None, "tokend still running 5 s after SIGINT")
    check_eq(st, 0, "exit status after SIGINT (log: %s)" % t.log_tail(5))
    check(t.log_lines(r"event=shutdown", offset),
          "no event=shutdown line after SIGINT")
