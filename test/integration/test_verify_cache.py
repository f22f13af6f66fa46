"""
The verified-token cache (--verify-cache-size): a token verified again and
again is checked once per worker, and the cache never hides what a fresh
check would see.

Setup: scenario-scoped TLS instances with --workers 2, --auth-fail-limit 0
and --log-level debug (a hit logs event=verify_cache_hit jti=<jti>, a key
reload event=verify_cache_flush worker=<n>), clients made with
scripts/tokend-client. Requests go on new connections, so both workers
see them.

Expected:
- verify_cache_revocation: a token verifies 200 (same claims) 12 times and
  the log shows cache hits for its jti. Revoked by its client: within 2 s
  /verify says 401 "revoked", and then 10 times more; introspection says
  {"active":false}. Another client's cached token: the client is disabled
  with tokend-client, and within 2 s /verify says 401 "client_revoked",
  then 10 times more.
- verify_cache_expiry: --token-ttl 2 --leeway 1. A token verified every
  0.1 s: 200 (with cache hits) while the clock is before exp + leeway; a
  request started at or after exp + leeway (whole seconds, the rule of
  token.c) is 401 "expired", and no 200 ever follows a 401.
- verify_cache_key_removed: --signing-key A and --retired-key B (files
  replaced later). A token issued with A and one forged with B verify
  (cache hits for both). The files are replaced with C and an RSA key and
  SIGHUP sent: after event=reload and a verify_cache_flush line from each
  worker, both tokens are 401 "unknown_kid" (10 times each), and a new
  token (kid C) verifies.
- verify_cache_off: --verify-cache-size 0 (and TOKEND_VERIFY_CACHE_SIZE=0
  on a second instance): a token verifies 200 ten times, never with a
  cache hit in the log; revoked, it is 401 "revoked" within 2 s.
  --verify-cache-size -1 and 1000001: exit status 2 and a line naming
  --verify-cache-size.
- Every scenario: no whole token in any instance's log.
"""

import math
import os
import signal
import subprocess
import time

import tokend_harness as H
from jwt_helpers import (NO_LIMIT, Admin, Forger, Jws, check_no_token_logged,
                         client_gen, expect_rejected, expect_valid,
                         get_token, introspect,
                         issuer_of, key_file, key_kid, revoke, scratch_dir,
                         start_instance, uid, verify_request)
from tokend_harness import check, check_eq, scenario, short

DEBUG = NO_LIMIT + ["--log-level", "debug"]


def instance(ctx, name, args=(), **kw):
    return start_instance(ctx, name, args=DEBUG + list(args), **kw)


def new_client(ctx, prefix="it-vc"):
    cid = uid(prefix)
    return cid, Admin(ctx).add(cid, "--scopes", "read write")


def hits_for(t, jti, since=0):
    return t.log_lines(r"event=verify_cache_hit worker=\d+ jti=%s(\s|$)"
                       % jti, since)


def verify_many(t, tok, claims, n, what):
    for i in range(n):
        expect_valid(verify_request(t, tok), claims, "%s #%d" % (what, i))


def rejected_soon(t, tok, reason, what, within=2.0, more=10):
    """Poll /verify until it rejects tok (at most `within` s), then expect
    `more` rejections in a row, all for reason."""
    deadline = time.monotonic() + within
    while True:
        r = verify_request(t, tok)
        if r.status != 200:
            break
        check(time.monotonic() < deadline, "%s: still 200 after %.1f s"
              % (what, within))
        time.sleep(0.05)
    expect_rejected(r, reason, what)
    for i in range(more):
        expect_rejected(verify_request(t, tok), reason, "%s #%d" % (what, i))


def replace_file(path, src):
    with open(src, "rb") as f:
        data = f.read()
    tmp = path + ".new"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


@scenario("verify_cache_revocation", timeout=90)
def revocation(ctx):
    t = instance(ctx, "vc-revoke")
    cid, secret = new_client(ctx)
    _, tok = get_token(t, cid, secret)
    claims = Jws(tok).claims
    verify_many(t, tok, claims, 12, "repeated /verify")
    check(hits_for(t, claims["jti"]), "no cache hit for the token after "
          "12 requests: %s" % short(t.log_tail(5), 600))

    r = revoke(t, (cid, secret), tok)
    check_eq(r.status, 200, "revoke (body %s)" % short(r.body))
    rejected_soon(t, tok, "revoked", "/verify of the revoked token")
    r = introspect(t, (cid, secret), tok)
    check_eq(r.status, 200, "introspect (body %s)" % short(r.body))
    check_eq(r.json, {"active": False}, "introspection of a revoked token")

    cid2, secret2 = new_client(ctx)
    _, tok2 = get_token(t, cid2, secret2)
    claims2 = Jws(tok2).claims
    off = t.log_offset()
    verify_many(t, tok2, claims2, 8, "second client's token")
    check(hits_for(t, claims2["jti"], off), "no cache hit for the second "
          "token")
    Admin(ctx).disable(cid2)
    rejected_soon(t, tok2, "client_revoked",
                  "/verify after the client was disabled")
    check_no_token_logged([t], [tok, tok2])


