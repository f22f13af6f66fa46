"""
nginx (Debian's package, with auth_request) in front of an application,
asking tokend's /verify about every request: the way most users deploy
tokend, run for real.

Setup: docs/nginx-auth-request.conf is the configuration, used as it is
with its placeholders replaced (tokend.internal:2600 -> this run's tokend,
tokend.internal -> localhost, /etc/tokend/ca.pem -> the test CA,
upstream_app -> a Python http.server thread here that echoes each
request's method, path, headers and body as JSON, 443 and
/etc/nginx/tls/api.{pem,key} -> a free port and the harness's second
server certificate), inside the http block of nginx_main() (temporary
paths, logs and pid under a scratch directory). nginx runs in the
foreground as one process (master_process off). A scenario-scoped tokend
(TLS, --auth-fail-limit 0). Clients: R ("read"), A ("read admin"), N (no
scopes). Skipped when /usr/sbin/nginx is missing.

Expected:
- every placeholder occurs in the example file (it has not drifted from
  what this test replaces);
- GET /hello?x=1 with R's token -> 200 from the application, which saw
  exactly one X-Token-Client-Id (R) and X-Token-Scope ("read"), the path
  and query unchanged; the same with the client's own X-Token-Client-Id:
  evil and X-Token-Scope: admin -> the application sees only R and
  "read"; a POST with a body -> the application gets the body;
- no token -> 401 with WWW-Authenticate: Bearer realm="tokend"; a
  tampered token, garbage, and a token forged with alg none -> 401 with
  WWW-Authenticate: Bearer error="invalid_token"; N's token (no scope) on
  / -> 403; R's token on /admin/x -> 403; A's token on /admin/x -> 200
  with X-Token-Scope "read admin";
- a token revoked at tokend -> 401 through nginx within 1 s; a token of
  a client then disabled with tokend-client -> 401 within 1 s;
- tokend stopped -> 500 (fails closed), the application not reached;
- the application received exactly the requests that were let through;
- no whole token in tokend's log nor in nginx's access and error logs.
"""

import http.client
import http.server
import json
import os
import signal
import socketserver
import subprocess
import threading
import time

from jwt_helpers import (NO_LIMIT, Admin, Forger, Jws, b64url,
                         check_no_token_in, check_no_token_logged,
                         expect_revoke_ok,
                         get_token, issuer_of, revoke, scratch_dir,
                         start_instance, uid)
import tokend_harness as H
from tokend_harness import (NGINX, check, check_eq, child_env, fail,
                            free_port, nginx_main, port_listening,
                            scenario, short, skip)

EXAMPLE = os.path.join("docs", "nginx-auth-request.conf")


def nginx_config(ctx, d, example_text, tokend_port, app_port, port):
    """The example with its placeholders replaced, in nginx_main()."""
    subs = [
        ("tokend.internal:2600", "127.0.0.1:%d" % tokend_port),
        ("tokend.internal", "localhost"),
        ("/etc/tokend/ca.pem", ctx.pki.ca_cert),
        ("upstream_app", "127.0.0.1:%d" % app_port),
        ("listen 443 ssl;", "listen 127.0.0.1:%d ssl;" % port),
        ("/etc/nginx/tls/api.pem", ctx.pki.cert2),
        ("/etc/nginx/tls/api.key", ctx.pki.key2),
    ]
    text = example_text
    for old, new in subs:
        check(old in text, "%s lacks the placeholder %r" % (EXAMPLE, old))
        text = text.replace(old, new)
    return nginx_main(d, text, connections=64)


class App:
    """The application: echoes each request as JSON, and keeps them."""

    def __init__(self):
        self.seen = []
        app = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def answer(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                rec = {"method": self.command, "path": self.path,
                       "headers": [[k, v] for k, v in self.headers.items()],
                       "body": body.decode("utf-8", "replace")}
                app.seen.append(rec)
                out = json.dumps(rec).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            do_GET = do_POST = answer

            def log_message(self, *a):
                pass

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def headers_of(rec, name):
    return [v for k, v in rec["headers"] if k.lower() == name.lower()]


class Front:
    """Requests to nginx over TLS (trusting the harness's CA)."""

    def __init__(self, ctx, port):
        self.port = port
        self.ssl_ctx = ctx.pki.client_context()

    def get(self, path, token=None, headers=None, method="GET", body=None):
        h = dict(headers or {})
        if token is not None:
            h["Authorization"] = "Bearer " + token
        conn = http.client.HTTPSConnection("127.0.0.1", self.port,
                                           timeout=10, context=self.ssl_ctx)
        try:
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            return H.Response(r.status, r.getheaders(), r.read())
        finally:
            conn.close()


@scenario("nginx_auth_request", timeout=60)
def nginx_auth_request(ctx):
    if not os.access(NGINX, os.X_OK):
        skip("%s is not installed" % NGINX)
    with open(os.path.join(ctx.source_root, EXAMPLE)) as f:
        example = f.read()
    t = start_instance(ctx, "nginx-tokend", args=NO_LIMIT)
    admin = Admin(ctx)
    r_id, a_id, n_id = uid("it-ngxR"), uid("it-ngxA"), uid("it-ngxN")
    rc = (r_id, admin.add(r_id, "--scopes", "read"))
    ac = (a_id, admin.add(a_id, "--scopes", "read admin"))
    nc = (n_id, admin.add(n_id))
    _, rtok = get_token(t, *rc)
    _, atok = get_token(t, *ac)
    _, ntok = get_token(t, *nc)
    tokens = [rtok, atok, ntok]

    app = App()
    d = scratch_dir(ctx, "nginx")
    port = free_port()
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write(nginx_config(ctx, d, example, t.port, app.port, port))
    log = open(os.path.join(d, "stderr.log"), "wb")
    proc = ctx.popen([NGINX, "-p", d + "/", "-e", d + "/error.log", "-c",
                      conf], stdout=log, stderr=log,
                     stdin=subprocess.DEVNULL, env=child_env())
    log.close()

    def nginx_log(name):
        try:
            with open(os.path.join(d, name), "rb") as fh:
                return fh.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""
    try:
        deadline = time.monotonic() + 10
        while not port_listening(port, timeout=0.2):
            if proc.poll() is not None or time.monotonic() > deadline:
                fail("nginx did not start (status %s): %s %s" % (
                    proc.poll(), short(nginx_log("stderr.log"), 400),
                    short(nginx_log("error.log")[-600:], 600)))
            time.sleep(0.05)
        front = Front(ctx, port)
        run_cases(ctx, t, admin, front, app, rc, ac, nc, rtok, atok, ntok,
                  tokens)
        # tokend gone: nginx fails closed.
        before = len(app.seen)
        t.stop()
        r = front.get("/hello", rtok)
        check_eq(r.status, 500, "through nginx with tokend stopped (%s)"
                 % short(r.body))
        check_eq(len(app.seen), before, "requests that reached the "
                 "application while tokend was stopped")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGQUIT)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        app.close()
    check_no_token_logged([t], tokens)
    check_no_token_in([("nginx " + n, nginx_log(n)) for n in (
        "access.log", "error.log")], tokens)


