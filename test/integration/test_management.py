"""
The management listener (--management-listen): /metrics off the public
port.

Setup: instances of their own on the harness's Redis, each with
--management-listen 127.0.0.1:<a free port> (the harness gives every
instance one), unless a case says otherwise.

Expected:
- management_metrics_not_public (TLS, --workers 2): over the public TLS
  port GET, HEAD, POST and PUT /metrics, and /metrics with a query, are
  404 JSON not_found (no Allow header: the public port does not say that
  /metrics exists), and the index page does not name it; /healthz and
  /readyz are 200 there. On the management port (plain HTTP) /metrics is
  200 Prometheus text (HEAD too, without a body) whose
  tokend_tokens_issued_total has the client_id label of a client that got
  20 tokens over fresh public connections, spread over both workers (the
  access lines say which): exactly 20, so the scrape, served by worker 0,
  sums worker 1's shard too; /healthz and /readyz are 200 JSON there;
  /, /oauth/token (GET and POST), /verify, /.well-known/jwks.json and
  /nope are 404 JSON, POST /metrics and DELETE /healthz 405 with
  Allow: GET, HEAD. Access lines: listener=public for the public
  requests, listener=management for the others. Metrics: the public
  /metrics requests count as endpoint "other" code 404, the management
  /healthz under "/healthz", scrapes under "/metrics".
- management_off: --management-listen off, and
  TOKEND_MANAGEMENT_LISTEN=off: the process listens on its public port
  only (its sockets in /proc), no management_listening line; and without
  any setting (when 127.0.0.1:9600 is free at the time) it listens on
  127.0.0.1:9600, where /metrics answers 200.
- management_port_in_use: --management-listen on a port a plain socket
  listens on, on one a SO_REUSEPORT socket of the same user listens on,
  and on the public port itself: exit 2 within 10 s, one "tokend: ..."
  line naming --management-listen and TOKEND_MANAGEMENT_LISTEN and
  "Address already in use", no event=listening line, and the public port
  closed afterwards. --listen on a busy port: exit 2, the line names
  --listen.
- management_sigterm (TLS, --workers 2): with a keep-alive connection
  idle on each listener and a /readyz in flight on the management one
  (Redis SIGSTOPped, so its PING waits for --redis-timeout 1000), SIGTERM:
  the /readyz is answered (503 "command timed out"),
  tokend exits 0, and neither port accepts connections afterwards.
- management_limits (plain, --workers 1, --max-connections 2,
  --request-timeout 2): the public port at its cap (2 held connections, a
  3rd is 503) does not stop the management port (200); 64 held management
  connections do not count against the public cap (a public request is
  still 200), and a 65th management connection is 503
  temporarily_unavailable with Retry-After and is closed; headers over
  8 KiB are 400, a body over 1 KiB is 413, a NUL byte is 400 (JSON
  each); a silent management connection and one trickling a header
  byte every 0.4 s are closed within 2 s + slack.
- management_parallel (plain, --workers 2): 8 threads x 25 mixed
  management requests (scrapes, HEAD, /healthz, /readyz, unknown paths,
  wrong methods) alongside public token requests: every answer is the
  expected one, and the last scrape counts every token.
- management_ipv6 (when ::1 is available): --management-listen
  [::1]:<port>: /metrics 200 over IPv6, the access line has peer=::1 and
  listener=management.
"""

import http.client
import os
import re
import signal
import socket
import subprocess
import threading
import time

from jwt_helpers import Admin, get_token, start_instance, uid
from tokend_harness import (check, check_eq, child_env, expect_json_error,
                            fail, free_port, ipv6_loopback_available,
                            poll_until, port_listening, recv_response,
                            scaled, scenario, short, skip, wait_closed,
                            wait_exit)

PROM = "text/plain; version=0.0.4; charset=utf-8"


