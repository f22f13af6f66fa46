"""
nginx (Debian's package, with auth_request) in front of an application,
asking tokend's /verify about every request: the way most users deploy
tokend, run for real.

Setup: docs/nginx-auth-request.conf is the configuration, used as it is
with its placeholders replaced (tokend.internal:2600 -> this run's tokend,
tokend.internal -> localhost, /etc/tokend/ca.pem -> the test CA,
upstream_app -> a Python http.server thread here that echoes each
request's method, path, headers and body as JSON, 443 and 8443 and
/etc/nginx/tls/{api,mtls}.{pem,key} -> two free ports and the harness's
second server certificate), inside the http block of nginx_main()
(temporary paths, logs and pid under a scratch directory). nginx runs in
the foreground as one process (master_process off). A scenario-scoped
tokend (TLS, --auth-fail-limit 0, --trusted-proxies 127.0.0.1/32: nginx).
Clients of nginx_auth_request: R ("read"), A ("read admin"), N (no
scopes), each with the audience https://api.example.com. Skipped when
/usr/sbin/nginx is missing.

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

nginx_audience: clients W (audience https://other.example) and M
(https://other.example https://api.example.com https://mtls.example.com),
tokens of M for its default audience, resource=api, resource=mtls and
both (an array):
- on the api service (aud=https://api.example.com): W's, M's default and
  M's mtls-only token -> 401 invalid_token (/ and /admin/), the
  application not reached; the api and the both token -> 200, the
  application sees X-Token-Client-Id, -Sub, -Scope and X-Token-Aud
  ("https://api.example.com", or both space-separated), no
  X-Token-Cnf-*, no X-Client-Cert;
- on the mtls service (mutual TLS, optional_no_ca; aud=
  https://mtls.example.com), with and without a client certificate: the
  api and the default token -> 401, the mtls and the both token -> 200
  (not certificate-bound: no certificate needed);
- a client sending its own X-Token-* (Aud among them), X-Client-Cert and
  X-Forwarded-{For,Uri,Method,Host,Proto}: the application gets tokend's
  values only, the path as sent; W's token with X-Token-Aud naming the
  api still 401; sent from 127.0.0.2 (not a trusted proxy) with
  X-Forwarded-For 203.0.113.9, tokend logs client=127.0.0.2 (the hop nginx
  added) and never the client's address;
- certificate-bound tokens (cnf.x5t#S256 of a client certificate C):
  on the mtls service with C -> 200, the application sees
  X-Token-Cnf-X5t and no X-Client-Cert (also when the client adds an
  X-Client-Cert of its own); with another certificate, or none, -> 401,
  also with C's PEM smuggled in X-Client-Cert; on the api service (which
  never passes a certificate) a bound token with aud api -> 401, with
  C's PEM in X-Client-Cert too;
- no whole token in tokend's or nginx's logs.

nginx_dpop: a DPoP-bound token (RFC 9449) of a client with the api's
audience, through the api service, with proofs made for the request the
client sends to nginx (https://api.example.com:PORT/PATH, the server's
name and port as the recipe states them):
- GET /hello?x=1 with "Authorization: DPoP" and a fresh proof -> 200, the
  application sees X-Token-Cnf-Jkt (the key's thumbprint) and the path
  as sent; a POST with a body and a proof with htm POST -> 200;
- the same proof again, a proof for another path, for another method, of
  another key, none, or the token as Bearer -> 401, the application not
  reached; the DPoP proof failures carry tokend's WWW-Authenticate: DPoP
  error="invalid_dpop_proof";
- a client sending its own X-Forwarded-Method/-Uri/-Host/-Proto with a
  proof that names them -> 401: nginx states the request itself; a proof
  for another server sent with that server's name as Host -> 401;
- no whole token or proof in tokend's or nginx's logs.
"""

import http.client
import http.server
import json
import hashlib
import os
import re
import ssl
import urllib.parse
import signal
import socketserver
import subprocess
import threading
import time

from jwt_helpers import (NO_LIMIT, Admin, Forger, Jws, b64url,
                         check_no_token_in, check_no_token_logged,
                         client_gen,
                         expect_revoke_ok,
                         get_token, issuer_of, revoke, scratch_dir,
                         start_instance, token_request, uid)
from dpop_helpers import Key, proof
import tokend_harness as H
from tokend_harness import (NGINX, check, check_eq, child_env, fail,
                            free_port, nginx_main, port_listening,
                            scenario, short, skip)

