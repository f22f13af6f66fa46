"""
Bad tokens: every one is rejected by /verify, /oauth/introspect and
/oauth/revoke, and the server stays alive and correct.

Setup: the shared instance "badtok" (ES256 with the harness's signing key,
TLS, --workers 2, --auth-fail-limit 0, --max-body 262144 so that a 200 KB
token in a body reaches the verifier). Per scenario, with
scripts/tokend-client: a victim client V ("read write") whose tokens are
forged here, and a gateway G (--introspect). Tokens are crafted with
jwt_helpers.Forger: signed with the instance's real key (the harness's
PKI) and correct in everything but the one defect named. Other keys (EC
P-256 B, P-384, RSA 2048) are made with openssl genpkey.

Each bad token is sent as:
  GET /verify with Authorization: Bearer, and POST /verify with a form
  body -> 401 {"valid":false,"error":"invalid_token","error_description":
  "token rejected: <reason>"}, WWW-Authenticate: Bearer
  error="invalid_token", no X-Token-* header, the reason one of those
  listed below (the verdict names of include/token.h);
  POST /oauth/introspect as G -> 200 {"active":false};
  POST /oauth/revoke as G -> 200 {} (a valid token of V would be 400
  unauthorized_client, so this also shows it was not taken as valid).
Positive controls ("accepted"): 200 at /verify, active for G, 400
unauthorized_client when G revokes it.
After each scenario: the process runs, /healthz 200, a fresh token and a
forged control token verify (200), a token from /oauth/token still
introspects active; the log has an event=verify_failed reason=R line for
every reason R seen; no "runtime error" or AddressSanitizer report in the
log; no whole token (nor its signature or header.payload) in the log.

Expected, per scenario:
- bad_tokens_alg: alg "none" in all 16 casings (kid ours, empty
  signature) -> alg_mismatch; "none" with a valid ES256 signature ->
  alg_mismatch; "none" without kid -> bad_header (or alg_mismatch); alg
  "", "es256", "ES256 " -> alg_mismatch, "ES256\u0000" -> alg_mismatch
  or malformed; alg missing, alg 256 -> bad_header. HS256 signed with our
  public key's PEM text (with and without its final newline), with the
  JWK JSON text as the JWKS serves it, with its RFC 7638 canonical JSON,
  with the whole JWKS document, with the raw x coordinate -> alg_mismatch;
  HS256 with kid "hs256" -> unknown_kid. ES384 (signed with a P-384 key
  and with our key), RS256 (RSA 2048), PS256, EdDSA claimed on our ES256
  kid -> alg_mismatch.
- bad_tokens_signature: a real token with its header changed (typ JWT; a
  member added), its payload changed (scope widened; exp later), a
  signature bit flipped, the signature of another real token, the last
  signature character with non-zero padding bits (malformed or
  bad_signature); ES256 signed by key B with our kid -> bad_signature, with
  B's kid -> unknown_kid; r = s = 0, r = s = n (the P-256 order), r = 0,
  s = 0, r = n, s = n (the other half valid), all bits set, the DER
  encoding of a valid signature, 1, 63, 65 (0-prefixed and 0-suffixed), 96
  and 128 bytes -> bad_signature; an empty signature -> bad_signature or
  malformed. The same header.payload with the valid signature is accepted.
- bad_tokens_kid: a valid signature but kid unknown, "../../etc/passwd",
  "../signing.key", the signing key's absolute path, with '"', '\\',
  CR/LF, "\\r\\nFLUSHALL\\r\\n", a RESP FLUSHALL, "FLUSHALL", "*",
  "tokend:clients", "tokend:client:V", our kid with a suffix or in lower
  case, "%s%n%x", 4000 characters -> unknown_kid; kid "" -> unknown_kid or
  bad_header; kid 42, null, [ours], {...}, missing -> bad_header; kid
  with \\u0000 -> malformed or unknown_kid. The Redis key list and DBSIZE
  are unchanged, V still gets tokens.
- bad_tokens_no_fetch: jku, x5u (pointing at a socket listening here on
  127.0.0.1), jwk (key B's public JWK) and x5c headers on tokens signed by
  key B: with B's kid -> unknown_kid, with our kid -> bad_signature,
  without kid -> bad_header; no connection ever arrives at the socket
  (checked 0.5 s after the last request).
- bad_tokens_structure: 1, 2, 4 and 5 segments, a trailing dot, empty
  header or payload segment -> malformed; "=" padding on each segment;
  '+' and '/' instead of '-' and '_'; '*', '!', '~', '%', '$' characters;
  a segment of 4n+1 characters -> malformed; a space or a tab inside (form
  body only: a header with a space is no Bearer token) -> malformed.
  Signed with our key: a header or payload that is not JSON, a JSON array,
  a string, truncated JSON, trailing bytes after the object, a UTF-8 BOM,
  invalid UTF-8 or a lone surrogate in a string, \\u0000 or a raw NUL in
  a claim, "alg" twice in the header, "exp" twice in the payload, an
  empty payload, single quotes -> malformed. A 200 KB token in a form
  body, in a JSON body and to introspect/revoke -> too_large / inactive /
  {}; in the Authorization header -> 400 or 431 (over --max-headers); in
  a form body to the shared "tokens" instance (default --max-body) -> 413.
  NUL bytes: a valid token followed by %00 and more in a form body, a
  JSON \\u0000, a raw NUL in a JSON body -> 400 invalid_request or 401; a
  NUL byte after, before or inside a valid token in the Authorization
  header -> 400 or 401, never 200.
- bad_tokens_claims: signed with our key: exp 1 h ago and 60 s ago
  (beyond the 30 s leeway) -> expired; exp missing -> missing_claim; exp
  "string", true, null, {} -> bad_claim; nbf and iat 1 h and 60 s ahead
  -> not_yet_valid; nbf "x" -> bad_claim; iat missing -> missing_claim;
  iss wrong, with a trailing slash, in upper case, as http://,
  missing -> wrong_issuer (or missing_claim when missing); typ missing,
  "JWT", "jwt", "at+jwt2", "application/jwt" -> wrong_type; typ 1 ->
  bad_header; crit ["exp"], ["x"] with x, [] -> unsupported_crit; jti,
  sub, client_id missing or "" -> missing_claim or bad_claim; scope 5 ->
  bad_claim; client_id of a client that does not exist -> client_removed.
  Accepted (controls): the plain forged token; exp 10 s ago and nbf/iat
  10 s ahead (within the leeway); typ "AT+JWT" and "application/at+jwt".
- bad_tokens_revoked_clients: a token its client revoked -> revoked; a
  token of a client then disabled -> client_revoked (also after enable);
  a token of a removed client -> client_removed.
- bad_tokens_extreme_dates: forged tokens with exp, nbf, iat at INT64_MAX,
  2^63, -2^63, 1e300, -1e300, 9.2e18, fractions: /verify answers 200 or
  401 (never anything else), introspect 200, and when V revokes those
  that verify: 200 {} and afterwards rejected ("revoked"); no crash, no
  sanitizer report.
- bad_tokens_typ_jwt: an instance with --token-typ JWT: its tokens (typ
  "JWT") verify; a forged at+jwt token and one without typ ->
  wrong_type.
"""