def listening_ports(pid):
    """The TCP ports process pid has a listening socket on (from the
    socket inodes of /proc/PID/fd and /proc/PID/net/tcp{,6})."""
    inodes = set()
    fd_dir = "/proc/%d/fd" % pid
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(os.path.join(fd_dir, fd))
        except OSError:
            continue
        m = re.fullmatch(r"socket:\[(\d+)\]", target)
        if m:
            inodes.add(m.group(1))
    ports = set()
    for table in ("tcp", "tcp6"):
        try:
            with open("/proc/%d/net/%s" % (pid, table)) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            # local address, state 0A (LISTEN), inode
            if cols[3] == "0A" and cols[9] in inodes:
                ports.add(int(cols[1].rsplit(":", 1)[1], 16))
    return ports


def metric(text, name, **labels):
    """The value of one sample of a scrape (0 when absent)."""
    want = ",".join('%s="%s"' % kv for kv in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = re.fullmatch(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)",
                         line)
        if not m or m.group(1) != name:
            continue
        got = ",".join(sorted((m.group(2) or "").split(","))) \
            if m.group(2) else ""
        if got == want:
            return float(m.group(3))
    return 0


def scrape(t):
    r = t.mgmt_request("GET", "/metrics")
    check_eq(r.status, 200, "management GET /metrics")
    check_eq(r.header("Content-Type"), PROM, "management /metrics type")
    return r.body.decode()


@scenario("management_metrics_not_public")
def management_metrics_not_public(ctx):
    t = start_instance(ctx, "mgmt-apart", workers=2)
    off = t.log_offset()

    # The public port: /metrics does not exist there.
    for method in ("GET", "HEAD", "POST", "PUT"):
        r = t.request(method, "/metrics",
                      body=b"" if method in ("POST", "PUT") else None)
        check_eq(r.status, 404, "public %s /metrics" % method)
        check(r.header("Allow") is None, "public %s /metrics has Allow: %s"
              % (method, r.header("Allow")))
        if method != "HEAD":
            expect_json_error(r, 404, "public %s /metrics" % method,
                              "not_found")
    expect_json_error(t.request("GET", "/metrics?format=text"), 404,
                      "public /metrics?format=text", "not_found")
    r = t.request("GET", "/")
    check_eq(r.status, 200, "public index page")
    check(b"/metrics" not in r.body, "the index page names /metrics: %s"
          % short(r.body, 400))
    for path in ("/healthz", "/readyz"):
        check_eq(t.request("GET", path).status, 200, "public " + path)

    # The management port: operators' endpoints, nothing else.
    for path in ("/healthz", "/readyz"):
        r = t.mgmt_request("GET", path)
        check_eq(r.status, 200, "management " + path)
        check_eq(r.content_type(), "application/json",
                 "management %s Content-Type" % path)
    check_eq(t.mgmt_request("GET", "/readyz").json.get("ready"), True,
             "management /readyz body")
    r = t.mgmt_request("HEAD", "/metrics")
    check_eq(r.status, 200, "management HEAD /metrics")
    check_eq(r.header("Content-Type"), PROM, "HEAD /metrics Content-Type")
    check_eq(r.body, b"", "HEAD /metrics body")
    for method, path in (("GET", "/"), ("GET", "/oauth/token"),
                         ("POST", "/oauth/token"), ("GET", "/verify"),
                         ("GET", "/.well-known/jwks.json"),
                         ("GET", "/nope")):
        r = t.mgmt_request(method, path,
                           body=b"" if method == "POST" else None)
        expect_json_error(r, 404, "management %s %s" % (method, path),
                          "not_found")
    for method, path in (("POST", "/metrics"), ("DELETE", "/healthz")):
        r = t.mgmt_request(method, path,
                           body=b"" if method == "POST" else None)
        expect_json_error(r, 405, "management %s %s" % (method, path),
                          "method_not_allowed")
        check_eq(r.header("Allow"), "GET, HEAD",
                 "management %s %s Allow" % (method, path))

    # Tokens over fresh public connections land on both workers; the
    # scrape, answered by worker 0, counts them all.
    admin = Admin(ctx)
    cid = uid("mgmt")
    secret = admin.add(cid)
    issued = 0
    workers = set()
    tok_off = t.log_offset()
    while issued < 20 or (len(workers) < 2 and issued < 200):
        get_token(t, cid, secret)
        issued += 1
        if issued % 10 == 0:
            time.sleep(0.1)
            workers = set(re.findall(
                r"path=/oauth/token status=200 .*worker=(\d)",
                t.log_since(tok_off)))
    check(len(workers) == 2, "all %d tokens were issued by worker(s) %s"
          % (issued, workers))

    def counted():
        return metric(scrape(t), "tokend_tokens_issued_total",
                      client_id=cid) >= issued
    poll_until(counted, 3)
    text = scrape(t)
    check_eq(metric(text, "tokend_tokens_issued_total", client_id=cid),
             issued, "tokend_tokens_issued_total{client_id} on the "
             "management port")
    check('client_id="%s"' % cid in text, "no client_id label")
    check_eq(metric(text, "tokend_http_requests_total",
                    endpoint="/oauth/token", code="200"), issued,
             "tokens counted by endpoint")
    check(metric(text, "tokend_http_requests_total", endpoint="other",
                 code="404") >= 6,
          "the public /metrics 404s are not counted as endpoint other")
    check(metric(text, "tokend_http_requests_total", endpoint="/metrics",
                 code="200") >= 2, "scrapes not counted under /metrics")
    check(metric(text, "tokend_http_requests_total", endpoint="/healthz",
                 code="200") >= 2, "/healthz of both listeners")

    # The access log tells the listeners apart.
    lines = t.log_lines(r"event=access\b", off)
    pub = [ln for ln in lines if "path=/metrics " in ln and
           "status=404" in ln]
    check(len(pub) >= 5 and all("listener=public" in ln for ln in pub),
          "public /metrics access lines: %s" % short(" | ".join(pub), 600))
    mg = [ln for ln in lines if "path=/metrics " in ln and
          "status=200" in ln]
    check(mg and all("listener=management" in ln and "worker=0" in ln
                     for ln in mg),
          "management /metrics access lines: %s" % short(" | ".join(mg),
                                                         600))
    check(all(re.search(r" listener=(public|management) request_id=", ln)
              for ln in lines),
          "an access line without listener= before request_id")
    t.wait_log(r"event=management_listening addr=127\.0\.0\.1 port=%d\b"
               % t.management_address()[1])