EXAMPLE = os.path.join("docs", "nginx-auth-request.conf")
# nginx is the gateway: tokend believes its X-Forwarded-* and X-Client-Cert
TRUST_LOCAL = ["--trusted-proxies", "127.0.0.1/32"]


API_AUD = "https://api.example.com"
MTLS_AUD = "https://mtls.example.com"


def nginx_config(ctx, d, example_text, tokend_port, app_port, port,
                 mtls_port):
    """The example with its placeholders replaced, in nginx_main()."""
    subs = [
        ("tokend.internal:2600", "127.0.0.1:%d" % tokend_port),
        ("tokend.internal", "localhost"),
        ("/etc/tokend/ca.pem", ctx.pki.ca_cert),
        ("upstream_app", "127.0.0.1:%d" % app_port),
        ("listen 443 ssl;", "listen 127.0.0.1:%d ssl;" % port),
        ("listen 8443 ssl;", "listen 127.0.0.1:%d ssl;" % mtls_port),
        ("/etc/nginx/tls/api.pem", ctx.pki.cert2),
        ("/etc/nginx/tls/api.key", ctx.pki.key2),
        ("/etc/nginx/tls/mtls.pem", ctx.pki.cert2),
        ("/etc/nginx/tls/mtls.key", ctx.pki.key2),
        ("aud=https%3A%2F%2Fapi.example.com", "aud=https%3A%2F%2F"
         "api.example.com"),
        ("aud=https%3A%2F%2Fmtls.example.com", "aud=https%3A%2F%2F"
         "mtls.example.com"),
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

    def __init__(self, ctx, port, cert=None, source=None):
        self.port = port
        self.source = (source, 0) if source is not None else None
        self.ssl_ctx = ctx.pki.client_context()
        if cert is not None:
            self.ssl_ctx.load_cert_chain(*cert)

    def get(self, path, token=None, headers=None, method="GET", body=None):
        h = dict(headers or {})
        if token is not None:
            h["Authorization"] = "Bearer " + token
        conn = http.client.HTTPSConnection("127.0.0.1", self.port,
                                           timeout=10, context=self.ssl_ctx,
                                           source_address=self.source)
        try:
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            return H.Response(r.status, r.getheaders(), r.read())
        finally:
            conn.close()


class Nginx:
    """Debian's nginx running the example, placeholders replaced."""

    def __init__(self, ctx, t, app):
        with open(os.path.join(ctx.source_root, EXAMPLE)) as f:
            example = f.read()
        self.d = scratch_dir(ctx, "nginx")
        self.port = free_port()
        self.mtls_port = free_port()
        conf = os.path.join(self.d, "nginx.conf")
        with open(conf, "w") as f:
            f.write(nginx_config(ctx, self.d, example, t.port, app.port,
                                 self.port, self.mtls_port))
        log = open(os.path.join(self.d, "stderr.log"), "wb")
        self.proc = ctx.popen([NGINX, "-p", self.d + "/", "-e",
                               self.d + "/error.log", "-c", conf],
                              stdout=log, stderr=log,
                              stdin=subprocess.DEVNULL, env=child_env())
        log.close()
        deadline = time.monotonic() + 10
        while not (port_listening(self.port, timeout=0.2) and
                   port_listening(self.mtls_port, timeout=0.2)):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                fail("nginx did not start (status %s): %s %s" % (
                    self.proc.poll(), short(self.log("stderr.log"), 400),
                    short(self.log("error.log")[-600:], 600)))
            time.sleep(0.05)

    def log(self, name):
        try:
            with open(os.path.join(self.d, name), "rb") as fh:
                return fh.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def logs(self):
        return [("nginx " + n, self.log(n)) for n in ("access.log",
                                                      "error.log")]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


@scenario("nginx_auth_request", timeout=60)
def nginx_auth_request(ctx):
    if not os.access(NGINX, os.X_OK):
        skip("%s is not installed" % NGINX)
    t = start_instance(ctx, "nginx-tokend", args=NO_LIMIT + TRUST_LOCAL)
    admin = Admin(ctx)
    r_id, a_id, n_id = uid("it-ngxR"), uid("it-ngxA"), uid("it-ngxN")
    rc = (r_id, admin.add(r_id, "--scopes", "read", "--audience", API_AUD))
    ac = (a_id, admin.add(a_id, "--scopes", "read admin", "--audience",
                          API_AUD))
    nc = (n_id, admin.add(n_id, "--audience", API_AUD))
    _, rtok = get_token(t, *rc)
    _, atok = get_token(t, *ac)
    _, ntok = get_token(t, *nc)
    tokens = [rtok, atok, ntok]

    app = App()
    ngx = None
    try:
        ngx = Nginx(ctx, t, app)
        front = Front(ctx, ngx.port)
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
        if ngx is not None:
            ngx.stop()
        app.close()
    check_no_token_logged([t], tokens)
    check_no_token_in(ngx.logs(), tokens)


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


def client_cert(ctx, d, name):
    """A self-signed EC client certificate: (cert path, key path)."""
    key = os.path.join(d, name + ".key")
    cert = os.path.join(d, name + ".pem")
    ctx.pki.ec_key(key)
    ctx.pki.openssl("req", "-new", "-x509", "-key", key, "-out", cert,
                    "-days", "2", "-subj", "/O=Acme/CN=" + name)
    return cert, key


@scenario("nginx_audience", timeout=60)
def nginx_audience(ctx):
    if not os.access(NGINX, os.X_OK):
        skip("%s is not installed" % NGINX)
    t = start_instance(ctx, "nginx-aud", args=NO_LIMIT + TRUST_LOCAL)
    admin = Admin(ctx)
    w_id, m_id = uid("it-ngxW"), uid("it-ngxM")
    wc = (w_id, admin.add(w_id, "--scopes", "read", "--audience",
                          "https://other.example"))
    mc = (m_id, admin.add(m_id, "--scopes", "read", "--audience",
                          "https://other.example %s %s"
                          % (API_AUD, MTLS_AUD)))
    _, wtok = get_token(t, *wc)
    _, mdef = get_token(t, *mc)

    def with_resources(creds, res):
        r = token_request(t, [("grant_type", "client_credentials")] +
                          [("resource", x) for x in res], client=creds)
        check_eq(r.status, 200, "token for %r (%s)" % (res, short(r.body)))
        return r.json["access_token"]

    mapi = with_resources(mc, [API_AUD])
    mmtls = with_resources(mc, [MTLS_AUD])
    mboth = with_resources(mc, [API_AUD, MTLS_AUD])
    tokens = [wtok, mdef, mapi, mmtls, mboth]
    invalid = 'Bearer error="invalid_token"'

    app = App()
    ngx = None
    try:
        ngx = Nginx(ctx, t, app)
        api = Front(ctx, ngx.port)
        cert = client_cert(ctx, ngx.d, "svc")
        mtls = Front(ctx, ngx.mtls_port)
        mtls_cert = Front(ctx, ngx.mtls_port, cert=cert)
        passed = 0

        def through(r, what, aud, x5t=None):
            nonlocal passed
            check_eq(r.status, 200, what + ": status (%s)" % short(r.body))
            passed += 1
            check_eq(len(app.seen), passed, what + ": requests the "
                     "application got")
            rec = app.seen[-1]
            check_eq(headers_of(rec, "X-Token-Client-Id"), [m_id],
                     what + ": X-Token-Client-Id")
            check_eq(headers_of(rec, "X-Token-Sub"), [m_id],
                     what + ": X-Token-Sub")
            check_eq(headers_of(rec, "X-Token-Scope"), ["read"],
                     what + ": X-Token-Scope")
            check_eq(headers_of(rec, "X-Token-Aud"), [aud],
                     what + ": X-Token-Aud")
            check_eq(headers_of(rec, "X-Token-Cnf-X5t"),
                     [x5t] if x5t else [], what + ": X-Token-Cnf-X5t")
            for h in ("X-Token-Cnf-Jkt", "X-Client-Cert"):
                check_eq(headers_of(rec, h), [], what + ": " + h)
            return rec

        def stopped(r, what):
            check_eq(r.status, 401, what + ": status (%s)" % short(r.body))
            check_eq(r.header_all("WWW-Authenticate"), [invalid],
                     what + ": WWW-Authenticate")
            check_eq(len(app.seen), passed, what + ": the application "
                     "was reached")

        # The api service wants aud https://api.example.com.
        stopped(api.get("/hello", wtok), "another audience on api")
        stopped(api.get("/hello", mdef), "the default audience on api")
        stopped(api.get("/hello", mmtls), "the mtls audience on api")
        stopped(api.get("/admin/x", mmtls), "the mtls audience on /admin/")
        through(api.get("/hello", mapi), "resource=api on api", API_AUD)
        through(api.get("/hello", mboth), "both audiences on api",
                API_AUD + " " + MTLS_AUD)

        # The mtls service wants aud https://mtls.example.com; a token
        # without cnf needs no certificate, and any certificate will do.
        for front, how in ((mtls, "no certificate"),
                           (mtls_cert, "a certificate")):
            stopped(front.get("/hello", mapi), "api audience on mtls, "
                    + how)
            stopped(front.get("/hello", mdef), "default audience on mtls, "
                    + how)
            through(front.get("/hello", mmtls), "mtls audience on mtls, "
                    + how, MTLS_AUD)
            through(front.get("/hello", mboth), "both audiences on mtls, "
                    + how, API_AUD + " " + MTLS_AUD)

        # A client's own X-Token-*, X-Client-Cert and X-Forwarded-* never
        # pass: replaced or dropped, before tokend and before the app.
        smuggled = {"X-Token-Aud": API_AUD, "X-Token-Client-Id": "evil",
                    "X-Token-Sub": "evil", "X-Token-Scope": "admin",
                    "X-Token-Cnf-Jkt": "evil", "X-Token-Cnf-X5t": "evil",
                    "X-Client-Cert": "evil", "X-Forwarded-Uri": "/evil",
                    "X-Forwarded-Method": "DELETE",
                    "X-Forwarded-Host": "evil.example",
                    "X-Forwarded-Proto": "http",
                    "X-Forwarded-For": "203.0.113.9"}
        for front, tok, aud, how in (
                (api, mapi, API_AUD, "api"),
                (mtls_cert, mmtls, MTLS_AUD, "mtls")):
            rec = through(front.get("/hello?q=1", tok, headers=smuggled),
                          "smuggled headers on " + how, aud)
            check_eq(rec["path"], "/hello?q=1", "path on " + how)
        # From 127.0.0.2, an address tokend does not trust (nginx, at
        # 127.0.0.1, is its trusted proxy): tokend takes the last
        # X-Forwarded-For hop, the one nginx added, not the client's.
        other = Front(ctx, ngx.port, source="127.0.0.2")
        off = t.log_offset()
        stopped(other.get("/hello", wtok, headers=smuggled),
                "smuggled X-Token-Aud with another audience")
        line = t.wait_log(r"event=verify_failed reason=audience_mismatch "
                          r"jti=%s client=\S+" % Jws(wtok).claims["jti"],
                          off)
        check(re.search(r" client=127\.0\.0\.2( |$)", line) is not None,
              "the source tokend logged: %s" % short(line, 300))
        check("203.0.113.9" not in t.log_since(off),
              "a client's X-Forwarded-For was believed")

        # Certificate-bound tokens (cnf.x5t#S256 of svc's certificate).
        with open(cert[0]) as fh:
            pem = fh.read()
        x5t = b64url(hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).digest())
        wrong = Front(ctx, ngx.mtls_port,
                      cert=client_cert(ctx, ngx.d, "other"))
        f = Forger(ctx.pki.signing_key, issuer_of(t), m_id, scope="read",
                   gen=client_gen(ctx, m_id))
        b_mtls = f.token(claims={"aud": MTLS_AUD, "cnf": {"x5t#S256": x5t}})
        b_api = f.token(claims={"aud": API_AUD, "cnf": {"x5t#S256": x5t}})
        tokens += [b_mtls, b_api]
        smuggle = {"X-Client-Cert": urllib.parse.quote(pem, safe="")}
        through(mtls_cert.get("/hello", b_mtls), "bound token, its "
                "certificate", MTLS_AUD, x5t)
        through(mtls_cert.get("/hello", b_mtls, headers=smuggle),
                "bound token, its certificate, X-Client-Cert sent too",
                MTLS_AUD, x5t)
        stopped(wrong.get("/hello", b_mtls), "bound token, another "
                "certificate")
        stopped(mtls.get("/hello", b_mtls), "bound token, no certificate")
        stopped(mtls.get("/hello", b_mtls, headers=smuggle),
                "bound token, no certificate, its PEM in X-Client-Cert")
        stopped(wrong.get("/hello", b_mtls, headers=smuggle),
                "bound token, another certificate, its PEM in "
                "X-Client-Cert")
        stopped(api.get("/hello", b_api, headers=smuggle),
                "bound token on api, its PEM in X-Client-Cert")
        stopped(api.get("/hello", b_api), "bound token on api")
    finally:
        if ngx is not None:
            ngx.stop()
        app.close()
    check_no_token_logged([t], tokens)
    check_no_token_in(ngx.logs(), tokens)


