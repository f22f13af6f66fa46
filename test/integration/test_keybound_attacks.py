"""
Hostile clients against private_key_jwt client authentication, against
the real binary, real TLS and the harness's Redis.

Setup: each scenario under a --prefix of its own, with
--auth-fail-limit 0 (no lockout: every attempt is judged); clients
registered with scripts/tokend-client or, for records the script refuses,
written by hand with redis-cli (the fields of a good record, one changed).

Expected:
- pkjwt_small_order_ed25519_key_refused: a record whose Ed25519 key is
  the identity point (written by hand; the script refuses it, exit 2)
  authenticates nobody: the signature R = identity, S = 0, which verifies
  under that key for every message, is 401 invalid_client; tokend lives.
- pkjwt_header_key_tricks_refused: an assertion signed by the attacker's
  key, naming it in jwk, jku, x5u or x5c, or by kid naming another
  client's key, is 401; the other client's own assertion is 200.
- pkjwt_claim_edge_cases: exp a string, exp huge, exp negative, iat 1970,
  a jti with a space, unicode, 300 characters, a duplicate sub member, an
  aud array of non-strings: 401; a jti with "/" and ":" is 200 once and
  a different client's jti of the same text does not collide.
- pkjwt_parallel_replay_once: one assertion sent 24 times at once, spread
  over two instances on one Redis: exactly one 200, the rest 401.
- pkjwt_failures_look_alike: unknown client, wrong method (a secret
  client), bad signature, replay, expired: the same status, body and
  header names (Date and the request id aside).
- keybound_hand_written_records_refused: records written with redis-cli
  that no method can use (private_key_jwt without jwks, with a secret
  too, with a private or unparsable jwks; tls_client_auth without
  subject or SAN; self_signed without thumbprints; method none or
  client_secret_jwt) authenticate nobody (401) and are logged as
  client_record_invalid; a secret client with a stray jwks is not
  authenticated by an assertion; tokend lives and good clients work.
- mtls_chain_tricks_refused: tls_client_auth by subject and by SAN, a
  good certificate: 200; with the same subject or SAN, 401 for a chain
  through an intermediate with CA:FALSE, through a client certificate
  used as a CA, through an expired intermediate, a serverAuth-only leaf,
  a SAN outside an intermediate's name constraints, CN "svc,O=Acme" (one
  RDN) and CN=svc+O=Acme (one multi-valued RDN); three requests on one
  connection (the chain check memo) stay 401.
- mtls_client_cert_header_tricks_refused: from a trusted proxy, the good
  certificate in X-Client-Cert (escaped, with white space around): 200;
  escaped twice, two certificates, trailing or leading garbage, an
  escaped NUL, a truncated escape, a certificate whose chain is bad, the
  root CA itself, an empty PEM, 6000 bytes of escapes: 401 each.
- pkjwt_every_failure_counts: --auth-fail-limit 2: two failures of one
  kind (bad signature, expired, wrong aud, replay, unknown client, a
  secret client's assertion, a key client's secret), then a valid
  assertion from the same address is 429, for every kind.
- malformed_credentials_count: --auth-fail-limit 2, --trusted-proxies
  127.0.0.1, one X-Forwarded-For source per kind: two malformed requests
  of one kind (a client_id that is not the assertion's sub, an assertion
  that is not a JWS, a wrong client_assertion_type, a type without an
  assertion, an assertion without a type, a Basic header that does not
  parse, another scheme, a client_secret without client_id, a client_id
  with a byte outside VSCHAR, an assertion at /authorize, a malformed
  Basic header at /oauth/introspect) answer 401 invalid_client with a
  wrong secret's body, then a valid assertion from that source is 429
  while one from a fresh source is 200. Requests with no credentials at
  all are not counted (three, then 200). No counter is made for an id
  that is not a valid client id.
- admin_script_hostile_key_values: --tls-subject and --tls-san values
  holding $(...), backticks, quotes, Lua, redis-cli options, and a JWK
  Set whose kid does: each refused (exit 2) or stored exactly as given;
  no command or Lua runs; a tokend started on those records refuses none
  of them (no client_record_invalid).
"""

import json
import os
import threading
import time

from jwt_helpers import (Admin, b64url, compact, gen_key, new_jti,
                         pem_jwk, redis_cli, scratch_dir, sign_es256,
                         start_instance, token_request, uid)
from tokend_harness import (check, check_eq, child_env, expect_json_error,
                            scenario, short)

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# the identity point of edwards25519: y = 1, x = 0
ED25519_IDENTITY = b"\x01" + b"\x00" * 31


def instance(ctx, name, prefix, extra=()):
    return start_instance(ctx, name, args=["--prefix", prefix,
                                           "--auth-fail-limit", "0"] +
                          list(extra))


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


def es256(key, cid, t, kid="k1", header=None, payload=None, **over):
    h = {"alg": "ES256"}
    if kid is not None:
        h["kid"] = kid
    h.update(header or {})
    return compact(h, payload if payload is not None else
                   claims(t, cid, **over),
                   sign=lambda si: sign_es256(key, si))


