"""
Signing keys: JWKS, metadata, the three algorithms, libjwt as an
independent verifier, SIGHUP key rotation, bad key settings.

Setup: keys made with `openssl genpkey` at test time (EC P-256 A, B and C,
RSA 2048, and for the refusals RSA 1024 and EC P-384); the RFC 7638 3.1
example key from test/data/keys. Scoped TLS instances with
--auth-fail-limit 0, except "keys_jwks_metadata", which also uses the
shared "tokens" instance. libjwt runs through jwt_check (run.py
--jwt-check); the libjwt scenario is skipped without it.

Expected:
- keys_jwks_metadata: the shared instance's JWKS is {"keys":[one EC key]}
  with kty, crv, x, y, kid, alg ES256, use sig and no private member; kid
  = the RFC 7638 thumbprint computed here from x/y and from the PEM. An
  instance with --issuer https://auth.example.test/tenant-1: the RFC 8414
  metadata has that issuer exactly; token_endpoint, jwks_uri,
  introspection_endpoint, revocation_endpoint = issuer + /oauth/token,
  /.well-known/jwks.json, /oauth/introspect, /oauth/revoke;
  grant_types_supported ["client_credentials"]; response_types_supported
  present (a list); {token,introspection,revocation}_endpoint_auth_methods_
  supported = {client_secret_basic, client_secret_post}; its tokens' iss
  is that issuer.
- keys_rs256: --signing-key RSA 2048: JWKS one RSA key (n, e, no d p q dp
  dq qi), kid = its thumbprint (from n/e and from the PEM); token header
  {alg RS256, typ at+jwt, kid}; `openssl dgst -sha256 -verify` accepts
  the signature and refuses a tampered one.
- keys_hs256: --hs256-secret-file (40 bytes): JWKS exactly {"keys":[]};
  header {alg HS256, typ at+jwt, kid "hs256"}; the HMAC recomputed here
  matches (and not with another secret); with --hs256-kid k-2024 the
  header kid is "k-2024".
- keys_libjwt: with --token-typ JWT, libjwt (jwt_check) accepts ES256,
  RS256 and HS256 tokens with alg pinned, and prints the claims tokend
  put in; each token's header typ is "JWT". A default (at+jwt) token is
  rejected by libjwt 1.10 even with the right key: why tokend has its own
  JWS code. jwt_check's alg pin works: an RS256 token checked as ES256,
  and an HS256 token forged with the RSA public key's PEM as its HMAC
  secret checked as RS256, are both refused.
- keys_retired: --retired-key A (private PEM) and --retired-key the RFC
  7638 example (public PEM): JWKS = [signing key, A, RFC key] in that
  order, all public-only, the RFC key's kid is the RFC's
  NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs; tokens carry the signing
  key's kid.
- keys_sighup_rotation: three threads issue tokens on keep-alive
  connections while the --signing-key file is replaced (rename) with key B
  and SIGHUP is sent: every request answers 200 (no error, no dropped
  connection); per connection the kids go A...A B...B; within 2 s of the
  event=reload log line every token has kid(B); tokens of both kids verify
  with openssl against their own key; the JWKS is [B]. Then the file is
  replaced with garbage and SIGHUP sent: event=reload_failed is logged,
  tokens still carry kid(B) and verify with B, the JWKS is still [B].
- keys_bad_settings: exit status 2 within 10 s, exactly one line on
  stderr naming the setting, port not open, for: --signing-key RSA 1024,
  EC P-384, a certificate, a garbage file; --hs256-secret-file of 31
  bytes; --signing-key together with --hs256-secret-file; --retired-key
  garbage; --token-typ bogus.
"""

import hashlib
import hmac
import json
import os
import signal
import subprocess
import threading
import time

from jwt_helpers import (Admin, NO_LIMIT, Jws, b64url, check_public_jwk,
                         get_token, hs256_ok, issuer_of, jwk_thumbprint, jwks,
                         jwt_check, key_file, need_jwt_check, openssl_verify,
                         pem_jwk, public_pem, scratch_dir, start_instance,
                         tokens_instance, uid)
from tokend_harness import (check, check_eq, child_env, free_port,
                            port_listening, scenario, short)

RFC7638_KID = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def client(ctx, scopes="k"):
    cid = uid("it-keys")
    return cid, Admin(ctx).add(cid, "--scopes", scopes)


def write_secret(path, data):
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600)
    return path


def replace_file(path, data):
    """Write data to a temporary file next to path and rename it over."""
    tmp = path + ".new"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


