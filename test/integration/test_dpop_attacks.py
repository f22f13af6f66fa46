"""
Hostile DPoP proofs, requests and bound tokens against the real binary over
real TLS with a real redis-server: what an RFC 9449 attack suite and a
hostile client try.

Setup: a scenario-scoped instance "dpop" (--auth-fail-limit 0); proofs made
with the cryptography package (dpop_helpers.py).

Expected:
- dpop_proof_hostile_shapes: at /oauth/token, refused (400
  invalid_dpop_proof): a jwk of kty oct, a jwk with a private member, an
  RSA jwk with alg ES256, alg none and HS256, typ JWT, crit, iat a float,
  a string, huge and negative, htm "post", htu with userinfo, htu of
  another host, port or path (dot segments resolving elsewhere), a
  non-ASCII htu. Accepted: typ "application/dpop+jwt", an uppercase
  scheme and host, the default port, a query and a fragment, a dot
  segment resolving to /oauth/token, jku/x5c/kid header members (only
  the header's jwk is the key), and PS256 with an RSA jwk that names no
  alg (the metadata lists PS256).
- dpop_verify_hostile_requests: at /verify, two Authorization headers are
  400 invalid_request whatever they hold; a DPoP token that verified with
  its proof (its verdict cached) is still 401 as Bearer, or as DPoP
  without a proof; a padded ath, a proof with htm "get", an ath of the
  token's hash in hex: 401 invalid_dpop_proof.
- dpop_token_revocable_by_its_client: the client that got a DPoP token
  revokes it (/oauth/revoke, no proof needed): 200, then /verify with a
  fresh proof is 401.
- dpop_token_endpoint_jti_window_edge: --dpop-max-age 2 --leeway 0: a
  proof used at /oauth/token just after a second starts is refused when
  sent again until the last second its iat is accepted.
- dpop_verify_forwarded_headers_once_each: from a trusted peer, one of
  X-Forwarded-Method, -Proto, -Host, -Uri sent twice (a client's first, the
  gateway's after it) with a proof naming the client's values: 401
  invalid_dpop_proof; the four once each: 200.
- bound_token_both_cnf_members_checked: a token with cnf.jkt and
  cnf.x5t#S256 (forged with the instance's key): 200 with a proof and the
  certificate (X-Client-Cert from a trusted peer), both X-Token-Cnf-*
  headers, also from the cache; the proof alone, the certificate alone
  (DPoP or Bearer): 401. A cnf of the wrong shape (a string, an array, a
  number or empty jkt, a number x5t#S256): 401 as Bearer and as DPoP.
- dpop_verify_target_host_is_a_host: from an untrusted peer, a Host with a
  path, query or fragment ("rs.example/items?") and a proof for the URL
  that makes (https://rs.example/items): 401; a plain Host: 200. From a
  trusted peer, an X-Forwarded-Host with a path, an X-Forwarded-Proto
  that is a URL: 401.
- Every scenario: no whole token or proof in the logs.
"""

import base64
import hashlib
import http.client
import json
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from dpop_helpers import Key, b64u, proof
from jwt_helpers import NO_LIMIT, Admin, basic, start_instance, \
    token_request, uid
from tokend_harness import check, check_eq, expect_json_error, scenario, \
    scaled, short


def token_url(t):
    return "https://localhost:%d/oauth/token" % t.port


def verify_url(t):
    return "https://%s:%d/verify" % (t.host, t.port)


def instance(ctx, args=()):
    return start_instance(ctx, "dpop", args=NO_LIMIT + list(args))


def client(ctx, *opts):
    cid = uid("dpopx")
    return cid, Admin(ctx).add(cid, *opts)


def raw_proof(ctx, key, header, claims, signer=None):
    si = b64u(json.dumps(header, separators=(",", ":"))) + "." + \
        b64u(json.dumps(claims, separators=(",", ":")))
    sig = signer(si.encode()) if signer else key.sign(si.encode())
    p = si + "." + b64u(sig)
    ctx.sensitive.token(p)
    return p


def claims(htm, htu, **kw):
    c = {"jti": uid("j"), "htm": htm, "htu": htu, "iat": int(time.time())}
    c.update(kw)
    return c


def ask(t, cid, secret, p):
    return token_request(t, client=(cid, secret), headers={"DPoP": p})


def expect_refused(ctx, r, what):
    expect_json_error(r, 400, what, error="invalid_dpop_proof")
    check("access_token" not in (r.json or {}), what + ": no token")


def expect_token(ctx, r, what):
    check_eq(r.status, 200, what + " (body %s)" % short(r.body))
    check_eq(r.json.get("token_type"), "DPoP", what + ": token_type")
    ctx.sensitive.token(r.json["access_token"])
    return r.json["access_token"]


