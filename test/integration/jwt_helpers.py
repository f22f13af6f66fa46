"""
Helpers of the token scenarios (test_token.py, test_authorize.py,
test_keys.py, test_admin_flow.py) and of the verifying ones
(test_verify.py, test_introspect_revoke.py, test_bad_tokens.py,
test_multi_instance.py, test_nginx.py). Python 3 standard library only; the
cryptography is the openssl CLI's (and libjwt's, through jwt_check).

- Admin: scripts/tokend-client against the harness's Redis.
- Requests: POST /oauth/token with Basic (RFC 6749 2.3.1 encoding) or
  client_secret_post, POST /authorize.
- Tokens: base64url, decoding a compact JWS (strictly), RFC 7638
  thumbprints from JWKs and from PEM public keys, ES256 raw R||S -> DER,
  signature checks with `openssl dgst`, HS256 with hmac.
- Keys: EC P-256 / RSA / EC P-384 keys made with `openssl genpkey`.
- Redis: a snapshot of every key (`redis-cli --scan`) and DBSIZE.
- Crafting tokens (the verifying scenarios): ES256/RS256 signatures made
  with `openssl dgst -sign` (DER -> raw R||S), HS256 with hmac; a Forger
  that makes tokens an instance accepts, and each one defect at a time.
- Verifying: GET/POST /verify, /oauth/introspect, /oauth/revoke, and
  what their answers must look like; no whole token in any log.
"""

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import subprocess
import time
import urllib.parse

from tokend_harness import check, check_eq, child_env, fail, short, skip

FORM = "application/x-www-form-urlencoded"
B64URL_RE = re.compile(r"^[A-Za-z0-9_-]+$")
# Members a public JWK must never carry (RFC 7518 6.2.2, 6.3.2, 6.4.1).
PRIVATE_JWK_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")


# ---------------------------------------------------------------------------
# Unique names

def uid(prefix):
    """A client id unique in this run: prefix-<8 hex>."""
    return "%s-%s" % (prefix, secrets.token_hex(4))


def scratch_dir(ctx, name):
    """A fresh directory under the run's temporary directory."""
    d = os.path.join(ctx.tmp, "%s-%s" % (name, secrets.token_hex(3)))
    os.makedirs(d)
    return d


# ---------------------------------------------------------------------------
# Admin script

class Admin:
    """scripts/tokend-client on the harness's Redis, under a key prefix."""

    def __init__(self, ctx, prefix="tokend:"):
        self.ctx = ctx
        self.script = os.path.join(ctx.source_root, "scripts",
                                   "tokend-client")
        self.env = child_env({
            "TOKEND_REDIS": "redis://127.0.0.1:%d" % ctx.redis.port,
            "TOKEND_PREFIX": prefix,
        })

    def run(self, *args, stdin=None, ok=True):
        r = subprocess.run(["sh", self.script] + list(args),
                           input=stdin.encode() if isinstance(stdin, str)
                           else stdin,
                           capture_output=True, timeout=30, env=self.env)
        if ok and r.returncode != 0:
            fail("tokend-client %s: exit %d: %s"
                 % (" ".join(args[:2]), r.returncode, short(r.stderr, 300)))
        return r

    def add(self, client_id, *opts, secret=None):
        """Create a client; returns its secret (given or generated)."""
        if secret is not None:
            self.ctx.sensitive.secret(secret, "tokend-client --secret-stdin")
            self.run("add", client_id, "--secret-stdin", *opts,
                     stdin=secret + "\n")
            return secret
        r = self.run("add", client_id, *opts)
        out = r.stdout.decode().splitlines()
        check(len(out) == 1 and len(out[0]) >= 32,
              "tokend-client add printed %r" % short(r.stdout))
        self.ctx.sensitive.secret(out[0], "tokend-client add")
        return out[0]

    def set(self, client_id, *opts):
        self.run("set", client_id, *opts)

    def rotate(self, client_id):
        r = self.run("rotate", client_id)
        out = r.stdout.decode().splitlines()
        check(len(out) == 1 and len(out[0]) >= 32,
              "tokend-client rotate printed %r" % short(r.stdout))
        self.ctx.sensitive.secret(out[0], "tokend-client rotate")
        return out[0]

    def disable(self, client_id):
        self.run("disable", client_id)

    def enable(self, client_id):
        self.run("enable", client_id)

    def remove(self, client_id):
        self.run("remove", client_id)