import json
import os
import socket
import threading
import time

from jwt_helpers import (DROP, NO_LIMIT, P256_N, Admin, Forger, Jws,
                         b64url, b64url_decode, check_no_token_logged,
                         client_gen,
                         compact, expect_active, expect_inactive,
                         expect_rejected, expect_revoke_ok, expect_valid,
                         get_token, introspect, issuer_of, key_file,
                         key_kid, pem_jwk, public_pem, redis_keys, revoke,
                         sign_der, sign_es256, sign_hs256, start_instance,
                         tokens_instance, uid, verify_request, wait_for)
from tokend_harness import check, check_eq, expect_json_error, scenario, short

MAX_BODY = 262144


def bad_instance(ctx):
    return ctx.shared_tokend("badtok", args=NO_LIMIT + [
        "--max-body", str(MAX_BODY)])


class Battery:
    """One scenario's instance, clients, forger, and bookkeeping."""

    def __init__(self, ctx, t=None):
        self.ctx = ctx
        self.t = t or bad_instance(ctx)
        self.admin = Admin(ctx)
        v, g = uid("it-badV"), uid("it-badG")
        self.victim = (v, self.admin.add(v, "--scopes", "read write"))
        self.gw = (g, self.admin.add(g, "--introspect"))
        self.f = Forger(ctx.pki.signing_key, issuer_of(self.t), v,
                        gen=client_gen(ctx, v))
        _, self.real = get_token(self.t, *self.victim)
        self.tokens = [self.real]
        self.reasons = set()
        self.offset = self.t.log_offset()
        self.n = 0

    def verify_all(self, name, token, reasons, via):
        for how in via:
            r = verify_request(self.t, token, how)
            self.reasons.add(expect_rejected(
                r, reasons, "%s (/verify by %s)" % (name, how)))

    def reject(self, name, token, reasons, via=("bearer", "form")):
        """A bad token: rejected by all three endpoints."""
        self.n += 1
        self.tokens.append(token)
        self.verify_all(name, token, reasons, via)
        expect_inactive(introspect(self.t, self.gw, token),
                        "%s (introspect)" % name)
        expect_revoke_ok(revoke(self.t, self.gw, token),
                         "%s (revoke)" % name)

    def accept(self, name, token):
        """A control: a valid token of V."""
        self.tokens.append(token)
        claims = Jws(token).claims
        expect_valid(verify_request(self.t, token), claims,
                     "%s (/verify)" % name)
        expect_valid(verify_request(self.t, token, "form"), claims,
                     "%s (POST /verify)" % name)
        expect_active(introspect(self.t, self.gw, token), claims,
                      "%s (introspect)" % name)
        r = revoke(self.t, self.gw, token)
        expect_json_error(r, 400, "%s (revoke by another client)" % name,
                          "unauthorized_client")

    def refuse(self, name, token, via=("bearer", "form", "json")):
        """Refused one way or another: 400 invalid_request or a
        rejection (401 / inactive / {}); never accepted."""
        self.n += 1
        self.tokens.append(token)
        for how in via:
            r = verify_request(self.t, token, how)
            what = "%s (/verify by %s)" % (name, how)
            if r.status == 400:
                expect_json_error(r, 400, what, "invalid_request")
            else:
                self.reasons.add(expect_rejected(r, None, what))
        for label, fn in (("introspect", introspect), ("revoke", revoke)):
            r = fn(self.t, self.gw, token)
            what = "%s (%s)" % (name, label)
            if r.status == 400:
                expect_json_error(r, 400, what, "invalid_request")
            elif label == "introspect":
                expect_inactive(r, what)
            else:
                expect_revoke_ok(r, what)

    def finish(self):
        """Alive and correct; the log has the reasons and no token."""
        t = self.t
        check(t.running(), "tokend %s exited" % t.name)
        check_eq(t.request("GET", "/healthz").status, 200, "/healthz after")
        _, fresh = get_token(t, *self.victim)
        expect_valid(verify_request(t, fresh), Jws(fresh).claims,
                     "a fresh token afterwards")
        expect_valid(verify_request(t, self.f.token()),
                     what="a forged control token afterwards")
        expect_active(introspect(t, self.gw, self.real),
                      Jws(self.real).claims, "the real token afterwards")
        time.sleep(0.1)
        log = t.log_since(self.offset)
        for reason in sorted(self.reasons):
            check("event=verify_failed reason=%s " % reason in log,
                  "no event=verify_failed reason=%s line in the log"
                  % reason)
        for bad in ("runtime error:", "AddressSanitizer",
                    "LeakSanitizer", "event=bug"):
            check(bad not in log, "the log has %r: %s" % (
                bad, short(log[log.find(bad) - 200:], 600)))
        check_no_token_logged([t], self.tokens + [fresh])
        self.ctx.vlog("%d bad tokens; reasons %s" % (self.n,
                                                     sorted(self.reasons)))