@scenario("keys_jwks_metadata")
def jwks_metadata(ctx):
    t = tokens_instance(ctx)
    doc = jwks(t)
    check_eq(len(doc["keys"]), 1, "JWKS keys of an ES256 instance")
    k = doc["keys"][0]
    check_public_jwk(k, "ES256 JWK")
    check_eq(k["kty"], "EC", "kty")
    check_eq(k["kid"], jwk_thumbprint(pem_jwk(ctx.pki.signing_key)),
             "kid vs the thumbprint of the signing key's PEM")

    issuer = "https://auth.example.test/tenant-1"
    u = start_instance(ctx, "issuer", args=NO_LIMIT,
                       replace={"--issuer": issuer})
    r = u.request("GET", "/.well-known/oauth-authorization-server")
    check_eq(r.status, 200, "metadata status")
    check_eq(r.content_type(), "application/json", "metadata Content-Type")
    m = r.json
    check(isinstance(m, dict), "metadata is not a JSON object: %s"
          % short(r.body))
    check_eq(m.get("issuer"), issuer, "metadata issuer")
    for member, path in (("token_endpoint", "/oauth/token"),
                         ("jwks_uri", "/.well-known/jwks.json"),
                         ("introspection_endpoint", "/oauth/introspect"),
                         ("revocation_endpoint", "/oauth/revoke")):
        check_eq(m.get(member), issuer + path, "metadata " + member)
    check_eq(m.get("grant_types_supported"), ["client_credentials"],
             "grant_types_supported")
    check(isinstance(m.get("response_types_supported"), list),
          "response_types_supported missing or not a list: %r"
          % m.get("response_types_supported"))
    methods = {"client_secret_basic", "client_secret_post",
               "tls_client_auth", "self_signed_tls_client_auth"}
    for ep in ("token", "introspection", "revocation"):
        name = ep + "_endpoint_auth_methods_supported"
        v = m.get(name)
        check(isinstance(v, list) and set(v) == methods and
              len(v) == len(methods), "%s: %r" % (name, v))
    check(m.get("tls_client_certificate_bound_access_tokens") is True,
          "tls_client_certificate_bound_access_tokens: %r"
          % m.get("tls_client_certificate_bound_access_tokens"))
    cid, secret = client(ctx)
    _, tok = get_token(u, cid, secret)
    check_eq(Jws(tok).claims.get("iss"), issuer, "token iss")
    check_eq(Jws(tok).claims.get("aud"), issuer, "token aud (the issuer)")


@scenario("keys_rs256")
def rs256(ctx):
    rsa = key_file(ctx, "rsa2048")
    t = start_instance(ctx, "rs256", args=NO_LIMIT, signing_key=rsa)
    work = scratch_dir(ctx, "rs256")
    doc = jwks(t)
    check_eq(len(doc["keys"]), 1, "JWKS keys of an RS256 instance")
    k = doc["keys"][0]
    check_public_jwk(k, "RS256 JWK")
    pj = pem_jwk(rsa)
    check_eq((k["n"], k["e"]), (pj["n"], pj["e"]), "JWKS n, e vs the PEM")
    check_eq(k["kid"], jwk_thumbprint(pj), "kid vs the PEM's thumbprint")
    cid, secret = client(ctx, "r")
    _, tok = get_token(t, cid, secret)
    jws = Jws(tok)
    check_eq(jws.header, {"alg": "RS256", "typ": "at+jwt", "kid": k["kid"]},
             "RS256 header")
    check_eq(len(jws.sig), 256, "RS256 signature length")
    check(openssl_verify(work, rsa + ".pub.pem", jws),
          "openssl does not verify the RS256 signature")
    jws.sig = jws.sig[:-1] + bytes([jws.sig[-1] ^ 0x40])
    check(not openssl_verify(work, rsa + ".pub.pem", jws),
          "openssl verifies a tampered RS256 signature")