@scenario("management_off")
def management_off(ctx):
    for what, kw in (("--management-listen off",
                      dict(args=["--management-listen", "off"])),
                     ("TOKEND_MANAGEMENT_LISTEN=off",
                      dict(env={"TOKEND_MANAGEMENT_LISTEN": "off"}))):
        t = start_instance(ctx, "mgmt-off", workers=2, **kw)
        check(t.management_address() is None, what + ": harness view")
        ports = listening_ports(t.proc.pid)
        check_eq(ports, {t.port}, what + ": listening ports")
        check(not t.log_lines(r"event=management_listening"),
              what + ": a management_listening line")
        check_eq(t.request("GET", "/metrics").status, 404,
                 what + ": public /metrics")
        t.stop()

    # The default, 127.0.0.1:9600, when nothing else holds it now.
    if port_listening(9600):
        ctx.vlog("127.0.0.1:9600 is busy: the default is not tried")
        return
    t = start_instance(ctx, "mgmt-default", workers=1,
                       drop=["--management-listen"])
    check_eq(t.management_address(), ("127.0.0.1", 9600), "harness view")
    check_eq(listening_ports(t.proc.pid), {t.port, 9600},
             "listening ports with the default")
    r = t.mgmt_request("GET", "/metrics")
    check_eq(r.status, 200, "GET /metrics on 127.0.0.1:9600")
    t.stop()


