"""
Body and header limits.

Setup: the shared TLS and plain instances (defaults: --max-body 16384,
--max-headers 8192) and a TLS instance with --max-body 1000.

Expected:
- POST /healthz with a 20 KiB body (Content-Length) -> 413, Content-Type
  application/json, JSON body with "error". Same with a chunked body of
  20 KiB (5 chunks of 4 KiB).
- --max-body 1000: a 1500-byte body -> 413; a 500-byte body -> 405 (within
  the limit, and POST /healthz is not allowed), not 413.
- A request with one 9000-byte header (over --max-headers 8192) -> 431 or
  400 with a JSON body; the server answers /healthz afterwards.
- The plain instance answers 413 the same way.
"""

from tokend_harness import (check, check_eq, expect_json_error, scenario)


def post_body(t, n, path="/healthz"):
    head = ("POST %s HTTP/1.1\r\nHost: localhost\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            "Content-Length: %d\r\n\r\n" % (path, n)).encode()
    r, _ = t.raw_exchange(head + b"a" * n, timeout=10)
    check(r is not None, "POST with a %d-byte body: no response" % n)
    return r


def post_chunked(t, total, chunk=4096, path="/healthz"):
    data = ("POST %s HTTP/1.1\r\nHost: localhost\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            "Transfer-Encoding: chunked\r\n\r\n" % path).encode()
    left = total
    while left > 0:
        n = min(chunk, left)
        data += b"%x\r\n" % n + b"b" * n + b"\r\n"
        left -= n
    data += b"0\r\n\r\n"
    r, _ = t.raw_exchange(data, timeout=10)
    check(r is not None, "chunked POST of %d bytes: no response" % total)
    return r


def check_healthz(t, what):
    r = t.request("GET", "/healthz")
    check_eq(r.status, 200, "GET /healthz after %s" % what)


@scenario("body_limit_default[tls]")
def body_limit_tls(ctx):
    t = ctx.tls_default()
    expect_json_error(post_body(t, 20 * 1024), 413, "20 KiB body")
    expect_json_error(post_chunked(t, 20 * 1024), 413, "20 KiB chunked body")
    # Just under the default limit is not refused for its size.
    r = post_body(t, 16000)
    expect_json_error(r, 405, "16000-byte body to POST /healthz")
    check_healthz(t, "oversized bodies")


@scenario("body_limit_default[plain]")
def body_limit_plain(ctx):
    t = ctx.plain_default()
    expect_json_error(post_body(t, 20 * 1024), 413, "20 KiB body")
    expect_json_error(post_chunked(t, 20 * 1024), 413, "20 KiB chunked body")
    check_healthz(t, "oversized bodies")


@scenario("body_limit_custom")
def body_limit_custom(ctx):
    t = ctx.start_tokend("maxbody1000", args=["--max-body", "1000"])
    expect_json_error(post_body(t, 1500), 413, "1500-byte body, limit 1000")
    expect_json_error(post_body(t, 500), 405, "500-byte body, limit 1000")
    expect_json_error(post_chunked(t, 1500, chunk=500), 413,
                      "1500-byte chunked body, limit 1000")
    check_healthz(t, "oversized bodies")
    t.stop()


@scenario("header_limit[tls]")
def header_limit(ctx):
    t = ctx.tls_default()
    req = ("GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: %s\r\n\r\n"
           % ("h" * 9000)).encode()
    r, _ = t.raw_exchange(req, timeout=10)
    check(r is not None, "9000-byte header: no response")
    check(r.status in (431, 400),
          "9000-byte header: status %d, expected 431 or 400" % r.status)
    expect_json_error(r, r.status, "9000-byte header")
    # Many smaller headers adding up to more than the limit.
    req = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n"
    for i in range(100):
        req += b"X-H%d: %s\r\n" % (i, b"v" * 100)
    r, _ = t.raw_exchange(req + b"\r\n", timeout=10)
    check(r is not None, "100 headers of 100 bytes: no response")
    check(r.status in (431, 400),
          "100 headers of 100 bytes: status %d, expected 431 or 400"
          % r.status)
    expect_json_error(r, r.status, "100 headers of 100 bytes")
    # A header that fits is fine.
    r = t.request("GET", "/healthz", headers={"X-Ok": "o" * 4000})
    check_eq(r.status, 200, "GET /healthz with a 4000-byte header")
    check_healthz(t, "oversized headers")