# ---------------------------------------------------------------------------
# Requests

def form(fields):
    """Form-encode a list of (name, value) pairs or a dict."""
    if isinstance(fields, dict):
        fields = list(fields.items())
    return urllib.parse.urlencode(fields, quote_via=urllib.parse.quote_plus)


def basic(client_id, secret, encode=True):
    """The Authorization value for client_secret_basic (RFC 6749 2.3.1:
    id and secret form-urlencoded before Base64)."""
    if encode:
        client_id = urllib.parse.quote_plus(client_id, safe="")
        secret = urllib.parse.quote_plus(secret, safe="")
    raw = ("%s:%s" % (client_id, secret)).encode("utf-8")
    return "Basic " + base64.b64encode(raw).decode()


def token_request(t, fields=None, client=None, post=None, body=None,
                  content_type=FORM, headers=None, conn=None, timeout=5.0):
    """
    POST /oauth/token. fields: the form (default grant_type=
    client_credentials); client=(id, secret) authenticates with Basic,
    post=(id, secret) with client_secret_post; body overrides the form.
    """
    h = dict(headers or {})
    if content_type is not None:
        h["Content-Type"] = content_type
    if client is not None:
        h["Authorization"] = basic(*client)
    if body is None:
        f = list((fields or {"grant_type": "client_credentials"}).items()) \
            if not isinstance(fields, list) else list(fields)
        if post is not None:
            f += [("client_id", post[0]), ("client_secret", post[1])]
        body = form(f)
    if isinstance(body, str):
        body = body.encode("utf-8")
    return t.request("POST", "/oauth/token", body=body, headers=h,
                     conn=conn, timeout=timeout)


def get_token(t, client_id, secret, scope=None, conn=None, post=False):
    """A token from /oauth/token (fails the scenario unless 200):
    (response JSON, token string)."""
    f = {"grant_type": "client_credentials"}
    if scope is not None:
        f["scope"] = scope
    r = token_request(t, f, client=None if post else (client_id, secret),
                      post=(client_id, secret) if post else None, conn=conn)
    check_eq(r.status, 200, "POST /oauth/token for %s (body %s)"
             % (client_id, short(r.body)))
    check(isinstance(r.json, dict) and isinstance(
        r.json.get("access_token"), str),
        "token response without access_token: %s" % short(r.body))
    return r.json, r.json["access_token"]


def authorize(t, client_id, secret, as_json=True, conn=None):
    if as_json:
        body = json.dumps({"client_id": client_id, "client_secret": secret})
        ct = "application/json"
    else:
        body = form({"client_id": client_id, "client_secret": secret})
        ct = FORM
    return t.request("POST", "/authorize", body=body.encode(),
                     headers={"Content-Type": ct}, conn=conn)


# ---------------------------------------------------------------------------
# JOSE

def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(s, what="base64url"):
    check(isinstance(s, str) and B64URL_RE.match(s) is not None
          and len(s) % 4 != 1,
          "%s is not unpadded base64url: %r" % (what, short(s, 80)))
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