def run_expect_exit2(ctx, argv, names, what):
    """tokend exits 2 within 10 s with one "tokend: " line naming names."""
    ctx.vlog("run: %s" % " ".join(argv[1:]))
    r = subprocess.run(ctx.wrapper + argv, capture_output=True,
                       timeout=scaled(10), stdin=subprocess.DEVNULL,
                       env=child_env())
    err = r.stderr.decode("utf-8", "replace")
    check_eq(r.returncode, 2, "%s: exit status (stderr %s)"
             % (what, short(err, 400)))
    errors = [ln for ln in err.splitlines() if ln.startswith("tokend: ")]
    check_eq(len(errors), 1, "%s: tokend: lines in %s" % (what,
                                                          short(err, 400)))
    for n in names:
        check(n in errors[0], "%s: %r does not name %s" % (what, errors[0],
                                                            n))
    check("event=listening" not in err, what + ": it said it listened")
    return errors[0]


@scenario("management_port_in_use")
def management_port_in_use(ctx):
    names = ["--management-listen", "TOKEND_MANAGEMENT_LISTEN",
             "Address already in use"]
    plain = socket.socket()
    plain.bind(("127.0.0.1", 0))
    plain.listen(1)
    shared = socket.socket()
    shared.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    shared.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    shared.bind(("127.0.0.1", 0))
    shared.listen(1)
    ctx.track_socket(plain)
    ctx.track_socket(shared)
    for what, mport in (("a plain socket's port", plain.getsockname()[1]),
                        ("a SO_REUSEPORT socket's port",
                         shared.getsockname()[1]),
                        ("the public port", None)):
        port = free_port()
        argv = [ctx.tokend_bin, "--listen", "127.0.0.1:%d" % port,
                "--redis", "redis://127.0.0.1:%d" % ctx.redis.port,
                "--signing-key", ctx.pki.signing_key,
                "--tls-cert", ctx.pki.cert, "--tls-key", ctx.pki.key,
                "--workers", "2",
                "--management-listen", "127.0.0.1:%d" % (mport or port)]
        line = run_expect_exit2(ctx, argv, names, what)
        check(str(mport or port) in line, "%s: %r does not name the port"
              % (what, line))
        check(not port_listening(port), what + ": the public port is open")

    # --listen on a busy port: the same, naming --listen.
    argv = [ctx.tokend_bin, "--listen", "127.0.0.1:%d"
            % plain.getsockname()[1],
            "--redis", "redis://127.0.0.1:%d" % ctx.redis.port,
            "--signing-key", ctx.pki.signing_key,
            "--tls-cert", ctx.pki.cert, "--tls-key", ctx.pki.key,
            "--management-listen", "127.0.0.1:%d" % free_port()]
    run_expect_exit2(ctx, argv, ["--listen / TOKEND_LISTEN",
                                 "Address already in use"], "--listen busy")


@scenario("management_sigterm", timeout=90)
def management_sigterm(ctx):
    t = start_instance(ctx, "mgmt-term", workers=2,
                       args=["--redis-timeout", "1000"])
    maddr = t.management_address()
    pub = t.connection()
    check_eq(t.request("GET", "/healthz", conn=pub).status, 200,
             "public keep-alive")
    mg = t.mgmt_connection()
    check_eq(t.mgmt_request("GET", "/metrics", conn=mg).status, 200,
             "management keep-alive")
    # ready once the store is connected and the view synced (worker 0
    # serves the management listener: its own view, which a loaded machine
    # may sync a moment after the public side answered)
    _, waited = poll_until(
        lambda: t.mgmt_request("GET", "/readyz").status == 200, scaled(5))
    check(waited is not None, "ready: /readyz never answered 200")

    # A /readyz in flight: its PING waits on a stopped Redis.
    result = {}

    def readyz():
        try:
            result["r"] = t.mgmt_request("GET", "/readyz", timeout=15)
        except (OSError, http.client.HTTPException) as e:
            result["e"] = e
    ctx.redis.pause()
    try:
        th = threading.Thread(target=readyz)
        th.start()
        time.sleep(0.3)
        t.signal(signal.SIGTERM)
        th.join(scaled(15))
    finally:
        ctx.redis.cont()
    check("r" in result, "the in-flight /readyz was not answered: %s"
          % result.get("e"))
    r = result["r"]
    check_eq(r.status, 503, "in-flight /readyz during the drain")
    check("timed out" in short(r.body), "/readyz reason: %s"
          % short(r.body))
    # One SIGTERM only: a second one while it exits would be its own test.
    st = wait_exit(t.proc, scaled(15))
    check_eq(st, 0, "exit status after SIGTERM (log %s)" % t.log_tail(4))
    check(not port_listening(t.port), "public port open after SIGTERM")
    check(not port_listening(maddr[1], maddr[0]),
          "management port open after SIGTERM")
    pub.close()
    mg.close()


