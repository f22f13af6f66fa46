"""
DPoP (RFC 9449) at /oauth/token and /verify, over real TLS, against a real
redis-server.

Setup: proofs are made here with the cryptography package (EC P-256,
ES256; one RSA key for RS256); clients with scripts/tokend-client. A
scenario-scoped instance "dpop" (--workers 2, --auth-fail-limit 0) unless
a scenario says otherwise.

Expected:
- dpop_token_and_verify_end_to_end: a proof at /oauth/token -> 200
  token_type "DPoP", the token's cnf.jkt is the RFC 7638 thumbprint of the
  proof's key; /verify with "Authorization: DPoP" and a fresh proof (ath,
  htm GET, htu https://Host/verify) -> 200 with claims.cnf and
  X-Token-Cnf-Jkt; introspection says token_type "DPoP" with cnf; the
  metadata lists dpop_signing_alg_values_supported; an RS256 proof works
  too; a token without a proof is still Bearer.
- dpop_token_endpoint_refuses_bad_proofs: typ, alg HS256/none, a jwk with
  a private member, htm GET, htu of another URL, iat too old and in the
  future, no jti, a signature by another key than the header's jwk, two
  DPoP headers, a replayed proof (same instance, and a second instance on
  the same Redis): each 400 invalid_dpop_proof, no token.
- dpop_bound_client_needs_a_proof: a --dpop-bound client without a proof
  -> 400 invalid_dpop_proof; with one -> 200 DPoP; at the legacy
  /authorize (no proofs there) -> 400 {"error":"invalid_dpop_proof"};
  after --no-dpop-bound, a Bearer token again.
- dpop_verify_refuses_bad_bindings: the DPoP token as Bearer -> 401
  invalid_token; a Bearer token with the DPoP scheme -> 401 invalid_token;
  no proof, htm POST for a GET, htu of another URL, ath of another token,
  a proof of another key -> 401 with WWW-Authenticate: DPoP
  error="invalid_dpop_proof"; the metrics count dpop_proof_invalid,
  binding_mismatch and dpop_replay.
- dpop_verify_replay_across_workers: one proof sent 40 times on 40
  connections to --workers 2: exactly one 200.
- dpop_interop_oauth4webapi: oauth4webapi (test/interop) discovers the
  metadata, gets a DPoP token and makes proofs /verify accepts; another
  key's proof is refused.
- dpop_forwarded_request_only_from_trusted_proxies: X-Forwarded-* from a
  peer outside --trusted-proxies are ignored (a proof for the forwarded
  URL fails, one for /verify passes); from a trusted peer the proof must
  name the forwarded request.
- dpop_store_down_fails_closed: Redis killed -> a DPoP token request is
  503 within 1.5 s, no token; DPoP /verify 503; Redis back -> a fresh
  proof gets a DPoP token.
- Every scenario: no whole token or proof in the logs.
"""

import json
import threading
import time

from dpop_helpers import Key, b64u, proof, uint
from jwt_helpers import (NO_LIMIT, Admin, Jws, basic, start_instance,
                         token_request, uid)
from tokend_harness import check, check_eq, expect_json_error, scenario, short


def token_url(t):
    return "https://localhost:%d/oauth/token" % t.port


def verify_url(t):
    """What /verify's Host makes of it (the harness connects by IP)."""
    return "https://%s:%d/verify" % (t.host, t.port)


def dpop_instance(ctx, args=()):
    return start_instance(ctx, "dpop", args=NO_LIMIT + list(args))


def client(ctx, *opts):
    cid = uid("dpop")
    return cid, Admin(ctx).add(cid, *opts)


def dpop_token(ctx, t, cid, secret, key, conn=None):
    p = proof(key, "POST", token_url(t))
    ctx.sensitive.token(p)
    r = token_request(t, client=(cid, secret), headers={"DPoP": p},
                      conn=conn)
    check_eq(r.status, 200, "DPoP token (body %s)" % short(r.body))
    check_eq(r.json.get("token_type"), "DPoP", "token_type")
    tok = r.json["access_token"]
    ctx.sensitive.token(tok)
    return tok


