"""
POST /oauth/introspect (RFC 7662) and POST /oauth/revoke (RFC 7009).

Setup: the shared instance "tokens" (see test_token.py: ES256, TLS,
--workers 2, --auth-fail-limit 0, default --leeway 30). Clients made with
scripts/tokend-client: A ("read write"), B ("read"), N (no scopes), G
(--introspect, the gateway); expired tokens are made here with the
instance's signing key (the harness's PKI).

Expected:
- introspect_own_and_others: A introspects its own token with Basic and
  with client_secret_post, with and without token_type_hint (access_token,
  refresh_token, bogus: ignored): 200 exactly {active:true, token_type:
  "Bearer", scope, client_id, exp, iat, sub, aud, iss, jti}, the values
  the token's claims, Cache-Control: no-store. N's token: the same members
  without scope. A introspecting B's token -> {"active":false}; G
  (--introspect) introspecting A's and B's tokens -> active with their
  details. {"active":false} exactly for garbage, a tampered token, an
  expired token (exp 120 s ago, signed with the real key). No token
  parameter and an empty one -> 400 invalid_request; a JSON body -> 400
  invalid_request; a wrong secret, an unknown client and no client
  authentication -> 401 invalid_client with exactly WWW-Authenticate:
  Basic realm="tokend"; GET -> 405 with Allow: POST.
- revoke_own_and_others: A revokes its own token T1 -> 200 {} (no-store);
  within 1 s /verify says 401 "token rejected: revoked" on 6 new
  connections (both workers), and introspection by A and G says
  {"active":false}; the log has event=token_revoked jti=<jti> and then
  event=verify_failed reason=revoked jti=<jti>. Redis holds
  tokend:revoked:<jti> = exp with a TTL of exp + 30 - now (+-3 s) (A has
  --ttl 120: ~150 s). Revoking T1 again, garbage, a tampered token, an
  expired token (a jti never seen) -> 200 {}, and no revoked: key for the
  expired token's jti. T2 revoked with client_secret_post and a
  token_type_hint -> 200 {}, rejected afterwards. B revoking A's valid T3
  -> 400 unauthorized_client, and so does G (introspect permission is no
  revoke permission): T3 stays valid (/verify 200, no revoked: key).
  No token -> 400 invalid_request; a wrong secret -> 401 invalid_client
  with WWW-Authenticate: Basic realm="tokend"; GET -> 405.
- Both: no whole token (nor its signature, nor header.payload) in the
  instance's log.
"""

import json
import time

from jwt_helpers import (FORM, Admin, Forger, Jws, b64url, basic,
                         check_no_store, client_gen, check_no_token_logged,
                         expect_active, expect_inactive, expect_rejected,
                         expect_revoke_ok, expect_valid, get_token,
                         introspect, issuer_of, redis_cli, revoke,
                         tokens_instance, uid, verify_request, wait_for)
from tokend_harness import check, check_eq, expect_json_error, scenario

CHALLENGE = 'Basic realm="tokend"'


def tamper(tok):
    h, p, s = tok.split(".")
    c = Jws(tok).claims
    c["exp"] += 3600
    return h + "." + b64url(json.dumps(c).encode()) + "." + s


def expect_invalid_client(r, what):
    expect_json_error(r, 401, what, "invalid_client")
    check_eq(r.header_all("WWW-Authenticate"), [CHALLENGE],
             what + ": WWW-Authenticate")
    check_no_store(r, what)


def bad_requests(t, path, creds, tok):
    """The answers every token endpoint shares for bad requests."""
    what = "POST " + path
    for extra, label in (([], "no token"), ([("token", "")], "token=")):
        r = t.request("POST", path, body=("&".join(
            "%s=%s" % kv for kv in extra)).encode(), headers={
            "Content-Type": FORM, "Authorization": basic(*creds)})
        expect_json_error(r, 400, "%s, %s" % (what, label),
                          "invalid_request")
    r = t.request("POST", path, body=json.dumps({"token": tok}).encode(),
                  headers={"Content-Type": "application/json",
                           "Authorization": basic(*creds)})
    expect_json_error(r, 400, what + ", a JSON body", "invalid_request")
    expect_invalid_client(
        introspect(t, (creds[0], creds[1] + "x"), tok) if
        path.endswith("introspect") else
        revoke(t, (creds[0], creds[1] + "x"), tok), what + ", wrong secret")
    r = t.request("POST", path, body=("token=" + tok).encode(),
                  headers={"Content-Type": FORM})
    expect_invalid_client(r, what + ", no client authentication")
    r = t.request("POST", path, body=("token=" + tok).encode(), headers={
        "Content-Type": FORM, "Authorization": basic(uid("it-nobody"),
                                                     "x" * 43)})
    expect_invalid_client(r, what + ", unknown client")
    r = t.request("GET", path)
    expect_json_error(r, 405, "GET " + path)
    check_eq(r.header("Allow"), "POST", "GET %s: Allow" % path)


def expired_token(ctx, t, cid, scope):
    f = Forger(ctx.pki.signing_key, issuer_of(t), cid, scope=scope,
               gen=client_gen(ctx, cid))
    now = int(time.time())
    return f.token(claims={"iat": now - 900, "exp": now - 120})