@scenario("management_limits", timeout=90)
def management_limits(ctx):
    t = start_instance(ctx, "mgmt-limits", tls=False, workers=1,
                       args=["--max-connections", "2",
                             "--request-timeout", "2"])
    host, mport = t.management_address()
    time.sleep(0.3)     # the readiness probe's connection is gone
    held = []
    try:
        # The public port at its cap does not stop the management port.
        for i in range(2):
            c = t.connection()
            check_eq(t.request("GET", "/healthz", conn=c).status, 200,
                     "public connection %d" % (i + 1))
            held.append(c)
        expect_json_error(t.request("GET", "/healthz"), 503,
                          "3rd public connection", "temporarily_unavailable")
        check_eq(t.mgmt_request("GET", "/metrics").status, 200,
                 "management /metrics with the public port full")
        for c in held:
            c.close()
        held = []
        poll_until(lambda: t.request("GET", "/healthz").status == 200, 3)

        # 64 management connections: their own cap, not --max-connections.
        time.sleep(0.5)     # the earlier ones are seen closed
        mheld = []
        for i in range(64):
            c = t.mgmt_connection()
            r = t.mgmt_request("GET", "/healthz", conn=c)
            check_eq(r.status, 200, "management connection %d" % (i + 1))
            mheld.append(c)
        held = mheld
        check_eq(t.request("GET", "/healthz").status, 200,
                 "public request with 64 management connections open")
        s = socket.create_connection((host, mport), timeout=scaled(5))
        ctx.track_socket(s)
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        r, closed = recv_response(s, scaled(5))
        check(r is not None, "65th management connection: no answer")
        expect_json_error(r, 503, "65th management connection",
                          "temporarily_unavailable")
        check_eq(r.header("Retry-After"), "1", "65th: Retry-After")
        check(closed or wait_closed(s, scaled(3)) is not None,
              "65th management connection not closed")
        for c in held:
            c.close()
        held = []
        poll_until(lambda: t.mgmt_request("GET", "/healthz").status == 200,
                   3)

        # Small limits of its own.
        def raw(data):
            s = socket.create_connection((host, mport), timeout=scaled(5))
            ctx.track_socket(s)
            try:
                s.sendall(data)
            except OSError:
                pass
            return recv_response(s, scaled(5))[0]
        r = raw(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: " +
                b"a" * 9000 + b"\r\n\r\n")
        check(r is not None, "headers over 8 KiB: no answer")
        expect_json_error(r, 400, "management headers over 8 KiB")
        r = raw(b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: "
                b"2048\r\n\r\n" + b"x" * 2048)
        check(r is not None, "body over 1 KiB: no answer")
        expect_json_error(r, 413, "management body over 1 KiB")
        r = raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n")
        check(r is not None, "NUL byte: no answer")
        expect_json_error(r, 400, "management NUL byte")

        # Silent and trickling connections are cut by the deadline.
        silent = socket.create_connection((host, mport), timeout=5)
        ctx.track_socket(silent)
        took = wait_closed(silent, scaled(6))
        check(took is not None and took < scaled(4.5),
              "a silent management connection open for %s s" % took)
        slow = socket.create_connection((host, mport), timeout=5)
        ctx.track_socket(slow)
        t0 = time.monotonic()
        closed_after = None
        for b in b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 40:
            try:
                slow.sendall(bytes([b]))
            except OSError:
                closed_after = time.monotonic() - t0
                break
            if wait_closed(slow, 0.4) is not None:
                closed_after = time.monotonic() - t0
                break
        check(closed_after is not None and closed_after < scaled(4.5),
              "a trickling management connection open for %s s"
              % closed_after)
        check_eq(t.mgmt_request("GET", "/healthz").status, 200,
                 "management port after the limits")
    finally:
        for c in held:
            c.close()