def verify_dpop(t, tok, p, scheme="DPoP", headers=None, method="GET",
                conn=None):
    h = {"Authorization": "%s %s" % (scheme, tok)}
    if p is not None:
        h["DPoP"] = p
    h.update(headers or {})
    return t.request(method, "/verify", headers=h, conn=conn)


def expect_bad_proof(r, what):
    check_eq(r.status, 401, what + ": status (body %s)" % short(r.body))
    check_eq(r.json.get("error"), "invalid_dpop_proof", what + ": error")
    check(r.header("WWW-Authenticate", "").startswith(
        'DPoP error="invalid_dpop_proof"'),
        what + ": challenge %r" % r.header("WWW-Authenticate"))


def metrics_text(t):
    r = t.mgmt_request("GET", "/metrics")
    check_eq(r.status, 200, "/metrics")
    return r.body.decode()


def failure_count(text, reason):
    for line in text.splitlines():
        if line.startswith('tokend_verify_failures_total{reason="%s"}'
                           % reason):
            return float(line.split()[-1])
    return None


@scenario("dpop_token_and_verify_end_to_end")
def dpop_token_and_verify_end_to_end(ctx):
    t = dpop_instance(ctx)
    cid, secret = client(ctx, "--scopes", "read")
    key = Key()
    tok = dpop_token(ctx, t, cid, secret, key)
    claims = Jws(tok).claims
    check_eq(claims.get("cnf"), {"jkt": key.jkt}, "the token's cnf")

    p = proof(key, "GET", verify_url(t), token=tok)
    ctx.sensitive.token(p)
    r = verify_dpop(t, tok, p)
    check_eq(r.status, 200, "DPoP /verify (body %s)" % short(r.body))
    check_eq(r.json["claims"].get("cnf"), {"jkt": key.jkt}, "claims.cnf")
    check_eq(r.header("X-Token-Cnf-Jkt"), key.jkt, "X-Token-Cnf-Jkt")
    check_eq(r.header("X-Token-Client-Id"), cid, "X-Token-Client-Id")

    # introspection by the client itself
    r = t.request("POST", "/oauth/introspect", body=("token=" + tok).encode(),
                  headers={"Content-Type":
                           "application/x-www-form-urlencoded",
                           "Authorization": basic(cid, secret)})
    check_eq(r.status, 200, "introspect (body %s)" % short(r.body))
    check(r.json is not None, "introspect JSON: %r" % short(r.body))
    check_eq(r.json.get("active"), True, "active")
    check_eq(r.json.get("token_type"), "DPoP", "introspected token_type")
    check_eq(r.json.get("cnf"), {"jkt": key.jkt}, "introspected cnf")

    r = t.request("GET", "/.well-known/oauth-authorization-server")
    check_eq(r.status, 200, "metadata (body %s)" % short(r.body))
    check_eq(r.json.get("dpop_signing_alg_values_supported"),
             ["ES256", "ES384", "PS256", "RS256", "EdDSA"], "metadata")

    # RS256 proofs, and a token without a proof is Bearer
    rk = Key("RS256")
    tok2 = dpop_token(ctx, t, cid, secret, rk)
    check_eq(Jws(tok2).claims.get("cnf"), {"jkt": rk.jkt}, "RSA cnf")
    p = proof(rk, "GET", verify_url(t), token=tok2)
    ctx.sensitive.token(p)
    check_eq(verify_dpop(t, tok2, p).status, 200, "RS256 proof at /verify")
    r = token_request(t, client=(cid, secret))
    check_eq(r.json.get("token_type"), "Bearer", "no proof: Bearer")
    check("cnf" not in Jws(r.json["access_token"]).claims, "no proof: cnf")
    ctx.sensitive.token(r.json["access_token"])