def ask(t, assertion, extra=()):
    f = [("grant_type", "client_credentials"),
         ("client_assertion_type", JWT_BEARER),
         ("client_assertion", assertion)] + list(extra)
    return token_request(t, f)


def refused(r, what):
    expect_json_error(r, 401, what, "invalid_client")


def ok(r, what):
    check_eq(r.status, 200, "%s: status (body %s)" % (what, short(r.body)))


def key_client(ctx, admin, d, cid, key, kid="k1"):
    jwk = dict(pem_jwk(key), kid=kid)
    path = os.path.join(d, cid + ".json")
    with open(path, "w") as f:
        json.dump({"keys": [jwk]}, f)
    admin.run("add", cid, "--auth-method", "private_key_jwt", "--jwks",
              path)
    return jwk


def redis_hash(ctx, key):
    import subprocess
    out = subprocess.run(["redis-cli", "-p", str(ctx.redis.port), "--raw",
                          "HGETALL", key], capture_output=True,
                         env=child_env()).stdout.decode().split("\n")
    return list(zip(out[0::2], out[1::2]))[:len(out) // 2]


def hand_written(ctx, prefix, like, cid, **fields):
    """A record for cid: the fields of the record of like, some replaced."""
    rec = dict(redis_hash(ctx, prefix + "client:" + like))
    rec.update(fields)
    args = ["HSET", prefix + "client:" + cid]
    for f, v in rec.items():
        args += [f, v]
    redis_cli(ctx, *args)
    redis_cli(ctx, "SADD", prefix + "clients", cid)
    redis_cli(ctx, "PUBLISH", prefix + "events", "client " + cid)
    time.sleep(0.3)


@scenario("pkjwt_small_order_ed25519_key_refused", timeout=120)
def pkjwt_small_order_ed25519_key_refused(ctx):
    prefix = uid("ka") + ":"
    admin = Admin(ctx, prefix)
    d = scratch_dir(ctx, "keybound")
    t = instance(ctx, "smallorder", prefix)
    good = uid("good")
    key_client(ctx, admin, d, good, gen_key(os.path.join(d, "g.pem"),
                                            "ec256"))
    weak = {"kty": "OKP", "crv": "Ed25519", "x": b64url(ED25519_IDENTITY)}
    path = os.path.join(d, "weak.json")
    with open(path, "w") as f:
        json.dump({"keys": [weak]}, f)
    r = admin.run("add", uid("weak"), "--auth-method", "private_key_jwt",
                  "--jwks", path, ok=False)
    check_eq(r.returncode, 2, "the script wrote an identity Ed25519 key")

    cid = uid("weak")
    hand_written(ctx, prefix, good, cid,
                 jwks=json.dumps({"keys": [weak]}))
    forged = ED25519_IDENTITY + b"\x00" * 32
    for h in ({"alg": "EdDSA"}, {"alg": "EdDSA", "typ": "JWT"}):
        refused(ask(t, compact(h, claims(t, cid), sig=forged)),
                "R = identity, S = 0 under the identity key")
    check_eq(t.request("GET", "/healthz").status, 200, "tokend alive")


@scenario("pkjwt_header_key_tricks_refused", timeout=120)
def pkjwt_header_key_tricks_refused(ctx):
    prefix = uid("ka") + ":"
    admin = Admin(ctx, prefix)
    d = scratch_dir(ctx, "keybound")
    t = instance(ctx, "headerkeys", prefix)
    ka = gen_key(os.path.join(d, "a.pem"), "ec256")
    kb = gen_key(os.path.join(d, "b.pem"), "ec256")
    evil = gen_key(os.path.join(d, "evil.pem"), "ec256")
    a, b = uid("a"), uid("b")
    key_client(ctx, admin, d, a, ka, kid="ka")
    key_client(ctx, admin, d, b, kb, kid="kb")
    ejwk = pem_jwk(evil)
    for what, h in (("jwk", {"jwk": ejwk}),
                    ("jku", {"jku": "https://evil.example/jwks"}),
                    ("x5u", {"x5u": "https://evil.example/cert"}),
                    ("x5c", {"x5c": ["MIIB"]}),
                    ("jwk and kid", {"jwk": ejwk, "kid": "ka"})):
        kid = h.pop("kid", None)
        refused(ask(t, es256(evil, a, t, kid=kid, header=h)),
                "signed by the attacker's key named in " + what)
    refused(ask(t, es256(kb, a, t, kid="kb")),
            "kid naming another client's key, signed with it")
    refused(ask(t, es256(kb, a, t, kid=None)),
            "another client's key, no kid")
    refused(ask(t, es256(ka, a, t, kid="ka", header={"crit": ["exp"]})),
            "crit")
    ok(ask(t, es256(kb, b, t, kid="kb")), "b's own assertion")
    ok(ask(t, es256(ka, a, t, kid="ka")), "a's own assertion")


@scenario("pkjwt_claim_edge_cases", timeout=120)
def pkjwt_claim_edge_cases(ctx):
    prefix = uid("ka") + ":"
    admin = Admin(ctx, prefix)
    d = scratch_dir(ctx, "keybound")
    t = instance(ctx, "claims", prefix)
    ka = gen_key(os.path.join(d, "a.pem"), "ec256")
    a, b = uid("a"), uid("b")
    key_client(ctx, admin, d, a, ka)
    key_client(ctx, admin, d, b, ka)
    now = int(time.time())
    for what, kw in (("exp a string", {"exp": str(now + 60)}),
                     ("exp huge", {"exp": 10 ** 30}),
                     ("exp negative", {"exp": -1}),
                     ("exp true", {"exp": True}),
                     ("nbf a string", {"nbf": "0"}),
                     ("jti a number", {"jti": 7}),
                     ("jti with a space", {"jti": "a b"}),
                     ("jti unicode", {"jti": "j\u00e9ti"}),
                     ("jti 300 characters", {"jti": "j" * 300}),
                     ("jti empty", {"jti": ""}),
                     ("aud array of numbers", {"aud": [1, 2]}),
                     ("aud empty array", {"aud": []}),
                     ("sub an array", {"sub": [a]})):
        refused(ask(t, es256(ka, a, t, **kw)), what)
    c = claims(t, a)
    text = json.dumps(c)[:-1] + ', "sub": "%s"}' % b
    refused(ask(t, es256(ka, a, t, payload=text.encode())),
            "a duplicate sub member")
    jti = "x/y:z" + new_jti()
    ok(ask(t, es256(ka, a, t, jti=jti)), "jti with / and :")
    refused(ask(t, es256(ka, a, t, jti=jti)), "the same jti again")
    ok(ask(t, es256(ka, b, t, jti=jti)), "another client, the same jti")


@scenario("pkjwt_parallel_replay_once", timeout=120)
def pkjwt_parallel_replay_once(ctx):
    prefix = uid("ka") + ":"
    admin = Admin(ctx, prefix)
    d = scratch_dir(ctx, "keybound")
    t1 = instance(ctx, "replay1", prefix, ["--workers", "2"])
    t2 = instance(ctx, "replay2", prefix, ["--workers", "2"])
    ka = gen_key(os.path.join(d, "a.pem"), "ec256")
    a = uid("a")
    key_client(ctx, admin, d, a, ka)
    for attempt in range(3):
        assertion = es256(ka, a, t1, aud=[issuer(t1), issuer(t2)])
        statuses = []
        lock = threading.Lock()
        go = threading.Event()

        def send(t):
            go.wait()
            r = ask(t, assertion)
            with lock:
                statuses.append(r.status)

        threads = [threading.Thread(target=send, args=(t1 if i % 2 else
                                                       t2,))
                   for i in range(24)]
        for th in threads:
            th.start()
        go.set()
        for th in threads:
            th.join()
        check_eq(sorted(statuses), [200] + [401] * 23,
                 "round %d: one assertion 24 times at once" % attempt)


@scenario("pkjwt_failures_look_alike", timeout=120)
def pkjwt_failures_look_alike(ctx):
    prefix = uid("ka") + ":"
    admin = Admin(ctx, prefix)
    d = scratch_dir(ctx, "keybound")
    t = instance(ctx, "alike", prefix)
    ka = gen_key(os.path.join(d, "a.pem"), "ec256")
    kb = gen_key(os.path.join(d, "b.pem"), "ec256")
    a = uid("a")
    key_client(ctx, admin, d, a, ka)
    s = uid("s")
    admin.add(s)
    replayed = es256(ka, a, t)
    ok(ask(t, replayed), "first use")
    now = int(time.time())
    answers = {
        "unknown client": ask(t, es256(ka, uid("nobody"), t)),
        "secret client": ask(t, es256(ka, s, t)),
        "bad signature": ask(t, es256(kb, a, t)),
        "replay": ask(t, replayed),
        "expired": ask(t, es256(ka, a, t, exp=now - 100, iat=now - 200)),
    }
    skip = {"date", "x-request-id"}

    def shape(r):
        return (r.status, r.body,
                sorted((k.lower(), v) for k, v in r.headers
                       if k.lower() not in skip))

    base = shape(answers["unknown client"])
    for what, r in answers.items():
        refused(r, what)
        check_eq(shape(r), base, what + ": the same answer as an unknown "
                 "client")


@scenario("keybound_hand_written_records_refused", timeout=120)
def keybound_hand_written_records_refused(ctx):
    prefix = uid("ka") + ":"
    admin = Admin(ctx, prefix)
    d = scratch_dir(ctx, "keybound")
    t = instance(ctx, "handwritten", prefix)
    ka = gen_key(os.path.join(d, "a.pem"), "ec256")
    good = uid("good")
    jwk = key_client(ctx, admin, d, good, ka)
    jwks = json.dumps({"keys": [jwk]})
    secret_client = uid("sec")
    secret = admin.add(secret_client)
    hash_ = dict(redis_hash(ctx, prefix + "client:" + secret_client))
    hash_field = next(f for f in hash_ if "hash" in f or "secret" in f)

    def assertion_for(cid):
        return ask(t, es256(ka, cid, t))

    def client_id_only(cid):
        return token_request(t, [("grant_type", "client_credentials"),
                                 ("client_id", cid)])

    def with_secret(cid):
        return token_request(t, client=(cid, secret))

    cases = (
        ("private_key_jwt without jwks", good,
         {"jwks": ""}, assertion_for),
        ("private_key_jwt with a secret too", good,
         {hash_field: hash_[hash_field]}, with_secret),
        ("private_key_jwt with a secret too (assertion)", good,
         {hash_field: hash_[hash_field]}, assertion_for),
        ("jwks a private key", good,
         {"jwks": json.dumps({"keys": [dict(jwk, d=b64url(b"\1" * 32))]})},
         assertion_for),
        ("jwks not JSON", good, {"jwks": "{\"keys\":["}, assertion_for),
        ("tls_client_auth without subject or SAN", good,
         {"token_endpoint_auth_method": "tls_client_auth", "jwks": ""},
         client_id_only),
        ("self_signed without thumbprints", good,
         {"token_endpoint_auth_method": "self_signed_tls_client_auth",
          "jwks": ""}, client_id_only),
        ("method none", good,
         {"token_endpoint_auth_method": "none", "jwks": ""},
         client_id_only),
        ("method client_secret_jwt", secret_client,
         {"token_endpoint_auth_method": "client_secret_jwt"}, with_secret),
    )
    for what, like, fields, attempt in cases:
        cid = uid("hw")
        hand_written(ctx, prefix, like, cid, **fields)
        if fields.get("jwks") == "":
            redis_cli(ctx, "HDEL", prefix + "client:" + cid, "jwks")
            redis_cli(ctx, "PUBLISH", prefix + "events", "client " + cid)
            time.sleep(0.3)
        refused(attempt(cid), what)
        t.wait_log(r"event=client_record_invalid client_id=%s" % cid,
                   timeout=5)
    # a stray jwks on a secret client is ignored: its method decides
    cid = uid("hw")
    hand_written(ctx, prefix, secret_client, cid, jwks=jwks)
    refused(assertion_for(cid), "secret client with jwks, an assertion")
    check_eq(t.request("GET", "/healthz").status, 200, "tokend alive")
    ok(ask(t, es256(ka, good, t)), "the good record")
    ok(token_request(t, client=(secret_client, secret)),
       "the good secret client")


class TrickPki:
    """A client PKI with the certificates an attacker would try (openssl
    CLI, in ctx.tmp/keybound-pki)."""

    def __init__(self, ctx):
        self.dir = os.path.join(ctx.tmp, "keybound-pki")
        os.makedirs(self.dir, exist_ok=True)
        self.serial = 100

    def p(self, name):
        return os.path.join(self.dir, name)

    def run(self, *args, faketime=None):
        import subprocess
        argv = ["openssl"] + list(args)
        if faketime is not None:
            argv = ["faketime", faketime] + argv
        r = subprocess.run(argv, cwd=self.dir, capture_output=True,
                           timeout=30, env=child_env())
        if r.returncode != 0:
            raise RuntimeError("%s: %s" % (" ".join(argv),
                                           short(r.stderr, 400)))
        return r.stdout

    def cert(self, name, subj, issuer=None, ext=(), days="30",
             faketime=None):
        """name.key and name.pem; self-signed when issuer is None."""
        self.run("genpkey", "-algorithm", "EC", "-pkeyopt",
                 "ec_paramgen_curve:P-256", "-out", self.p(name + ".key"))
        extfile = self.p(name + ".ext")
        with open(extfile, "w") as f:
            f.write("".join(e + "\n" for e in ext))
        csr = self.p(name + ".csr")
        self.run("req", "-new", "-key", self.p(name + ".key"), "-subj",
                 subj, "-out", csr)
        self.serial += 1
        signer = issuer or name
        args = ["x509", "-req", "-in", csr, "-days", days, "-set_serial",
                str(self.serial), "-extfile", extfile, "-out",
                self.p(name + ".pem")]
        if issuer is None:
            args += ["-signkey", self.p(name + ".key")]
        else:
            args += ["-CA", self.p(signer + ".pem"), "-CAkey",
                     self.p(signer + ".key")]
        self.run(*args, faketime=faketime)

    def chain(self, name, *intermediates):
        """name-chain.pem: the leaf, then the intermediates."""
        out = self.p(name + "-chain.pem")
        with open(out, "w") as f:
            for n in (name,) + intermediates:
                with open(self.p(n + ".pem")) as g:
                    f.write(g.read())
        return out

    def escaped(self, path):
        import urllib.parse
        with open(path) as f:
            return urllib.parse.quote(f.read(), safe="")

    def make(self):
        ca = ["basicConstraints=critical,CA:TRUE",
              "keyUsage=critical,keyCertSign,cRLSign"]
        leaf = ["basicConstraints=critical,CA:FALSE",
                "extendedKeyUsage=clientAuth"]
        self.cert("root", "/O=Trick/CN=root", ext=ca)
        self.cert("good", "/O=Acme/CN=svc", "root",
                  leaf + ["subjectAltName=DNS:svc.acme.example"])
        # an intermediate without CA:TRUE
        self.cert("notca", "/O=Trick/CN=not a CA", "root",
                  ["basicConstraints=critical,CA:FALSE"])
        self.cert("via-notca", "/O=Acme/CN=svc", "notca", leaf)
        # a client certificate used as a CA
        self.cert("via-leaf", "/O=Acme/CN=svc", "good", leaf)
        # an expired intermediate (a leaf still within its own validity)
        self.cert("oldint", "/O=Trick/CN=old intermediate", "root",
                  ca, days="2", faketime="20 days ago")
        self.cert("via-oldint", "/O=Acme/CN=svc", "oldint", leaf,
                  faketime="21 days ago", days="60")
        # serverAuth only
        self.cert("server-only", "/O=Acme/CN=svc", "root",
                  ["basicConstraints=critical,CA:FALSE",
                   "extendedKeyUsage=serverAuth"])
        # a constrained intermediate and a SAN outside its constraint
        self.cert("nc", "/O=Trick/CN=constrained", "root",
                  ca + ["nameConstraints=critical,permitted;"
                        "DNS:ok.example"])
        self.cert("via-nc", "/O=Acme/CN=nc", "nc",
                  leaf + ["subjectAltName=DNS:svc.acme.example"])
        # a subject that prints like the good one's, but is one RDN
        self.cert("one-rdn", "/CN=svc\\,O=Acme", "root", leaf)
        # the same two attributes in one multi-valued RDN
        self.cert("multi-rdn", "/CN=svc+O=Acme", "root", leaf)


@scenario("mtls_chain_tricks_refused", timeout=180)
def mtls_chain_tricks_refused(ctx):
    pk = TrickPki(ctx)
    pk.make()
    prefix = uid("kt") + ":"
    admin = Admin(ctx, prefix)
    t = start_instance(ctx, "chaintricks", args=[
        "--prefix", prefix, "--tls-client-auth", "optional",
        "--tls-client-ca", pk.p("root.pem"), "--auth-fail-limit", "0",
        "--trusted-proxies", "127.0.0.2"])
    by_dn, by_san = uid("dn"), uid("san")
    admin.run("add", by_dn, "--auth-method", "tls_client_auth",
              "--tls-subject", "CN=svc,O=Acme")
    admin.run("add", by_san, "--auth-method", "tls_client_auth",
              "--tls-san", "svc.acme.example")

    def attempt(cid, chain, key):
        c = ctx.pki.client_context()
        c.load_cert_chain(chain, key)
        conn = t.connection(ssl_ctx=c)
        try:
            return token_request(t, [("grant_type", "client_credentials"),
                                     ("client_id", cid)], conn=conn)
        finally:
            conn.close()

    ok(attempt(by_dn, pk.chain("good"), pk.p("good.key")), "good, by DN")
    ok(attempt(by_san, pk.chain("good"), pk.p("good.key")),
       "good, by SAN")
    for what, name, inter, cid in (
            ("an intermediate with CA:FALSE", "via-notca", ("notca",),
             by_dn),
            ("a client certificate used as a CA", "via-leaf", ("good",),
             by_dn),
            ("an expired intermediate", "via-oldint", ("oldint",), by_dn),
            ("serverAuth only", "server-only", (), by_dn),
            ("a SAN outside the name constraints", "via-nc", ("nc",),
             by_san),
            ("one RDN that prints like two", "one-rdn", (), by_dn),
            ("a multi-valued RDN", "multi-rdn", (), by_dn)):
        refused(attempt(cid, pk.chain(name, *inter),
                        pk.p(name + ".key")), what)
    # the keep-alive connection's second request uses the chain check
    # memo: still the same verdicts
    c = ctx.pki.client_context()
    c.load_cert_chain(pk.chain("via-notca", "notca"), pk.p("via-notca.key"))
    conn = t.connection(ssl_ctx=c)
    try:
        for i in range(3):
            refused(token_request(t, [("grant_type", "client_credentials"),
                                      ("client_id", by_dn)], conn=conn),
                    "CA:FALSE intermediate, request %d on one connection"
                    % i)
    finally:
        conn.close()
    check_eq(t.request("GET", "/healthz").status, 200, "tokend alive")


@scenario("mtls_client_cert_header_tricks_refused", timeout=180)
def mtls_client_cert_header_tricks_refused(ctx):
    import urllib.parse
    pk = TrickPki(ctx)
    pk.make()
    prefix = uid("kt") + ":"
    admin = Admin(ctx, prefix)
    t = start_instance(ctx, "headertricks", args=[
        "--prefix", prefix, "--tls-client-auth", "optional",
        "--tls-client-ca", pk.p("root.pem"), "--auth-fail-limit", "0",
        "--trusted-proxies", "127.0.0.1"])
    cid = uid("dn")
    admin.run("add", cid, "--auth-method", "tls_client_auth",
              "--tls-subject", "CN=svc,O=Acme")
    with open(pk.p("good.pem")) as f:
        good = f.read()
    with open(pk.p("root.pem")) as f:
        root = f.read()
    q = urllib.parse.quote

    def with_header(value):
        return token_request(t, [("grant_type", "client_credentials"),
                                 ("client_id", cid)],
                             headers={"X-Client-Cert": value})

    ok(with_header(q(good, safe="")), "the good certificate, escaped")
    ok(with_header(q("\n" + good + "\n\n", safe="")),
       "white space around the PEM")
    for what, value in (
            ("escaped twice", q(q(good, safe=""), safe="")),
            ("two certificates", q(good + root, safe="")),
            ("the certificate, then garbage", q(good + "x", safe="")),
            ("garbage, then the certificate", q("x" + good, safe="")),
            ("an escaped NUL", q(good, safe="") + "%00"),
            ("a truncated escape", q(good, safe="") + "%4"),
            ("the CA:FALSE chain's leaf",
             pk.escaped(pk.p("via-notca.pem"))),
            ("the chain through a leaf, as one header",
             pk.escaped(pk.chain("via-leaf", "good"))),
            ("the root itself", q(root, safe="")),
            ("a PEM with no body",
             q("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
               safe="")),
            ("long", "%41" * 2000)):
        refused(with_header(value), what)
    check_eq(t.request("GET", "/healthz").status, 200, "tokend alive")


@scenario("pkjwt_every_failure_counts", timeout=240)
def pkjwt_every_failure_counts(ctx):
    d = scratch_dir(ctx, "keybound")
    ka = gen_key(os.path.join(d, "a.pem"), "ec256")
    kb = gen_key(os.path.join(d, "b.pem"), "ec256")
    kinds = ("bad signature", "expired", "wrong aud", "replay",
             "unknown client", "secret client with an assertion",
             "key client with a secret")
    for kind in kinds:
        prefix = uid("kf") + ":"
        admin = Admin(ctx, prefix)
        t = start_instance(ctx, "counts", args=[
            "--prefix", prefix, "--auth-fail-limit", "2",
            "--auth-fail-window", "60"])
        a = uid("a")
        key_client(ctx, admin, d, a, ka)
        s = uid("s")
        secret = admin.add(s)
        now = int(time.time())
        replayed = es256(ka, a, t)
        if kind == "replay":
            ok(ask(t, replayed), "replay: the first use")
        for i in range(2):
            if kind == "bad signature":
                r = ask(t, es256(kb, a, t))
            elif kind == "expired":
                r = ask(t, es256(ka, a, t, exp=now - 100, iat=now - 200))
            elif kind == "wrong aud":
                r = ask(t, es256(ka, a, t, aud="https://elsewhere.example"))
            elif kind == "replay":
                r = ask(t, replayed)
            elif kind == "unknown client":
                r = ask(t, es256(ka, uid("nobody"), t))
            elif kind == "secret client with an assertion":
                r = ask(t, es256(ka, s, t))
            else:
                r = token_request(t, client=(a, secret))
            refused(r, "%s %d" % (kind, i))
        r = ask(t, es256(ka, a, t))
        check_eq(r.status, 429, "%s: a valid assertion after 2 failures "
                 "(body %s)" % (kind, short(r.body)))
        t.stop()


@scenario("malformed_credentials_count", timeout=180)
def malformed_credentials_count(ctx):
    import base64
    d = scratch_dir(ctx, "keybound")
    ka = gen_key(os.path.join(d, "a.pem"), "ec256")
    prefix = uid("km") + ":"
    admin = Admin(ctx, prefix)
    t = start_instance(ctx, "malformed", args=[
        "--prefix", prefix, "--auth-fail-limit", "2",
        "--auth-fail-window", "60", "--trusted-proxies", "127.0.0.1"])
    a = uid("a")
    key_client(ctx, admin, d, a, ka)
    s = uid("s")
    secret = admin.add(s)
    bad_id = "bad\u00e9id"

    def post(path, fields, src, headers=None):
        h = {"X-Forwarded-For": src}
        h.update(headers or {})
        if path == "/oauth/token":
            return token_request(t, fields, headers=h)
        h["Content-Type"] = "application/x-www-form-urlencoded"
        from urllib.parse import urlencode
        return t.request("POST", path, body=urlencode(fields).encode(),
                         headers=h)

    def assertion_fields(assertion, extra=()):
        return [("grant_type", "client_credentials"),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", assertion)] + list(extra)

    gt = [("grant_type", "client_credentials")]
    # the body a wrong secret gets, for comparison
    wrong = token_request(t, client=(s, "x" * 40),
                          headers={"X-Forwarded-For": "192.0.2.250"})
    refused(wrong, "a wrong secret")
    kinds = (
        ("client_id is not the sub", "/oauth/token", lambda:
         assertion_fields(es256(ka, a, t), [("client_id", s)]), None),
        ("client_id is not a valid id", "/oauth/token", lambda:
         assertion_fields(es256(ka, a, t), [("client_id", bad_id)]), None),
        ("not a JWS", "/oauth/token", lambda:
         assertion_fields("not-a-jws"), None),
        ("wrong assertion type", "/oauth/token", lambda:
         [("grant_type", "client_credentials"),
          ("client_assertion_type",
           "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"),
          ("client_assertion", es256(ka, a, t))], None),
        ("type without assertion", "/oauth/token", lambda:
         gt + [("client_assertion_type", JWT_BEARER)], None),
        ("assertion without type", "/oauth/token", lambda:
         gt + [("client_assertion", es256(ka, a, t))], None),
        ("a Basic header that does not parse", "/oauth/token", lambda: gt,
         {"Authorization": "Basic !!!"}),
        ("a Basic header without a colon", "/oauth/token", lambda: gt,
         {"Authorization": "Basic " +
          base64.b64encode(s.encode()).decode()}),
        ("another scheme", "/oauth/token", lambda: gt,
         {"Authorization": "Bearer abc"}),
        ("a secret without client_id", "/oauth/token", lambda:
         gt + [("client_secret", secret)], None),
        ("a client_id outside VSCHAR", "/oauth/token", lambda:
         gt + [("client_id", bad_id), ("client_secret", secret)], None),
        ("an assertion at /authorize", "/authorize", lambda:
         assertion_fields(es256(ka, a, t)), None),
        ("a malformed Basic header at /oauth/introspect",
         "/oauth/introspect", lambda: [("token", "x")],
         {"Authorization": "Basic !!!"}),
    )
    for n, (kind, path, fields, headers) in enumerate(kinds):
        src = "198.51.100.%d" % (n + 1)
        for i in range(2):
            r = post(path, fields(), src, headers)
            if path == "/authorize":
                check_eq(r.status, 401, "%s %d (body %s)"
                         % (kind, i, short(r.body)))
                continue
            refused(r, "%s %d" % (kind, i))
            check_eq(r.body, wrong.body, "%s %d: a wrong secret's body"
                     % (kind, i))
        r = post("/oauth/token", assertion_fields(es256(ka, a, t)), src)
        check_eq(r.status, 429, "%s: a valid assertion after 2 malformed "
                 "requests (body %s)" % (kind, short(r.body)))
        r = post("/oauth/token", assertion_fields(es256(ka, a, t)),
                 "203.0.113.%d" % (n + 1))
        ok(r, "%s: a valid assertion from another source" % kind)
    # no credentials at all: nothing tried, nothing counted
    for i in range(3):
        r = post("/oauth/token", gt, "192.0.2.77")
        refused(r, "no credentials %d" % i)
    ok(post("/oauth/token", assertion_fields(es256(ka, a, t)), "192.0.2.77"),
       "a valid assertion after requests without credentials")
    keys = redis_cli(ctx, "--scan", "--pattern", prefix + "authfail:client:*")
    keys = keys.decode() if isinstance(keys, bytes) else str(keys)
    for k in keys.split():
        cid = k[len(prefix + "authfail:client:"):]
        check(cid in (a, s), "a client counter for %r" % cid)
    t.stop()


@scenario("admin_script_hostile_key_values", timeout=180)
def admin_script_hostile_key_values(ctx):
    """Values that a shell, Lua or redis-cli could take as code or as an
    option: each refused (exit 2) or stored exactly as given, and nothing
    run."""
    prefix = uid("ks") + ":"
    admin = Admin(ctx, prefix)
    d = scratch_dir(ctx, "keybound")
    marker = os.path.join(d, "pwned")
    subjects = ("CN=$(touch %s),O=x" % marker,
                "CN=`touch %s`,O=x" % marker,
                "CN=x';touch %s;'" % marker,
                "CN=x\";touch %s;\"" % marker,
                "CN=a\\,O=b',redis.call('FLUSHALL'),'",
                "CN=]]..redis.call('FLUSHALL')..[[",
                "CN=-x",
                "CN=%s %s %s",
                "-CN=x",
                "CN=*")
    sans = ("$(touch %s)" % marker, "`touch%s`" % marker,
            "x';redis.call('FLUSHALL');'", "-h", "--eval", "*.example.com",
            "\\x00")
    redis_cli(ctx, "SET", prefix + "canary", "1")
    stored = 0
    for opt, field, values in (("--tls-subject", "tls_subject", subjects),
                               ("--tls-san", "tls_san", sans)):
        for v in values:
            cid = uid("h")
            r = admin.run("add", cid, "--auth-method", "tls_client_auth",
                          opt, v, ok=False)
            check(r.returncode in (0, 2), "%s %r: exit %d: %s"
                  % (opt, v, r.returncode, short(r.stderr)))
            if r.returncode == 0:
                got = redis_cli(ctx, "HGET", prefix + "client:" + cid,
                                field)
                got = got.decode() if isinstance(got, bytes) else got
                check_eq(got.rstrip("\n"), v, "%s stored as given" % opt)
                stored += 1
    check(stored > 0, "no value was stored at all")
    check(not os.path.exists(marker), "a value ran a command")
    check_eq(str(redis_cli(ctx, "GET", prefix + "canary")).strip(), "1",
             "a value ran Lua")
    # a hostile JWK Set: kid and members that look like code
    bad_jwks = os.path.join(d, "hostile.json")
    k = dict(pem_jwk(gen_key(os.path.join(d, "h.pem"), "ec256")),
             kid="$(touch %s)'\"`" % marker)
    with open(bad_jwks, "w") as f:
        json.dump({"keys": [k]}, f)
    cid = uid("h")
    admin.run("add", cid, "--auth-method", "private_key_jwt", "--jwks",
              bad_jwks)
    r = admin.run("show", cid)
    check(not os.path.exists(marker), "a kid ran a command")
    # what the script stored, the server reads: no record refused
    t = instance(ctx, "hostile", prefix)
    check_eq(t.request("GET", "/healthz").status, 200, "tokend alive")
    time.sleep(0.5)
    check_eq(t.log_lines(r"event=client_record_invalid"), [],
             "records the script wrote that the server refuses")


@scenario("mtls_resumed_session_keeps_the_chain", timeout=180)
def mtls_resumed_session_keeps_the_chain(ctx):
    """A client whose certificate comes through an intermediate (the CA
    file holds only the root) gets the same answer on its second
    connection with a ticket (TLS 1.2, TLS 1.3) as on its first: a ticket
    keeps only the leaf, so such a session is not resumed and the full
    handshake brings the chain again. A client certificate signed by the
    root itself still resumes."""
    import socket
    import ssl
    pk = TrickPki(ctx)
    ca = ["basicConstraints=critical,CA:TRUE",
          "keyUsage=critical,keyCertSign,cRLSign"]
    leaf = ["basicConstraints=critical,CA:FALSE",
            "extendedKeyUsage=clientAuth"]
    pk.cert("root", "/O=Trick/CN=root", ext=ca)
    pk.cert("int", "/O=Trick/CN=intermediate", "root", ca)
    pk.cert("via-int", "/O=Acme/CN=svc", "int", leaf)
    pk.cert("direct", "/O=Acme/CN=svc", "root", leaf)
    prefix = uid("kt") + ":"
    admin = Admin(ctx, prefix)
    t = start_instance(ctx, "resumechain", args=[
        "--prefix", prefix, "--tls-client-auth", "optional",
        "--tls-client-ca", pk.p("root.pem"), "--auth-fail-limit", "0"])
    cid = uid("dn")
    admin.run("add", cid, "--auth-method", "tls_client_auth",
              "--tls-subject", "CN=svc,O=Acme")
    body = ("grant_type=client_credentials&client_id=%s" % cid).encode()
    req = (b"POST /oauth/token HTTP/1.1\r\nHost: localhost\r\n"
           b"Content-Type: application/x-www-form-urlencoded\r\n"
           b"Content-Length: %d\r\n\r\n" % len(body)) + body
    for version, name, inter in (
            (ssl.TLSVersion.TLSv1_2, "via-int", ("int",)),
            (ssl.TLSVersion.TLSv1_3, "via-int", ("int",)),
            (ssl.TLSVersion.TLSv1_2, "direct", ()),
            (ssl.TLSVersion.TLSv1_3, "direct", ())):
        c = ctx.pki.client_context(minimum=version, maximum=version)
        c.load_cert_chain(pk.chain(name, *inter), pk.p(name + ".key"))
        s1 = t.raw_socket(ssl_ctx=c)
        r, _ = t.raw_exchange(req, sock=s1)
        check(r is not None and r.status == 200, "%s first handshake: %r"
              % (version.name, r and r.status))
        sess = s1.session
        s1.close()
        raw = socket.create_connection((t.host, t.port), 5)
        s2 = c.wrap_socket(raw, server_hostname="localhost", session=sess)
        ctx.track_socket(s2)
        r, _ = t.raw_exchange(req, sock=s2)
        check(s2.session_reused == (not inter), "%s %s: resumed %r"
              % (version.name, name, s2.session_reused))
        check(r is not None and r.status == 200, "%s resumed: %r %r"
              % (version.name, r and r.status, r and r.body))
        s2.close()
