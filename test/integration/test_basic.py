"""
Basic HTTP behaviour, on both transports.

Setup: the shared TLS instance ("tls": defaults, --workers 2) and the
shared plain instance ("plain": --plain-http); the [plain] variants run a
subset of the same checks.

Expected:
- GET /healthz -> 200, Content-Type application/json, {"status":"ok"}.
- GET / -> 200 text/html containing "tokend" and links to
  /.well-known/oauth-authorization-server and /.well-known/jwks.json.
- HEAD /healthz -> 200 with no body; the connection stays usable (no stray
  body bytes precede the next response).
- GET /no/such/path -> 404, JSON body with "error".
- POST /healthz, DELETE /readyz -> 405 with an Allow header containing GET
  and a JSON body; PUT / -> 405 (with Allow, JSON).
- Keep-alive: five requests on one connection all answer 200 over the same
  socket; an HTTP/1.0 request is answered 200 with the JSON body.
- A malformed request line ("GARBAGE") -> 400 with a JSON body or the
  connection closed, never a hang; the server still answers afterwards.
"""

import socket
import time

from tokend_harness import (check, check_eq, expect_json_error, fail,
                            recv_response, scenario, short)


def instance(ctx, transport):
    return ctx.tls_default() if transport == "tls" else ctx.plain_default()


def check_healthz(t):
    r = t.request("GET", "/healthz")
    check_eq(r.status, 200, "GET /healthz status")
    check_eq(r.content_type(), "application/json", "GET /healthz Content-Type")
    check_eq(r.json, {"status": "ok"}, "GET /healthz body")


def check_index(t):
    r = t.request("GET", "/")
    check_eq(r.status, 200, "GET / status")
    check_eq(r.content_type(), "text/html", "GET / Content-Type")
    body = r.body.decode("utf-8", "replace")
    check("tokend" in body, "GET / does not mention tokend: %s" % short(body))
    for link in ("/.well-known/oauth-authorization-server",
                 "/.well-known/jwks.json"):
        check('href="%s"' % link in body,
              "GET / has no link to %s: %s" % (link, short(body, 400)))


def check_head(t):
    s = t.raw_socket()
    try:
        s.sendall(b"HEAD /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        # Collect everything the server sends until it has been quiet for
        # 0.5 s: a HEAD response ends with its header block.
        data = b""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            s.settimeout(0.5)
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                if b"\r\n\r\n" in data:
                    break
                continue
            if not chunk:
                break
            data += chunk
        end = data.find(b"\r\n\r\n")
        check(end >= 0, "HEAD /healthz: no complete response: %r"
              % data[:200])
        check(data.startswith(b"HTTP/1.1 200 ") or
              data.startswith(b"HTTP/1.0 200 "),
              "HEAD /healthz status line: %r" % data[:40])
        check_eq(data[end + 4:], b"", "bytes after the HEAD response headers")
        # The next response on the same connection must parse cleanly.
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        r, _ = recv_response(s, timeout=5)
        check(r is not None, "GET after HEAD: no response")
        check_eq((r.status, r.json), (200, {"status": "ok"}),
                 "GET after HEAD on the same connection")
    finally:
        s.close()


def check_errors(t):
    r = t.request("GET", "/no/such/path")
    expect_json_error(r, 404, "GET /no/such/path")
    for method, path in (("POST", "/healthz"), ("DELETE", "/readyz"),
                         ("PUT", "/")):
        r = t.request(method, path, body=b"" if method != "DELETE" else None)
        what = "%s %s" % (method, path)
        expect_json_error(r, 405, what)
        allow = r.header("Allow")
        check(allow is not None, "%s: no Allow header" % what)
        methods = [m.strip() for m in allow.split(",")]
        check("GET" in methods, "%s: Allow %r lacks GET" % (what, allow))
        check(method not in methods,
              "%s: Allow %r lists the refused method" % (what, allow))


def check_keepalive(t):
    conn = t.connection()
    try:
        conn.connect()
        sock = conn.sock
        for i in range(5):
            path = ("/healthz", "/", "/readyz", "/no/such", "/healthz")[i]
            r = t.request("GET", path, conn=conn)
            check(r.status in (200, 404, 503),
                  "keep-alive request %d (%s): status %d"
                  % (i, path, r.status))
            check(not r.will_close,
                  "keep-alive request %d (%s): server closes the connection"
                  % (i, path))
            check(conn.sock is sock,
                  "keep-alive request %d: the connection was re-opened" % i)
    finally:
        conn.close()


def check_http10(t):
    s = t.raw_socket()
    try:
        r, _ = t.raw_exchange(b"GET /healthz HTTP/1.0\r\n\r\n", sock=s)
        check(r is not None, "HTTP/1.0 request: no response")
        check_eq(r.status, 200, "HTTP/1.0 GET /healthz status")
        check_eq(r.json, {"status": "ok"}, "HTTP/1.0 GET /healthz body")
    finally:
        s.close()


def check_garbage(t):
    s = t.raw_socket()
    try:
        s.sendall(b"GARBAGE\r\n\r\n")
        r, closed = recv_response(s, timeout=5)
        if r is not None:
            expect_json_error(r, 400, "malformed request line")
        elif not closed:
            fail("malformed request line: no answer and connection still "
                 "open after 5 s")
    finally:
        s.close()
    check_healthz(t)


@scenario("basic_endpoints[tls]")
def basic_tls(ctx):
    t = instance(ctx, "tls")
    check_healthz(t)
    check_index(t)
    check_head(t)


@scenario("basic_endpoints[plain]")
def basic_plain(ctx):
    t = instance(ctx, "plain")
    check_healthz(t)
    check_index(t)
    check_head(t)


@scenario("errors_404_405[tls]")
def errors_tls(ctx):
    check_errors(instance(ctx, "tls"))


@scenario("errors_404_405[plain]")
def errors_plain(ctx):
    check_errors(instance(ctx, "plain"))


@scenario("keepalive_http10[tls]")
def keepalive_tls(ctx):
    t = instance(ctx, "tls")
    check_keepalive(t)
    check_http10(t)


@scenario("keepalive_http10[plain]")
def keepalive_plain(ctx):
    t = instance(ctx, "plain")
    check_keepalive(t)
    check_http10(t)


@scenario("malformed_request_line[tls]")
def garbage_tls(ctx):
    check_garbage(instance(ctx, "tls"))


@scenario("malformed_request_line[plain]")
def garbage_plain(ctx):
    check_garbage(instance(ctx, "plain"))
