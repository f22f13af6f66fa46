"""
private_key_jwt client authentication (RFC 7523 2.2 and 3, RFC 7521 4.2)
against the real binary, real TLS and the harness's Redis.

Setup: each scenario under a --prefix of its own; clients registered with
scripts/tokend-client (--auth-method private_key_jwt --jwks FILE) from keys
made with `openssl genpkey`; assertions built here and signed with the
openssl CLI (ES256: DER turned into R || S), or, for interop, by PyJWT
(Debian's python3-jwt) in /usr/bin/python3.

Expected:
- pkjwt_assertion_rules: a valid ES256 assertion (kid, then without kid,
  then aud an array naming the token endpoint, then client_id in the body
  too) gets 200 and a token whose sub is the client; each rule broken once
  is 401 invalid_client: iss, sub, aud, expired, exp beyond
  --assertion-max-age, nbf and iat in the future, no jti, no exp, alg
  ES384 for the ES256 key, alg none, HS256 keyed with the public key,
  signed by a key not in the record, a kid naming no key, typ dpop+jwt,
  client_id not the sub, another client_assertion_type; the same
  assertion twice is 401 the second time; an assertion with a Basic
  header or a client_secret is 400 invalid_request; the private_key_jwt
  client with a secret (Basic, post) is 401; a secret client presenting
  an assertion is 401 and its secret still works; a client_secret_post
  client is 401 with Basic and 200 with post; a tls_client_auth client
  is 401 whatever it sends (no certificate checks yet); /authorize with
  an assertion is 401; /oauth/introspect accepts the assertion client.
- pkjwt_replay_two_instances: two instances on one Redis and prefix: an
  assertion used at the first is 401 at the second; P jti:ID/JTI exists
  with a TTL no longer than exp + leeway - now.
- pkjwt_jwks_refused: the script refuses a JWK Set with a private member;
  records written by hand with redis-cli (a private member "d", a point
  off the curve) authenticate nobody (401), while a good record does.
- pkjwt_redis_paused_503: Redis paused (SIGSTOP): a valid assertion is 503
  temporarily_unavailable within a second (--redis-timeout 300).
- pkjwt_bruteforce_counts: --auth-fail-limit 3: three bad assertions are
  401, then a valid one from the same address is 429.
- pkjwt_interop_pyjwt: PyJWT signs ES256, PS256 and EdDSA assertions for
  clients whose JWK Sets PyJWT wrote: 200 each.
"""

import json
import os
import subprocess
import time

from jwt_helpers import (FORM, Admin, b64url, basic, compact, form,
                         gen_key, new_jti, openssl, pem_jwk, redis_cli,
                         scratch_dir, sign_der, sign_es256, sign_hs256,
                         start_instance, token_request, uid, Jws)
from tokend_harness import (check, check_eq, child_env, expect_json_error,
                            scenario, short, skip)

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def instance(ctx, name, prefix, extra=(), **kw):
    return start_instance(ctx, name, args=["--prefix", prefix] + list(extra),
                          **kw)


def issuer(t):
    return t.argv[t.argv.index("--issuer") + 1]


def claims(t, cid, **over):
    now = int(time.time())
    c = {"iss": cid, "sub": cid, "aud": issuer(t), "exp": now + 60,
         "iat": now, "jti": new_jti()}
    for k, v in over.items():
        if v is None:
            c.pop(k, None)
        else:
            c[k] = v
    return c


def es256(key, cid, t, kid="k1", header=None, **over):
    h = {"alg": "ES256"}
    if kid is not None:
        h["kid"] = kid
    h.update(header or {})
    return compact(h, claims(t, cid, **over),
                   sign=lambda si: sign_es256(key, si))


def ask(t, assertion, extra=(), headers=None, atype=JWT_BEARER):
    f = [("grant_type", "client_credentials")]
    if atype is not None:
        f.append(("client_assertion_type", atype))
    if assertion is not None:
        f.append(("client_assertion", assertion))
    f += list(extra)
    return token_request(t, f, headers=headers)


def ok(r, cid, what):
    check_eq(r.status, 200, "%s: status (body %s)" % (what, short(r.body)))
    check_eq(Jws(r.json["access_token"]).claims.get("sub"), cid,
             what + ": token sub")