@scenario("keys_hs256")
def hs256(ctx):
    work = scratch_dir(ctx, "hs256")
    secret = b64url(os.urandom(30)).encode()            # 40 bytes
    check_eq(len(secret), 40, "secret length")
    sf = write_secret(os.path.join(work, "hs256.secret"), secret)
    t = start_instance(ctx, "hs256", args=NO_LIMIT + [
        "--hs256-secret-file", sf], drop=["--signing-key"])
    r = t.request("GET", "/.well-known/jwks.json")
    check_eq(r.status, 200, "HS256 JWKS status")
    check_eq(r.json, {"keys": []}, "HS256 JWKS")
    cid, csecret = client(ctx, "h")
    _, tok = get_token(t, cid, csecret)
    jws = Jws(tok)
    check_eq(jws.header, {"alg": "HS256", "typ": "at+jwt", "kid": "hs256"},
             "HS256 header")
    check(hs256_ok(secret, jws), "HMAC-SHA256 over the signing input "
          "does not match the signature")
    check(not hs256_ok(secret[:-1] + b"?", jws),
          "the HMAC matches with another secret: the check is broken")
    check_eq(Jws(tok).claims.get("iss"), issuer_of(t), "HS256 token iss")

    u = start_instance(ctx, "hs256kid", args=NO_LIMIT + [
        "--hs256-secret-file", sf, "--hs256-kid", "k-2024"],
        drop=["--signing-key"])
    _, tok = get_token(u, cid, csecret)
    jws = Jws(tok)
    check_eq(jws.header, {"alg": "HS256", "typ": "at+jwt", "kid": "k-2024"},
             "HS256 header with --hs256-kid")
    check(hs256_ok(secret, jws), "HMAC mismatch with --hs256-kid")


def libjwt_accepts(ctx, alg, keyfile, tok, cid, what):
    st, claims, err = jwt_check(ctx, alg, keyfile, tok)
    check_eq(st, 0, "%s: jwt_check exit status (%s)" % (what, err))
    jws = Jws(tok)
    check_eq(jws.header.get("typ"), "JWT", what + ": typ")
    check_eq(jws.header.get("alg"), alg, what + ": alg")
    check_eq(claims, jws.claims, what + ": claims libjwt read vs ours")
    check_eq(claims.get("client_id"), cid, what + ": client_id via libjwt")


@scenario("keys_libjwt")
def libjwt(ctx):
    need_jwt_check(ctx)
    work = scratch_dir(ctx, "libjwt")
    cid, secret = client(ctx, "lj")

    es = start_instance(ctx, "jwt-es256", args=NO_LIMIT + [
        "--token-typ", "JWT"])
    _, tok_es = get_token(es, cid, secret)
    es_pub = os.path.join(work, "signing.pub.pem")
    public_pem(ctx.pki.signing_key, es_pub)
    libjwt_accepts(ctx, "ES256", es_pub, tok_es, cid, "ES256 typ JWT")

    rsa = key_file(ctx, "rsa2048")
    rs = start_instance(ctx, "jwt-rs256", args=NO_LIMIT + [
        "--token-typ", "JWT"], signing_key=rsa)
    _, tok_rs = get_token(rs, cid, secret)
    libjwt_accepts(ctx, "RS256", rsa + ".pub.pem", tok_rs, cid,
                   "RS256 typ JWT")

    hsecret = b64url(os.urandom(33)).encode()           # 44 bytes
    sf = write_secret(os.path.join(work, "hs.secret"), hsecret)
    hs = start_instance(ctx, "jwt-hs256", args=NO_LIMIT + [
        "--token-typ", "JWT", "--hs256-secret-file", sf],
        drop=["--signing-key"])
    _, tok_hs = get_token(hs, cid, secret)
    libjwt_accepts(ctx, "HS256", sf, tok_hs, cid, "HS256 typ JWT")

    # The default typ, at+jwt: libjwt 1.10 refuses it, right key or not.
    _, tok_at = get_token(tokens_instance(ctx), cid, secret)
    check_eq(Jws(tok_at).header.get("typ"), "at+jwt", "default typ")
    st, _, err = jwt_check(ctx, "ES256", es_pub, tok_at)
    check(st != 0, "libjwt accepted an at+jwt token; docs/security.md's "
          "reason for our own JWS code is out of date")
    ctx.vlog("libjwt on at+jwt: %s" % err)

    # jwt_check's alg pin (the libjwt pitfall it exists to avoid).
    st, _, _ = jwt_check(ctx, "ES256", rsa + ".pub.pem", tok_rs)
    check(st != 0, "jwt_check accepted an RS256 token as ES256")
    with open(rsa + ".pub.pem", "rb") as f:
        pem = f.read()
    head = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = tok_rs.split(".")[1]
    mac = hmac.new(pem, (head + "." + body).encode(), hashlib.sha256)
    forged = head + "." + body + "." + b64url(mac.digest())
    st, _, err = jwt_check(ctx, "RS256", rsa + ".pub.pem", forged)
    check(st != 0, "jwt_check accepted an HS256 token forged with the RSA "
          "public key as HMAC secret (alg confusion)")
    ctx.vlog("forged HS256 token: %s" % err)


