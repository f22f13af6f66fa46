"""
Mutual-TLS client authentication and certificate-bound tokens (RFC 8705
sections 2 and 3), against the real binary over real TLS.

Setup: a client PKI made with the openssl CLI per run (ClientPki): two
client CAs, certificates issued by them (subject CN=svc,O=Acme with SANs
svc.example.com and spiffe://acme.example/svc; another subject; one
expired and one not yet valid, made under faketime), and a self-signed
certificate. Clients are registered with scripts/tokend-client.

Expected:
- mtls_tls_client_auth_subject_and_san: tls_client_auth by subject and by
  SAN gets 200 and a token with cnf {"x5t#S256": the certificate's
  thumbprint}; introspection returns cnf; a client with a secret still
  gets tokens with its secret (no certificate) while optional is on.
- mtls_tls_client_auth_refusals: a certificate from another CA, expired,
  not yet valid, with another subject, none at all, a self-signed one;
  the tls client sending a secret (Basic and post): each 401
  invalid_client with the same body.
- mtls_self_signed: registered with --tls-cert (the script's thumbprint
  is the server's): 200 with cnf; another certificate, a CA-issued one,
  the secret way: 401; a tls_client_auth client's right certificate on a
  self-signed client: 401.
- mtls_method_mismatch: a client_secret_basic client presenting a
  certificate and only its client_id: 401.
- mtls_client_cert_header: X-Client-Cert (URL-encoded PEM) from a peer
  outside --trusted-proxies is ignored (401); from a trusted one it
  works (both methods, cnf from the header's certificate); two headers,
  garbage, an oversized value: 401.
- mtls_off: --tls-client-auth off never asks: the client's certificate
  is not sent, a tls client gets 401; a secret client 200.
- mtls_no_client_ca: without --tls-client-ca a tls_client_auth client is
  refused (401) and logged once; a self-signed one still works.
- mtls_ca_reload: SIGHUP reloads --tls-client-ca: a certificate of the
  new CA works, the old CA's stops; a bad file keeps the previous CAs.
- mtls_bruteforce: wrong certificates count towards --auth-fail-limit
  (then 429 without a check).
- mtls_session_resumption: a resumed session (TLS 1.2 and 1.3) presents
  the certificate of its first handshake, and none when it had none.
- mtls_parallel: 24 connections at once, good and bad certificates of
  both methods: each gets what its own certificate earns, cnf included.
- mtls_subject_escaping: a subject with RFC 4514 escapes, a multi-valued
  RDN and UTF-8, copied from openssl's output through tokend-client,
  matches; the same name with its RDN values reordered does not.
- mtls_interop_authlib: python3-authlib's OAuth2Session with
  token_endpoint_auth_method tls_client_auth (requests with cert=)
  obtains a token (skipped when authlib is not installed).
"""

import base64
import hashlib
import json
import os
import signal
import socket
import ssl
import subprocess
import time
import urllib.parse

from jwt_helpers import (Admin, Jws, basic, form, introspect,
                         start_instance, uid)
from tokend_harness import (check, check_eq, child_env, expect_json_error,
                            scenario, short, skip)

TLS_ARGS = ["--tls-client-auth", "optional", "--auth-fail-limit", "0"]