def refused(r, what, status=401, error="invalid_client"):
    expect_json_error(r, status, what, error)


def jwks_file(d, name, keys):
    path = os.path.join(d, name + ".json")
    with open(path, "w") as f:
        json.dump({"keys": keys}, f)
    return path


def key_client(ctx, admin, d, cid, key, kid="k1"):
    jwk = dict(pem_jwk(key), kid=kid)
    admin.run("add", cid, "--auth-method", "private_key_jwt", "--jwks",
              jwks_file(d, cid, [jwk]))
    return jwk


@scenario("pkjwt_assertion_rules", timeout=180)
def pkjwt_assertion_rules(ctx):
    prefix = uid("pk") + ":"
    admin = Admin(ctx, prefix)
    d = scratch_dir(ctx, "pkjwt")
    t = instance(ctx, "pkjwt", prefix, ["--auth-fail-limit", "0"])
    ka = gen_key(os.path.join(d, "a.pem"), "ec256")
    kb = gen_key(os.path.join(d, "b.pem"), "ec256")
    cid = uid("pkc")
    jwk = key_client(ctx, admin, d, cid, ka)
    endpoint = issuer(t) + "/oauth/token"

    ok(ask(t, es256(ka, cid, t)), cid, "valid assertion")
    ok(ask(t, es256(ka, cid, t, kid=None)), cid, "valid, no kid")
    ok(ask(t, es256(ka, cid, t, aud=["x", endpoint])), cid,
       "aud array with the token endpoint")
    ok(ask(t, es256(ka, cid, t, header={"typ": "JWT"}),
           extra=[("client_id", cid)]), cid, "client_id sent too")
    a = es256(ka, cid, t)
    ok(ask(t, a), cid, "first use")
    refused(ask(t, a), "the same assertion again")

    now = int(time.time())
    for what, kw in (
            ("wrong iss", {"iss": "someone"}),
            ("wrong sub", {"sub": uid("other")}),
            ("wrong aud", {"aud": "https://elsewhere.example"}),
            ("expired", {"exp": now - 120, "iat": now - 200}),
            ("exp too far", {"exp": now + 400}),
            ("nbf in the future", {"nbf": now + 120}),
            ("iat in the future", {"iat": now + 120}),
            ("no jti", {"jti": None}),
            ("no exp", {"exp": None})):
        refused(ask(t, es256(ka, cid, t, **kw)), what)
    refused(ask(t, es256(ka, cid, t, header={"alg": "ES384"})),
            "alg ES384 for an ES256 key")
    refused(ask(t, es256(ka, cid, t, header={"typ": "dpop+jwt"})),
            "typ dpop+jwt")
    refused(ask(t, compact({"alg": "none"}, claims(t, cid), sig=b"")),
            "alg none")
    pub = json.dumps(jwk, separators=(",", ":"))
    refused(ask(t, compact({"alg": "HS256", "kid": "k1"}, claims(t, cid),
                           sign=lambda si: sign_hs256(pub, si))),
            "HS256 keyed with the public JWK")
    with open(ka + ".pub.pem", "w") as f:
        f.write(openssl("pkey", "-in", ka, "-pubout").stdout.decode())
    with open(ka + ".pub.pem") as f:
        pem = f.read()
    refused(ask(t, compact({"alg": "HS256"}, claims(t, cid),
                           sign=lambda si: sign_hs256(pem, si))),
            "HS256 keyed with the public PEM")
    refused(ask(t, es256(kb, cid, t)), "a key not in the record")
    refused(ask(t, es256(kb, cid, t, kid=None)), "another key, no kid")
    refused(ask(t, es256(ka, cid, t, kid="nope")), "a kid naming no key")
    refused(ask(t, es256(ka, cid, t), extra=[("client_id", uid("x"))]),
            "client_id that is not the sub")
    refused(ask(t, es256(ka, cid, t), atype="urn:ietf:params:oauth:"
                "client-assertion-type:saml2-bearer"), "another type")
    refused(ask(t, None), "a type without an assertion")

    # one method per request
    refused(ask(t, es256(ka, cid, t),
                headers={"Authorization": basic(cid, "x" * 40)}),
            "assertion and Basic", 400, "invalid_request")
    refused(ask(t, es256(ka, cid, t), extra=[("client_secret", "x" * 40)]),
            "assertion and client_secret", 400, "invalid_request")
    # the private_key_jwt client cannot use a secret
    refused(token_request(t, client=(cid, "x" * 43)), "pkjwt client, Basic")
    refused(token_request(t, post=(cid, "x" * 43)), "pkjwt client, post")

    # a secret client presenting an assertion
    scid = uid("sec")
    secret = admin.add(scid)
    refused(ask(t, es256(ka, scid, t)), "secret client with an assertion")
    check_eq(token_request(t, client=(scid, secret)).status, 200,
             "the secret client's secret")
    # client_secret_post accepts only the body
    pcid = uid("post")
    psecret = admin.add(pcid, "--auth-method", "client_secret_post")
    refused(token_request(t, client=(pcid, psecret)),
            "client_secret_post client with Basic")
    check_eq(token_request(t, post=(pcid, psecret)).status, 200,
             "client_secret_post client with post")

    # the mutual-TLS methods fail closed until certificates are checked
    tcid = uid("tls")
    admin.run("add", tcid, "--auth-method", "tls_client_auth",
              "--tls-subject", "CN=svc")
    refused(token_request(t, client=(tcid, "x" * 43)), "tls client, Basic")
    refused(token_request(t, fields=[("grant_type", "client_credentials"),
                                     ("client_id", tcid)]),
            "tls client, client_id only")
    refused(ask(t, es256(ka, tcid, t)), "tls client, an assertion")

    # /authorize stays secret-only; introspection takes the assertion
    r = t.request("POST", "/authorize", body=form(
        [("client_assertion_type", JWT_BEARER),
         ("client_assertion", es256(ka, cid, t))]).encode(),
        headers={"Content-Type": FORM})
    check_eq(r.status, 401, "/authorize with an assertion")
    r = ask(t, es256(ka, cid, t))
    tok = r.json["access_token"]
    r = t.request("POST", "/oauth/introspect", body=form(
        [("token", tok), ("client_assertion_type", JWT_BEARER),
         ("client_assertion", es256(ka, cid, t))]).encode(),
        headers={"Content-Type": FORM})
    check(r.status in (200, 403), "introspect with an assertion: %d %s"
          % (r.status, short(r.body)))
    check(r.status != 401, "introspect refused the assertion client")
    check(a not in t.log_text(), "an assertion was logged")


