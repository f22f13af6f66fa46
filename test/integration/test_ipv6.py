"""
IPv6 listening address.

Setup: TLS instance with --listen [::1]:PORT (skipped when ::1 cannot be
bound on this machine). The test certificate has the IP SAN ::1.

Expected: GET https://[::1]:PORT/healthz -> 200 {"status":"ok"}, with the
certificate verified for ::1; nothing listens on 127.0.0.1:PORT.
"""

from tokend_harness import (check, check_eq, ipv6_loopback_available,
                            port_listening, scenario, skip)


@scenario("ipv6_listen")
def ipv6_listen(ctx):
    if not ipv6_loopback_available():
        skip("::1 is not available")
    t = ctx.start_tokend("ipv6", host="::1")
    r = t.request("GET", "/healthz")
    check_eq((r.status, r.json), (200, {"status": "ok"}),
             "GET /healthz over [::1]")
    conn = t.connection()
    try:
        conn.connect()
        peer = conn.sock.getpeername()
        check(peer[0] == "::1", "connected to %r, not ::1" % (peer,))
    finally:
        conn.close()
    check(not port_listening(t.port, "127.0.0.1"),
          "127.0.0.1:%d accepts connections although tokend listens on "
          "[::1] only" % t.port)
    t.stop()