@scenario("dpop_token_endpoint_refuses_bad_proofs")
def dpop_token_endpoint_refuses_bad_proofs(ctx):
    t = dpop_instance(ctx)
    cid, secret = client(ctx)
    key, other = Key(), Key()
    url = token_url(t)
    now = int(time.time())
    bad = {
        "typ": proof(key, "POST", url, typ="JWT"),
        "alg HS256": proof(key, "POST", url, alg="HS256"),
        "alg none": proof(key, "POST", url, alg="none"),
        "private jwk": proof(key, "POST", url, jwk=dict(
            key.jwk, d=b64u(uint(key.priv.private_numbers()
                                 .private_value, 32)))),
        "htm": proof(key, "GET", url),
        "htu": proof(key, "POST", "https://localhost:%d/oauth/other"
                     % t.port),
        "htu host": proof(key, "POST", "https://evil.example/oauth/token"),
        "iat old": proof(key, "POST", url, iat=now - 60 - 30 - 5),
        "iat future": proof(key, "POST", url, iat=now + 30 + 5),
        "no jti": proof(key, "POST", url, drop=("jti",)),
        "other signer": proof(key, "POST", url, signer=other),
        "not a jws": "a.b",
    }
    for what, p in bad.items():
        ctx.sensitive.token(p)
        r = token_request(t, client=(cid, secret), headers={"DPoP": p})
        expect_json_error(r, 400, "bad proof: " + what,
                          error="invalid_dpop_proof")
        check("access_token" not in (r.json or {}), what + ": no token")

    # an htu of another spelling of the same URL is fine
    p = proof(key, "POST", "HTTPS://LOCALHOST:%d/oauth/token?x=1" % t.port)
    ctx.sensitive.token(p)
    r = token_request(t, client=(cid, secret), headers={"DPoP": p})
    check_eq(r.status, 200, "normalised htu (body %s)" % short(r.body))
    ctx.sensitive.token(r.json["access_token"])

    # two DPoP headers: a raw request (http.client would join them)
    p1, p2 = proof(key, "POST", url), proof(key, "POST", url)
    ctx.sensitive.token(p1)
    ctx.sensitive.token(p2)
    conn = t.connection()
    try:
        conn.putrequest("POST", "/oauth/token")
        body = b"grant_type=client_credentials"
        conn.putheader("Content-Type", "application/x-www-form-urlencoded")
        conn.putheader("Authorization", basic(cid, secret))
        conn.putheader("DPoP", p1)
        conn.putheader("DPoP", p2)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        data = resp.read()
        check_eq(resp.status, 400, "two DPoP headers (%s)" % short(data))
        check_eq(json.loads(data).get("error"), "invalid_dpop_proof",
                 "two DPoP headers: error")
    finally:
        conn.close()

    # replay: the same proof twice at one instance, then at another
    p = proof(key, "POST", url)
    ctx.sensitive.token(p)
    r = token_request(t, client=(cid, secret), headers={"DPoP": p})
    check_eq(r.status, 200, "first use")
    ctx.sensitive.token(r.json["access_token"])
    r = token_request(t, client=(cid, secret), headers={"DPoP": p})
    expect_json_error(r, 400, "replay, same instance",
                      error="invalid_dpop_proof")
    t2 = start_instance(ctx, "dpop2", args=NO_LIMIT,
                        replace={"--issuer": "https://localhost:%d"
                                 % t.port})
    p = proof(key, "POST", url)
    ctx.sensitive.token(p)
    r = token_request(t2, client=(cid, secret), headers={"DPoP": p})
    check_eq(r.status, 200, "first use at the second instance (%s)"
             % short(r.body))
    ctx.sensitive.token(r.json["access_token"])
    r = token_request(t, client=(cid, secret), headers={"DPoP": p})
    expect_json_error(r, 400, "replay at the other instance",
                      error="invalid_dpop_proof")