@scenario("introspect_own_and_others")
def introspect_scenario(ctx):
    t = tokens_instance(ctx)
    admin = Admin(ctx)
    a, b, n, g = (uid("it-inA"), uid("it-inB"), uid("it-inN"),
                  uid("it-inG"))
    ca = (a, admin.add(a, "--scopes", "read write"))
    cb = (b, admin.add(b, "--scopes", "read"))
    cn = (n, admin.add(n))
    cg = (g, admin.add(g, "--introspect"))
    _, ta = get_token(t, *ca)
    _, tb = get_token(t, *cb)
    _, tn = get_token(t, *cn)
    claims_a, claims_b = Jws(ta).claims, Jws(tb).claims

    for post in (False, True):
        for hint in (None, "access_token", "refresh_token", "bogus"):
            expect_active(introspect(t, ca, ta, post=post, hint=hint),
                          claims_a, "A introspects its own token (post=%s, "
                          "hint=%s)" % (post, hint))
    j = expect_active(introspect(t, cn, tn), Jws(tn).claims,
                      "N introspects its own token")
    check("scope" not in j, "introspection of a token without scope has "
          "scope %r" % j.get("scope"))

    expect_inactive(introspect(t, ca, tb), "A introspects B's token")
    expect_inactive(introspect(t, cb, ta), "B introspects A's token")
    expect_active(introspect(t, cg, ta), claims_a, "G introspects A's token")
    expect_active(introspect(t, cg, tb, post=True), claims_b,
                  "G introspects B's token")

    exp_tok = expired_token(ctx, t, a, "read write")
    for label, tok in (("garbage", "abc"), ("tampered", tamper(ta)),
                       ("expired", exp_tok), ("three dots", "a.b.c")):
        expect_inactive(introspect(t, ca, tok), "A introspects %s" % label)
        expect_inactive(introspect(t, cg, tok), "G introspects %s" % label)
    expect_rejected(verify_request(t, exp_tok), "expired",
                    "/verify of the expired token")

    bad_requests(t, "/oauth/introspect", ca, ta)
    check_no_token_logged([t], [ta, tb, tn, tamper(ta), exp_tok])


@scenario("revoke_own_and_others")
def revoke_scenario(ctx):
    t = tokens_instance(ctx)
    admin = Admin(ctx)
    a, b, g = uid("it-rvA"), uid("it-rvB"), uid("it-rvG")
    ca = (a, admin.add(a, "--scopes", "read write", "--ttl", "120"))
    cb = (b, admin.add(b, "--scopes", "read"))
    cg = (g, admin.add(g, "--introspect"))
    _, t1 = get_token(t, *ca)
    _, t2 = get_token(t, *ca)
    _, t3 = get_token(t, *ca)
    j1 = Jws(t1).claims
    for tok in (t1, t2, t3):
        expect_valid(verify_request(t, tok), what="/verify before revoking")

    off = t.log_offset()
    r = revoke(t, ca, t1)
    t_revoked = time.monotonic()
    expect_revoke_ok(r, "A revokes T1")

    def rejected():
        r = verify_request(t, t1)
        return r.status == 401, r
    wait_for(rejected, 1.0, "T1 rejected after its revocation")
    # By 1 s after the 200, every worker knows.
    time.sleep(max(0.0, 1.0 - (time.monotonic() - t_revoked)))
    for i in range(6):
        expect_rejected(verify_request(t, t1), "revoked",
                        "/verify of T1, connection %d" % (i + 1))
    expect_inactive(introspect(t, ca, t1), "A introspects revoked T1")
    expect_inactive(introspect(t, cg, t1), "G introspects revoked T1")
    jti = j1["jti"]
    t.wait_log(r"event=token_revoked jti=%s(\s|$)" % jti, off)
    t.wait_log(r"event=verify_failed reason=revoked jti=%s(\s|$)" % jti, off)

    key = "tokend:revoked:" + jti
    check_eq(redis_cli(ctx, "--raw", "GET", key).strip(), str(j1["exp"]),
             "the value of " + key)
    ttl = int(redis_cli(ctx, "TTL", key).strip())
    want = j1["exp"] + 30 - time.time()
    check(abs(ttl - want) <= 3, "TTL of %s: %d s, expected exp + leeway - "
          "now = %.0f s" % (key, ttl, want))

    # 200 {} for whatever is not a live token of the caller.
    exp_tok = expired_token(ctx, t, a, "read write")
    for label, tok in (("T1 again", t1), ("garbage", "abc"),
                       ("tampered", tamper(t2)), ("expired", exp_tok)):
        expect_revoke_ok(revoke(t, ca, tok), "A revokes %s" % label)
    ejti = Jws(exp_tok).claims["jti"]
    check_eq(redis_cli(ctx, "EXISTS", "tokend:revoked:" + ejti).strip(),
             "0", "a revoked: key for an expired token's jti")
    expect_valid(verify_request(t, t2), what="/verify of T2 after A "
                 "revoked a tampered copy of it")

    expect_revoke_ok(revoke(t, ca, t2, post=True, hint="access_token"),
                     "A revokes T2 (client_secret_post)")
    wait_for(lambda: (verify_request(t, t2).status == 401, "still 200"),
             1.0, "T2 rejected after its revocation")

    # Another client's valid token: refused, and it stays valid.
    j3 = Jws(t3).claims
    for label, creds in (("B", cb), ("G (introspect)", cg)):
        r = revoke(t, creds, t3)
        expect_json_error(r, 400, "%s revokes A's token" % label,
                          "unauthorized_client")
        check_no_store(r, "%s revokes A's token" % label)
    time.sleep(0.3)
    for i in range(4):
        expect_valid(verify_request(t, t3), j3,
                     "/verify of T3 after others tried to revoke it")
    expect_active(introspect(t, ca, t3), j3, "A introspects T3")
    check_eq(redis_cli(ctx, "EXISTS", "tokend:revoked:" + j3["jti"]).strip(),
             "0", "a revoked: key for T3")

    bad_requests(t, "/oauth/revoke", ca, t3)
    expect_valid(verify_request(t, t3), j3, "/verify of T3 at the end")
    check_no_token_logged([t], [t1, t2, t3, tamper(t2), exp_tok])