@scenario("management_parallel", timeout=90)
def management_parallel(ctx):
    t = start_instance(ctx, "mgmt-par", tls=False, workers=2)
    admin = Admin(ctx)
    cid = uid("mpar")
    secret = admin.add(cid)
    cases = [("GET", "/metrics", 200), ("HEAD", "/metrics", 200),
             ("GET", "/healthz", 200), ("GET", "/readyz", 200),
             ("GET", "/oauth/token", 404), ("POST", "/metrics", 405),
             ("GET", "/metrics/", 404), ("GET", "//metrics", 404),
             ("OPTIONS", "/readyz", 405)]
    problems = []
    tokens = [0]
    lock = threading.Lock()

    def management(n):
        conn = t.mgmt_connection()
        try:
            for i in range(25):
                method, path, status = cases[(n + i) % len(cases)]
                try:
                    r = t.mgmt_request(method, path, conn=conn,
                                       body=b"" if method == "POST"
                                       else None)
                except (OSError, http.client.HTTPException) as e:
                    conn.close()
                    conn = t.mgmt_connection()
                    with lock:
                        problems.append("%s %s: %r" % (method, path, e))
                    continue
                if r.status != status:
                    with lock:
                        problems.append("%s %s: %d, expected %d"
                                        % (method, path, r.status, status))
        finally:
            conn.close()

    def issuing():
        for _ in range(20):
            try:
                get_token(t, cid, secret)
            except Exception as e:          # noqa: BLE001
                with lock:
                    problems.append("token: %r" % e)
                continue
            with lock:
                tokens[0] += 1

    threads = [threading.Thread(target=management, args=(n,))
               for n in range(8)]
    threads += [threading.Thread(target=issuing) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(scaled(60))
    check(not any(th.is_alive() for th in threads), "threads still run")
    check(not problems, "; ".join(problems[:10]))

    def counted():
        return metric(scrape(t), "tokend_tokens_issued_total",
                      client_id=cid) == tokens[0]
    _, took = poll_until(counted, 3)
    check(took is not None, "the scrape does not count %d tokens: %s"
          % (tokens[0], metric(scrape(t), "tokend_tokens_issued_total",
                               client_id=cid)))


@scenario("management_ipv6")
def management_ipv6(ctx):
    if not ipv6_loopback_available():
        skip("no IPv6 loopback")
    mport = free_port(socket.AF_INET6, "::1")
    t = start_instance(ctx, "mgmt-v6", tls=False, workers=1,
                       args=["--management-listen", "[::1]:%d" % mport])
    check_eq(t.management_address(), ("::1", mport), "harness view")
    off = t.log_offset()
    c = http.client.HTTPConnection("::1", mport, timeout=scaled(5))
    try:
        c.request("GET", "/metrics")
        r = c.getresponse()
        body = r.read()
    finally:
        c.close()
    check_eq(r.status, 200, "GET /metrics over IPv6")
    check(b"tokend_build_info" in body, "no tokend_build_info over IPv6")
    line = t.wait_log(r"event=access .*path=/metrics ", off)
    check("peer=::1" in line and "listener=management" in line,
          "access line: %s" % line)
    check(not port_listening(mport, "127.0.0.1"),
          "the IPv6 management port answers on 127.0.0.1")