def run_cases(ctx, t, admin, front, app, rc, ac, nc, rtok, atok, ntok,
              tokens):
    passed = 0

    def through(r, what, client, scope, path=None):
        nonlocal passed
        check_eq(r.status, 200, what + ": status (%s)" % short(r.body))
        passed += 1
        check_eq(len(app.seen), passed, what + ": requests the "
                 "application got")
        rec = app.seen[-1]
        check(r.json == rec, what + ": the answer is not the application's")
        check_eq(headers_of(rec, "X-Token-Client-Id"), [client],
                 what + ": X-Token-Client-Id the application saw")
        check_eq(headers_of(rec, "X-Token-Scope"), [scope],
                 what + ": X-Token-Scope the application saw")
        if path is not None:
            check_eq(rec["path"], path, what + ": path")
        return rec

    def stopped(r, status, what, challenge=None):
        check_eq(r.status, status, what + ": status (%s)" % short(r.body))
        check_eq(len(app.seen), passed, what + ": the application was "
                 "reached")
        if challenge is not None:
            check_eq(r.header_all("WWW-Authenticate"), [challenge],
                     what + ": WWW-Authenticate")

    through(front.get("/hello?x=1", rtok), "R's token", rc[0], "read",
            "/hello?x=1")
    through(front.get("/hello", rtok, headers={
        "X-Token-Client-Id": "evil", "X-Token-Scope": "admin"}),
        "R's token with forged identity headers", rc[0], "read")
    rec = through(front.get("/submit", rtok, method="POST",
                            body=b"a=1&b=2", headers={
                                "Content-Type": "application/"
                                "x-www-form-urlencoded"}),
                  "a POST with a body", rc[0], "read", "/submit")
    check_eq((rec["method"], rec["body"]), ("POST", "a=1&b=2"),
             "the POST the application got")

    invalid = 'Bearer error="invalid_token"'
    stopped(front.get("/hello"), 401, "no token", 'Bearer realm="tokend"')
    h, p, s = rtok.split(".")
    c = Jws(rtok).claims
    c["scope"] = "read admin"
    tampered = h + "." + b64url(json.dumps(c).encode()) + "." + s
    f = Forger(ctx.pki.signing_key, issuer_of(t), rc[0], scope="read")
    none = f.token(header={"alg": "none"}, sig=b"")
    tokens += [tampered, none]
    for label, tok in (("a tampered token", tampered), ("garbage", "x.y.z"),
                       ("alg none", none)):
        stopped(front.get("/hello", tok), 401, label, invalid)
        stopped(front.get("/admin/x", tok), 401, label + " on /admin/",
                invalid)
    stopped(front.get("/hello", ntok), 403, "N's token (no scope)")
    stopped(front.get("/admin/x", rtok), 403, "R's token on /admin/")
    through(front.get("/admin/x", atok), "A's token on /admin/", ac[0],
            "read admin", "/admin/x")

    # Revoked at tokend: 401 through nginx within 1 s.
    _, r2 = get_token(t, *rc)
    tokens.append(r2)
    through(front.get("/hello", r2), "R's second token", rc[0], "read")
    expect_revoke_ok(revoke(t, rc, r2), "revoking R's second token")
    deadline = time.monotonic() + 1.0
    while True:
        r = front.get("/hello", r2)
        if r.status == 401:
            break
        through(r, "R's revoked token before it is seen", rc[0], "read")
        if time.monotonic() > deadline:
            fail("a revoked token still passes nginx 1 s later")
        time.sleep(0.05)
    stopped(r, 401, "a revoked token", invalid)

    # A disabled client: 401 within 1 s.
    admin.disable(ac[0])
    deadline = time.monotonic() + 1.0
    while True:
        r = front.get("/admin/x", atok)
        if r.status == 401:
            break
        through(r, "A's token before the disable is seen", ac[0],
                "read admin")
        if time.monotonic() > deadline:
            fail("a disabled client's token still passes nginx 1 s later")
        time.sleep(0.05)
    stopped(r, 401, "a disabled client's token", invalid)
    through(front.get("/hello", rtok), "R's token at the end", rc[0],
            "read")