@scenario("dpop_proof_hostile_shapes")
def dpop_proof_hostile_shapes(ctx):
    t = instance(ctx)
    cid, secret = client(ctx)
    key, rkey = Key(), Key("RS256")
    tu = token_url(t)
    hdr = {"typ": "dpop+jwt", "alg": "ES256", "jwk": key.jwk}

    def h(**kw):
        x = dict(hdr)
        x.update(kw)
        return x

    refused = [
        ("kty oct", h(jwk={"kty": "oct", "k": b64u(b"k" * 32)}), None),
        ("private member d", h(jwk=dict(key.jwk, d=b64u(b"x" * 32))), None),
        ("RSA jwk with ES256", h(jwk=rkey.jwk), None),
        ("alg none", h(alg="none"), None),
        ("alg HS256", h(alg="HS256"), None),
        ("typ JWT", h(typ="JWT"), None),
        ("crit", h(crit=["exp"]), None),
        ("iat float", hdr, {"iat": time.time()}),
        ("iat string", hdr, {"iat": str(int(time.time()))}),
        ("iat huge", hdr, {"iat": 10 ** 30}),
        ("iat 2^63", hdr, {"iat": 2 ** 63}),
        ("iat negative", hdr, {"iat": -(2 ** 63)}),
        ("htm lowercase", hdr, {"htm": "post"}),
        ("htu userinfo", hdr,
         {"htu": "https://u:p@localhost:%d/oauth/token" % t.port}),
        ("htu host@", hdr,
         {"htu": "https://localhost:%d@evil/oauth/token" % t.port}),
        ("htu other host", hdr,
         {"htu": "https://evil:%d/oauth/token" % t.port}),
        ("htu trailing dot", hdr,
         {"htu": "https://localhost.:%d/oauth/token" % t.port}),
        ("htu other port", hdr,
         {"htu": "https://localhost:%d/oauth/token" % (t.port + 1)}),
        ("htu dot segments elsewhere", hdr,
         {"htu": "https://localhost:%d/oauth/token/../x" % t.port}),
        ("htu encoded slash", hdr,
         {"htu": "https://localhost:%d/oauth%%2Ftoken" % t.port}),
        ("htu IDN", hdr,
         {"htu": "https://l\u00f6calhost:%d/oauth/token" % t.port}),
        ("htu http", hdr,
         {"htu": "http://localhost:%d/oauth/token" % t.port}),
        ("jti empty", hdr, {"jti": ""}),
        ("jti number", hdr, {"jti": 7}),
    ]
    for what, header, over in refused:
        c = claims("POST", tu)
        c.update(over or {})
        expect_refused(ctx, ask(t, cid, secret, raw_proof(ctx, key, header,
                                                          c)), what)
    accepted = [
        ("typ application/dpop+jwt", h(typ="application/dpop+jwt"), None),
        ("uppercase scheme and host", hdr,
         {"htu": "HTTPS://LOCALHOST:%d/oauth/token" % t.port}),
        ("query and fragment", hdr, {"htu": tu + "?a=b#c"}),
        ("dot segments to the endpoint", hdr,
         {"htu": "https://localhost:%d/oauth/x/../token" % t.port}),
        ("percent-encoded unreserved", hdr,
         {"htu": "https://localhost:%d/oauth/%%74oken" % t.port}),
        ("jku, x5c, kid ignored",
         h(jku="https://evil/jwks", x5c=["AAAA"], kid="other"), None),
    ]
    for what, header, over in accepted:
        c = claims("POST", tu)
        c.update(over or {})
        tok = expect_token(ctx, ask(t, cid, secret, raw_proof(
            ctx, key, header, c)), what)
        check_eq(json.loads(base64.urlsafe_b64decode(
            tok.split(".")[1] + "==")).get("cnf"), {"jkt": key.jkt},
            what + ": cnf")

    # the metadata lists PS256: an RSA jwk (no alg member, as RFC 9449's
    # examples) signing with RSASSA-PSS
    def pss(data):
        return rkey.priv.sign(data, padding.PSS(
            mgf=padding.MGF1(hashes.SHA256()),
            salt_length=hashes.SHA256().digest_size), hashes.SHA256())
    tok = expect_token(ctx, ask(t, cid, secret, raw_proof(
        ctx, rkey, {"typ": "dpop+jwt", "alg": "PS256", "jwk": rkey.jwk},
        claims("POST", tu), signer=pss)), "PS256 proof")
    p = raw_proof(ctx, rkey, {"typ": "dpop+jwt", "alg": "PS256",
                              "jwk": rkey.jwk},
                  claims("GET", verify_url(t), ath=b64u(
                      hashlib.sha256(tok.encode()).digest())), signer=pss)
    r = t.request("GET", "/verify", headers={"Authorization": "DPoP " + tok,
                                             "DPoP": p})
    check_eq(r.status, 200, "PS256 proof at /verify (body %s)"
             % short(r.body))
    # an RS256 signature under alg PS256 is still refused
    expect_refused(ctx, ask(t, cid, secret, raw_proof(
        ctx, rkey, {"typ": "dpop+jwt", "alg": "PS256", "jwk": rkey.jwk},
        claims("POST", tu))), "PKCS#1 v1.5 signature named PS256")