class Jws:
    """A decoded compact JWS: header, claims (dicts), signing input,
    signature bytes."""

    def __init__(self, token):
        check(isinstance(token, str), "token is not a string: %r" % token)
        parts = token.split(".")
        check_eq(len(parts), 3, "parts of the compact JWS")
        self.token = token
        self.header_raw = b64url_decode(parts[0], "JWS header")
        self.payload_raw = b64url_decode(parts[1], "JWS payload")
        self.sig = b64url_decode(parts[2], "JWS signature")
        self.signing_input = (parts[0] + "." + parts[1]).encode()
        try:
            self.header = json.loads(self.header_raw.decode("utf-8"))
            self.claims = json.loads(self.payload_raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            fail("token header or payload is not JSON: %s" % e)
        check(isinstance(self.header, dict) and isinstance(self.claims, dict),
              "token header or payload is not a JSON object")


def jwk_thumbprint(jwk):
    """RFC 7638: base64url(SHA-256(canonical JSON of the required members))."""
    if jwk["kty"] == "EC":
        members = ("crv", "kty", "x", "y")
    elif jwk["kty"] == "RSA":
        members = ("e", "kty", "n")
    elif jwk["kty"] == "oct":
        members = ("k", "kty")
    else:
        fail("unexpected kty %r" % jwk["kty"])
    canon = json.dumps({m: jwk[m] for m in members}, sort_keys=True,
                       separators=(",", ":"))
    return b64url(hashlib.sha256(canon.encode()).digest())


def openssl(*args, stdin=None, ok=True):
    r = subprocess.run(["openssl"] + list(args), input=stdin,
                       capture_output=True, timeout=60, env=child_env())
    if ok and r.returncode != 0:
        fail("openssl %s failed: %s" % (" ".join(args[:3]),
                                        short(r.stderr, 300)))
    return r


def gen_key(path, kind):
    """kind: "ec256", "ec384", "rsa2048", "rsa1024". PKCS#8 PEM."""
    if kind.startswith("ec"):
        curve = {"ec256": "P-256", "ec384": "P-384"}[kind]
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt",
                "ec_paramgen_curve:" + curve, "-out", path)
    else:
        bits = kind[3:]
        openssl("genpkey", "-algorithm", "RSA", "-pkeyopt",
                "rsa_keygen_bits:" + bits, "-out", path)
    return path


def public_pem(key_path, out_path=None):
    """The public key of a private key PEM, as a PEM file; its path."""
    out_path = out_path or key_path + ".pub.pem"
    openssl("pkey", "-in", key_path, "-pubout", "-out", out_path)
    return out_path


def der_len(data, i):
    """(length, next index) of the DER length at data[i]."""
    n = data[i]
    if n < 0x80:
        return n, i + 1
    k = n & 0x7f
    return int.from_bytes(data[i + 1:i + 1 + k], "big"), i + 1 + k


