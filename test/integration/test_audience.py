"""
Audiences: RFC 8707 resource parameters at /oauth/token, the aud claim as a
string or an array everywhere, and /verify?aud= (the audience a gateway
checks for the service it protects).

Setup: the shared instance "tokens" (see test_token.py: ES256 with the
harness's signing key, TLS, --workers 2, --auth-fail-limit 0, issuer and
--default-audience its issuer). Clients are made with scripts/tokend-client,
each with a fresh id; "multi" has the audiences
"https://api.example/v1 orders urn:acme:billing" (the first the default).

Expected:
- audience_resource_token: no resource -> aud "https://api.example/v1" (a
  string); resource=orders -> "orders"; resource=urn:acme:billing and
  resource=https://api.example/v1 -> ["urn:acme:billing",
  "https://api.example/v1"] (an array, in the order asked); orders twice ->
  "orders"; orders, urn:acme:billing, orders -> ["orders",
  "urn:acme:billing"]; an empty resource= is omitted (the default). Each
  through Basic and client_secret_post. Refused with 400
  {"error":"invalid_target"}, Cache-Control: no-store: a resource not in
  the list ("inventory"), one of several not in the list, the default
  URI with a trailing slash, upper-cased scheme, a fragment, a query, a
  space-joined pair, a percent-encoded NUL-free oddity ("orders%20x"). Wrong
  credentials with a bad resource -> 401 invalid_client (authentication
  first: the answer says nothing about the audiences). A client with the
  default audience only: no resource -> aud = --default-audience; any
  resource, the default audience itself included -> 400 invalid_target.
  A repeated scope is still 400 invalid_request. /authorize is unchanged:
  the first audience.
- audience_verify_check: an array token ["urn:acme:billing","orders"]:
  ?aud=orders, ?aud=urn:acme:billing, both, the same twice, and ?aud=
  (empty: names nothing) -> 200 with X-Token-Aud "urn:acme:billing
  orders"; ?aud=inventory, ?aud=orders&aud=inventory, ?aud=order (a
  prefix), ?aud=ORDERS -> 401 invalid_token, error_description "token
  rejected: audience_mismatch", WWW-Authenticate: Bearer
  error="invalid_token", no X-Token-* header. A string token: match 200
  with X-Token-Aud the string, mismatch 401. The same through POST with
  the token in a form body. Each asked repeatedly, so that the cached
  token answers too (a hit, checked against the cache counter). 17 aud
  parameters -> 400 invalid_request. An audience mismatch with
  ?scope=admin -> 401 (the audience before the scope). The log has
  event=verify_failed reason=audience_mismatch; the management /metrics
  counts tokend_verify_failures_total{reason="audience_mismatch"}.
- audience_array_introspect: introspection of an array token returns aud
  as the same array, of a string token the string; forged tokens signed
  with the instance's key: aud 42, aud [1], aud {"a":1} -> /verify 401
  bad_claim and introspection inactive; aud [] -> 200 without
  X-Token-Aud, and ?aud=x -> 401 audience_mismatch.
- verify_cert_bound (RFC 8705 3; two scenario-scoped instances, one with
  --trusted-proxies 127.0.0.1/32, one trusting only 10.0.0.0/8): a token
  forged with the instance's key, bound to a self-signed certificate
  (cnf.x5t#S256 = base64url SHA-256 of its DER), /verify with
  X-Client-Cert = the URL-encoded PEM (nginx's $ssl_client_escaped_cert):
  200 (three times: verified, then cached) with cnf in the claims and
  X-Token-Cnf-X5t the thumbprint; CRLF line ends with lighter escaping
  200; with ?aud= of the token 200. 401 invalid_token "token rejected:
  binding_mismatch", no X-Token-Cnf-X5t: another certificate, none, an
  empty header, the right one twice, the right one and another, garbage,
  a truncated PEM, the thumbprint as the header, two certificates in one
  header, an escaped NUL after the PEM; a wrong certificate with a wrong
  ?aud= is binding_mismatch (the binding first), the right certificate with
  a wrong ?aud= audience_mismatch; cnf "x", {"x5t#S256": 5}, {"x5t#S256":
  ""}, [x5t], {"x5t#S256": [x5t]} -> binding_mismatch. An unbound token
  with no, the right or a garbage X-Client-Cert: 200 without
  X-Token-Cnf-X5t. tokend_verify_failures_total{reason="binding_mismatch"}
  counts every refusal. At the instance that does not trust the test's
  address, the right certificate in X-Client-Cert is ignored: 401
  binding_mismatch (an unbound token: 200). Introspection returns cnf and
  aud as in the token. No certificate line in either log.
- Every scenario: no whole token in the instance's log.
"""