class ClientPki:
    """Client CAs and certificates in ctx.tmp/mtls (made once per run)."""

    def __init__(self, ctx):
        self.dir = os.path.join(ctx.tmp, "mtls")
        os.makedirs(self.dir, exist_ok=True)

    def p(self, name):
        return os.path.join(self.dir, name)

    def run(self, *args, faketime=None):
        argv = ["openssl"] + list(args)
        if faketime is not None:
            argv = ["faketime", faketime] + argv
        r = subprocess.run(argv, cwd=self.dir, capture_output=True,
                           timeout=30, env=child_env())
        if r.returncode != 0:
            raise RuntimeError("%s: %s" % (" ".join(argv),
                                           short(r.stderr, 400)))
        return r.stdout

    def key(self, name):
        self.run("genpkey", "-algorithm", "EC", "-pkeyopt",
                 "ec_paramgen_curve:P-256", "-out", self.p(name + ".key"))

    def ca(self, name, subj):
        self.key(name)
        self.run("req", "-new", "-x509", "-key", self.p(name + ".key"),
                 "-subj", subj, "-days", "30", "-out", self.p(name + ".pem"),
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign")

    def issue(self, name, ca, subj, san=None, faketime=None, days="30"):
        self.key(name)
        csr = self.p(name + ".csr")
        self.run("req", "-new", "-key", self.p(name + ".key"), "-subj", subj,
                 "-out", csr)
        ext = self.p(name + ".ext")
        with open(ext, "w") as f:
            f.write("basicConstraints=CA:FALSE\n"
                    "extendedKeyUsage=clientAuth\n")
            if san:
                f.write("subjectAltName=%s\n" % san)
        self.run("x509", "-req", "-in", csr, "-CA", self.p(ca + ".pem"),
                 "-CAkey", self.p(ca + ".key"), "-set_serial",
                 str(abs(hash(name)) % 100000 + 2), "-days", days,
                 "-extfile", ext, "-out", self.p(name + ".pem"),
                 faketime=faketime)

    def self_signed(self, name, subj):
        self.key(name)
        self.run("req", "-new", "-x509", "-key", self.p(name + ".key"),
                 "-subj", subj, "-days", "30", "-out", self.p(name + ".pem"))

    def make(self):
        self.ca("ca", "/O=Acme/CN=Acme client CA")
        self.ca("ca2", "/O=Other/CN=Other client CA")
        san = "DNS:svc.example.com,URI:spiffe://acme.example/svc"
        self.issue("svc", "ca", "/O=Acme/CN=svc", san)
        self.issue("svc-ca2", "ca2", "/O=Acme/CN=svc", san)
        self.issue("other", "ca", "/O=Acme/CN=other",
                   "DNS:other.example.com")
        self.issue("expired", "ca", "/O=Acme/CN=svc", san,
                   faketime="20 days ago", days="2")
        self.issue("future", "ca", "/O=Acme/CN=svc", san,
                   faketime="+10 days", days="30")
        self.self_signed("self", "/CN=self-signed svc")
        self.self_signed("self2", "/CN=another self-signed")

    def pem(self, name):
        with open(self.p(name + ".pem")) as f:
            return f.read()

    def thumbprint(self, name):
        der = ssl.PEM_cert_to_DER_cert(self.pem(name))
        return base64.urlsafe_b64encode(
            hashlib.sha256(der).digest()).rstrip(b"=").decode()

    def subject(self, name):
        out = self.run("x509", "-in", self.p(name + ".pem"), "-noout",
                       "-subject", "-nameopt", "RFC2253").decode().strip()
        return out.split("=", 1)[1]

    def escaped(self, name):
        """As nginx's $ssl_client_escaped_cert."""
        return urllib.parse.quote(self.pem(name), safe="")


def pki(ctx):
    p = getattr(ctx, "mtls_pki", None)
    if p is None:
        p = ClientPki(ctx)
        p.make()
        ctx.mtls_pki = p
    return p


def instance(ctx, name, args=(), **kw):
    p = pki(ctx)
    return start_instance(ctx, name, args=TLS_ARGS + ["--tls-client-ca",
                          p.p("ca.pem")] + list(args), **kw)


def cert_conn(t, cert=None):
    """A connection presenting cert (a ClientPki name) or none."""
    c = t.ctx.pki.client_context()
    if cert is not None:
        p = pki(t.ctx)
        c.load_cert_chain(p.p(cert + ".pem"), p.p(cert + ".key"))
    return t.connection(ssl_ctx=c)


def mtls_token(t, client_id, cert=None, headers=None, fields=None,
               auth=None):
    """POST /oauth/token with client_id in the body over a connection
    presenting cert."""
    f = [("grant_type", "client_credentials"), ("client_id", client_id)]
    f += list(fields or [])
    h = {"Content-Type": "application/x-www-form-urlencoded"}
    if auth is not None:
        h["Authorization"] = auth
    h.update(headers or {})
    conn = cert_conn(t, cert) if t.tls else None
    try:
        return t.request("POST", "/oauth/token", body=form(f), headers=h,
                         conn=conn)
    finally:
        if conn is not None:
            conn.close()


def expect_ok(r, x5t, what):
    check_eq(r.status, 200, "%s (body %s)" % (what, short(r.body)))
    tok = r.json["access_token"]
    cnf = Jws(tok).claims.get("cnf")
    check_eq(cnf, {"x5t#S256": x5t}, what + ": cnf")
    check_eq(r.json.get("token_type"), "Bearer", what + ": token_type")
    return tok


def expect_invalid(r, what):
    expect_json_error(r, 401, what, "invalid_client")
    check_eq(r.json.get("error_description"),
             "client authentication failed", what + ": description")


def add_tls(ctx, admin, cid, *opts):
    admin.run("add", cid, "--auth-method", "tls_client_auth", *opts)


def add_self(ctx, admin, cid, *opts):
    admin.run("add", cid, "--auth-method", "self_signed_tls_client_auth",
              *opts)


@scenario("mtls_tls_client_auth_subject_and_san")
def tls_subject_and_san(ctx):
    p = pki(ctx)
    t = instance(ctx, "mtls-pki")
    admin = Admin(ctx)
    by_subject, by_san, by_uri = uid("m-subj"), uid("m-san"), uid("m-uri")
    check_eq(p.subject("svc"), "CN=svc,O=Acme", "openssl RFC2253 subject")
    add_tls(ctx, admin, by_subject, "--tls-subject", p.subject("svc"),
            "--scopes", "read")
    add_tls(ctx, admin, by_san, "--tls-san", "svc.example.com")
    add_tls(ctx, admin, by_uri, "--tls-san", "spiffe://acme.example/svc")
    x5t = p.thumbprint("svc")
    tok = expect_ok(mtls_token(t, by_subject, "svc"), x5t, "by subject")
    check_eq(Jws(tok).claims.get("scope"), "read", "scope")
    expect_ok(mtls_token(t, by_san, "svc"), x5t, "by SAN DNS")
    expect_ok(mtls_token(t, by_uri, "svc"), x5t, "by SAN URI")
    # Introspection by a secret client allowed to introspect: cnf.
    spy = uid("m-spy")
    secret = admin.add(spy, "--introspect")
    r = introspect(t, (spy, secret), tok)
    check_eq(r.status, 200, "introspect")
    check_eq(r.json.get("active"), True, "introspect active")
    check_eq(r.json.get("cnf"), {"x5t#S256": x5t}, "introspect cnf")
    # A secret client, no certificate, optional on: still a token, no cnf.
    r = t.request("POST", "/oauth/token",
                  body=form({"grant_type": "client_credentials"}),
                  headers={"Authorization": basic(spy, secret),
                           "Content-Type":
                           "application/x-www-form-urlencoded"})
    check_eq(r.status, 200, "secret client")
    check("cnf" not in Jws(r.json["access_token"]).claims, "cnf on a "
          "secret client's token")
    # The same secret client over a connection with a certificate.
    conn = cert_conn(t, "svc")
    r = t.request("POST", "/oauth/token",
                  body=form({"grant_type": "client_credentials"}),
                  headers={"Authorization": basic(spy, secret),
                           "Content-Type":
                           "application/x-www-form-urlencoded"}, conn=conn)
    conn.close()
    check_eq(r.status, 200, "secret client with a certificate")
    check("cnf" not in Jws(r.json["access_token"]).claims,
          "cnf on a secret client's token (certificate presented)")
    # Kept-alive: several tokens on one connection.
    conn = cert_conn(t, "svc")
    for i in range(3):
        r = t.request("POST", "/oauth/token", body=form(
            {"grant_type": "client_credentials", "client_id": by_san}),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            conn=conn)
        expect_ok(r, x5t, "kept-alive #%d" % i)
    conn.close()


@scenario("mtls_tls_client_auth_refusals")
def tls_refusals(ctx):
    p = pki(ctx)
    t = instance(ctx, "mtls-refuse")
    admin = Admin(ctx)
    cid = uid("m-ref")
    add_tls(ctx, admin, cid, "--tls-subject", "CN=svc,O=Acme")
    expect_ok(mtls_token(t, cid, "svc"), p.thumbprint("svc"), "baseline")
    bodies = set()
    for cert, what in (("svc-ca2", "another CA"), ("expired", "expired"),
                       ("future", "not yet valid"),
                       ("other", "another subject"),
                       (None, "no certificate"), ("self", "self-signed")):
        r = mtls_token(t, cid, cert)
        expect_invalid(r, what)
        bodies.add(r.body)
    # The tls client with a secret: refused both ways.
    r = mtls_token(t, cid, "svc", fields=[("client_secret", "x" * 40)])
    expect_invalid(r, "tls client, client_secret_post")
    bodies.add(r.body)
    r = mtls_token(t, cid, "svc", auth=basic(cid, "x" * 40))
    expect_invalid(r, "tls client, client_secret_basic")
    bodies.add(r.body)
    # An unknown client presenting a good certificate.
    r = mtls_token(t, uid("m-nobody"), "svc")
    expect_invalid(r, "unknown client")
    bodies.add(r.body)
    check_eq(len(bodies), 1, "one body for every failure")
    # A disabled tls client.
    admin.disable(cid)
    expect_invalid(mtls_token(t, cid, "svc"), "disabled")
    # The reason is logged, never a certificate.
    t.wait_log(r"reason=wrong_certificate", timeout=3)


@scenario("mtls_self_signed")
def self_signed(ctx):
    p = pki(ctx)
    t = instance(ctx, "mtls-self")
    admin = Admin(ctx)
    cid = uid("m-self")
    add_self(ctx, admin, cid, "--tls-cert", p.p("self.pem"))
    r = admin.run("show", cid)
    check(p.thumbprint("self") in r.stdout.decode(),
          "show does not print the thumbprint --tls-cert computed: %s"
          % short(r.stdout, 400))
    expect_ok(mtls_token(t, cid, "self"), p.thumbprint("self"),
              "self-signed")
    expect_invalid(mtls_token(t, cid, "self2"), "another self-signed")
    expect_invalid(mtls_token(t, cid, "svc"), "a CA-issued certificate")
    expect_invalid(mtls_token(t, cid, None), "no certificate")
    expect_invalid(mtls_token(t, cid, "self", auth=basic(cid, "y" * 40)),
                   "the secret way")
    # Two thumbprints (set replaces the list): either works.
    admin.set(cid, "--tls-thumbprint", p.thumbprint("self2"),
              "--tls-cert", p.p("svc.pem"))
    expect_ok(mtls_token(t, cid, "self2"), p.thumbprint("self2"),
              "second thumbprint")
    expect_ok(mtls_token(t, cid, "svc"), p.thumbprint("svc"),
              "a CA-issued certificate registered by thumbprint")
    # The worker's view hears of the change within a moment.
    deadline = time.monotonic() + 2
    while mtls_token(t, cid, "self").status == 200 and \
            time.monotonic() < deadline:
        time.sleep(0.05)
    expect_invalid(mtls_token(t, cid, "self"), "a thumbprint set removed")
    # A tls_client_auth client's certificate pinned by a self-signed
    # record does not make the other method work for it.
    pki_client = uid("m-pki")
    add_tls(ctx, admin, pki_client, "--tls-subject", "CN=svc,O=Acme")
    expect_invalid(mtls_token(t, pki_client, "self"),
                   "tls_client_auth client, self-signed certificate")


@scenario("mtls_method_mismatch")
def method_mismatch(ctx):
    t = instance(ctx, "mtls-mismatch")
    admin = Admin(ctx)
    cid = uid("m-secret")
    admin.add(cid)
    expect_invalid(mtls_token(t, cid, "svc"),
                   "a secret client authenticating by certificate")


@scenario("mtls_client_cert_header")
def client_cert_header(ctx):
    p = pki(ctx)
    admin = Admin(ctx)
    pki_id, self_id = uid("m-hdr"), uid("m-hdrs")
    add_tls(ctx, admin, pki_id, "--tls-subject", "CN=svc,O=Acme")
    add_self(ctx, admin, self_id, "--tls-thumbprint", p.thumbprint("self"))
    untrusted = instance(ctx, "mtls-untrusted")
    r = mtls_token(untrusted, pki_id, None,
                   headers={"X-Client-Cert": p.escaped("svc")})
    expect_invalid(r, "X-Client-Cert from an untrusted peer")
    # The header does not replace the connection's certificate either.
    r = mtls_token(untrusted, pki_id, "svc",
                   headers={"X-Client-Cert": p.escaped("other")})
    expect_ok(r, p.thumbprint("svc"), "the connection's certificate wins")

    trusted = instance(ctx, "mtls-trusted",
                       args=["--trusted-proxies", "127.0.0.1"])
    r = mtls_token(trusted, pki_id, None,
                   headers={"X-Client-Cert": p.escaped("svc")})
    expect_ok(r, p.thumbprint("svc"), "X-Client-Cert from a trusted proxy")
    r = mtls_token(trusted, self_id, None,
                   headers={"X-Client-Cert": p.escaped("self")})
    expect_ok(r, p.thumbprint("self"), "self-signed via X-Client-Cert")
    # Unescaped PEM would not survive a header (newlines); an escaped
    # expired certificate is judged like a connection's.
    expect_invalid(mtls_token(trusted, pki_id, None, headers={
        "X-Client-Cert": p.escaped("expired")}), "expired via header")
    expect_invalid(mtls_token(trusted, pki_id, None, headers={
        "X-Client-Cert": "not%20a%20certificate"}), "garbage header")
    expect_invalid(mtls_token(trusted, pki_id, None, headers={
        "X-Client-Cert": "A" * 7000}), "oversized header")
    # From a trusted proxy only the header counts, not its own
    # connection's certificate.
    expect_invalid(mtls_token(trusted, pki_id, "svc"),
                   "a trusted proxy's own certificate")
    # Two headers: refused (http.client sends both when given a list).
    conn = trusted.connection()
    body = form([("grant_type", "client_credentials"),
                 ("client_id", pki_id)]).encode()
    conn.putrequest("POST", "/oauth/token")
    conn.putheader("Content-Type", "application/x-www-form-urlencoded")
    conn.putheader("Content-Length", str(len(body)))
    conn.putheader("X-Client-Cert", p.escaped("svc"))
    conn.putheader("X-Client-Cert", p.escaped("svc"))
    conn.endheaders(body)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    check_eq(resp.status, 401, "two X-Client-Cert headers (%s)"
             % short(data))
    check_eq(json.loads(data).get("error"), "invalid_client",
             "two headers: error")


@scenario("mtls_off")
def mtls_off(ctx):
    p = pki(ctx)
    t = start_instance(ctx, "mtls-off", args=[
        "--auth-fail-limit", "0", "--tls-client-ca", p.p("ca.pem")])
    admin = Admin(ctx)
    cid = uid("m-off")
    add_tls(ctx, admin, cid, "--tls-subject", "CN=svc,O=Acme")
    # The server never asks: the certificate is not sent.
    r = mtls_token(t, cid, "svc")
    expect_invalid(r, "tls client with --tls-client-auth off")
    secret_client = uid("m-offs")
    secret = admin.add(secret_client)
    r = t.request("POST", "/oauth/token", body=form(
        {"grant_type": "client_credentials"}), headers={
        "Authorization": basic(secret_client, secret),
        "Content-Type": "application/x-www-form-urlencoded"})
    check_eq(r.status, 200, "secret client with off")


@scenario("mtls_no_client_ca")
def no_client_ca(ctx):
    p = pki(ctx)
    t = start_instance(ctx, "mtls-noca", args=TLS_ARGS)
    admin = Admin(ctx)
    cid, sid = uid("m-noca"), uid("m-nocas")
    add_tls(ctx, admin, cid, "--tls-subject", "CN=svc,O=Acme")
    add_self(ctx, admin, sid, "--tls-thumbprint", p.thumbprint("self"))
    expect_invalid(mtls_token(t, cid, "svc"), "no --tls-client-ca")
    expect_invalid(mtls_token(t, cid, "svc"), "no --tls-client-ca again")
    expect_ok(mtls_token(t, sid, "self"), p.thumbprint("self"),
              "self-signed without --tls-client-ca")
    t.wait_log(r"event=tls_client_ca_missing client_id=%s" % cid,
               timeout=3)
    n = len(t.log_lines(r"event=tls_client_ca_missing client_id=%s" % cid))
    check_eq(n, 1, "tls_client_ca_missing lines for one client")


@scenario("mtls_ca_reload")
def ca_reload(ctx):
    p = pki(ctx)
    cafile = p.p("reload-ca.pem")
    with open(cafile, "w") as f:
        f.write(p.pem("ca"))
    t = start_instance(ctx, "mtls-reload", args=TLS_ARGS + [
        "--tls-client-ca", cafile])
    admin = Admin(ctx)
    cid = uid("m-rel")
    add_tls(ctx, admin, cid, "--tls-subject", "CN=svc,O=Acme")
    expect_ok(mtls_token(t, cid, "svc"), p.thumbprint("svc"), "CA 1")
    expect_invalid(mtls_token(t, cid, "svc-ca2"), "CA 2 before reload")
    with open(cafile, "w") as f:
        f.write(p.pem("ca2"))
    off = t.log_offset()
    t.signal(signal.SIGHUP)
    t.wait_log(r"event=reload what=client_ca", since=off, timeout=5)
    expect_ok(mtls_token(t, cid, "svc-ca2"), p.thumbprint("svc-ca2"),
              "CA 2 after reload")
    expect_invalid(mtls_token(t, cid, "svc"), "CA 1 after reload")
    # A bad file keeps the previous CAs.
    with open(cafile, "w") as f:
        f.write("not a certificate\n")
    off = t.log_offset()
    t.signal(signal.SIGHUP)
    t.wait_log(r"event=reload_failed what=client_ca", since=off,
               timeout=5)
    expect_ok(mtls_token(t, cid, "svc-ca2"), p.thumbprint("svc-ca2"),
              "CA 2 kept after a bad reload")


@scenario("mtls_bruteforce")
def bruteforce(ctx):
    p = pki(ctx)
    t = start_instance(ctx, "mtls-bf", args=[
        "--tls-client-auth", "optional", "--tls-client-ca", p.p("ca.pem"),
        "--auth-fail-limit", "3", "--auth-fail-window", "30"])
    admin = Admin(ctx)
    cid = uid("m-bf")
    add_tls(ctx, admin, cid, "--tls-subject", "CN=svc,O=Acme")
    for i in range(3):
        expect_invalid(mtls_token(t, cid, "other"), "wrong cert #%d" % i)
    r = mtls_token(t, cid, "svc")
    expect_json_error(r, 429, "after 3 wrong certificates",
                      "too_many_requests")
    check(r.header("Retry-After") is not None, "no Retry-After")


@scenario("mtls_interop_authlib")
def interop_authlib(ctx):
    try:
        from authlib.integrations.requests_client import OAuth2Session
    except ImportError:
        skip("python3-authlib is not installed")
    p = pki(ctx)
    t = instance(ctx, "mtls-authlib")
    admin = Admin(ctx)
    cid = uid("m-authlib")
    add_tls(ctx, admin, cid, "--tls-san", "svc.example.com")
    url = "https://localhost:%d/oauth/token" % t.port
    s = OAuth2Session(client_id=cid,
                      token_endpoint_auth_method="tls_client_auth")

    # authlib has no built-in tls_client_auth: RFC 8705's body is the
    # client_id alone, which a registered auth method adds.
    def tls_client_auth(auth, method, uri, headers, body):
        body = (body + "&" if body else "") + urllib.parse.urlencode(
            {"client_id": auth.client_id})
        return uri, headers, body

    s.register_client_auth_method(("tls_client_auth", tls_client_auth))
    s.trust_env = False     # REQUESTS_CA_BUNDLE would replace verify
    tok = s.fetch_token(url, grant_type="client_credentials",
                        cert=(p.p("svc.pem"), p.p("svc.key")),
                        verify=ctx.pki.ca_cert)
    ctx.sensitive.token(tok["access_token"])
    check_eq(Jws(tok["access_token"]).claims.get("cnf"),
             {"x5t#S256": p.thumbprint("svc")}, "authlib token cnf")
    check_eq(tok.get("token_type"), "Bearer", "authlib token_type")


def raw_token(t, sock, client_id):
    body = form([("grant_type", "client_credentials"),
                 ("client_id", client_id)]).encode()
    req = (b"POST /oauth/token HTTP/1.1\r\nHost: localhost\r\n"
           b"Content-Type: application/x-www-form-urlencoded\r\n"
           b"Content-Length: %d\r\n\r\n" % len(body)) + body
    r, _ = t.raw_exchange(req, sock=sock)
    check(r is not None, "no answer")
    r.json = json.loads(r.body) if r.body else None
    return r


@scenario("mtls_session_resumption")
def session_resumption(ctx):
    """A resumed TLS session (1.2 session id, 1.3 ticket) still presents
    the certificate of its first handshake; a resumption without one
    presents none."""
    p = pki(ctx)
    t = instance(ctx, "mtls-resume")
    admin = Admin(ctx)
    cid = uid("m-res")
    add_tls(ctx, admin, cid, "--tls-subject", "CN=svc,O=Acme")
    for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        c = ctx.pki.client_context(minimum=version, maximum=version)
        c.load_cert_chain(p.p("svc.pem"), p.p("svc.key"))
        s1 = t.raw_socket(ssl_ctx=c)
        r = raw_token(t, s1, cid)
        expect_ok(r, p.thumbprint("svc"), "%s first" % version.name)
        sess = s1.session
        s1.close()
        raw = socket.create_connection((t.host, t.port), 5)
        s2 = c.wrap_socket(raw, server_hostname="localhost", session=sess)
        ctx.track_socket(s2)
        r = raw_token(t, s2, cid)
        check(s2.session_reused, "%s: the session was not resumed"
              % version.name)
        expect_ok(r, p.thumbprint("svc"), "%s resumed" % version.name)
        s2.close()
        # No certificate at all: resumption gives none either.
        c2 = ctx.pki.client_context(minimum=version, maximum=version)
        s3 = t.raw_socket(ssl_ctx=c2)
        expect_invalid(raw_token(t, s3, cid), "%s no cert" % version.name)
        sess = s3.session
        s3.close()
        raw = socket.create_connection((t.host, t.port), 5)
        s4 = c2.wrap_socket(raw, server_hostname="localhost", session=sess)
        ctx.track_socket(s4)
        expect_invalid(raw_token(t, s4, cid),
                       "%s resumed, no cert" % version.name)
        s4.close()


@scenario("mtls_parallel")
def parallel(ctx):
    """Many connections at once, good and bad certificates interleaved:
    each answer is the one its own certificate earns."""
    import threading
    p = pki(ctx)
    t = instance(ctx, "mtls-parallel", workers=2)
    admin = Admin(ctx)
    cid, sid = uid("m-par"), uid("m-pars")
    add_tls(ctx, admin, cid, "--tls-subject", "CN=svc,O=Acme")
    add_self(ctx, admin, sid, "--tls-thumbprint", p.thumbprint("self"))
    plan = [(cid, "svc", 200), (cid, "other", 401), (sid, "self", 200),
            (sid, "self2", 401), (cid, "expired", 401), (cid, None, 401)]
    errors = []

    def worker(i):
        who, cert, want = plan[i % len(plan)]
        try:
            conn = cert_conn(t, cert)
            for _ in range(5):
                r = t.request("POST", "/oauth/token", body=form(
                    [("grant_type", "client_credentials"),
                     ("client_id", who)]), headers={
                    "Content-Type": "application/x-www-form-urlencoded"},
                    conn=conn)
                if r.status != want:
                    errors.append("%s/%s: %d" % (who, cert, r.status))
                elif want == 200:
                    cnf = Jws(r.json["access_token"]).claims.get("cnf")
                    if cnf != {"x5t#S256": p.thumbprint(cert)}:
                        errors.append("%s/%s: cnf %r" % (who, cert, cnf))
            conn.close()
        except Exception as e:      # noqa: BLE001 - reported below
            errors.append("%s/%s: %r" % (who, cert, e))

    threads = [threading.Thread(target=worker, args=(i,))
               for i in range(24)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    check(not errors, "parallel: %s" % "; ".join(errors[:5]))


@scenario("mtls_subject_escaping")
def subject_escaping(ctx):
    """A subject with RFC 4514 escapes, a multi-valued RDN and UTF-8, as
    openssl -nameopt RFC2253 prints it, goes through tokend-client and
    matches (test/data/mtls: a fixed CA and certificates)."""
    data = os.path.join(ctx.source_root, "test", "data", "mtls")
    t = start_instance(ctx, "mtls-escape", args=TLS_ARGS + [
        "--tls-client-ca", os.path.join(data, "ca.pem")])
    out = subprocess.run(["openssl", "x509", "-in",
                          os.path.join(data, "odd.pem"), "-noout",
                          "-subject", "-nameopt", "RFC2253"],
                         capture_output=True, check=True).stdout
    subject = out.decode().strip().split("=", 1)[1]
    check_eq(subject, 'CN=\\#a\\+b \\"q\\"\\;\\C3\\A9,UID=42+OU=x,'
             'O=Acme\\, Inc.,C=DE', "openssl's RFC2253 subject")
    admin = Admin(ctx)
    cid, near = uid("m-esc"), uid("m-escn")
    add_tls(ctx, admin, cid, "--tls-subject", subject)
    # The same name written another way does not match: strings compare.
    add_tls(ctx, admin, near, "--tls-subject",
            subject.replace("UID=42+OU=x", "OU=x+UID=42"))
    c = ctx.pki.client_context()
    c.load_cert_chain(os.path.join(data, "odd.pem"),
                      os.path.join(data, "client.key"))
    for who, want in ((cid, 200), (near, 401)):
        conn = t.connection(ssl_ctx=c)
        r = t.request("POST", "/oauth/token", body=form(
            [("grant_type", "client_credentials"), ("client_id", who)]),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            conn=conn)
        conn.close()
        check_eq(r.status, want, "odd subject for %s (%s)"
                 % (who, short(r.body)))