def raw_verify(t, headers):
    """GET /verify with headers a list (names may repeat)."""
    conn = t.connection()
    try:
        conn.putrequest("GET", "/verify", skip_host=any(
            k.lower() == "host" for k, _ in headers))
        for k, v in headers:
            t.ctx.sensitive.from_request({k: v}, None)
            conn.putheader(k, v)
        conn.endheaders()
        r = conn.getresponse()
        return r.status, json.loads(r.read() or b"null"), r.getheaders()
    finally:
        conn.close()


@scenario("dpop_verify_hostile_requests")
def dpop_verify_hostile_requests(ctx):
    t = instance(ctx)
    cid, secret = client(ctx)
    key = Key()
    p = proof(key, "POST", token_url(t))
    ctx.sensitive.token(p)
    tok = expect_token(ctx, ask(t, cid, secret, p), "DPoP token")
    bearer = token_request(t, client=(cid, secret)).json["access_token"]
    ctx.sensitive.token(bearer)
    vu = verify_url(t)

    def vp(**kw):
        x = proof(key, kw.pop("htm", "GET"), vu, token=tok, **kw)
        ctx.sensitive.token(x)
        return x

    # the verdict of the token is cached after this
    r = t.request("GET", "/verify", headers={"Authorization": "DPoP " + tok,
                                             "DPoP": vp()})
    check_eq(r.status, 200, "DPoP /verify (body %s)" % short(r.body))
    for scheme, pr in (("Bearer", None), ("Bearer", vp()), ("DPoP", None)):
        h = {"Authorization": "%s %s" % (scheme, tok)}
        if pr:
            h["DPoP"] = pr
        r = t.request("GET", "/verify", headers=h)
        check_eq(r.status, 401, "cached DPoP token, %s, proof %s"
                 % (scheme, pr is not None))
    # two Authorization headers: never the first one alone
    for first, second in ((bearer, tok), (tok, bearer)):
        st, body, _ = raw_verify(t, [
            ("Authorization", "Bearer " + first),
            ("Authorization", "Bearer " + second)])
        check_eq(st, 400, "two Authorization headers (%r)" % (body,))
        check_eq(body.get("error"), "invalid_request", "two Authorization")
    st, body, _ = raw_verify(t, [("Authorization", "DPoP " + tok),
                                 ("Authorization", "Bearer " + bearer),
                                 ("DPoP", vp())])
    check_eq(st, 400, "DPoP and Bearer Authorization headers")
    # padded ath, hex ath, lowercase htm
    digest = hashlib.sha256(tok.encode()).digest()
    for what, pr in (
            ("padded ath", proof(key, "GET", vu, extra_claims={
                "ath": base64.urlsafe_b64encode(digest).decode()})),
            ("hex ath", proof(key, "GET", vu, extra_claims={
                "ath": digest.hex()})),
            ("htm get", proof(key, "get", vu, token=tok))):
        ctx.sensitive.token(pr)
        r = t.request("GET", "/verify", headers={
            "Authorization": "DPoP " + tok, "DPoP": pr})
        expect_json_error(r, 401, what, error="invalid_dpop_proof")


@scenario("dpop_token_revocable_by_its_client")
def dpop_token_revocable_by_its_client(ctx):
    t = instance(ctx)
    cid, secret = client(ctx)
    key = Key()
    p = proof(key, "POST", token_url(t))
    ctx.sensitive.token(p)
    tok = expect_token(ctx, ask(t, cid, secret, p), "DPoP token")
    r = t.request("POST", "/oauth/revoke", body=("token=" + tok).encode(),
                  headers={"Content-Type":
                           "application/x-www-form-urlencoded",
                           "Authorization": basic(cid, secret)})
    check_eq(r.status, 200, "revoke (body %s)" % short(r.body))
    deadline = time.time() + scaled(5)
    while True:
        pr = proof(key, "GET", verify_url(t), token=tok)
        ctx.sensitive.token(pr)
        r = t.request("GET", "/verify", headers={
            "Authorization": "DPoP " + tok, "DPoP": pr})
        if r.status == 401 or time.time() > deadline:
            break
        time.sleep(0.1)
    check_eq(r.status, 401, "revoked DPoP token at /verify (body %s)"
             % short(r.body))