@scenario("pkjwt_replay_two_instances", timeout=120)
def pkjwt_replay_two_instances(ctx):
    prefix = uid("pk") + ":"
    admin = Admin(ctx, prefix)
    d = scratch_dir(ctx, "pkjwt")
    t1 = instance(ctx, "pkjwt1", prefix, ["--auth-fail-limit", "0"])
    t2 = instance(ctx, "pkjwt2", prefix, ["--auth-fail-limit", "0"],
                  )
    ka = gen_key(os.path.join(d, "a.pem"), "ec256")
    cid = uid("pkc")
    key_client(ctx, admin, d, cid, ka)
    # t2's issuer differs (its port): aud names both
    for a_t, b_t in ((t1, t2), (t2, t1)):
        jti = new_jti()
        exp = int(time.time()) + 60
        a = es256(ka, cid, a_t, jti=jti, exp=exp,
                  aud=[issuer(t1), issuer(t2)])
        ok(ask(a_t, a), cid, "first use")
        refused(ask(b_t, a), "replayed at the other instance")
        ttl = int(redis_cli(ctx, "TTL", "%sjti:%s/%s" % (prefix, cid,
                                                          jti)).strip())
        left = exp + 30 - int(time.time())
        check(0 < ttl <= left + 1, "jti TTL %d, want <= %d" % (ttl, left))