@scenario("dpop_bound_client_needs_a_proof")
def dpop_bound_client_needs_a_proof(ctx):
    t = dpop_instance(ctx)
    cid, secret = client(ctx, "--dpop-bound")
    r = token_request(t, client=(cid, secret))
    expect_json_error(r, 400, "dpop_bound without a proof",
                      error="invalid_dpop_proof")
    dpop_token(ctx, t, cid, secret, Key())
    # the legacy /authorize takes no proof: a dpop_bound client is refused
    r = t.request("POST", "/authorize", body=json.dumps(
        {"client_id": cid, "client_secret": secret}).encode(),
        headers={"Content-Type": "application/json"})
    check_eq(r.status, 400, "/authorize of a dpop_bound client (%s)"
             % short(r.body))
    check_eq(r.json.get("error"), "invalid_dpop_proof", "/authorize error")
    Admin(ctx).set(cid, "--no-dpop-bound")
    deadline = time.monotonic() + 5
    while True:
        r = token_request(t, client=(cid, secret))
        if r.status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    check_eq(r.status, 200, "no longer dpop_bound (%s)" % short(r.body))
    ctx.sensitive.token(r.json["access_token"])


@scenario("dpop_verify_refuses_bad_bindings")
def dpop_verify_refuses_bad_bindings(ctx):
    t = dpop_instance(ctx)
    cid, secret = client(ctx)
    key, other = Key(), Key()
    tok = dpop_token(ctx, t, cid, secret, key)
    r = token_request(t, client=(cid, secret))
    bearer = r.json["access_token"]
    ctx.sensitive.token(bearer)
    vu = verify_url(t)
    before = metrics_text(t)

    def p(**kw):
        args = dict(key=key, htm="GET", htu=vu, token=tok)
        args.update(kw)
        x = proof(args.pop("key"), args.pop("htm"), args.pop("htu"), **args)
        ctx.sensitive.token(x)
        return x

    r = verify_dpop(t, tok, None, scheme="Bearer")
    expect_json_error(r, 401, "DPoP token as Bearer", error="invalid_token")
    r = verify_dpop(t, tok, p(), scheme="Bearer")
    expect_json_error(r, 401, "DPoP token as Bearer with a proof",
                      error="invalid_token")
    r = verify_dpop(t, bearer, p(token=bearer))
    expect_json_error(r, 401, "Bearer token as DPoP", error="invalid_token")
    expect_bad_proof(verify_dpop(t, tok, None), "no proof")
    expect_bad_proof(verify_dpop(t, tok, p(htm="POST")), "htm")
    expect_bad_proof(verify_dpop(t, tok, p(
        htu="https://%s:%d/other" % (t.host, t.port))), "htu")
    expect_bad_proof(verify_dpop(t, tok, p(token=bearer)), "ath")
    expect_bad_proof(verify_dpop(t, tok, p(drop=("ath",))), "no ath")
    expect_bad_proof(verify_dpop(t, tok, p(key=other)), "another key")
    expect_bad_proof(verify_dpop(t, tok, p(signer=other)), "forged")
    expect_bad_proof(verify_dpop(t, tok, p(iat=int(time.time()) - 200)),
                     "iat old")
    # POST /verify needs htm POST
    check_eq(verify_dpop(t, tok, p(htm="POST"), method="POST").status, 200,
             "POST /verify with htm POST")
    # replay at the same worker (one connection)
    once = p()
    conn = t.connection()
    try:
        check_eq(verify_dpop(t, tok, once, conn=conn).status, 200,
                 "first use")
        expect_bad_proof(verify_dpop(t, tok, once, conn=conn), "replay")
    finally:
        conn.close()
    after = metrics_text(t)
    for reason, least in (("dpop_proof_invalid", 6),
                          ("binding_mismatch", 4), ("dpop_replay", 1)):
        b = failure_count(before, reason)
        a = failure_count(after, reason)
        check(b is not None and a is not None and a - b >= least,
              "metrics %s: %r -> %r" % (reason, b, a))