@scenario("keys_retired")
def retired(ctx):
    old = key_file(ctx, "ec_a")
    rfc = os.path.join(ctx.source_root, "test", "data", "keys",
                       "rfc7638.pub.pem")
    t = start_instance(ctx, "retired", args=NO_LIMIT + [
        "--retired-key", old, "--retired-key", rfc])
    doc = jwks(t)
    kids = [k.get("kid") for k in doc["keys"]]
    want = [jwk_thumbprint(pem_jwk(ctx.pki.signing_key)),
            jwk_thumbprint(pem_jwk(old)), RFC7638_KID]
    check_eq(kids, want, "JWKS kids: signing key, then the retired ones")
    for i, k in enumerate(doc["keys"]):
        check_public_jwk(k, "JWKS key %d" % i)
    check_eq(jwk_thumbprint(pem_jwk(rfc)), RFC7638_KID,
             "our thumbprint of the RFC 7638 example key")
    cid, secret = client(ctx)
    _, tok = get_token(t, cid, secret)
    check_eq(Jws(tok).header.get("kid"), want[0],
             "kid of a token (the signing key's, never a retired one)")


class Issuer(threading.Thread):
    """Issues tokens on one keep-alive connection until told to stop."""

    def __init__(self, t, cid, secret, stop):
        super().__init__(daemon=True)
        self.t, self.cid, self.secret, self.stop = t, cid, secret, stop
        self.results = []        # (monotonic time, kid, token)
        self.errors = []

    def run(self):
        conn = self.t.connection(timeout=10)
        try:
            while not self.stop.is_set():
                try:
                    _, tok = get_token(self.t, self.cid, self.secret,
                                       conn=conn)
                    self.results.append((time.monotonic(),
                                         Jws(tok).header.get("kid"), tok))
                except Exception as e:          # noqa: BLE001
                    self.errors.append("%s: %s" % (type(e).__name__, e))
                    conn.close()
                    conn = self.t.connection(timeout=10)
                    time.sleep(0.01)
        finally:
            conn.close()


@scenario("keys_sighup_rotation", timeout=90)
def sighup_rotation(ctx):
    work = scratch_dir(ctx, "rotation")
    a, b = key_file(ctx, "ec_b"), key_file(ctx, "ec_c")
    kid_a, kid_b = jwk_thumbprint(pem_jwk(a)), jwk_thumbprint(pem_jwk(b))
    live = os.path.join(work, "signing.pem")
    with open(a, "rb") as f:
        replace_file(live, f.read())
    t = start_instance(ctx, "rotation", args=NO_LIMIT, signing_key=live)
    cid, secret = client(ctx)
    check_eq([k["kid"] for k in jwks(t)["keys"]], [kid_a], "JWKS before")

    stop = threading.Event()
    threads = [Issuer(t, cid, secret, stop) for _ in range(3)]
    for th in threads:
        th.start()
    try:
        time.sleep(0.4)
        offset = t.log_offset()
        with open(b, "rb") as f:
            replace_file(live, f.read())
        t.signal(signal.SIGHUP)
        line = t.wait_log(r"event=reload\b", offset, timeout=5)
        t_reload = time.monotonic()
        ctx.vlog("reloaded: %s" % line)
        time.sleep(2.5)
    finally:
        stop.set()
        for th in threads:
            th.join(15)
    check(all(not th.is_alive() for th in threads), "issuer threads hang")
    errors = [e for th in threads for e in th.errors]
    check(not errors, "%d requests failed during the reload: %s"
          % (len(errors), short(" | ".join(errors[:3]), 400)))
    check(not t.log_lines(r"event=reload_failed", offset),
          "event=reload_failed for a good key")

    samples = {}
    for i, th in enumerate(threads):
        kids = [k for _, k, _ in th.results]
        check(kids, "connection %d issued nothing" % i)
        check(set(kids) <= {kid_a, kid_b}, "connection %d: unknown kids %s"
              % (i, set(kids) - {kid_a, kid_b}))
        first_b = kids.index(kid_b) if kid_b in kids else None
        check(first_b is not None, "connection %d: no token with kid(B) "
              "after the reload (%d tokens)" % (i, len(kids)))
        check(kid_a not in kids[first_b:], "connection %d: kid(A) again "
              "after kid(B)" % i)
        late = [k for ts, k, _ in th.results if ts > t_reload + 2.0]
        check(late and all(k == kid_b for k in late),
              "connection %d: tokens without kid(B) 2 s after the reload"
              % i)
        for _, k, tok in th.results:
            samples.setdefault(k, tok)
        ctx.vlog("connection %d: %d tokens, %d with kid(A)"
                 % (i, len(kids), first_b))
    total = sum(len(th.results) for th in threads)
    check(total >= 30, "only %d tokens issued in ~3 s" % total)
    check(kid_a in samples, "no token with kid(A) before the reload")
    check(openssl_verify(work, a + ".pub.pem", Jws(samples[kid_a])),
          "a kid(A) token does not verify with key A")
    check(openssl_verify(work, b + ".pub.pem", Jws(samples[kid_b])),
          "a kid(B) token does not verify with key B")
    check(not openssl_verify(work, a + ".pub.pem", Jws(samples[kid_b])),
          "a kid(B) token verifies with key A")
    check_eq([k["kid"] for k in jwks(t)["keys"]], [kid_b],
             "JWKS after the reload")

    # A garbage key file: the reload fails, key B keeps signing.
    offset = t.log_offset()
    replace_file(live, b"-----BEGIN PRIVATE KEY-----\nnot a key\n"
                       b"-----END PRIVATE KEY-----\n")
    t.signal(signal.SIGHUP)
    t.wait_log(r"event=reload_failed\b", offset, timeout=5)
    time.sleep(0.2)
    check(t.running(), "tokend exited after a failed reload")
    conn = t.connection()
    try:
        for i in range(4):
            _, tok = get_token(t, cid, secret, conn=conn if i % 2 else None)
            jws = Jws(tok)
            check_eq(jws.header.get("kid"), kid_b,
                     "kid after the failed reload")
        check(openssl_verify(work, b + ".pub.pem", jws),
              "token after the failed reload does not verify with key B")
    finally:
        conn.close()
    check_eq([k["kid"] for k in jwks(t)["keys"]], [kid_b],
             "JWKS after the failed reload")