@scenario("verify_cache_expiry", timeout=60)
def expiry(ctx):
    leeway = 1
    t = instance(ctx, "vc-expiry", args=["--token-ttl", "2", "--leeway",
                                         str(leeway)])
    cid, secret = new_client(ctx)
    _, tok = get_token(t, cid, secret)
    claims = Jws(tok).claims
    exp = claims["exp"]
    check_eq(exp - claims["iat"], 2, "exp - iat with --token-ttl 2")
    dead = exp + leeway         # token.c: expired once now >= exp + leeway
    seen = []                   # (wall time the request started, reason)
    while time.time() < dead + 1.5:
        start = time.time()
        r = verify_request(t, tok)
        if r.status == 200:
            expect_valid(r, claims, "/verify before exp + leeway")
            seen.append((start, "ok"))
        else:
            seen.append((start, expect_rejected(r, "expired",
                                                "/verify after exp")))
        time.sleep(0.1)
    oks = [s for s, why in seen if why == "ok"]
    check(len(oks) >= 5, "only %d answers of 200 before expiry" % len(oks))
    check(hits_for(t, claims["jti"]), "no cache hit before expiry")
    late = [(s, why) for s, why in seen if math.floor(s) >= dead]
    check(late, "no request after exp + leeway")
    bad = [s for s, why in late if why == "ok"]
    check(not bad, "200 for a request started %.2f s after exp + leeway"
          % ((bad or [0])[0] - dead))
    first_no = min(i for i, (_, why) in enumerate(seen) if why != "ok")
    check(all(why != "ok" for _, why in seen[first_no:]),
          "a 200 after a 401")
    check_no_token_logged([t], [tok])


@scenario("verify_cache_key_removed", timeout=90)
def key_removed(ctx):
    work = scratch_dir(ctx, "vc-keys")
    a, b = key_file(ctx, "ec_a"), key_file(ctx, "ec_b")
    c, rsa = key_file(ctx, "ec_c"), key_file(ctx, "rsa2048")
    live = os.path.join(work, "signing.pem")
    retired = os.path.join(work, "retired.pem")
    replace_file(live, a)
    replace_file(retired, b)
    t = instance(ctx, "vc-keys", args=["--retired-key", retired],
                 signing_key=live)
    cid, secret = new_client(ctx)
    _, tok_a = get_token(t, cid, secret)
    check_eq(Jws(tok_a).header.get("kid"), key_kid(a), "kid of a token")
    tok_b = Forger(b, issuer_of(t), cid, gen=client_gen(ctx, cid)).token()
    for tok in (tok_a, tok_b):
        claims = Jws(tok).claims
        verify_many(t, tok, claims, 8, "/verify before the reload")
        check(hits_for(t, claims["jti"]), "no cache hit before the reload")

    off = t.log_offset()
    replace_file(live, c)
    replace_file(retired, rsa)
    t.signal(signal.SIGHUP)
    t.wait_log(r"event=reload\b", off, timeout=5)
    for w in (0, 1):
        t.wait_log(r"event=verify_cache_flush worker=%d\b" % w, off,
                   timeout=5)
    for tok, what in ((tok_a, "signing key"), (tok_b, "retired key")):
        for i in range(10):
            expect_rejected(verify_request(t, tok), "unknown_kid",
                            "token of the removed %s #%d" % (what, i))
    _, tok_c = get_token(t, cid, secret)
    check_eq(Jws(tok_c).header.get("kid"), key_kid(c), "kid after reload")
    verify_many(t, tok_c, Jws(tok_c).claims, 4, "/verify of a new token")
    check_no_token_logged([t], [tok_a, tok_b, tok_c])


@scenario("verify_cache_off", timeout=90)
def cache_off(ctx):
    flag = instance(ctx, "vc-off", args=["--verify-cache-size", "0"])
    env = instance(ctx, "vc-off-env", env={"TOKEND_VERIFY_CACHE_SIZE": "0"})
    for t in (flag, env):
        cid, secret = new_client(ctx)
        _, tok = get_token(t, cid, secret)
        claims = Jws(tok).claims
        verify_many(t, tok, claims, 10, "/verify, cache off")
        check(not t.log_lines(r"event=verify_cache_hit"),
              "a cache hit with the cache off")
        r = revoke(t, (cid, secret), tok)
        check_eq(r.status, 200, "revoke (body %s)" % short(r.body))
        rejected_soon(t, tok, "revoked", "/verify of the revoked token")
        check_no_token_logged([t], [tok])

    for bad in ("-1", "1000001", "many"):
        probe = H.Tokend(ctx, "vc-bad", args=["--verify-cache-size", bad])
        r = subprocess.run(probe.argv, capture_output=True, timeout=10,
                           env=probe.env)
        check_eq(r.returncode, 2, "exit status, --verify-cache-size %s"
                 % bad)
        err = r.stderr.decode("utf-8", "replace")
        check("--verify-cache-size" in err and
              "TOKEND_VERIFY_CACHE_SIZE" in err,
              "error for --verify-cache-size %s: %s" % (bad, short(err)))