@scenario("dpop_verify_replay_across_workers")
def dpop_verify_replay_across_workers(ctx):
    t = dpop_instance(ctx, ["--workers", "2"])
    cid, secret = client(ctx)
    key = Key()
    tok = dpop_token(ctx, t, cid, secret, key)
    p = proof(key, "GET", verify_url(t), token=tok)
    ctx.sensitive.token(p)
    n = 40
    conns = [t.connection() for _ in range(n)]
    statuses = [None] * n
    go = threading.Event()

    def run(i):
        go.wait()
        try:
            statuses[i] = verify_dpop(t, tok, p, conn=conns[i]).status
        except Exception as e:  # noqa: BLE001 - reported below
            statuses[i] = repr(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for th in threads:
        th.start()
    go.set()
    for th in threads:
        th.join(30)
    for c in conns:
        c.close()
    check_eq(statuses.count(200), 1, "200s among %r" % statuses)
    check_eq(statuses.count(401), n - 1, "401s among %r" % statuses)


@scenario("dpop_forwarded_request_only_from_trusted_proxies")
def dpop_forwarded_request_only_from_trusted_proxies(ctx):
    fwd = {"X-Forwarded-Method": "DELETE", "X-Forwarded-Proto": "https",
           "X-Forwarded-Host": "api.example", "X-Forwarded-Uri": "/items/7?x"}
    furl = "https://api.example/items/7"
    # untrusted: the headers are ignored
    t = dpop_instance(ctx, ["--trusted-proxies", "10.9.9.9"])
    cid, secret = client(ctx)
    key = Key()
    tok = dpop_token(ctx, t, cid, secret, key)

    def p(htm, htu):
        x = proof(key, htm, htu, token=tok)
        ctx.sensitive.token(x)
        return x

    expect_bad_proof(verify_dpop(t, tok, p("DELETE", furl), headers=fwd),
                     "forwarded request from an untrusted peer")
    check_eq(verify_dpop(t, tok, p("GET", verify_url(t)),
                         headers=fwd).status, 200,
             "the /verify request itself, X-Forwarded-* ignored")
    # trusted: the forwarded request is what the proof names
    t2 = start_instance(ctx, "dpop-proxy",
                        args=NO_LIMIT + ["--trusted-proxies", "127.0.0.1"],
                        replace={"--issuer": "https://localhost:%d"
                                 % t.port})
    check_eq(verify_dpop(t2, tok, p("DELETE", furl), headers=fwd).status,
             200, "forwarded request from a trusted peer")
    expect_bad_proof(verify_dpop(t2, tok, p("GET", verify_url(t2)),
                                 headers=fwd),
                     "a proof for /verify when the gateway forwarded another")
    partial = dict(fwd)
    del partial["X-Forwarded-Uri"]
    expect_bad_proof(verify_dpop(t2, tok, p("DELETE", furl),
                                 headers=partial),
                     "incomplete X-Forwarded-*")


@scenario("dpop_interop_oauth4webapi", timeout=180)
def dpop_interop_oauth4webapi(ctx):
    """oauth4webapi (test/interop, npm ci into a scratch directory) gets a
    DPoP token and makes proofs that /verify accepts, once each."""
    import os
    import shutil
    import subprocess
    from jwt_helpers import scratch_dir
    from tokend_harness import child_env, skip
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        skip("node or npm not installed (scripts/debian-packages.txt [test])")
    src = os.path.join(ctx.source_root, "test", "interop")
    d = scratch_dir(ctx, "interop")
    for f in ("package.json", "package-lock.json", "interop.mjs"):
        shutil.copy(os.path.join(src, f), d)
    r = subprocess.run([npm, "ci", "--no-audit", "--no-fund",
                        "--ignore-scripts"], cwd=d, capture_output=True,
                       timeout=150)
    check_eq(r.returncode, 0, "npm ci: %s" % short(r.stderr, 400))
    t = dpop_instance(ctx)
    cid, secret = client(ctx, "--scopes", "read", "--dpop-bound")
    vurl = "https://localhost:%d/verify" % t.port
    r = subprocess.run([node, "interop.mjs", "https://localhost:%d" % t.port,
                        cid, vurl], cwd=d, input=secret.encode(),
                       capture_output=True, timeout=60,
                       env=child_env({"NODE_EXTRA_CA_CERTS":
                                      ctx.pki.ca_cert}))
    check_eq(r.returncode, 0, "interop.mjs: %s" % short(r.stderr, 600))
    out = json.loads(r.stdout.decode().strip().splitlines()[-1])
    check("token_error" not in out, "token error: %r" % out)
    check("ES256" in (out.get("dpop_algs") or []), "metadata: %r" % out)
    check_eq(out.get("token_type"), "dpop", "token_type (oauth4webapi "
             "lowercases it)")
    check_eq(out.get("cnf"), {"jkt": out.get("jkt")}, "cnf.jkt")
    check_eq(out["verify"], {"status": 200, "jkt": out["jkt"]},
             "/verify with oauth4webapi's proof")
    check_eq(out["verify_again"]["status"], 200,
             "/verify with a second fresh proof")
    check_eq(out["verify_other_key"]["status"], 401,
             "/verify with another key's proof")


@scenario("dpop_store_down_fails_closed", timeout=60)
def dpop_store_down_fails_closed(ctx):
    """Redis killed: a DPoP token request is 503 within the command
    deadline (no token without its jti claimed), and DPoP /verify is 503
    (fail closed); once Redis is back, a fresh proof gets a token."""
    t = ctx.start_tokend("dpop-down", args=NO_LIMIT)
    admin = Admin(ctx)
    cid = uid("dpop-down")
    secret = admin.add(cid, "--scopes", "read")
    key = Key()
    tok = dpop_token(ctx, t, cid, secret, key)
    ctx.redis.kill()
    deadline = time.monotonic() + 3
    while True:
        p = proof(key, "POST", token_url(t))
        ctx.sensitive.token(p)
        s = time.monotonic()
        r = token_request(t, client=(cid, secret), headers={"DPoP": p},
                          timeout=10)
        check(time.monotonic() - s <= 1.5, "DPoP token request took too "
              "long with Redis down")
        if r.status == 503:
            break
        check_eq(r.status, 200, "DPoP token right after the kill")
        ctx.sensitive.token(r.json["access_token"])
        check(time.monotonic() < deadline, "no 503 within 3 s")
        time.sleep(0.05)
    expect_json_error(r, 503, "DPoP token with Redis down",
                      error="temporarily_unavailable")
    check("access_token" not in (r.json or {}), "no token with Redis down")
    deadline = time.monotonic() + 5
    while True:
        p = proof(key, "GET", verify_url(t), token=tok)
        ctx.sensitive.token(p)
        r = verify_dpop(t, tok, p)
        if r.status == 503 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    check_eq(r.status, 503, "DPoP /verify with Redis down (%s)"
             % short(r.body))
    ctx.redis.start()
    admin.add(cid, "--scopes", "read", secret=secret)    # no persistence
    deadline = time.monotonic() + 7
    while True:
        p = proof(key, "POST", token_url(t))
        ctx.sensitive.token(p)
        r = token_request(t, client=(cid, secret), headers={"DPoP": p},
                          timeout=10)
        if r.status == 200 or time.monotonic() > deadline:
            break
        check_eq(r.status, 503, "while Redis comes back")
        time.sleep(0.1)
    check_eq(r.status, 200, "DPoP token after Redis came back")
    check_eq(r.json.get("token_type"), "DPoP", "token_type")
    ctx.sensitive.token(r.json["access_token"])
