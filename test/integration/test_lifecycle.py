"""
The client lifecycle guarantees with two instances whose clocks disagree:
a token issued before its client was disabled, removed, or removed and
added again is rejected by every instance within one second, for good; a
token issued after an enable (or a new add) has reached the instance is
never rejected for a lifecycle reason; no instance issues a token that it
rejects itself. None of it may depend on the clocks of the instances or
of Redis, nor on --leeway.

Setup (every scenario): two scenario-scoped TLS instances sharing the
harness's Redis and one --issuer (a token of one verifies at the other),
--workers 2, --auth-fail-limit 0 and --leeway 90: A runs with
libfaketime preloaded and FAKETIME=+30s (its clock 30 s ahead of
Redis's), B with FAKETIME=-30s (30 s behind), so that each accepts the
other's iat while every lifecycle change is compared against clocks 30 s
off. (The library is preloaded through the environment rather than by
the faketime program, which forks: the harness's signals and exit status
must be tokend's.) Each scenario first checks that the shift took (the
iat of A's token is about now + 30, B's about now - 30: the LD_PRELOAD
works with the binary; under ASan with verify_asan_link_order=0). Clients are made with
scripts/tokend-client; G has --introspect. "Rejected everywhere": /verify
401 with the reason at A and B on PROBES new connections each (both
workers), introspection by G {"active":false}, revocation by G 200 {}.
"Valid everywhere": /verify 200 with the token's claims, likewise.
Skipped when the Debian package faketime is not installed.

Expected:
- lifecycle_disable_enable_same_second: three rounds of `tokend-client
  disable C` and `enable C`, each round started early in a second (at
  least one round has both in one second of Redis's clock: revoked_before
  == updated_at). After each round a token from A and one
  from B: each is valid at the instance that issued it at once (on PROBES
  new connections: no instance issues a token it rejects), valid
  everywhere within 1 s, and still valid 1.5 s later; every token of the
  earlier rounds is rejected everywhere ("client_revoked").
- lifecycle_remove_add_within_leeway: tokens of C from A and B; `remove
  C` and `add C` (a new secret) at once, well within the leeway: the old
  tokens are rejected everywhere within 1 s ("client_removed") and still 2
  s later; the new client's tokens are valid everywhere.
- lifecycle_disable_unheard: the disable written to Redis as
  `tokend-client disable` writes it (disabled, revoked_before = Redis's
  TIME, a new serial of the generation) but not yet published: A and B
  have not heard of it and still issue tokens (each verifies where it was
  issued: the instance is consistent with itself); then "client C" is
  published: within 1 s those tokens are rejected everywhere
  ("client_revoked"), and they stay rejected after `enable C` and 1.5 s
  more, while a token issued after the enable is valid everywhere.
- lifecycle_enable_unheard_issued: C disabled with the script (heard
  everywhere); then what `enable C` writes (disabled 0, a new serial),
  not yet published: A's token request reads the record from Redis (its
  view says disabled) and gets a token of the new generation, which A
  accepts at once on 2 x PROBES new connections (both workers: the one
  that read it, and its sibling, whose view still says disabled) and in
  introspection; B, which has not heard of the enable, rejects it
  ("client_revoked"). Published: valid everywhere within 1 s, and still
  1.5 s later.
- lifecycle_records_before_generations: a record as an older
  tokend-client wrote it (no generation field): its tokens carry no
  client_gen and are valid everywhere, also after `set`; `disable` ->
  rejected everywhere ("client_revoked"); `enable` -> new tokens carry
  client_gen with the incarnation 0000000000000000 and are valid, the old
  ones stay rejected ("client_revoked"). A token without client_gen of a
  client that `add` made, and one of another generation: rejected
  ("client_removed").
- All: no whole token in either instance's log.
"""

import glob
import hashlib
import hmac
import os
import secrets
import time

from jwt_helpers import (NO_LIMIT, Admin, Forger, Jws, check_no_token_logged,
                         client_gen, expect_inactive, expect_rejected,
                         expect_revoke_ok, expect_valid, get_token,
                         introspect, issuer_of, redis_cli, redis_hgetall,
                         revoke, start_instance, token_request, uid,
                         verify_request)