@scenario("pkjwt_jwks_refused", timeout=120)
def pkjwt_jwks_refused(ctx):
    prefix = uid("pk") + ":"
    admin = Admin(ctx, prefix)
    d = scratch_dir(ctx, "pkjwt")
    t = instance(ctx, "pkjwt", prefix, ["--auth-fail-limit", "0"])
    ka = gen_key(os.path.join(d, "a.pem"), "ec256")
    jwk = dict(pem_jwk(ka), kid="k1")
    priv = dict(jwk, d=b64url(b"\x01" * 32))
    r = admin.run("add", uid("bad"), "--auth-method", "private_key_jwt",
                  "--jwks", jwks_file(d, "priv", [priv]), ok=False)
    check(r.returncode != 0, "the script wrote a JWK Set with \"d\"")

    good = uid("good")
    key_client(ctx, admin, d, good, ka)
    ok(ask(t, es256(ka, good, t)), good, "the good record")
    y = bytearray(b64url_bytes(jwk["y"]))
    y[-1] ^= 1
    off = dict(jwk, y=b64url(bytes(y)))
    for name, k in (("priv", priv), ("offcurve", off)):
        cid = uid(name)
        fields = dict(redis_hash(ctx, prefix + "client:" + good))
        fields["jwks"] = json.dumps({"keys": [k]})
        args = ["HSET", prefix + "client:" + cid]
        for f, v in fields.items():
            args += [f, v]
        redis_cli(ctx, *args)
        redis_cli(ctx, "SADD", prefix + "clients", cid)
        redis_cli(ctx, "PUBLISH", prefix + "events", "client " + cid)
        time.sleep(0.2)
        refused(ask(t, es256(ka, cid, t)), "hand-written record, " + name)


