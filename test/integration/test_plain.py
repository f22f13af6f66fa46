"""
The plain-HTTP instance (--plain-http).

Setup: the shared plain instance ("plain": --plain-http, --workers 2).

Expected:
- Its log has a warning (level=warn) mentioning plain_http, written at
  start.
- GET /healthz -> 200 {"status":"ok"}; GET /nope -> 404 JSON;
  POST /healthz -> 405 JSON with Allow; a 20 KiB body -> 413 JSON.
- A TLS ClientHello sent to it does not hang the server (it answers
  /healthz afterwards).
"""

from tokend_harness import (check, check_eq, expect_json_error, scenario,
                            tls_client_hello, wait_closed)


@scenario("plain_http_instance")
def plain_http(ctx):
    t = ctx.plain_default()
    warn = [ln for ln in t.log_lines(r"plain_http")
            if "level=warn" in ln]
    check(warn, "no warning mentioning plain_http in the log: %s"
          % t.log_tail(5))

    r = t.request("GET", "/healthz")
    check_eq((r.status, r.json), (200, {"status": "ok"}), "GET /healthz")
    expect_json_error(t.request("GET", "/nope"), 404, "GET /nope")
    r = t.request("POST", "/healthz", body=b"")
    expect_json_error(r, 405, "POST /healthz")
    check("GET" in (r.header("Allow") or ""), "POST /healthz: Allow %r"
          % r.header("Allow"))
    head = (b"POST /healthz HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Length: 20480\r\n\r\n")
    r, _ = t.raw_exchange(head + b"x" * 20480)
    check(r is not None, "20 KiB body: no response")
    expect_json_error(r, 413, "20 KiB body")

    # TLS spoken to the plain port: answered (400) or closed, no hang.
    s = t.raw_socket()
    s.sendall(tls_client_hello())
    elapsed = wait_closed(s, 12)
    s.close()
    check(elapsed is not None, "TLS ClientHello on the plain port: "
          "connection still open after 12 s")
    check_eq(t.request("GET", "/healthz").status, 200,
             "GET /healthz after a ClientHello on the plain port")