def casings(word):
    out = [""]
    for ch in word:
        out = [o + c for o in out for c in {ch.lower(), ch.upper()}]
    return sorted(set(out))


def served_jwk_text(t):
    """The JWKS document as served and the text of its only key."""
    r = t.request("GET", "/.well-known/jwks.json")
    check_eq(r.status, 200, "JWKS")
    body = r.body.decode()
    return body, body[body.index("[") + 1:body.rindex("]")]


@scenario("bad_tokens_alg")
def bad_alg(ctx):
    b = Battery(ctx)
    f = b.f
    ours = f.kid
    for c in casings("none"):
        b.reject("alg %r" % c, f.token(header={"alg": c}, sig=b""),
                 "alg_mismatch")
    check_eq(len(casings("none")), 16, "casings of none")
    si_tok = f.token(header={"alg": "none"})
    b.reject("alg none with an ES256 signature", si_tok, "alg_mismatch")
    b.reject("alg none without kid", f.token(header={
        "alg": "none", "kid": DROP}, sig=b""), ("bad_header",
                                                "alg_mismatch"))
    for alg in ("", "es256", "ES256 ", "ES256\u0000"):
        b.reject("alg %r" % alg, f.token(header={"alg": alg}),
                 ("alg_mismatch", "malformed") if "\u0000" in alg else
                 "alg_mismatch")
    b.reject("alg missing", f.token(header={"alg": DROP}), "bad_header")
    b.reject("alg 256", f.token(header={"alg": 256}), "bad_header")

    # HS256 with public key material as the HMAC secret.
    pub = public_pem(ctx.pki.signing_key,
                     os.path.join(ctx.tmp, "badtok-signing.pub.pem"))
    with open(pub, "rb") as fh:
        pem = fh.read()
    jwks_doc, jwk_text = served_jwk_text(b.t)
    jwk = json.loads(jwk_text)
    canon = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")},
                       sort_keys=True, separators=(",", ":"))
    for label, secret in (("PEM", pem), ("PEM without newline",
                                         pem.rstrip(b"\n")),
                          ("JWK as served", jwk_text.encode()),
                          ("JWK canonical", canon.encode()),
                          ("JWKS document", jwks_doc.encode()),
                          ("x coordinate", b64url_decode(jwk["x"]))):
        h = f.header(alg="HS256")
        tok = compact(h, f.claims(), sign=lambda d, s=secret:
                      sign_hs256(s, d))
        b.reject("HS256 keyed with our %s" % label, tok, "alg_mismatch")
    tok = compact(f.header(alg="HS256", kid="hs256"), f.claims(),
                  sign=lambda d: sign_hs256(pem, d))
    b.reject("HS256 with kid hs256", tok, "unknown_kid")

    # Other algorithms claimed on our ES256 key.
    ec384 = key_file(ctx, "ec384")
    rsa = key_file(ctx, "rsa2048")
    b.reject("ES384 (P-384 key) on our kid", compact(
        f.header(alg="ES384"), f.claims(),
        sign=lambda d: sign_der(ec384, d)), "alg_mismatch")
    b.reject("ES384 (our key) on our kid", compact(
        f.header(alg="ES384"), f.claims(), sign=f.sign), "alg_mismatch")
    for alg in ("RS256", "PS256"):
        b.reject("%s (RSA key) on our kid" % alg, compact(
            f.header(alg=alg), f.claims(),
            sign=lambda d: sign_der(rsa, d)), "alg_mismatch")
    b.reject("EdDSA on our kid", f.token(header={"alg": "EdDSA"}),
             "alg_mismatch")
    check(ours == f.kid, "kid changed")
    b.finish()