import hashlib
import os
import re
import ssl
import urllib.parse

from jwt_helpers import (BEARER_INVALID, FORM, NO_LIMIT, Admin, Forger, Jws,
                         authorize, b64url, check_no_store,
                         check_no_token_logged, client_gen, expect_active,
                         expect_inactive, expect_rejected, expect_valid,
                         form, get_token, introspect, issuer_of,
                         scratch_dir, start_instance, token_request,
                         tokens_instance, uid, verify_request)
import tokend_harness as H
from tokend_harness import (check, check_eq, expect_json_error, scenario,
                            short)

AUDS = "https://api.example/v1 orders urn:acme:billing"


def ask(t, cid, secret, resources, post=False, extra=()):
    f = [("grant_type", "client_credentials")] + \
        [("resource", r) for r in resources] + list(extra)
    return token_request(t, f, client=None if post else (cid, secret),
                         post=(cid, secret) if post else None)


def aud_of(r, what):
    check_eq(r.status, 200, what + ": status (body %s)" % short(r.body))
    return Jws(r.json["access_token"]).claims.get("aud")


def expect_target(r, what):
    expect_json_error(r, 400, what, "invalid_target")
    check_no_store(r, what)


def verify_aud(t, tok, auds, how="bearer", scope=None):
    """/verify with ?aud= for each of auds (and ?scope=)."""
    q = [("aud", a) for a in auds]
    if scope is not None:
        q.append(("scope", scope))
    h = {}
    body = None
    if how == "bearer":
        h["Authorization"] = "Bearer " + tok
    else:
        h["Content-Type"] = FORM
        body = form({"token": tok}).encode()
    return t.request("GET" if body is None else "POST",
                     "/verify" + ("?" + form(q) if q else ""),
                     body=body, headers=h)


def expect_aud_ok(r, claims, header, what):
    expect_valid(r, claims, what)
    check_eq(r.header_all("X-Token-Aud"), [header] if header else [],
             what + ": X-Token-Aud")


def expect_mismatch(r, what):
    expect_rejected(r, "audience_mismatch", what)
    check_eq(r.header_all("WWW-Authenticate"), [BEARER_INVALID],
             what + ": WWW-Authenticate")
    check(not r.header_all("X-Token-Aud"), what + ": X-Token-Aud on a 401")


def metric(text, name, **labels):
    want = ",".join('%s="%s"' % kv for kv in sorted(labels.items()))
    for line in text.splitlines():
        m = re.fullmatch(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)",
                         line)
        if m and m.group(1) == name and \
                ",".join(sorted((m.group(2) or "").split(","))) == want:
            return float(m.group(3))
    return 0


def scrape(t):
    r = t.mgmt_request("GET", "/metrics")
    check_eq(r.status, 200, "GET /metrics")
    return r.body.decode()


@scenario("audience_resource_token")
def resource_token(ctx):
    t = tokens_instance(ctx)
    admin = Admin(ctx)
    cid = uid("it-aud")
    secret = admin.add(cid, "--scopes", "read", "--audience", AUDS)
    tokens = []

    for post in (False, True):
        how = "post" if post else "basic"
        for res, want in (
                ([], "https://api.example/v1"),
                (["orders"], "orders"),
                (["urn:acme:billing", "https://api.example/v1"],
                 ["urn:acme:billing", "https://api.example/v1"]),
                (["orders", "orders"], "orders"),
                (["orders", "urn:acme:billing", "orders"],
                 ["orders", "urn:acme:billing"]),
                ([""], "https://api.example/v1"),
                (["", "orders"], "orders")):
            r = ask(t, cid, secret, res, post=post)
            check_eq(aud_of(r, "resource %r (%s)" % (res, how)), want,
                     "aud for resource %r (%s)" % (res, how))
            tokens.append(r.json["access_token"])
            check_eq(r.json.get("token_type"), "Bearer", "token_type")

        for res in (["inventory"], ["orders", "inventory"],
                    ["https://api.example/v1/"], ["HTTPS://api.example/v1"],
                    ["https://api.example/v1#x"],
                    ["https://api.example/v1?x=1"], ["orders urn:acme:billing"],
                    ["orders x"], [" orders"], ["orders\t"],
                    ["https://api.example"], ["\u00e9"]):
            expect_target(ask(t, cid, secret, res, post=post),
                          "resource %r (%s)" % (res, how))

    # Authentication first: a wrong secret with a bad resource is 401.
    r = ask(t, cid, secret[:-1] + ("A" if secret[-1] != "A" else "B"),
            ["inventory"])
    expect_json_error(r, 401, "wrong secret and a bad resource",
                      "invalid_client")

    # A repeated parameter other than resource is still refused.
    r = ask(t, cid, secret, ["orders"], extra=[("scope", "read"),
                                               ("scope", "read")])
    expect_json_error(r, 400, "scope twice", "invalid_request")

    # /authorize is unchanged: the first audience.
    r = authorize(t, cid, secret)
    check_eq(r.status, 200, "/authorize (%s)" % short(r.body))
    check_eq(Jws(r.json["token"]).claims.get("aud"), "https://api.example/v1",
             "/authorize aud")
    tokens.append(r.json["token"])

    # A client with the default audience only.
    cid0 = uid("it-aud0")
    s0 = admin.add(cid0, "--scopes", "read")
    r = ask(t, cid0, s0, [])
    check_eq(aud_of(r, "default only, no resource"), issuer_of(t),
             "aud of a client with the default audience only")
    tokens.append(r.json["access_token"])
    for res in ([issuer_of(t)], ["orders"], ["x", "y"]):
        expect_target(ask(t, cid0, s0, res),
                      "default audience only, resource %r" % res)

    check_no_token_logged([t], tokens)