from tokend_harness import check, check_eq, scenario, short, skip

ISSUER = "https://tokend.test"
SKEW = 30               # seconds: A ahead of Redis, B behind
LEEWAY = 90             # covers the 60 s between A and B
PROPAGATION = 1.0       # the contract: every instance within 1 s
PROBES = 4              # new connections per instance per check
LEGACY_INCARNATION = "0" * 16


def libfaketime():
    """The thread-safe libfaketime of the Debian package faketime."""
    found = sorted(glob.glob("/usr/lib/*/faketime/libfaketimeMT.so.1") +
                   glob.glob("/usr/lib/faketime/libfaketimeMT.so.1"))
    if not found:
        skip("libfaketime not installed (Debian package faketime)")
    return found[0]


def skewed_pair(ctx):
    """A (+SKEW s) and B (-SKEW s); check_clocks() checks them."""
    lib = libfaketime()
    # an ASan build insists on coming first in the library list unless
    # told otherwise
    asan = os.environ.get("ASAN_OPTIONS", "")
    insts = []
    for name, offset in (("life-a", "+%ds" % SKEW), ("life-b",
                                                     "-%ds" % SKEW)):
        env = {"LD_PRELOAD": lib, "FAKETIME": offset,
               "ASAN_OPTIONS": (asan + ":" if asan else "") +
               "verify_asan_link_order=0"}
        insts.append(start_instance(
            ctx, name, args=NO_LIMIT + ["--leeway", str(LEEWAY)],
            replace={"--issuer": ISSUER}, env=env))
    return insts


def check_clocks(ctx, a, b, creds):
    """The iat of each instance's token shows its shifted clock."""
    for t, want in ((a, SKEW), (b, -SKEW)):
        before = time.time()
        _, tok = get_token(t, *creds)
        after = time.time()
        iat = Jws(tok).claims["iat"]
        check(before + want - 2 <= iat <= after + want + 1,
              "%s: iat %d is not now %+d s (now %.0f): is faketime's "
              "LD_PRELOAD in effect?" % (t.name, iat, want, before))


def rejected_everywhere(insts, tok, reason, gw, what):
    for t in insts:
        for i in range(PROBES):
            expect_rejected(verify_request(t, tok), reason,
                            "%s: /verify at %s (connection %d)"
                            % (what, t.name, i + 1))
        expect_inactive(introspect(t, gw, tok),
                        "%s: introspection at %s" % (what, t.name))
        expect_revoke_ok(revoke(t, gw, tok),
                         "%s: revocation at %s" % (what, t.name))


def valid_at(t, tok, what, gw=None):
    claims = Jws(tok).claims
    for i in range(PROBES):
        expect_valid(verify_request(t, tok), claims,
                     "%s: /verify at %s (connection %d)"
                     % (what, t.name, i + 1))
    if gw is not None:
        r = introspect(t, gw, tok)
        check(r.status == 200 and isinstance(r.json, dict) and
              r.json.get("active") is True,
              "%s: introspection at %s: %s" % (what, t.name, short(r.body)))


def valid_everywhere(insts, tok, what, gw=None):
    for t in insts:
        valid_at(t, tok, what, gw)


def settles(insts, tok, status, what):
    """Every instance answers /verify of tok with status within
    PROPAGATION s of now (the change was just made)."""
    t0 = time.monotonic()
    for t in insts:
        while True:
            r = verify_request(t, tok)
            if r.status == status:
                break
            check(time.monotonic() - t0 < PROPAGATION,
                  "%s: %s still answers %d after %.1f s (%s)"
                  % (what, t.name, r.status, PROPAGATION, short(r.body)))
            time.sleep(0.02)


def clients(ctx, tag):
    admin = Admin(ctx)
    cid, gid = uid("it-%s" % tag), uid("it-%sG" % tag)
    return admin, (cid, admin.add(cid, "--scopes", "read")), \
        (gid, admin.add(gid, "--introspect"))


def record(ctx, cid):
    return redis_hgetall(ctx, "tokend:client:" + cid)