@scenario("nginx_dpop", timeout=60)
def nginx_dpop(ctx):
    if not os.access(NGINX, os.X_OK):
        skip("%s is not installed" % NGINX)
    t = start_instance(ctx, "nginx-dpop", args=NO_LIMIT + TRUST_LOCAL)
    admin = Admin(ctx)
    cid = uid("it-ngxD")
    secret = admin.add(cid, "--scopes", "read", "--audience", API_AUD)
    key, other = Key(), Key()
    p = proof(key, "POST", issuer_of(t) + "/oauth/token")
    r = token_request(t, [("grant_type", "client_credentials"),
                          ("resource", API_AUD)], client=(cid, secret),
                      headers={"DPoP": p})
    check_eq(r.status, 200, "DPoP token (%s)" % short(r.body))
    check_eq(r.json.get("token_type"), "DPoP", "token_type")
    tok = r.json["access_token"]
    check_eq(Jws(tok).claims.get("cnf"), {"jkt": key.jkt}, "cnf")
    secrets_seen = [tok, p]

    app = App()
    ngx = None
    try:
        ngx = Nginx(ctx, t, app)
        api = Front(ctx, ngx.port)
        # what the recipe states: $server_name:$server_port
        base = "https://api.example.com:%d" % ngx.port

        def send(path, pr, method="GET", scheme="DPoP", headers=None,
                 body=None):
            h = {"Authorization": "%s %s" % (scheme, tok)}
            if pr is not None:
                secrets_seen.append(pr)
                h["DPoP"] = pr
            h.update(headers or {})
            return api.get(path, headers=h, method=method, body=body)

        def fresh(htm, path, k=key):
            return proof(k, htm, base + path, token=tok)

        n = len(app.seen)
        r = send("/hello?x=1", fresh("GET", "/hello?x=1"))
        check_eq(r.status, 200, "DPoP through nginx (%s)" % short(r.body))
        rec = app.seen[-1]
        check_eq(rec["path"], "/hello?x=1", "the path the application got")
        check_eq(headers_of(rec, "X-Token-Cnf-Jkt"), [key.jkt],
                 "X-Token-Cnf-Jkt at the application")
        check_eq(headers_of(rec, "X-Token-Client-Id"), [cid],
                 "X-Token-Client-Id at the application")
        r = send("/items", fresh("POST", "/items"), method="POST",
                 body=b"{}", headers={"Content-Type": "application/json"})
        check_eq(r.status, 200, "DPoP POST through nginx (%s)"
                 % short(r.body))
        check_eq(app.seen[-1]["body"], "{}", "the body")
        n = len(app.seen)

        once = fresh("GET", "/hello")
        check_eq(send("/hello", once).status, 200, "first use")
        n += 1
        dpop_challenge = 'DPoP error="invalid_dpop_proof"'
        cases = [
            ("replayed proof", send("/hello", once), dpop_challenge),
            ("proof for another path",
             send("/hello", fresh("GET", "/other")), dpop_challenge),
            ("proof for another method",
             send("/hello", fresh("POST", "/hello")), dpop_challenge),
            ("proof of another key",
             send("/hello", fresh("GET", "/hello", k=other)),
             dpop_challenge),
            ("no proof", send("/hello", None), dpop_challenge),
            ("DPoP token as Bearer",
             send("/hello", fresh("GET", "/hello"), scheme="Bearer"),
             'Bearer error="invalid_token"'),
            # a proof made for another server (a resource server that
            # got it could replay it here) with that server's Host: nginx
            # states its own name, not the client's Host
            ("proof for another host, with that Host",
             send("/hello", proof(key, "GET", "https://evil.example/hello",
                                  token=tok),
                  headers={"Host": "evil.example"}), dpop_challenge),
            ("client's own X-Forwarded-*",
             send("/hello", proof(key, "DELETE", "https://evil.example/x",
                                  token=tok),
                  headers={"X-Forwarded-Method": "DELETE",
                           "X-Forwarded-Proto": "https",
                           "X-Forwarded-Host": "evil.example",
                           "X-Forwarded-Uri": "/x"}), dpop_challenge),
        ]
        for what, r, challenge in cases:
            check_eq(r.status, 401, what + " (%s)" % short(r.body))
            check((r.header("WWW-Authenticate") or "").startswith(challenge),
                  "%s: challenge %r" % (what, r.header("WWW-Authenticate")))
        check_eq(len(app.seen), n, "the application saw only the good ones")
    finally:
        if ngx is not None:
            ngx.stop()
        app.close()
    check_no_token_logged([t], secrets_seen)
    check_no_token_in(ngx.logs(), secrets_seen)