@scenario("audience_verify_check")
def verify_check(ctx):
    t = tokens_instance(ctx)
    admin = Admin(ctx)
    cid = uid("it-audv")
    secret = admin.add(cid, "--scopes", "read write", "--audience", AUDS)
    arr = ask(t, cid, secret, ["urn:acme:billing", "orders"])
    check_eq(aud_of(arr, "array token"), ["urn:acme:billing", "orders"],
             "array aud")
    tok = arr.json["access_token"]
    claims = Jws(tok).claims
    one = ask(t, cid, secret, ["https://api.example/v1"])
    tok1 = one.json["access_token"]
    claims1 = Jws(tok1).claims
    check_eq(claims1["aud"], "https://api.example/v1", "string aud")

    before = metric(scrape(t), "tokend_verify_failures_total",
                    reason="audience_mismatch")
    off = t.log_offset()
    mismatches = 0
    for how in ("bearer", "form"):
        for _ in range(3):     # the first verifies, the others hit the cache
            for auds in (["orders"], ["urn:acme:billing"],
                         ["orders", "urn:acme:billing"],
                         ["orders", "orders"], [""], []):
                expect_aud_ok(verify_aud(t, tok, auds, how), claims,
                              "urn:acme:billing orders",
                              "array token ?aud=%r (%s)" % (auds, how))
            for auds in (["inventory"], ["orders", "inventory"], ["order"],
                         ["ORDERS"], ["urn:acme:billing orders"]):
                expect_mismatch(verify_aud(t, tok, auds, how),
                                "array token ?aud=%r (%s)" % (auds, how))
                mismatches += 1
            expect_aud_ok(verify_aud(t, tok1, ["https://api.example/v1"],
                                     how), claims1, "https://api.example/v1",
                          "string token, match (%s)" % how)
            for auds in (["https://api.example/v1/"], ["orders"]):
                expect_mismatch(verify_aud(t, tok1, auds, how),
                                "string token ?aud=%r (%s)" % (auds, how))
                mismatches += 1

    # The audience is checked before the scope: 401, not 403.
    expect_mismatch(verify_aud(t, tok, ["inventory"], scope="admin"),
                    "wrong audience and a missing scope")
    mismatches += 1
    r = verify_aud(t, tok, ["orders"], scope="admin")
    check_eq(r.status, 403, "right audience, missing scope")

    # A bounded list.
    r = verify_aud(t, tok, ["orders"] * 17)
    expect_json_error(r, 400, "17 aud parameters", "invalid_request")
    expect_aud_ok(verify_aud(t, tok, ["orders"] * 16), claims,
                  "urn:acme:billing orders", "16 aud parameters")

    t.wait_log(r"event=verify_failed reason=audience_mismatch jti=%s\b"
               % re.escape(claims["jti"]), off)
    after = metric(scrape(t), "tokend_verify_failures_total",
                   reason="audience_mismatch")
    check_eq(after - before, mismatches,
             "tokend_verify_failures_total{reason=audience_mismatch}")
    check_no_token_logged([t], [tok, tok1])