@scenario("lifecycle_disable_enable_same_second")
def disable_enable_same_second(ctx):
    a, b = skewed_pair(ctx)
    admin, creds, gw = clients(ctx, "lsame")
    check_clocks(ctx, a, b, creds)
    cid = creds[0]
    old = [get_token(a, *creds)[1], get_token(b, *creds)[1]]
    valid_everywhere([a, b], old[0], "A's token before the rounds", gw)
    every = list(old)
    same = 0
    for rnd in range(3):
        # start early in a second so that both calls fit in it
        time.sleep(1.05 - (time.time() % 1.0))
        admin.disable(cid)
        admin.enable(cid)
        rec = record(ctx, cid)
        check_eq(rec["disabled"], "0", "round %d: disabled" % rnd)
        if rec["revoked_before"] == rec["updated_at"]:
            same += 1
        else:
            ctx.vlog("round %d: disable and enable fell in two seconds of "
                     "Redis's clock (%s, %s)" % (rnd, rec["revoked_before"],
                                                 rec["updated_at"]))
        new = []
        for t in (a, b):
            _, tok = get_token(t, *creds)
            # at once, where it was issued: never rejected by its issuer
            valid_at(t, tok, "round %d: %s's token at once" % (rnd, t.name))
            new.append(tok)
        for tok in new:
            settles([a, b], tok, 200, "round %d: new token" % rnd)
        for tok in old:
            settles([a, b], tok, 401, "round %d: earlier token" % rnd)
            rejected_everywhere([a, b], tok, "client_revoked", gw,
                                "round %d: a token of before" % rnd)
        time.sleep(1.5)
        for i, tok in enumerate(new):
            valid_everywhere([a, b], tok, "round %d: token %d 1.5 s on"
                             % (rnd, i), gw)
        old = new
        every += new
    check(same > 0, "no round had disable and enable in one second")
    check_no_token_logged([a, b], every)


@scenario("lifecycle_remove_add_within_leeway")
def remove_add_within_leeway(ctx):
    a, b = skewed_pair(ctx)
    admin, creds, gw = clients(ctx, "lrm")
    check_clocks(ctx, a, b, creds)
    cid = creds[0]
    olds = [get_token(a, *creds)[1], get_token(b, *creds)[1]]
    for tok in olds:
        valid_everywhere([a, b], tok, "a token before remove", gw)
    gen0 = client_gen(ctx, cid)
    admin.remove(cid)
    new_creds = (cid, admin.add(cid, "--scopes", "read"))
    check(client_gen(ctx, cid)[:16] != gen0[:16],
          "add after remove kept the incarnation")
    for tok in olds:
        settles([a, b], tok, 401, "a token of the removed client")
        rejected_everywhere([a, b], tok, "client_removed", gw,
                            "a token of the removed client")
    news = [get_token(a, *new_creds)[1], get_token(b, *new_creds)[1]]
    for tok in news:
        settles([a, b], tok, 200, "a token of the new client")
        valid_everywhere([a, b], tok, "a token of the new client", gw)
    time.sleep(2.0)
    for tok in olds:
        rejected_everywhere([a, b], tok, "client_removed", gw,
                            "a token of the removed client 2 s on")
    for tok in news:
        valid_everywhere([a, b], tok, "a token of the new client 2 s on")
    check_no_token_logged([a, b], olds + news)


@scenario("lifecycle_disable_unheard")
def disable_unheard(ctx):
    a, b = skewed_pair(ctx)
    admin, creds, gw = clients(ctx, "lunh")
    check_clocks(ctx, a, b, creds)
    cid = creds[0]
    key = "tokend:client:" + cid
    gen = client_gen(ctx, cid)
    # What `tokend-client disable` writes, without its PUBLISH: nobody
    # has heard of the disable yet.
    now = redis_cli(ctx, "--raw", "TIME").split("\n")[0]
    redis_cli(ctx, "HSET", key, "disabled", "1", "revoked_before", now,
              "updated_at", now, "generation",
              gen[:17] + secrets.token_hex(8))
    unheard = []
    for t in (a, b):
        _, tok = get_token(t, *creds)
        check_eq(Jws(tok).claims.get("client_gen"), gen,
                 "%s issued from its view" % t.name)
        valid_at(t, tok, "%s's token, the disable unheard" % t.name)
        unheard.append(tok)
    redis_cli(ctx, "PUBLISH", "tokend:events", "client " + cid)
    for tok in unheard:
        settles([a, b], tok, 401, "a token issued unheard")
        rejected_everywhere([a, b], tok, "client_revoked", gw,
                            "a token issued unheard, once heard")
    admin.enable(cid)
    time.sleep(1.5)
    for tok in unheard:
        rejected_everywhere([a, b], tok, "client_revoked", gw,
                            "a token issued unheard, after enable")
    _, fresh = get_token(a, *creds)
    settles([a, b], fresh, 200, "a token after enable")
    valid_everywhere([a, b], fresh, "a token after enable", gw)
    check_no_token_logged([a, b], unheard + [fresh])