def flip_last_padding_bit(seg):
    """The same bytes under a lenient decoder: the last character with an
    unused low bit set (len % 4 == 2 or 3 leaves 4 or 2 unused bits)."""
    alphabet = ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                "0123456789-_")
    check(len(seg) % 4 in (2, 3), "segment length %d" % len(seg))
    v = alphabet.index(seg[-1])
    return seg[:-1] + alphabet[v | 1]


@scenario("bad_tokens_signature")
def bad_signature(ctx):
    b = Battery(ctx)
    f = b.f
    real = b.real
    h, p, s = real.split(".")
    hdr, claims = Jws(real).header, Jws(real).claims
    _, other = get_token(b.t, *b.victim)
    sig = b64url_decode(s)

    b.reject("header changed (typ JWT)", b64url(json.dumps(
        dict(hdr, typ="JWT")).encode()) + "." + p + "." + s,
        "bad_signature")
    b.reject("header member added", b64url(json.dumps(
        dict(hdr, x=1)).encode()) + "." + p + "." + s, "bad_signature")
    b.reject("payload scope widened", h + "." + b64url(json.dumps(
        dict(claims, scope="read write admin")).encode()) + "." + s,
        "bad_signature")
    b.reject("payload exp later", h + "." + b64url(json.dumps(
        dict(claims, exp=claims["exp"] + 86400)).encode()) + "." + s,
        "bad_signature")
    flipped = bytearray(sig)
    flipped[10] ^= 0x01
    b.reject("a signature bit flipped", h + "." + p + "." +
             b64url(bytes(flipped)), "bad_signature")
    b.reject("another token's signature", h + "." + p + "." +
             other.split(".")[2], "bad_signature")
    nc = flip_last_padding_bit(s)
    check(nc != s, "padding flip changed nothing")
    b.reject("signature with non-zero padding bits", h + "." + p + "." + nc,
             ("malformed", "bad_signature"))

    kb = key_file(ctx, "ec_b")
    b.reject("ES256 by key B, our kid", compact(
        f.header(), f.claims(), sign=lambda d: sign_es256(kb, d)),
        "bad_signature")
    b.reject("ES256 by key B, B's kid", compact(
        f.header(kid=key_kid(kb)), f.claims(),
        sign=lambda d: sign_es256(kb, d)), "unknown_kid")

    n32 = P256_N.to_bytes(32, "big")
    good = sign_es256(ctx.pki.signing_key, (h + "." + p).encode())
    for label, raw in (("r = s = 0", b"\0" * 64),
                       ("r = s = n", n32 + n32),
                       ("r = 0", b"\0" * 32 + good[32:]),
                       ("s = 0", good[:32] + b"\0" * 32),
                       ("r = n", n32 + good[32:]),
                       ("s = n", good[:32] + n32),
                       ("r = s = 0xff..", b"\xff" * 64)):
        b.reject("ECDSA %s" % label, h + "." + p + "." + b64url(raw),
                 "bad_signature")
    der = sign_der(ctx.pki.signing_key, (h + "." + p).encode())
    b.reject("DER-encoded signature", h + "." + p + "." + b64url(der),
             "bad_signature")
    for label, raw in (("63 bytes", good[:63]), ("65 bytes (0 after)",
                                                 good + b"\0"),
                       ("65 bytes (0 before)", b"\0" + good),
                       ("96 bytes", good + good[:32]),
                       ("128 bytes", good + good), ("1 byte", good[:1])):
        b.reject("signature of %s" % label,
                 h + "." + p + "." + b64url(raw), "bad_signature")
    b.reject("empty signature", h + "." + p + ".", ("bad_signature",
                                                    "malformed"))
    # The control: the good signature over the same input is accepted.
    expect_valid(verify_request(b.t, h + "." + p + "." + b64url(good)),
                 claims, "the same token re-signed with our key")
    b.finish()