@scenario("dpop_token_endpoint_jti_window_edge", timeout=60)
def dpop_token_endpoint_jti_window_edge(ctx):
    t = instance(ctx, ["--dpop-max-age", "2", "--leeway", "0"])
    cid, secret = client(ctx)
    key = Key()
    conn = t.connection()
    try:
        # up to three tries: a loaded machine may miss the timing, which
        # is then not a verdict
        for _ in range(3):
            # just after a second starts
            now = time.time()
            time.sleep(1.02 - (now - int(now)))
            start = int(time.time())
            p = proof(key, "POST", token_url(t), iat=start)
            ctx.sensitive.token(p)
            r = token_request(t, client=(cid, secret), headers={"DPoP": p},
                              conn=conn)
            expect_token(ctx, r, "first use")
            if time.time() > start + 0.5:
                continue
            # the last second the iat is accepted (start + 2), late in it
            time.sleep(max(0, start + 2.6 - time.time()))
            r = token_request(t, client=(cid, secret), headers={"DPoP": p},
                              conn=conn)
            if int(time.time()) != start + 2:
                continue
            expect_refused(ctx, r, "the proof again at the window's end")
            return
        check(False, "three tries, the timing missed each time")
    finally:
        conn.close()


@scenario("dpop_verify_forwarded_headers_once_each")
def dpop_verify_forwarded_headers_once_each(ctx):
    """A gateway that adds its X-Forwarded-* after a client's (an
    add-header rule, not a replace) sends two of a name: tokend must not
    pick the client's. Each of the four once, else the proof is refused."""
    t = start_instance(ctx, "dpop-fwd",
                       args=NO_LIMIT + ["--trusted-proxies", "127.0.0.1"])
    cid, secret = client(ctx)
    key = Key()
    p = proof(key, "POST", token_url(t))
    ctx.sensitive.token(p)
    tok = expect_token(ctx, ask(t, cid, secret, p), "DPoP token")
    gateway = [("X-Forwarded-Method", "GET"), ("X-Forwarded-Proto", "https"),
               ("X-Forwarded-Host", "api.example"),
               ("X-Forwarded-Uri", "/items")]

    def pr(htm, htu):
        x = proof(key, htm, htu, token=tok)
        ctx.sensitive.token(x)
        return x

    st, body, _ = raw_verify(t, [("Authorization", "DPoP " + tok),
                                 ("DPoP", pr("GET", "https://api.example"
                                             "/items"))] + gateway)
    check_eq(st, 200, "the gateway's four headers (%r)" % (body,))
    client_sent = {"X-Forwarded-Method": "DELETE",
                   "X-Forwarded-Proto": "https",
                   "X-Forwarded-Host": "evil.example",
                   "X-Forwarded-Uri": "/admin"}
    for name, value in client_sent.items():
        # the client's first, the gateway's after it; the proof names
        # the client's request
        target = dict(gateway)
        target[name] = value
        st, body, _ = raw_verify(
            t, [("Authorization", "DPoP " + tok),
                ("DPoP", pr(target["X-Forwarded-Method"],
                            "%s://%s%s" % (target["X-Forwarded-Proto"],
                                           target["X-Forwarded-Host"],
                                           target["X-Forwarded-Uri"]))),
                (name, value)] + gateway)
        check_eq(st, 401, "two %s (%r)" % (name, body))
        check_eq(body.get("error"), "invalid_dpop_proof", "two " + name)