@scenario("audience_array_introspect")
def array_introspect(ctx):
    t = tokens_instance(ctx)
    admin = Admin(ctx)
    cid = uid("it-audi")
    secret = admin.add(cid, "--scopes", "read", "--audience", AUDS)
    tokens = []
    for res in (["orders", "https://api.example/v1"], ["orders"], []):
        r = ask(t, cid, secret, res)
        tok = r.json["access_token"]
        tokens.append(tok)
        c = Jws(tok).claims
        j = expect_active(introspect(t, (cid, secret), tok), c,
                          "introspect, resources %r" % res)
        check_eq(j["aud"], c["aud"], "introspected aud")

    f = Forger(ctx.pki.signing_key, issuer_of(t), cid, scope="read",
               gen=client_gen(ctx, cid))
    for bad in (42, [1], {"a": 1}, ["a", None], True):
        tok = f.token(claims={"aud": bad})
        tokens.append(tok)
        expect_rejected(verify_request(t, tok), "bad_claim",
                        "forged aud %r" % (bad,))
        expect_inactive(introspect(t, (cid, secret), tok),
                        "introspect forged aud %r" % (bad,))
    tok = f.token(claims={"aud": []})
    tokens.append(tok)
    r = verify_request(t, tok)
    expect_aud_ok(r, Jws(tok).claims, None, "aud []")
    expect_mismatch(verify_aud(t, tok, ["x"]), "aud [], ?aud=x")
    tok = f.token(claims={"aud": ["p", "q"]})
    tokens.append(tok)
    expect_aud_ok(verify_aud(t, tok, ["q", "p"]), Jws(tok).claims, "p q",
                  "forged array aud")
    check_no_token_logged([t], tokens)


# ---------------------------------------------------------------------------
# Certificate-bound tokens at /verify (RFC 8705 section 3)

def make_cert(ctx, d, name):
    """A self-signed EC certificate: (PEM text, key path, x5t#S256)."""
    key = os.path.join(d, name + ".key")
    cert = os.path.join(d, name + ".pem")
    ctx.pki.ec_key(key)
    ctx.pki.openssl("req", "-new", "-x509", "-key", key, "-out", cert,
                    "-days", "2", "-subj", "/O=Acme/CN=" + name)
    with open(cert) as f:
        pem = f.read()
    der = ssl.PEM_cert_to_DER_cert(pem)
    return pem, key, b64url(hashlib.sha256(der).digest())


def escaped(pem):
    """As nginx's $ssl_client_escaped_cert: URL-encoded PEM."""
    return urllib.parse.quote(pem, safe="")


def verify_cert(t, tok, cert_headers, auds=()):
    """/verify with the X-Client-Cert values given (a list: each one a
    header of its own)."""
    path = "/verify" + ("?" + form([("aud", a) for a in auds])
                        if auds else "")
    conn = t.connection()
    try:
        conn.putrequest("GET", path, skip_accept_encoding=True)
        conn.putheader("Authorization", "Bearer " + tok)
        for v in cert_headers:
            conn.putheader("X-Client-Cert", v)
        conn.endheaders()
        r = conn.getresponse()
        return H.Response(r.status, r.getheaders(), r.read())
    finally:
        conn.close()