@scenario("lifecycle_enable_unheard_issued")
def enable_unheard_issued(ctx):
    a, b = skewed_pair(ctx)
    admin, creds, gw = clients(ctx, "leni")
    check_clocks(ctx, a, b, creds)
    cid = creds[0]
    admin.disable(cid)
    time.sleep(0.3)
    gen = client_gen(ctx, cid)
    new_gen = gen[:17] + secrets.token_hex(8)
    now = redis_cli(ctx, "--raw", "TIME").split("\n")[0]
    redis_cli(ctx, "HSET", "tokend:client:" + cid, "disabled", "0",
              "updated_at", now, "generation", new_gen)
    _, tok = get_token(a, *creds)
    check_eq(Jws(tok).claims.get("client_gen"), new_gen,
             "A issued from the record it read")
    for i in range(2):
        valid_at(a, tok, "A's token at A, the enable unheard (%d)" % i, gw)
    expect_rejected(verify_request(b, tok), "client_revoked",
                    "A's token at B, which has not heard of the enable")
    redis_cli(ctx, "PUBLISH", "tokend:events", "client " + cid)
    settles([a, b], tok, 200, "A's token once the enable is heard")
    time.sleep(1.5)
    valid_everywhere([a, b], tok, "A's token 1.5 s on", gw)
    check_no_token_logged([a, b], [tok])


def secret_hash(secret):
    """secret_hash() as tokend-client computes it."""
    salt = secrets.token_hex(16)
    digest = hmac.new(bytes.fromhex(salt), secret.encode(),
                      hashlib.sha256).hexdigest()
    return "hmac-sha256:%s:%s" % (salt, digest)


@scenario("lifecycle_records_before_generations")
def records_before_generations(ctx):
    a, b = skewed_pair(ctx)
    admin, creds, gw = clients(ctx, "lold")
    # A client as an older tokend-client added it: no generation.
    cid, secret = uid("it-lold-o"), secrets.token_urlsafe(32)
    ctx.sensitive.secret(secret, "a hand-made record")
    now = redis_cli(ctx, "--raw", "TIME").split("\n")[0]
    redis_cli(ctx, "HSET", "tokend:client:" + cid,
              "secret", secret_hash(secret), "scopes", "read",
              "audience", "", "ttl", "0", "claims", "{}", "disabled", "0",
              "revoked_before", "0", "introspect", "0", "created_at", now,
              "updated_at", now)
    redis_cli(ctx, "SADD", "tokend:clients", cid)
    redis_cli(ctx, "PUBLISH", "tokend:events", "client " + cid)
    ocreds = (cid, secret)
    time.sleep(0.3)
    check_clocks(ctx, a, b, ocreds)
    olds = [get_token(a, *ocreds)[1], get_token(b, *ocreds)[1]]
    for tok in olds:
        check("client_gen" not in Jws(tok).claims,
              "a token of a record without generation has client_gen")
        valid_everywhere([a, b], tok, "a token without generation", gw)
    admin.set(cid, "--ttl", "600")
    time.sleep(0.3)
    check("generation" not in record(ctx, cid), "set gave a generation")
    for tok in olds:
        valid_everywhere([a, b], tok, "a token without generation after set")

    admin.disable(cid)
    check_eq(client_gen(ctx, cid)[:16], LEGACY_INCARNATION,
             "the incarnation of a record from before generations")
    for tok in olds:
        settles([a, b], tok, 401, "a token without generation, disabled")
        rejected_everywhere([a, b], tok, "client_revoked", gw,
                            "a token without generation, disabled")
    admin.enable(cid)
    time.sleep(0.3)
    _, fresh = get_token(a, *ocreds)
    check_eq(Jws(fresh).claims.get("client_gen"), client_gen(ctx, cid),
             "a token after enable")
    valid_everywhere([a, b], fresh, "a token after enable", gw)
    for tok in olds:
        rejected_everywhere([a, b], tok, "client_revoked", gw,
                            "a token without generation, enabled again")

    # A client of the current script: a token without client_gen, or
    # with another generation, is not its.
    f = Forger(ctx.pki.signing_key, ISSUER, creds[0], scope="read")
    for label, tok in (
            ("no client_gen", f.token()),
            ("another incarnation", f.token(claims={
                "client_gen": secrets.token_hex(8) + "." +
                client_gen(ctx, creds[0])[17:]}))):
        rejected_everywhere([a, b], tok, "client_removed", gw,
                            "a forged token with " + label)
    g = client_gen(ctx, creds[0])
    rejected_everywhere([a, b], f.token(claims={
        "client_gen": g[:17] + secrets.token_hex(8)}), "client_revoked",
        gw, "a forged token with another serial")
    valid_everywhere([a, b], f.token(claims={"client_gen": g}),
                     "a forged token with the generation")
    check_no_token_logged([a, b], olds + [fresh])