@scenario("keys_bad_settings", timeout=90)
def bad_settings(ctx):
    work = scratch_dir(ctx, "badkeys")
    short_secret = write_secret(os.path.join(work, "short.secret"),
                                b"x" * 31)
    good_secret = write_secret(os.path.join(work, "good.secret"),
                               b"y" * 40)
    garbage = write_secret(os.path.join(work, "garbage.pem"),
                           b"-----BEGIN PRIVATE KEY-----\nAAAA\n"
                           b"-----END PRIVATE KEY-----\n")
    # (label, --signing-key or None, extra args, names: any of them)
    cases = [
        ("RSA 1024", key_file(ctx, "rsa1024"), [], ["--signing-key"]),
        ("EC P-384", key_file(ctx, "ec384"), [], ["--signing-key"]),
        ("a certificate", ctx.pki.cert, [], ["--signing-key"]),
        ("garbage key", garbage, [], ["--signing-key"]),
        ("HS256 secret of 31 bytes", None,
         ["--hs256-secret-file", short_secret], ["--hs256-secret-file"]),
        ("signing key and HS256 secret", ctx.pki.signing_key,
         ["--hs256-secret-file", good_secret],
         ["--hs256-secret-file", "--signing-key"]),
        ("garbage retired key", ctx.pki.signing_key,
         ["--retired-key", garbage], ["--retired-key"]),
        ("token-typ bogus", ctx.pki.signing_key, ["--token-typ", "bogus"],
         ["--token-typ"]),
    ]
    problems = []
    for label, key, extra, names in cases:
        port = free_port()
        argv = [ctx.tokend_bin, "--listen", "127.0.0.1:%d" % port,
                "--redis", "redis://127.0.0.1:%d" % ctx.redis.port,
                "--tls-cert", ctx.pki.cert, "--tls-key", ctx.pki.key,
                "--workers", "2"]
        if key is not None:
            argv += ["--signing-key", key]
        argv += extra
        r = subprocess.run(argv, capture_output=True, timeout=10,
                           stdin=subprocess.DEVNULL, env=child_env())
        lines = [ln for ln in r.stderr.decode("utf-8", "replace")
                 .splitlines() if ln.strip()]
        ctx.vlog("%s -> exit %d: %s" % (label, r.returncode,
                                        short(r.stderr, 300)))
        if r.returncode != 2:
            problems.append("%s: exit status %d, expected 2 (stderr %s)"
                            % (label, r.returncode, short(r.stderr, 300)))
            continue
        if len(lines) != 1:
            problems.append("%s: %d lines on stderr, expected 1: %s"
                            % (label, len(lines),
                               short(" | ".join(lines), 300)))
            continue
        if not any(n in lines[0] for n in names):
            problems.append("%s: stderr does not name %s: %s"
                            % (label, " or ".join(names), short(lines[0])))
        if port_listening(port):
            problems.append("%s: port %d is open" % (label, port))
    check(not problems, "; ".join(problems))