@scenario("bad_tokens_kid")
def bad_kid(ctx):
    b = Battery(ctx)
    f = b.f
    keys_before = redis_keys(ctx)
    v = b.victim[0]
    kids = [
        ("unknown", b64url(os.urandom(32))),
        ("path traversal", "../../../../etc/passwd"),
        ("relative key file", "../signing.key"),
        ("absolute path", ctx.pki.signing_key),
        ("a quote", 'a"b'), ("only a quote", '"'),
        ("a backslash", "a\\b"),
        ("CR/LF", "a\r\nb"),
        ("CRLF FLUSHALL", "\r\nFLUSHALL\r\n"),
        ("RESP FLUSHALL", "*1\r\n$8\r\nFLUSHALL\r\n"),
        ("FLUSHALL", "FLUSHALL"),
        ("a glob", "*"),
        ("a Redis key", "tokend:clients"),
        ("V's record key", "tokend:client:" + v),
        ("our kid with a suffix", f.kid + "x"),
        ("our kid in lower case", f.kid.lower()
         if f.kid.lower() != f.kid else f.kid + "A"),
        ("4000 characters", "k" * 4000),
        ("printf", "%s%n%x"),
    ]
    for label, kid in kids:
        b.reject("kid: %s" % label, f.token(header={"kid": kid}),
                 "unknown_kid")
    b.reject("kid empty", f.token(header={"kid": ""}),
             ("unknown_kid", "bad_header"))
    for label, kid in (("42", 42), ("null", None), ("a list", [f.kid]),
                       ("missing", DROP), ("an object", {"kid": f.kid})):
        b.reject("kid %s" % label, f.token(header={"kid": kid}),
                 "bad_header")
    b.reject("kid with \\u0000", f.token(header={"kid": f.kid + "\u0000"}),
             ("malformed", "unknown_kid"))
    check_eq(redis_keys(ctx), keys_before,
             "Redis keys and DBSIZE after the kid batch")
    b.finish()


class Listener:
    """A TCP socket listening on 127.0.0.1 that records every
    connection (it must see none)."""

    def __init__(self, ctx):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.seen = []
        self.stop = False
        ctx.track_socket(self.sock)
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop:
            try:
                c, addr = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.seen.append(addr)
            c.close()

    def close(self):
        self.stop = True
        self.thread.join(2)
        self.sock.close()


@scenario("bad_tokens_no_fetch")
def no_fetch(ctx):
    b = Battery(ctx)
    f = b.f
    lis = Listener(ctx)
    try:
        kb = key_file(ctx, "ec_b")
        kid_b = key_kid(kb)
        jwk_b = dict(pem_jwk(kb), kid=kid_b, alg="ES256", use="sig")
        with open(ctx.pki.cert2) as fh:
            pem = fh.read()
        x5c = "".join(pem.split("-----")[2].split())
        base = "127.0.0.1:%d" % lis.port
        heads = [
            ("jku", {"jku": "http://%s/jwks.json" % base}),
            ("jku https", {"jku": "https://%s/.well-known/jwks.json"
                           % base}),
            ("x5u", {"x5u": "https://%s/cert.pem" % base}),
            ("x5u http", {"x5u": "http://%s/cert.pem" % base}),
            ("jwk", {"jwk": jwk_b}),
            ("x5c", {"x5c": [x5c]}),
            ("all four", {"jku": "http://%s/j" % base,
                          "x5u": "http://%s/x" % base, "jwk": jwk_b,
                          "x5c": [x5c]}),
        ]

        def sign_b(d):
            return sign_es256(kb, d)
        for label, extra in heads:
            for kid, reasons in ((kid_b, "unknown_kid"),
                                 (f.kid, "bad_signature"),
                                 (DROP, "bad_header")):
                h = f.header(kid=kid, **extra)
                b.reject("%s, kid %s" % (label, "B's" if kid == kid_b else
                                         "ours" if kid == f.kid else
                                         "missing"),
                         compact(h, f.claims(), sign=sign_b), reasons)
        time.sleep(0.5)
        check_eq(lis.seen, [], "connections to the jku/x5u address")
    finally:
        lis.close()
    b.finish()


