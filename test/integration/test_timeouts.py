"""
Request deadline (slow clients) and idle timeout.

Setup:
- "deadline": TLS, --request-timeout 2 --idle-timeout 30.
- "idle": TLS, --idle-timeout 2 (request timeout left at its default 10).
- the shared TLS instance (request timeout 10) for plain HTTP on the TLS
  port.

Expected (times measured from the TCP connect, or from the last response;
the bounds leave room for a sanitizer build on 2 shared cores):
- slowloris: a request sent one byte every 300 ms, never finished, is cut
  by the server 1.5..4 s after connect although bytes keep coming.
- a TCP connection that sends nothing (not even a ClientHello) is closed
  1.5..4 s after connect.
- a ClientHello and then silence: closed 1.5..4 s after connect.
- a keep-alive connection idle after one request is not cut by the 2 s
  request deadline (still open 3 s later, and still answers).
- plain HTTP sent to the TLS port: closed within 3 s (no hang until the
  10 s deadline) and never answered with an HTTP response.
- --idle-timeout 2: after one request, the server closes the idle
  connection 1.5..4 s later; a connection sending a request every 500 ms
  stays open (same socket, all 200) for more than 3 s.
"""

import socket
import ssl
import time

from tokend_harness import (check, check_eq, fail, recv_response, scenario,
                            tls_client_hello, wait_closed)

LOW, HIGH = 1.5, 4.0


def deadline_instance(ctx):
    return ctx.shared_tokend("deadline", args=["--request-timeout", "2",
                                               "--idle-timeout", "30"])


def check_window(elapsed, what):
    check(elapsed is not None,
          "%s: connection still open after %.0f s" % (what, HIGH + 4))
    check(LOW <= elapsed <= HIGH,
          "%s: closed after %.2f s, expected %.1f..%.1f s"
          % (what, elapsed, LOW, HIGH))


@scenario("slowloris_request_deadline")
def slowloris(ctx):
    t = deadline_instance(ctx)
    t0 = time.monotonic()
    s = t.raw_socket(timeout=5)
    payload = (b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: "
               + b"a" * 1000)
    closed_at = None
    sent = 0
    for b in payload:
        if time.monotonic() - t0 > HIGH + 4:
            break
        try:
            s.sendall(bytes([b]))
            sent += 1
        except (ConnectionError, ssl.SSLError, OSError):
            closed_at = time.monotonic() - t0
            break
        s.settimeout(0.3)
        try:
            chunk = s.recv(4096)
            if not chunk:
                closed_at = time.monotonic() - t0
                break
            # A 408 before the close is acceptable; keep going to the EOF.
        except socket.timeout:
            continue
        except (ConnectionError, ssl.SSLError, OSError):
            closed_at = time.monotonic() - t0
            break
    s.close()
    ctx.vlog("slowloris: %d bytes sent, closed at %s" % (sent, closed_at))
    check(sent >= 3, "slowloris: only %d bytes could be sent" % sent)
    check_window(closed_at, "slowloris (1 byte / 300 ms)")
    check_eq(t.request("GET", "/healthz").status, 200,
             "GET /healthz after slowloris")


@scenario("silent_tcp_client")
def silent_tcp(ctx):
    t = deadline_instance(ctx)
    t0 = time.monotonic()
    s = t.raw_socket(tls=False)
    elapsed = wait_closed(s, HIGH + 4)
    s.close()
    check_window(None if elapsed is None else time.monotonic() - t0,
                 "TCP connect, nothing sent")


@scenario("silent_after_client_hello")
def silent_hello(ctx):
    t = deadline_instance(ctx)
    hello = tls_client_hello()
    check(len(hello) > 50 and hello[0] == 0x16,
          "could not make a ClientHello (%d bytes)" % len(hello))
    t0 = time.monotonic()
    s = t.raw_socket(tls=False)
    s.sendall(hello)
    elapsed = wait_closed(s, HIGH + 4)      # reads the ServerHello & co.
    s.close()
    check_window(None if elapsed is None else time.monotonic() - t0,
                 "ClientHello, then silence")


@scenario("idle_keepalive_not_cut_by_request_deadline")
def idle_not_deadline(ctx):
    t = deadline_instance(ctx)
    conn = t.connection()
    try:
        check_eq(t.request("GET", "/healthz", conn=conn).status, 200,
                 "first request")
        sock = conn.sock
        time.sleep(3.0)          # more than --request-timeout 2
        r = t.request("GET", "/healthz", conn=conn)
        check_eq(r.status, 200, "request after 3 s idle")
        check(conn.sock is sock,
              "connection idle for 3 s (< idle timeout 30) was closed")
    finally:
        conn.close()


@scenario("plain_http_on_tls_port")
def plain_on_tls(ctx):
    t = ctx.tls_default()
    t0 = time.monotonic()
    s = t.raw_socket(tls=False)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
    data = b""
    closed = None
    deadline = t0 + 12
    while time.monotonic() < deadline:
        s.settimeout(0.5)
        try:
            chunk = s.recv(4096)
        except socket.timeout:
            continue
        except OSError:
            closed = time.monotonic() - t0
            break
        if not chunk:
            closed = time.monotonic() - t0
            break
        data += chunk
    s.close()
    check(not data.startswith(b"HTTP/"),
          "plain HTTP on the TLS port got an HTTP answer: %r" % data[:80])
    check(closed is not None, "plain HTTP on the TLS port: still open "
          "after 12 s")
    check(closed <= 3.0, "plain HTTP on the TLS port: closed only after "
          "%.2f s (expected promptly, < 3 s)" % closed)
    check_eq(t.request("GET", "/healthz").status, 200,
             "GET /healthz afterwards")


@scenario("idle_timeout")
def idle_timeout(ctx):
    t = ctx.start_tokend("idle", args=["--idle-timeout", "2"])
    # 1. Idle after one request: closed by the server in about 2 s.
    s = t.raw_socket()
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
    r, closed = recv_response(s, timeout=5)
    check(r is not None and r.status == 200,
          "first request on the idle connection: %r" % (r,))
    check(not closed, "server closed the keep-alive connection at once")
    elapsed = wait_closed(s, HIGH + 4)
    s.close()
    check(elapsed is not None,
          "idle keep-alive connection still open %.0f s after the response "
          "(--idle-timeout 2)" % (HIGH + 4))
    check(LOW <= elapsed <= HIGH,
          "idle connection closed %.2f s after the response, expected "
          "%.1f..%.1f s" % (elapsed, LOW, HIGH))

    # 2. A busy connection outlives the idle timeout.
    conn = t.connection()
    try:
        conn.connect()
        sock = conn.sock
        t0 = time.monotonic()
        n = 0
        while time.monotonic() - t0 < 3.5:
            r = t.request("GET", "/healthz", conn=conn)
            n += 1
            check_eq(r.status, 200, "busy connection request %d" % n)
            if conn.sock is not sock:
                fail("busy connection was closed after %.2f s (request %d)"
                     % (time.monotonic() - t0, n))
            time.sleep(0.5)
        check(n >= 5, "only %d requests in 3.5 s" % n)
    finally:
        conn.close()
    t.stop()