@scenario("verify_cert_bound")
def verify_cert_bound(ctx):
    t = start_instance(ctx, "certbound", args=NO_LIMIT + [
        "--trusted-proxies", "127.0.0.1/32"])
    # The same, but the test's address is no trusted proxy.
    u = start_instance(ctx, "certbound-untrusted", args=NO_LIMIT + [
        "--trusted-proxies", "10.0.0.0/8"])
    admin = Admin(ctx)
    cid = uid("it-cb")
    secret = admin.add(cid, "--scopes", "read", "--audience", AUDS)
    d = scratch_dir(ctx, "certbound")
    pem, _, x5t = make_cert(ctx, d, "svc")
    other, _, x5t_other = make_cert(ctx, d, "other")
    check(x5t != x5t_other, "two certificates, one thumbprint")
    f = Forger(ctx.pki.signing_key, issuer_of(t), cid, scope="read",
               gen=client_gen(ctx, cid))
    bound = f.token(claims={"cnf": {"x5t#S256": x5t}, "aud": "orders"})
    claims = Jws(bound).claims
    _, plain = get_token(t, cid, secret)
    tokens = [bound, plain]

    before = metric(scrape(t), "tokend_verify_failures_total",
                    reason="binding_mismatch")
    # The right certificate: 200, cnf in the claims, X-Token-Cnf-X5t.
    for _ in range(3):     # verified, then from the cache
        r = verify_cert(t, bound, [escaped(pem)])
        expect_valid(r, claims, "bound token, its certificate")
        check_eq(r.json["claims"]["cnf"], {"x5t#S256": x5t}, "cnf")
        check_eq(r.header_all("X-Token-Cnf-X5t"), [x5t], "X-Token-Cnf-X5t")
    # nginx escapes newlines only; a PEM with CRLF line ends works too.
    expect_valid(verify_cert(t, bound, [urllib.parse.quote(
        pem.replace("\n", "\r\n"), safe="/+=")]), claims,
        "bound token, CRLF PEM, lighter escaping")
    r = verify_cert(t, bound, [escaped(pem)], auds=["orders"])
    expect_valid(r, claims, "bound token, ?aud=orders")
    mismatches = 0
    for what, hdrs in (
            ("another certificate", [escaped(other)]),
            ("no certificate", []),
            ("an empty X-Client-Cert", [""]),
            ("the right one twice", [escaped(pem), escaped(pem)]),
            ("the right one and another", [escaped(pem), escaped(other)]),
            ("garbage", ["not-a-certificate"]),
            ("a truncated PEM", [escaped(pem[:len(pem) // 2])]),
            ("the thumbprint itself", [x5t]),
            ("two certificates in one header", [escaped(pem + other)]),
            ("an escaped NUL", [escaped(pem) + "%00"])):
        r = verify_cert(t, bound, hdrs)
        expect_rejected(r, "binding_mismatch", "bound token, " + what)
        check(not r.header_all("X-Token-Cnf-X5t"),
              what + ": X-Token-Cnf-X5t on a 401")
        mismatches += 1
    # The binding before the audience: a wrong certificate and a wrong
    # audience are a binding_mismatch.
    expect_rejected(verify_cert(t, bound, [escaped(other)], auds=["x"]),
                    "binding_mismatch", "wrong certificate and audience")
    mismatches += 1
    expect_rejected(verify_cert(t, bound, [escaped(pem)], auds=["x"]),
                    "audience_mismatch", "right certificate, wrong aud")

    # cnf that binds to nothing presentable: refused.
    for cnf in ("x", {"x5t#S256": 5}, {"x5t#S256": ""}, [x5t],
                {"x5t#S256": [x5t]}):
        tok = f.token(claims={"cnf": cnf})
        tokens.append(tok)
        expect_rejected(verify_cert(t, tok, [escaped(pem)]),
                        "binding_mismatch", "cnf %r" % (cnf,))
        mismatches += 1

    # An unbound token needs no certificate and ignores one.
    for hdrs in ([], [escaped(pem)], ["garbage"]):
        r = verify_cert(t, plain, hdrs)
        expect_valid(r, Jws(plain).claims, "unbound token, %d X-Client-Cert"
                     % len(hdrs))
        check(not r.header_all("X-Token-Cnf-X5t"),
              "X-Token-Cnf-X5t for an unbound token")

    after = metric(scrape(t), "tokend_verify_failures_total",
                   reason="binding_mismatch")
    check_eq(after - before, mismatches,
             "tokend_verify_failures_total{reason=binding_mismatch}")

    # From a peer that is not a trusted proxy the header is ignored: the
    # right certificate does not help.
    fu = Forger(ctx.pki.signing_key, issuer_of(u), cid, scope="read",
                gen=client_gen(ctx, cid))
    ubound = fu.token(claims={"cnf": {"x5t#S256": x5t}})
    tokens.append(ubound)
    r = verify_cert(u, ubound, [escaped(pem)])
    expect_rejected(r, "binding_mismatch", "X-Client-Cert from an "
                    "untrusted peer")
    _, uplain = get_token(u, cid, secret)
    tokens.append(uplain)
    expect_valid(verify_cert(u, uplain, [escaped(pem)]), Jws(uplain).claims,
                 "an unbound token at the untrusted instance")
    # Introspection returns cnf as in the token.
    r = introspect(t, (cid, secret), bound)
    check_eq(r.status, 200, "introspect a bound token")
    check_eq(r.json.get("active"), True, "introspect a bound token")
    for m in ("cnf", "aud", "jti"):
        check_eq(r.json.get(m), claims[m], "introspected " + m)
    check_no_token_logged([t, u], tokens)
    for inst in (t, u):
        check(pem.splitlines()[1] not in inst.log_text(),
              "a certificate in the log of " + inst.name)