@scenario("bad_tokens_structure")
def bad_structure(ctx):
    b = Battery(ctx)
    f = b.f
    real = b.real
    h, p, s = real.split(".")
    M = "malformed"
    for label, tok in (("1 segment", h), ("2 segments", h + "." + p),
                       ("4 segments", real + "." + s),
                       ("5 segments", real + "." + p + "." + s),
                       ("a trailing dot", real + "."),
                       ("a leading dot", "." + real),
                       ("empty header", "." + p + "." + s),
                       ("empty payload", h + ".." + s),
                       ("only dots", ".."),
                       ("two dots in a row", h + "." + p + ".." + s)):
        b.reject(label, tok, M)

    def padded(seg):
        return seg + "=" * (-len(seg) % 4 or 4)
    for label, tok in (
            ("padded header", padded(h) + "." + p + "." + s),
            ("padded payload", h + "." + padded(p) + "." + s),
            ("padded signature", h + "." + p + "." + padded(s)),
            ("a lone = in the signature", h + "." + p + "." + s + "=")):
        b.reject(label, tok, M)
    std = real.replace("-", "+").replace("_", "/")
    if std == real:
        std = real[:-1] + "+"
    b.reject("'+' and '/' (standard base64)", std, M)
    for ch in "*!~%$":
        b.reject("a %r in the signature" % ch,
                 h + "." + p + "." + s[:-2] + ch + s[-1:], M)
    b.reject("a 4n+1 character signature", h + "." + p + "." +
             s + "AAA" if len(s) % 4 == 2 else h + "." + p + "." +
             s[:len(s) - len(s) % 4] + "A", M)
    for ch in (" ", "\t"):
        b.reject("a %r inside (form body)" % ch,
                 h + "." + p + ch + "." + s, M, via=("form",))

    # Not JSON, signed with our key.
    hd = f.header()
    hj = json.dumps(hd, separators=(",", ":"))
    cj = json.dumps(f.claims(), separators=(",", ":"))
    for label, hb, pb in (
            ("header not JSON", b"not json", cj),
            ("payload not JSON", hj, b"not json"),
            ("payload a JSON array", hj, b"[1,2]"),
            ("payload a JSON string", hj, b'"x"'),
            ("header a JSON array", b'["ES256"]', cj),
            ("payload truncated", hj, cj[:-1].encode()),
            ("header truncated", hj[:-1].encode(), cj),
            ("payload with trailing bytes", hj, (cj + "x").encode()),
            ("payload with a second object", hj, (cj + "{}").encode()),
            ("payload with a UTF-8 BOM", hj, b"\xef\xbb\xbf" + cj.encode()),
            ("payload with invalid UTF-8", hj,
             cj[:-1].encode() + b',"x":"\xff\xfe"}'),
            ("payload with a lone surrogate", hj,
             cj[:-1].encode() + b',"x":"\\ud800"}'),
            ("payload with \\u0000 in sub", hj, json.dumps(
                f.claims(sub="a\u0000b")).encode()),
            ("payload with a raw NUL", hj,
             cj[:-1].encode() + b',"x":"a\x00b"}'),
            ("header with alg twice", hj[:-1] + ',"alg":"none"}', cj),
            ("payload with exp twice", hj,
             cj[:-1] + ',"exp":%d}' % (int(time.time()) + 99999)),
            ("payload empty", hj, b""),
            ("payload single quotes", hj, cj.replace('"', "'"))):
        tok = compact(hb, pb, sign=f.sign)
        b.reject(label, tok, M)

    # 200 KB.
    big_claims = f.claims(pad="x" * 150000)
    big = compact(f.header(), big_claims, sign=f.sign)
    check(200000 < len(big) < MAX_BODY - 1000, "big token is %d bytes"
          % len(big))
    b.tokens.append(big)
    b.verify_all("200 KB token", big, "too_large", ("form", "json"))
    expect_inactive(introspect(b.t, b.gw, big), "200 KB token (introspect)")
    expect_revoke_ok(revoke(b.t, b.gw, big), "200 KB token (revoke)")
    r, closed = b.t.raw_exchange(
        ("GET /verify HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer "
         "%s\r\n\r\n" % big).encode())
    check(r is not None and r.status in (400, 431),
          "200 KB token in the header: %r (closed %s)" % (r, closed))
    r = verify_request(tokens_instance(ctx), big, "form")
    expect_json_error(r, 413, "200 KB token in a form body (default "
                      "--max-body)")

    # NUL bytes.
    b.refuse("valid token, %00, more (bodies)", real + "\u0000" + s,
             via=("form", "json"))
    b.refuse("NUL first (bodies)", "\u0000" + real, via=("form", "json"))
    r = b.t.request("POST", "/verify", body=b'{"token":"' +
                    real.encode() + b'\x00"}',
                    headers={"Content-Type": "application/json"})
    check(r.status in (400, 401), "a raw NUL in a JSON body: %r" % r)
    problems = []
    for label, raw in (("a NUL after a valid token",
                        b"Bearer " + real.encode() + b"\x00junk"),
                       ("a NUL before the token",
                        b"Bearer \x00" + real.encode()),
                       ("a NUL inside the token", b"Bearer " +
                        real[:20].encode() + b"\x00" + real[20:].encode())):
        r, closed = b.t.raw_exchange(
            b"GET /verify HTTP/1.1\r\nHost: localhost\r\nAuthorization: " +
            raw + b"\r\nConnection: close\r\n\r\n")
        if r is None or r.status not in (400, 401):
            problems.append("%s in the Authorization header: %r (closed "
                            "%s)" % (label, r, closed))
    b.finish()
    check(not problems, "; ".join(problems))