@scenario("bound_token_both_cnf_members_checked")
def bound_token_both_cnf_members_checked(ctx):
    """A token with cnf.jkt and cnf.x5t#S256 (a mutual-TLS client asking
    with a DPoP proof gets one) needs its certificate and its proof; a
    cnf of the wrong shape is refused whatever comes with it."""
    from jwt_helpers import Forger, client_gen, issuer_of, scratch_dir
    from test_audience import escaped, make_cert
    t = start_instance(ctx, "dpop-both",
                       args=NO_LIMIT + ["--trusted-proxies", "127.0.0.1"])
    cid, _ = client(ctx)
    key = Key()
    d = scratch_dir(ctx, "dpop-both")
    pem, _, x5t = make_cert(ctx, d, "both")
    f = Forger(ctx.pki.signing_key, issuer_of(t), cid, scope="read",
               gen=client_gen(ctx, cid))
    tok = f.token(claims={"cnf": {"jkt": key.jkt, "x5t#S256": x5t}})
    ctx.sensitive.token(tok)

    def send(scheme, with_proof, with_cert, token=tok):
        h = [("Authorization", "%s %s" % (scheme, token))]
        if with_proof:
            p = proof(key, "GET", verify_url(t), token=token)
            ctx.sensitive.token(p)
            h.append(("DPoP", p))
        if with_cert:
            h.append(("X-Client-Cert", escaped(pem)))
        return raw_verify(t, h)

    for _ in range(2):      # verified, then from the cache
        st, body, hdrs = send("DPoP", True, True)
        check_eq(st, 200, "proof and certificate (%r)" % (body,))
        names = {k.lower(): v for k, v in hdrs}
        check_eq(names.get("x-token-cnf-jkt"), key.jkt, "X-Token-Cnf-Jkt")
        check_eq(names.get("x-token-cnf-x5t"), x5t, "X-Token-Cnf-X5t")
        for scheme, pr, cert in (("DPoP", True, False),
                                 ("Bearer", False, True),
                                 ("DPoP", False, True)):
            st, body, _ = send(scheme, pr, cert)
            check_eq(st, 401, "%s proof=%s cert=%s (%r)"
                     % (scheme, pr, cert, body))
    for cnf in ("jkt", ["x"], {"jkt": 7}, {"jkt": ""},
                {"x5t#S256": x5t, "jkt": ["a"]}, {"x5t#S256": 1}):
        bad = f.token(claims={"cnf": cnf})
        ctx.sensitive.token(bad)
        for scheme in ("Bearer", "DPoP"):
            st, body, _ = send(scheme, scheme == "DPoP", True, token=bad)
            check_eq(st, 401, "cnf %r, %s (%r)" % (cnf, scheme, body))


@scenario("dpop_verify_target_host_is_a_host")
def dpop_verify_target_host_is_a_host(ctx):
    """The host of the URL a proof must name is a host: a Host (from any
    peer) or X-Forwarded-Host (from a trusted one) that carries a path, a
    query or a fragment would let a proof made for another URL pass; an
    X-Forwarded-Proto other than http or https likewise."""
    t = start_instance(ctx, "dpop-host",
                       args=NO_LIMIT + ["--trusted-proxies", "10.9.9.9"])
    t2 = start_instance(ctx, "dpop-host-trusting",
                        args=NO_LIMIT + ["--trusted-proxies", "127.0.0.1"],
                        replace={"--issuer": "https://localhost:%d"
                                 % t.port})
    cid, secret = client(ctx)
    key = Key()
    p = proof(key, "POST", token_url(t))
    ctx.sensitive.token(p)
    tok = expect_token(ctx, ask(t, cid, secret, p), "DPoP token")

    def pr(htm, htu):
        x = proof(key, htm, htu, token=tok)
        ctx.sensitive.token(x)
        return x

    # untrusted peer: Host with a path (a proof made for
    # https://rs.example/items), a query, a fragment
    for host, htu in (("rs.example/items?", "https://rs.example/items"),
                      ("rs.example/items#", "https://rs.example/items"),
                      ("rs.example?", "https://rs.example/verify")):
        st, body, _ = raw_verify(t, [("Host", host),
                                     ("Authorization", "DPoP " + tok),
                                     ("DPoP", pr("GET", htu))])
        check_eq(st, 401, "Host %r (%r)" % (host, body))
    st, body, _ = raw_verify(t, [("Host", "rs.example"),
                                 ("Authorization", "DPoP " + tok),
                                 ("DPoP", pr("GET",
                                             "https://rs.example/verify"))])
    check_eq(st, 200, "a plain Host (%r)" % (body,))
    # trusted peer: X-Forwarded-Host with a path, X-Forwarded-Proto a URL
    for fwd, htu in (
            ({"X-Forwarded-Proto": "https",
              "X-Forwarded-Host": "rs.example/admin?",
              "X-Forwarded-Uri": "/items"}, "https://rs.example/admin"),
            ({"X-Forwarded-Proto": "https://rs.example/admin#",
              "X-Forwarded-Host": "api.example",
              "X-Forwarded-Uri": "/items"}, "https://rs.example/admin")):
        h = [("Authorization", "DPoP " + tok), ("DPoP", pr("GET", htu)),
             ("X-Forwarded-Method", "GET")] + list(fwd.items())
        st, body, _ = raw_verify(t2, h)
        check_eq(st, 401, "forwarded %r (%r)" % (fwd, body))