def b64url_bytes(s):
    import base64
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def redis_hash(ctx, key):
    out = subprocess.run(["redis-cli", "-p", str(ctx.redis.port), "--raw",
                          "HGETALL", key], capture_output=True,
                         env=child_env()).stdout.decode().split("\n")
    return list(zip(out[0::2], out[1::2]))[:len(out) // 2]


@scenario("pkjwt_redis_paused_503", timeout=60)
def pkjwt_redis_paused_503(ctx):
    prefix = uid("pk") + ":"
    admin = Admin(ctx, prefix)
    d = scratch_dir(ctx, "pkjwt")
    t = instance(ctx, "pkjwt", prefix, ["--redis-timeout", "300"])
    ka = gen_key(os.path.join(d, "a.pem"), "ec256")
    cid = uid("pkc")
    key_client(ctx, admin, d, cid, ka)
    ok(ask(t, es256(ka, cid, t)), cid, "before the pause")
    a = es256(ka, cid, t)
    ctx.redis.pause()
    try:
        t0 = time.monotonic()
        r = ask(t, a, )
        dt = time.monotonic() - t0
    finally:
        ctx.redis.cont()
    refused(r, "Redis paused", 503, "temporarily_unavailable")
    check(dt < 1.5, "503 after %.2f s" % dt)


@scenario("pkjwt_bruteforce_counts", timeout=60)
def pkjwt_bruteforce_counts(ctx):
    prefix = uid("pk") + ":"
    admin = Admin(ctx, prefix)
    d = scratch_dir(ctx, "pkjwt")
    t = instance(ctx, "pkjwt", prefix, ["--auth-fail-limit", "3",
                                        "--auth-fail-window", "30"])
    ka = gen_key(os.path.join(d, "a.pem"), "ec256")
    kb = gen_key(os.path.join(d, "b.pem"), "ec256")
    cid = uid("pkc")
    key_client(ctx, admin, d, cid, ka)
    for i in range(3):
        refused(ask(t, es256(kb, cid, t)), "bad assertion %d" % i)
    r = ask(t, es256(ka, cid, t))
    check_eq(r.status, 429, "a valid assertion after 3 failures (body %s)"
             % short(r.body))


PYJWT = r"""
import json, sys, time, uuid
import jwt
from jwt.algorithms import ECAlgorithm, RSAAlgorithm, OKPAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, rsa, ed25519
cid, aud, alg = sys.argv[1], sys.argv[2], sys.argv[3]
if alg == "ES256":
    k = ec.generate_private_key(ec.SECP256R1()); A = ECAlgorithm
elif alg == "PS256":
    k = rsa.generate_private_key(65537, 2048); A = RSAAlgorithm
else:
    k = ed25519.Ed25519PrivateKey.generate(); A = OKPAlgorithm
jwk = json.loads(A.to_jwk(k.public_key()))
jwk["kid"] = "py1"
if alg == "PS256":
    jwk["alg"] = "PS256"
now = int(time.time())
out = []
for _ in range(2):
    out.append(jwt.encode({"iss": cid, "sub": cid, "aud": aud,
                           "exp": now + 60, "iat": now,
                           "jti": str(uuid.uuid4())}, k, algorithm=alg,
                          headers={"kid": "py1"}))
print(json.dumps({"jwks": {"keys": [jwk]}, "assertions": out}))
"""


@scenario("pkjwt_interop_pyjwt", timeout=120)
def pkjwt_interop_pyjwt(ctx):
    if subprocess.run(["/usr/bin/python3", "-c", "import jwt"],
                      capture_output=True).returncode != 0:
        skip("PyJWT (python3-jwt) is not installed")
    prefix = uid("pk") + ":"
    admin = Admin(ctx, prefix)
    d = scratch_dir(ctx, "pkjwt")
    t = instance(ctx, "pkjwt", prefix, ["--auth-fail-limit", "0"])
    for alg in ("ES256", "PS256", "EdDSA"):
        cid = uid("py")
        r = subprocess.run(["/usr/bin/python3", "-c", PYJWT, cid,
                            issuer(t) + "/oauth/token", alg],
                           capture_output=True, timeout=60)
        check_eq(r.returncode, 0, "PyJWT %s: %s" % (alg, short(r.stderr)))
        out = json.loads(r.stdout)
        path = os.path.join(d, cid + ".json")
        with open(path, "w") as f:
            json.dump(out["jwks"], f)
        admin.run("add", cid, "--auth-method", "private_key_jwt", "--jwks",
                  path)
        for a in out["assertions"]:
            ok(ask(t, a), cid, "PyJWT " + alg)


def jwks_rule_cases(path):
    """The jwks lines of test/data/record_rules.txt: [(line, valid,
    bytes)], read by the grammar at the file's top."""
    import re
    piece = re.compile(rb'"((?:[^"\\]|\\.)*)"(?:\*([0-9]+))?\s*')
    esc = {b'"': b'"', b"\\": b"\\", b"t": b"\t", b"n": b"\n", b"r": b"\r"}
    cases = []
    with open(path, "rb") as f:
        for lineno, line in enumerate(f.read().split(b"\n"), 1):
            if not line.startswith(b"jwks "):
                continue
            _, expect, rest = line.split(b" ", 2)
            value, pos = b"", 0
            while pos < len(rest):
                m = piece.match(rest, pos)
                check(m is not None, "record_rules.txt:%d: bad VALUE"
                      % lineno)
                raw, text, i = m.group(1), b"", 0
                while i < len(raw):
                    if raw[i:i + 1] != b"\\":
                        text += raw[i:i + 1]
                        i += 1
                    elif raw[i + 1:i + 2] == b"x":
                        text += bytes([int(raw[i + 2:i + 4], 16)])
                        i += 4
                    else:
                        text += esc[raw[i + 1:i + 2]]
                        i += 2
                value += text * int(m.group(2) or 1)
                pos = m.end()
            cases.append((lineno, expect == b"valid", value))
    return cases


@scenario("pkjwt_script_jwks_rules", timeout=300)
def pkjwt_script_jwks_rules(ctx):
    """Every jwks case of record_rules.txt (which the unit test feeds to
    the C rule) given to `tokend-client add --jwks`: a valid set is
    written, an invalid one refused with exit status 2."""
    prefix = uid("pk") + ":"
    admin = Admin(ctx, prefix)
    d = scratch_dir(ctx, "pkjwt")
    cases = jwks_rule_cases(os.path.join(ctx.source_root, "test", "data",
                                         "record_rules.txt"))
    check(len(cases) > 30, "only %d jwks cases" % len(cases))
    for lineno, valid, value in cases:
        if b"\0" in value:
            continue
        path = os.path.join(d, "case%d.json" % lineno)
        with open(path, "wb") as f:
            f.write(value)
        cid = uid("case")
        r = admin.run("add", cid, "--auth-method", "private_key_jwt",
                      "--jwks", path, ok=False)
        want = 0 if valid else 2
        check(r.returncode == want, "record_rules.txt:%d jwks %s: exit %d "
              "(%s)" % (lineno, "valid" if valid else "invalid",
                        r.returncode, short(r.stderr)))