@scenario("bad_tokens_claims")
def bad_claims(ctx):
    b = Battery(ctx)
    f = b.f
    now = int(time.time())
    iss = f.issuer
    cases = [
        ("exp 1 h ago", {"exp": now - 3600, "iat": now - 7200}, "expired"),
        ("exp 60 s ago", {"exp": now - 60, "iat": now - 600}, "expired"),
        ("exp missing", {"exp": DROP}, "missing_claim"),
        ("exp a string", {"exp": str(now + 600)}, "bad_claim"),
        ("exp true", {"exp": True}, "bad_claim"),
        ("exp null", {"exp": None}, ("bad_claim", "missing_claim")),
        ("exp an object", {"exp": {}}, "bad_claim"),
        ("nbf 1 h ahead", {"nbf": now + 3600}, "not_yet_valid"),
        ("nbf 60 s ahead", {"nbf": now + 60}, "not_yet_valid"),
        ("nbf a string", {"nbf": "x"}, "bad_claim"),
        ("iat 1 h ahead", {"iat": now + 3600}, "not_yet_valid"),
        ("iat 60 s ahead", {"iat": now + 60}, "not_yet_valid"),
        ("iat missing", {"iat": DROP}, "missing_claim"),
        ("iat a string", {"iat": str(now)}, "bad_claim"),
        ("iss wrong", {"iss": "https://evil.example"}, "wrong_issuer"),
        ("iss with a trailing slash", {"iss": iss + "/"}, "wrong_issuer"),
        ("iss in upper case", {"iss": iss.upper()}, "wrong_issuer"),
        ("iss as http", {"iss": iss.replace("https:", "http:")},
         "wrong_issuer"),
        ("iss missing", {"iss": DROP}, ("wrong_issuer", "missing_claim")),
        ("iss a list", {"iss": [iss]}, ("wrong_issuer", "bad_claim")),
        ("jti missing", {"jti": DROP}, "missing_claim"),
        ("jti empty", {"jti": ""}, ("missing_claim", "bad_claim")),
        ("jti a number", {"jti": 5}, "bad_claim"),
        ("sub missing", {"sub": DROP}, "missing_claim"),
        ("client_id missing", {"client_id": DROP}, "missing_claim"),
        ("client_id empty", {"client_id": ""}, ("missing_claim",
                                                "bad_claim")),
        ("scope a number", {"scope": 5}, "bad_claim"),
        ("client_id of no client", {"client_id": uid("it-ghost"),
                                    "sub": "x"}, "client_removed"),
    ]
    for label, over, reasons in cases:
        b.reject(label, f.token(claims=over), reasons)
    for label, typ, reasons in (("typ missing", DROP, "wrong_type"),
                                ("typ JWT", "JWT", "wrong_type"),
                                ("typ jwt", "jwt", "wrong_type"),
                                ("typ at+jwt2", "at+jwt2", "wrong_type"),
                                ("typ application/jwt", "application/jwt",
                                 "wrong_type"),
                                ("typ empty", "", "wrong_type"),
                                ("typ 1", 1, "bad_header")):
        b.reject(label, f.token(header={"typ": typ}), reasons)
    for label, extra in (("crit [exp]", {"crit": ["exp"]}),
                         ("crit [x] with x", {"crit": ["x"], "x": 1}),
                         ("crit []", {"crit": []}),
                         ("crit a string", {"crit": "x"})):
        b.reject(label, f.token(header=extra), "unsupported_crit")

    b.accept("forged control", f.token())
    # iat not before the client's creation (created_at): it was made
    # within the last seconds.
    b.accept("exp 10 s ago (leeway)", f.token(claims={"exp": now - 10}))
    b.accept("nbf and iat 10 s ahead (leeway)", f.token(
        claims={"nbf": now + 10, "iat": now + 10}))
    b.accept("typ AT+JWT", f.token(header={"typ": "AT+JWT"}))
    b.accept("typ application/at+jwt",
             f.token(header={"typ": "application/at+jwt"}))
    b.finish()