@scenario("lifecycle_legacy_record_never_issues_dead_tokens")
def legacy_record_never_issues_dead_tokens(ctx):
    """A record without a generation keeps the clock rules; an instance
    must not issue a token those rules reject at once. A runs SKEW s
    ahead of Redis, B SKEW s behind, both with LEEWAY: a record created
    at Redis's now gets tokens that verify everywhere; one whose
    created_at is 2 x LEEWAY ahead, or whose revoked_before is later
    than both clocks (an older script's disable + enable within the same
    second, as each instance's clock sees it), is answered 503 with
    Retry-After: 1 and event=issue_refused, never 200 with a token that
    /verify then rejects."""
    a, b = skewed_pair(ctx)
    redis_now = int(redis_cli(ctx, "--raw", "TIME").split("\n")[0])
    cases = (("fine", {}, 200),
             ("ahead", {"created_at": str(redis_now + 2 * LEEWAY)}, 503),
             ("same-second", {"revoked_before": str(redis_now + 2 * SKEW)},
              503))
    for tag, fields, want in cases:
        cid, secret = uid("it-lleg-" + tag), secrets.token_urlsafe(32)
        ctx.sensitive.secret(secret, "a hand-made record")
        rec = {"secret": secret_hash(secret), "scopes": "read",
               "disabled": "0", "revoked_before": "0",
               "created_at": str(redis_now), "updated_at": str(redis_now)}
        rec.update(fields)
        args = []
        for k, v in rec.items():
            args += [k, v]
        redis_cli(ctx, "HSET", "tokend:client:" + cid, *args)
        redis_cli(ctx, "SADD", "tokend:clients", cid)
        redis_cli(ctx, "PUBLISH", "tokend:events", "client " + cid)
        time.sleep(0.3)
        for t in (a, b):
            off = t.log_offset()
            r = token_request(t, {"grant_type": "client_credentials"},
                              client=(cid, secret))
            check_eq(r.status, want, "%s at %s: %s"
                     % (tag, t.name, short(r.body)))
            if r.status == 200:
                v = verify_request(t, r.json["access_token"])
                check_eq(v.status, 200, "%s: %s rejects the token it "
                         "issued (%s)" % (tag, t.name, short(v.body)))
                continue
            check_eq(r.header("Retry-After"), "1",
                     "%s at %s: Retry-After" % (tag, t.name))
            check_eq(r.json.get("error"), "temporarily_unavailable",
                     "%s at %s: error" % (tag, t.name))
            check(t.log_lines(r"event=issue_refused client_id=%s " % cid,
                              off), "%s at %s: no issue_refused line"
                  % (tag, t.name))