def pem_jwk(key_path):
    """The public JWK members (kty, crv/x/y or n/e) of a PEM key, read
    with the openssl CLI (an independent path to the thumbprint)."""
    with open(key_path, "rb") as f:
        pubin = ["-pubin"] if b"-----BEGIN PUBLIC KEY-----" in f.read() \
            else []
    text = openssl("pkey", *pubin, "-in", key_path, "-pubout", "-noout",
                   "-text").stdout.decode()
    if "ASN1 OID: prime256v1" in text or "NIST CURVE: P-256" in text:
        der = openssl("pkey", *pubin, "-in", key_path, "-pubout",
                      "-outform", "DER").stdout
        point = der[-65:]
        check(point[0] == 4, "EC public point is not uncompressed")
        return {"kty": "EC", "crv": "P-256", "x": b64url(point[1:33]),
                "y": b64url(point[33:65])}
    m = re.search(r"Modulus:\s*((?:[0-9a-f]{2}:?\s*)+)", text)
    e = re.search(r"Exponent:\s*(\d+)", text)
    check(m is not None and e is not None,
          "cannot read the RSA public key of %s" % key_path)
    n = bytes.fromhex(re.sub(r"[^0-9a-f]", "", m.group(1))).lstrip(b"\0")
    ev = int(e.group(1))
    return {"kty": "RSA", "n": b64url(n),
            "e": b64url(ev.to_bytes((ev.bit_length() + 7) // 8, "big"))}


def der_int(v):
    # minimal two's complement: a leading 0 only when the top bit is set
    b = v.to_bytes(v.bit_length() // 8 + 1, "big")
    return b"\x02" + der_length(len(b)) + b


def der_length(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def es256_der(raw):
    """JWS ES256 signature (R || S, 64 bytes) -> DER ECDSA-Sig-Value."""
    check_eq(len(raw), 64, "ES256 signature length")
    r = int.from_bytes(raw[:32], "big")
    s = int.from_bytes(raw[32:], "big")
    body = der_int(r) + der_int(s)
    return b"\x30" + der_length(len(body)) + body


def openssl_verify(workdir, pub_pem, jws):
    """True when `openssl dgst -sha256 -verify` accepts the JWS signature
    (ES256 converted to DER; RS256 as it is)."""
    alg = jws.header.get("alg")
    sig = es256_der(jws.sig) if alg == "ES256" else jws.sig
    n = secrets.token_hex(4)
    data_f = os.path.join(workdir, "in-%s.bin" % n)
    sig_f = os.path.join(workdir, "sig-%s.bin" % n)
    with open(data_f, "wb") as f:
        f.write(jws.signing_input)
    with open(sig_f, "wb") as f:
        f.write(sig)
    r = openssl("dgst", "-sha256", "-verify", pub_pem, "-signature", sig_f,
                data_f, ok=False)
    os.unlink(data_f)
    os.unlink(sig_f)
    return r.returncode == 0 and b"Verified OK" in r.stdout


def hs256_ok(secret, jws):
    mac = hmac.new(secret, jws.signing_input, hashlib.sha256).digest()
    return hmac.compare_digest(mac, jws.sig)


def jwt_check(ctx, alg, keyfile, token):
    """Run jwt_check (libjwt): (exit status, claims dict or None, stderr)."""
    r = subprocess.run([ctx.jwt_check_bin, alg, keyfile, token],
                       capture_output=True, timeout=30, env=child_env())
    claims = None
    if r.returncode == 0:
        try:
            claims = json.loads(r.stdout.decode())
        except ValueError:
            fail("jwt_check printed no JSON: %s" % short(r.stdout))
    return r.returncode, claims, r.stderr.decode("utf-8", "replace").strip()


def need_jwt_check(ctx):
    if not ctx.jwt_check_bin or not os.access(ctx.jwt_check_bin, os.X_OK):
        skip("jwt_check not built (run.py --jwt-check)")


# ---------------------------------------------------------------------------
# Token claims

GEN_RE = re.compile(r"^[0-9a-f]{16}\.[0-9a-f]{16}$")


def check_token_claims(jws, issuer, client_id, aud, ttl, scope=None,
                       alg="ES256", typ="at+jwt", kid=None, now=None,
                       extra=None, what="token"):
    """The header and the registered claims of a token tokend issued."""
    check_eq(sorted(jws.header), ["alg", "kid", "typ"],
             what + ": header members (%s)" % jws.header)
    check_eq(jws.header["alg"], alg, what + ": alg")
    check_eq(jws.header["typ"], typ, what + ": typ")
    if kid is not None:
        check_eq(jws.header["kid"], kid, what + ": kid")
    c = jws.claims
    check_eq(c.get("iss"), issuer, what + ": iss")
    check_eq(c.get("sub"), client_id, what + ": sub")
    check_eq(c.get("client_id"), client_id, what + ": client_id")
    check_eq(c.get("aud"), aud, what + ": aud")
    now = now if now is not None else time.time()
    check(isinstance(c.get("iat"), int) and abs(c["iat"] - now) <= 5,
          "%s: iat %r is not now (%d)" % (what, c.get("iat"), now))
    check_eq(c.get("exp"), c["iat"] + ttl, what + ": exp (iat %d + ttl)"
             % c["iat"])
    jti = c.get("jti")
    check(isinstance(jti, str) and len(jti) >= 22 and
          B64URL_RE.match(jti) is not None,
          "%s: jti %r is not >= 22 characters of base64url (128 bits)"
          % (what, jti))
    if scope is None:
        check("scope" not in c, "%s: scope claim %r present; the client "
              "has none" % (what, c.get("scope")))
    else:
        check_eq(c.get("scope"), scope, what + ": scope")
    # the client's generation: every client the current tokend-client
    # made has one (a record of an older script gives none)
    if "client_gen" in c:
        check(isinstance(c["client_gen"], str) and
              GEN_RE.match(c["client_gen"]) is not None,
              "%s: client_gen %r is not a generation" % (what,
                                                         c["client_gen"]))
    base = {"iss", "sub", "client_id", "client_gen", "aud", "iat", "exp",
            "jti", "scope"}
    others = {k: v for k, v in c.items() if k not in base}
    check_eq(others, extra or {}, what + ": claims besides the registered "
             "ones")


def check_public_jwk(k, what="JWK"):
    check(isinstance(k, dict), what + " is not an object")
    for m in ("kty", "kid", "alg", "use"):
        check(isinstance(k.get(m), str) and k[m],
              "%s lacks %s: %s" % (what, m, k))
    check_eq(k["use"], "sig", what + ": use")
    bad = [m for m in PRIVATE_JWK_MEMBERS if m in k]
    check(not bad, "%s has private members %s" % (what, bad))
    if k["kty"] == "EC":
        check_eq(k.get("crv"), "P-256", what + ": crv")
        check_eq(k["alg"], "ES256", what + ": alg")
        check_eq(len(b64url_decode(k.get("x", ""), "x")), 32, what + ": x")
        check_eq(len(b64url_decode(k.get("y", ""), "y")), 32, what + ": y")
        allowed = {"kty", "kid", "alg", "use", "crv", "x", "y"}
    elif k["kty"] == "RSA":
        check_eq(k["alg"], "RS256", what + ": alg")
        check(len(b64url_decode(k.get("n", ""), "n")) >= 256,
              what + ": n shorter than 2048 bits")
        b64url_decode(k.get("e", ""), "e")
        allowed = {"kty", "kid", "alg", "use", "n", "e"}
    else:
        fail("%s: unexpected kty %r" % (what, k["kty"]))
    extra = set(k) - allowed - {"key_ops", "x5c", "x5t", "x5t#S256"}
    check(not extra, "%s: unexpected members %s" % (what, sorted(extra)))
    check_eq(k["kid"], jwk_thumbprint(k), what + ": kid vs RFC 7638 "
             "thumbprint")


def jwks(t):
    r = t.request("GET", "/.well-known/jwks.json")
    check_eq(r.status, 200, "GET /.well-known/jwks.json status")
    check_eq(r.content_type(), "application/json", "JWKS Content-Type")
    check(isinstance(r.json, dict) and isinstance(r.json.get("keys"), list),
          "JWKS is not {\"keys\":[...]}: %s" % short(r.body))
    check_eq(sorted(r.json), ["keys"], "JWKS members")
    return r.json


# ---------------------------------------------------------------------------
# Redis

def redis_keys(ctx):
    """(sorted list of every key, DBSIZE) of the harness's Redis."""
    base = ["redis-cli", "-h", "127.0.0.1", "-p", str(ctx.redis.port)]
    r = subprocess.run(base + ["--scan"], capture_output=True, timeout=30,
                       env=child_env())
    check_eq(r.returncode, 0, "redis-cli --scan exit status")
    keys = sorted(r.stdout.decode("utf-8", "replace").splitlines())
    r = subprocess.run(base + ["DBSIZE"], capture_output=True, timeout=30,
                       env=child_env())
    check_eq(r.returncode, 0, "redis-cli DBSIZE exit status")
    return keys, int(r.stdout.decode().strip())


def redis_cli(ctx, *args):
    r = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p",
                        str(ctx.redis.port)] + list(args),
                       capture_output=True, timeout=30, env=child_env())
    check_eq(r.returncode, 0, "redis-cli %s exit status" % args[0])
    return r.stdout.decode("utf-8", "replace")


def client_gen(ctx, client_id, prefix="tokend:"):
    """The generation in client_id's record (tokens carry it as
    client_gen), or None when the record has none."""
    return redis_hgetall(ctx, prefix + "client:" + client_id).get(
        "generation")


def redis_hgetall(ctx, key):
    """HGETALL as a dict of str (redis-cli --raw output, one per line)."""
    lines = redis_cli(ctx, "--raw", "HGETALL", key).split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return dict(zip(lines[0::2], lines[1::2]))


# ---------------------------------------------------------------------------
# Instances

# Every instance of these scenarios runs without the brute-force limit:
# they make many failed authentications from 127.0.0.1 on purpose.
NO_LIMIT = ["--auth-fail-limit", "0"]


def tokens_instance(ctx):
    """The shared ES256 instance of the token scenarios (--workers 2)."""
    return ctx.shared_tokend("tokens", args=NO_LIMIT)


def issuer_of(t):
    return t.argv[t.argv.index("--issuer") + 1]


def start_instance(ctx, name, args=(), drop=(), replace=None, **kw):
    """
    A scenario-scoped tokend (like ctx.start_tokend) whose base command
    line is edited first: options in drop are removed with their value
    (e.g. "--signing-key" for HS256), those in replace get a new value
    (e.g. {"--issuer": URL}).
    """
    import tokend_harness as H
    t = H.Tokend(ctx, name, args=args, **kw)
    for opt in drop:
        i = t.argv.index(opt)
        del t.argv[i:i + 2]
    for opt, val in (replace or {}).items():
        t.argv[t.argv.index(opt) + 1] = val
    ctx.scoped.append(t)
    t.start()
    return t


def _key_cache(ctx):
    """Keys made once per run with openssl genpkey, by name: ec_a, ec_b,
    rsa2048 (signing), rsa1024, ec384 (refused); each with .pub.pem."""
    cache = getattr(ctx, "_jwt_test_keys", None)
    if cache is None:
        cache = {}
        ctx._jwt_test_keys = cache
    return cache


def key_file(ctx, name):
    """The path of test key name (see _key_cache), made on first use."""
    cache = _key_cache(ctx)
    if name not in cache:
        d = os.path.join(ctx.tmp, "jwt-keys")
        os.makedirs(d, exist_ok=True)
        kind = {"ec_a": "ec256", "ec_b": "ec256", "ec_c": "ec256",
                "rsa2048": "rsa2048", "rsa1024": "rsa1024",
                "ec384": "ec384"}[name]
        path = gen_key(os.path.join(d, name + ".pem"), kind)
        public_pem(path)
        cache[name] = path
    return cache[name]


# ---------------------------------------------------------------------------
# Crafting tokens

# The order of the P-256 group.
P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def es256_raw(der, size=32):
    """DER ECDSA-Sig-Value -> JWS R || S (2 * size bytes)."""
    check(len(der) > 2 and der[0] == 0x30, "not a DER SEQUENCE")
    _, i = der_len(der, 1)
    out = b""
    for _ in range(2):
        check(der[i] == 0x02, "not a DER INTEGER")
        n, i = der_len(der, i + 1)
        v = int.from_bytes(der[i:i + n], "big")
        i += n
        out += v.to_bytes(size, "big")
    return out


def sign_der(key_path, data):
    """`openssl dgst -sha256 -sign key`: DER for EC keys, PKCS#1 v1.5 for
    RSA keys."""
    return openssl("dgst", "-sha256", "-sign", key_path,
                   stdin=data).stdout


def sign_es256(key_path, data):
    return es256_raw(sign_der(key_path, data))


def sign_hs256(secret, data):
    if isinstance(secret, str):
        secret = secret.encode()
    return hmac.new(secret, data, hashlib.sha256).digest()


def json_bytes(v):
    """A header or payload: dict -> compact JSON; str/bytes as they are."""
    if isinstance(v, (dict, list)):
        return json.dumps(v, separators=(",", ":")).encode()
    return v.encode() if isinstance(v, str) else v


def compact(header, payload, sign=None, sig=None):
    """
    A compact JWS. header and payload: dicts (compact JSON) or the raw
    bytes to encode. sign(signing_input bytes) -> signature bytes, unless
    sig gives the signature bytes (b"" for none).
    """
    si = b64url(json_bytes(header)) + "." + b64url(json_bytes(payload))
    if sig is None:
        sig = sign(si.encode()) if sign is not None else b""
    return si + "." + b64url(sig)


def key_kid(key_path):
    """The RFC 7638 thumbprint of a PEM key (the kid tokend gives it)."""
    return jwk_thumbprint(pem_jwk(key_path))


def new_jti():
    return b64url(secrets.token_bytes(16))


DROP = object()     # Forger: leave this member out


class Forger:
    """
    Tokens an instance would accept, made here with its signing key (EC
    P-256, ES256), and the same with one thing changed. The default claims
    are those tokend issues: iss = the instance's issuer, sub = client_id,
    aud, iat = now, exp = now + 600, a fresh jti, client_gen = gen (the
    client's generation, client_gen(ctx, client_id); None: no such claim,
    as for a record without one), scope.
    """

    def __init__(self, key_path, issuer, client_id, scope="read write",
                 typ="at+jwt", gen=None):
        self.key = key_path
        self.kid = key_kid(key_path)
        self.issuer = issuer
        self.client_id = client_id
        self.scope = scope
        self.typ = typ
        self.gen = gen

    def header(self, **over):
        h = {"alg": "ES256", "typ": self.typ, "kid": self.kid}
        h.update(over)
        return {k: v for k, v in h.items() if v is not DROP}

    def claims(self, **over):
        now = int(time.time())
        c = {"iss": self.issuer, "sub": self.client_id, "aud": self.issuer,
             "exp": now + 600, "iat": now, "jti": new_jti(),
             "client_id": self.client_id}
        if self.gen is not None:
            c["client_gen"] = self.gen
        if self.scope:
            c["scope"] = self.scope
        c.update(over)
        return {k: v for k, v in c.items() if v is not DROP}

    def sign(self, data):
        return sign_es256(self.key, data)

    def token(self, header=None, claims=None, sig=None):
        """header/claims: dicts of changes (DROP removes a member), or
        raw bytes for the whole segment."""
        h = header if isinstance(header, (bytes, str)) else \
            self.header(**(header or {}))
        c = claims if isinstance(claims, (bytes, str)) else \
            self.claims(**(claims or {}))
        return compact(h, c, sign=self.sign, sig=sig)



# ---------------------------------------------------------------------------
# Verifying endpoints

def to_bytes(v):
    return v if isinstance(v, bytes) else v.encode("utf-8")


def verify_request(t, token=None, how="bearer", scope=None, method=None,
                   headers=None, timeout=5.0, conn=None):
    """
    /verify with the token sent as how: "bearer" (Authorization: Bearer),
    "bare" (Authorization: <token>), "form" or "json" (POST body), "none".
    scope: the ?scope= query (a str). method defaults to GET, POST for a
    body.
    """
    h = dict(headers or {})
    body = None
    if how == "bearer":
        h["Authorization"] = (b"Bearer " + token if isinstance(
            token, bytes) else "Bearer " + token)
    elif how == "bare":
        h["Authorization"] = token
    elif how == "form":
        h["Content-Type"] = FORM
        body = b"token=" + urllib.parse.quote_plus(
            to_bytes(token), safe="").encode()
    elif how == "json":
        h["Content-Type"] = "application/json"
        body = to_bytes(json.dumps({"token": token}) if isinstance(
            token, str) else token)
    if method is None:
        method = "GET" if body is None else "POST"
    path = "/verify"
    if scope is not None:
        path += "?" + form({"scope": scope})
    return t.request(method, path, body=body, headers=h, timeout=timeout,
                     conn=conn)


def token_op(t, path, creds, token, post=False, hint=None, timeout=5.0,
             conn=None, extra=None):
    """POST /oauth/introspect or /oauth/revoke as client creds=(id,
    secret): Basic, or client_secret_post with post=True."""
    f = []
    if token is not None:
        f.append(("token", token))
    if hint is not None:
        f.append(("token_type_hint", hint))
    f += list(extra or [])
    h = {"Content-Type": FORM}
    if post:
        f += [("client_id", creds[0]), ("client_secret", creds[1])]
    elif creds is not None:
        h["Authorization"] = basic(*creds)
    return t.request("POST", path, body=form(f).encode(), headers=h,
                     timeout=timeout, conn=conn)


def introspect(t, creds, token, **kw):
    return token_op(t, "/oauth/introspect", creds, token, **kw)


def revoke(t, creds, token, **kw):
    return token_op(t, "/oauth/revoke", creds, token, **kw)


BEARER_INVALID = 'Bearer error="invalid_token"'
BEARER_NO_TOKEN = 'Bearer realm="tokend"'
INTROSPECT_MEMBERS = {"active", "token_type", "scope", "client_id", "exp",
                      "iat", "sub", "aud", "iss", "jti"}


def check_no_store(r, what):
    check_eq(r.header("Cache-Control"), "no-store", what + ": Cache-Control")
    check_eq(r.content_type(), "application/json", what + ": Content-Type")


def expect_valid(r, claims=None, what="/verify"):
    """200 {"valid":true,"claims":...} with the identity headers."""
    check_eq(r.status, 200, what + ": status (body %s)" % short(r.body))
    check_no_store(r, what)
    j = r.json
    check(isinstance(j, dict) and j.get("valid") is True and
          isinstance(j.get("claims"), dict),
          what + ": body is not {valid:true, claims}: %s" % short(r.body))
    check_eq(sorted(j), ["claims", "valid"], what + ": members")
    c = j["claims"]
    if claims is not None:
        check_eq(c, claims, what + ": claims")
    check_eq(r.header_all("X-Token-Client-Id"), [c.get("client_id")],
             what + ": X-Token-Client-Id")
    check_eq(r.header_all("X-Token-Sub"), [c.get("sub")],
             what + ": X-Token-Sub")
    check_eq(r.header_all("X-Token-Scope"), [c.get("scope", "")],
             what + ": X-Token-Scope")
    return c


def expect_rejected(r, reasons=None, what="/verify"):
    """401 invalid_token; reasons: the acceptable "<reason>"s of
    error_description "token rejected: <reason>" (None: any)."""
    check_eq(r.status, 401, what + ": status (body %s)" % short(r.body))
    check_no_store(r, what)
    j = r.json
    check(isinstance(j, dict), what + ": body is not JSON: %s"
          % short(r.body))
    check_eq(j.get("valid"), False, what + ": valid")
    check_eq(j.get("error"), "invalid_token", what + ": error")
    check_eq(r.header_all("WWW-Authenticate"), [BEARER_INVALID],
             what + ": WWW-Authenticate")
    check(not r.header_all("X-Token-Client-Id"),
          what + ": X-Token-Client-Id on a rejection")
    desc = j.get("error_description")
    check(isinstance(desc, str) and desc.startswith("token rejected: "),
          what + ": error_description %r" % desc)
    reason = desc[len("token rejected: "):]
    if reasons is not None:
        if isinstance(reasons, str):
            reasons = (reasons,)
        check(reason in reasons, "%s: rejected for %r, expected %s"
              % (what, reason, " or ".join(reasons)))
    return reason


def expect_unavailable(r, what):
    """503 temporarily_unavailable (JSON, no-store)."""
    check_eq(r.status, 503, what + ": status (body %s)" % short(r.body))
    check_no_store(r, what)
    check(isinstance(r.json, dict) and
          r.json.get("error") == "temporarily_unavailable",
          what + ": body %s" % short(r.body))


def expect_inactive(r, what="introspect"):
    check_eq(r.status, 200, what + ": status (body %s)" % short(r.body))
    check_no_store(r, what)
    check_eq(r.json, {"active": False}, what + ": body")


def expect_active(r, claims, what="introspect"):
    """200 with exactly the RFC 7662 members, equal to the claims."""
    check_eq(r.status, 200, what + ": status (body %s)" % short(r.body))
    check_no_store(r, what)
    j = r.json
    check(isinstance(j, dict) and j.get("active") is True,
          what + ": not active: %s" % short(r.body))
    want = {m for m in INTROSPECT_MEMBERS if m in claims or m in
            ("active", "token_type")}
    check_eq(set(j), want, what + ": members")
    check_eq(j["token_type"], "Bearer", what + ": token_type")
    for m in want - {"active", "token_type"}:
        check_eq(j[m], claims[m], what + ": " + m)
    return j


def expect_revoke_ok(r, what="revoke"):
    """200 {} (RFC 7009 2.2)."""
    check_eq(r.status, 200, what + ": status (body %s)" % short(r.body))
    check_no_store(r, what)
    check_eq(r.json, {}, what + ": body")


def check_no_token_logged(instances, tokens, what="log"):
    """
    No whole token (nor a whole signature segment, nor header.payload) in
    any of the instances' logs: only the jti may be logged.
    """
    check_no_token_in([(t.name, t.log_text()) for t in instances], tokens,
                      what)


def check_no_token_in(logs, tokens, what="log"):
    """logs: (name, text) pairs; see check_no_token_logged."""
    for tok in tokens:
        if isinstance(tok, bytes):
            try:
                tok = tok.decode("utf-8")
            except UnicodeDecodeError:
                continue
        parts = [tok] if len(tok) >= 40 else []
        segs = tok.split(".")
        if len(segs) == 3:
            if len(segs[2]) >= 40:
                parts.append(segs[2])
            if len(segs[0]) + len(segs[1]) >= 40:
                parts.append(segs[0] + "." + segs[1])
        for name, text in logs:
            for p in parts:
                check(p not in text, "%s: the log of %s contains a token "
                      "(or a part of one): %s" % (what, name, short(p, 60)))


def wait_for(fn, timeout, what, interval=0.02):
    """Poll fn() -> (ok, detail) until ok; the seconds it took, or
    fail with the last detail."""
    t0 = time.monotonic()
    while True:
        ok, detail = fn()
        if ok:
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            fail("%s: not within %.1f s (last: %s)" % (what, timeout,
                                                       detail))
        time.sleep(interval)
