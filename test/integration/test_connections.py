"""
The cap on open connections.

Setup: TLS instance with --max-connections 5 --workers 1.

Expected:
- 5 keep-alive connections, each having done one GET /healthz (200), are
  held open.
- A 6th connection's request -> 503, JSON error temporarily_unavailable,
  header Connection: close, and the server closes that connection.
- The 5 held connections still answer 200.
- After 2 of them are closed, a new connection gets 200 again (within 3 s).
"""

import time

from tokend_harness import (check, check_eq, expect_json_error, poll_until,
                            scenario)


@scenario("connection_cap")
def connection_cap(ctx):
    t = ctx.start_tokend("cap", workers=1, args=["--max-connections", "5"])
    # The readiness probe's connection must be gone before we count.
    time.sleep(0.3)
    held = []
    try:
        for i in range(5):
            c = t.connection()
            r = t.request("GET", "/healthz", conn=c)
            check_eq(r.status, 200, "held connection %d" % (i + 1))
            held.append(c)

        sixth = t.connection()
        try:
            r = t.request("GET", "/healthz", conn=sixth)
            expect_json_error(r, 503, "6th connection",
                              "temporarily_unavailable")
            check_eq((r.header("Connection") or "").lower(), "close",
                     "6th connection: Connection header")
            check(r.will_close, "6th connection: not marked to close")
        finally:
            sixth.close()

        for i, c in enumerate(held):
            r = t.request("GET", "/healthz", conn=c)
            check_eq(r.status, 200, "held connection %d after the refusal"
                     % (i + 1))

        for c in held[:2]:
            c.close()
        del held[:2]

        def fresh_ok():
            return t.request("GET", "/healthz").status == 200
        _, elapsed = poll_until(fresh_ok, 3.0, 0.2)
        check(elapsed is not None,
              "new connections still refused 3 s after closing 2 of 5")
        # Two slots are free: two new connections fit at once (after the
        # probe's own connection has been seen closed).
        time.sleep(0.5)
        extra = [t.connection(), t.connection()]
        held.extend(extra)
        for i, c in enumerate(extra):
            check_eq(t.request("GET", "/healthz", conn=c).status, 200,
                     "new held connection %d" % (i + 1))
    finally:
        for c in held:
            c.close()
    t.stop()