@scenario("bad_tokens_revoked_clients")
def revoked_clients(ctx):
    b = Battery(ctx)
    t, admin = b.t, b.admin
    # A revoked jti.
    _, tok = get_token(t, *b.victim)
    expect_revoke_ok(revoke(t, b.victim, tok), "V revokes its token")
    wait_for(lambda: (verify_request(t, tok).status == 401, "200"), 1.0,
             "revoked token rejected")
    time.sleep(0.5)
    b.reject("a revoked jti", tok, "revoked", via=("bearer", "form", "json",
                                                   "bare"))
    expect_inactive(introspect(t, b.victim, tok), "V introspects it")

    # A disabled client's token, before and after enable.
    d = uid("it-badD")
    dcreds = (d, admin.add(d, "--scopes", "read"))
    _, dtok = get_token(t, *dcreds)
    admin.disable(d)
    wait_for(lambda: (verify_request(t, dtok).status == 401, "200"), 1.0,
             "disabled client's token rejected")
    time.sleep(0.5)
    b.reject("a disabled client's token", dtok, "client_revoked")
    admin.enable(d)
    time.sleep(0.3)
    b.reject("a disabled client's token after enable", dtok,
             "client_revoked")

    # A removed client's token.
    rm = uid("it-badR")
    rcreds = (rm, admin.add(rm, "--scopes", "read"))
    _, rtok = get_token(t, *rcreds)
    admin.remove(rm)
    wait_for(lambda: (verify_request(t, rtok).status == 401, "200"), 1.0,
             "removed client's token rejected")
    time.sleep(0.5)
    b.reject("a removed client's token", rtok, "client_removed")
    b.finish()


@scenario("bad_tokens_extreme_dates")
def extreme_dates(ctx):
    b = Battery(ctx)
    f = b.f
    t = b.t
    now = int(time.time())
    big = 2 ** 63
    variants = [
        ("exp INT64_MAX", {"exp": big - 1}),
        ("exp 2^63", {"exp": big}),
        ("exp 2^64", {"exp": 2 ** 64}),
        ("exp -2^63", {"exp": -big}),
        ("exp 1e300", {"exp": 1e300}),
        ("exp -1e300", {"exp": -1e300}),
        ("exp 9.2e18", {"exp": 9.2e18}),
        ("exp 1e17", {"exp": 10 ** 17}),
        ("exp a fraction", {"exp": now + 600.75}),
        ("exp 0.5", {"exp": 0.5}),
        ("iat -2^63", {"iat": -big}),
        ("iat 1e-300", {"iat": 1e-300}),
        ("nbf -1e300", {"nbf": -1e300}),
        ("nbf INT64_MAX", {"nbf": big - 1}),
        ("iat INT64_MAX", {"iat": big - 1}),
        ("exp 1e400 (infinity)", None),
    ]
    answered, problems = {}, []
    for label, over in variants:
        if over is None:
            cj = json.dumps(f.claims(exp=1234567), separators=(",", ":"))
            cj = cj.replace('"exp":1234567', '"exp":1e400')
            check('"exp":1e400' in cj, "no exp to replace in " + cj)
            tok = compact(f.header(), cj.encode(), sign=f.sign)
        else:
            tok = f.token(claims=over)
        b.tokens.append(tok)
        r = verify_request(t, tok)
        check(r.status in (200, 401), "%s: /verify %r" % (label, r))
        if r.status == 401:
            b.reasons.add(expect_rejected(r, None, label))
        ri = introspect(t, b.gw, tok)
        check_eq(ri.status, 200, "%s: introspect (%s)" % (label,
                                                          short(ri.body)))
        answered[label] = r.status
        if r.status != 200:
            continue
        # Accepted: then its owner must be able to revoke it.
        rv = revoke(t, b.victim, tok)
        if rv.status != 200 or rv.json != {}:
            problems.append("%s (verified 200): V's revoke answered %d %s"
                            % (label, rv.status, short(rv.body, 120)))
            continue
        try:
            wait_for(lambda: (verify_request(t, tok).status == 401, "200"),
                     1.0, "%s: rejected after its revocation" % label)
        except AssertionError as e:
            problems.append(str(e))
    ctx.vlog("extreme dates: %s" % answered)
    for label in ("exp -2^63", "exp -1e300", "exp 0.5", "iat INT64_MAX",
                  "nbf INT64_MAX", "exp 1e400 (infinity)"):
        check_eq(answered[label], 401, label + ": /verify status")
    b.finish()
    check(not problems, "; ".join(problems))


@scenario("bad_tokens_typ_jwt")
def typ_jwt(ctx):
    t = start_instance(ctx, "typjwt", args=NO_LIMIT + ["--token-typ", "JWT"])
    b = Battery(ctx, t)
    check_eq(Jws(b.real).header["typ"], "JWT", "typ of an issued token")
    expect_valid(verify_request(t, b.real), Jws(b.real).claims,
                 "a --token-typ JWT token")
    b.reject("typ at+jwt", b.f.token(header={"typ": "at+jwt"}),
             "wrong_type")
    b.reject("typ missing", b.f.token(header={"typ": DROP}), "wrong_type")
    b.f.typ = "JWT"
    b.accept("forged typ JWT", b.f.token())
    b.finish()
