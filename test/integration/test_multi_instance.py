"""
Two tokend instances sharing one Redis: revocations and admin changes
reach both, survive a restart, and losing the store fails closed.

Setup: two scenario-scoped TLS instances A and B (--workers 2,
--auth-fail-limit 0) on the harness's Redis, with the same --issuer
(https://tokend.test), so a token issued by one verifies at the other.
Clients are made with scripts/tokend-client; G has --introspect.
"Rejected everywhere" means: /verify 401 with the reason, introspection
by G {"active":false}, at both instances, each on several new connections
so that both workers answer.

Expected:
- multi_revoke_propagation: a token issued at A verifies at B. Revoked at
  A (200 {}): rejected at A and B ("revoked") on every connection by 1 s
  after the 200; another token of the same client stays valid at both. A
  token issued at B and revoked at B is rejected at A by 1 s.
- multi_client_disable_remove: `tokend-client disable` -> within 1 s the
  client's token is rejected at both ("client_revoked"), its owner can no
  longer authenticate (introspect 401). `enable` -> the old token stays
  rejected at both; a token issued more than 1 s after the disable is
  valid at both. `remove` -> within 1 s both reject it ("client_removed").
- multi_restart: T1 revoked at A; B stopped (SIGTERM, exit 0) and started
  again on the same port: until its view is read it may answer 503 (fail
  closed) but never 200 for T1; within 5 s it accepts T2 and rejects T1
  ("revoked") on every connection; A killed with SIGKILL and started
  again: the same.
- multi_store_outage: a token T, and R revoked before the outage. Redis
  SAVEd (a snapshot in its --dir, so that the restart brings the data
  back as a production Redis with persistence would) and killed: within
  2 s /verify of T answers 503 temporarily_unavailable at both (then on 4
  connections in a row, each within 1.5 s), so do R, /oauth/introspect
  and /oauth/revoke; /healthz 200; a garbage token 401 or 503 (never
  200). Redis restarted on the same port (the snapshot is deleted right
  after, other scenarios expect an empty restart): T verifies at both (on
  4 new connections in a row) within 7 s without restarting tokend, R is
  still rejected ("revoked") everywhere, and a token revoked at B then is
  rejected at A within 1 s (the subscription came back).
- multi_verify_grace: instance A with --verify-grace 3, B without. Redis
  saved and killed as above: B answers 503 within 2 s; A keeps answering
  from its last view: T 200 and R 401 "revoked" at every probe up to 2 s
  after the kill, then 503 by 5 s after it (not before 2 s).
  Introspection (it authenticates the caller against Redis) is 503 at A
  meanwhile. Recovery as above.
- All: no whole token in either instance's log.
"""

import os
import time

from jwt_helpers import (NO_LIMIT, Admin, Jws, check_no_token_logged,
                         expect_inactive, expect_rejected, expect_revoke_ok,
                         expect_unavailable, expect_valid, get_token,
                         introspect, redis_cli, revoke, start_instance, uid,
                         verify_request, wait_for)
import tokend_harness as H
from tokend_harness import check, check_eq, scenario, short

ISSUER = "https://tokend.test"
PROPAGATION = 1.0       # the contract: every instance within 1 s
PROBES = 4              # new connections per instance per check


def pair(ctx, a_args=(), b_args=()):
    a = start_instance(ctx, "multi-a", args=NO_LIMIT + list(a_args),
                       replace={"--issuer": ISSUER})
    b = start_instance(ctx, "multi-b", args=NO_LIMIT + list(b_args),
                       replace={"--issuer": ISSUER})
    return a, b


def restart(ctx, t, hard=False):
    """Stop t (SIGTERM and exit 0, or SIGKILL) and start the same command
    line on the same port (the log goes on in the same file); the new
    instance."""
    if hard:
        t.kill()
    else:
        t.stop(expect_status=0)
    ctx.scoped.remove(t)
    n = H.Tokend(ctx, t.name, port=t.port)
    n.argv = list(t.argv)
    ctx.scoped.append(n)
    n.start()
    return n


def rejected_everywhere(insts, tok, reason, gw, what):
    for t in insts:
        for i in range(PROBES):
            expect_rejected(verify_request(t, tok), reason,
                            "%s: /verify at %s (connection %d)"
                            % (what, t.name, i + 1))
        expect_inactive(introspect(t, gw, tok),
                        "%s: introspection at %s" % (what, t.name))


def valid_everywhere(insts, tok, what, gw=None):
    claims = Jws(tok).claims
    for t in insts:
        for i in range(PROBES):
            expect_valid(verify_request(t, tok), claims,
                         "%s: /verify at %s (connection %d)"
                         % (what, t.name, i + 1))
        if gw is not None:
            r = introspect(t, gw, tok)
            check(r.status == 200 and isinstance(r.json, dict) and
                  r.json.get("active") is True,
                  "%s: introspection at %s: %s" % (what, t.name,
                                                   short(r.body)))


def reaches_all(insts, tok, t0, what, status=401):
    """Every instance answers status for tok by PROPAGATION s after t0
    (time.monotonic() of the change); the latency of the slowest."""
    worst = 0.0
    for t in insts:
        def fn():
            r = verify_request(t, tok)
            return r.status == status, r
        wait_for(fn, PROPAGATION, "%s: %d at %s" % (what, status, t.name))
        worst = max(worst, time.monotonic() - t0)
    left = PROPAGATION - (time.monotonic() - t0)
    if left > 0:
        time.sleep(left)
    return worst


@scenario("multi_revoke_propagation")
def revoke_propagation(ctx):
    a, b = pair(ctx)
    admin = Admin(ctx)
    cid, gid = uid("it-mrv"), uid("it-mrvG")
    creds = (cid, admin.add(cid, "--scopes", "read"))
    gw = (gid, admin.add(gid, "--introspect"))
    _, t1 = get_token(a, *creds)
    _, t2 = get_token(a, *creds)
    _, t3 = get_token(b, *creds)
    valid_everywhere([a, b], t1, "T1 (issued at A)", gw)
    valid_everywhere([a, b], t3, "T3 (issued at B)")

    expect_revoke_ok(revoke(a, creds, t1), "revoke T1 at A")
    t0 = time.monotonic()
    worst = reaches_all([a, b], t1, t0, "T1 revoked at A")
    ctx.vlog("revocation seen everywhere after %.3f s" % worst)
    rejected_everywhere([a, b], t1, "revoked", gw, "T1 revoked at A")
    valid_everywhere([a, b], t2, "T2 (not revoked)", gw)

    expect_revoke_ok(revoke(b, creds, t3, post=True), "revoke T3 at B")
    t0 = time.monotonic()
    reaches_all([a, b], t3, t0, "T3 revoked at B")
    rejected_everywhere([a, b], t3, "revoked", gw, "T3 revoked at B")
    check_no_token_logged([a, b], [t1, t2, t3])


@scenario("multi_client_disable_remove")
def disable_remove(ctx):
    a, b = pair(ctx)
    admin = Admin(ctx)
    cid, gid = uid("it-mdis"), uid("it-mdisG")
    creds = (cid, admin.add(cid, "--scopes", "read"))
    gw = (gid, admin.add(gid, "--introspect"))
    _, t1 = get_token(a, *creds)
    valid_everywhere([a, b], t1, "T1 before disable", gw)

    admin.disable(cid)
    t_disable = time.time()
    t0 = time.monotonic()
    reaches_all([a, b], t1, t0, "T1 after disable")
    rejected_everywhere([a, b], t1, "client_revoked", gw, "T1 after disable")
    for t in (a, b):
        r = introspect(t, creds, t1)
        check_eq(r.status, 401, "the disabled owner introspects at %s (%s)"
                 % (t.name, short(r.body)))

    admin.enable(cid)
    # revoked_before is in whole seconds: a token must be issued later.
    time.sleep(max(0.0, t_disable + 1.1 - time.time()))
    _, t2 = get_token(b, *creds)
    check(Jws(t2).claims["iat"] > int(t_disable),
          "T2 iat %d not after the disable (%d)"
          % (Jws(t2).claims["iat"], t_disable))
    time.sleep(0.2)
    rejected_everywhere([a, b], t1, "client_revoked", gw, "T1 after enable")
    valid_everywhere([a, b], t2, "T2 issued after enable", gw)

    admin.remove(cid)
    t0 = time.monotonic()
    reaches_all([a, b], t2, t0, "T2 after remove")
    rejected_everywhere([a, b], t2, "client_removed", gw, "T2 after remove")
    rejected_everywhere([a, b], t1, ("client_removed", "client_revoked"),
                        gw, "T1 after remove")
    check_no_token_logged([a, b], [t1, t2])


def settle(t, good, revoked, what):
    """A restarted instance may answer 503 until its view is read (fail
    closed), never 200 for the revoked token; the good token 200 on PROBES
    new connections in a row within 5 s."""
    streak = [0]

    def fn():
        r = verify_request(t, revoked)
        if r.status != 503:
            expect_rejected(r, "revoked", what + ": the revoked token")
        r = verify_request(t, good)
        if r.status != 503:
            expect_valid(r, what=what + ": the good token")
        streak[0] = streak[0] + 1 if r.status == 200 else 0
        return streak[0] >= PROBES, r
    wait_for(fn, 5.0, what + ": serving", interval=0.05)


@scenario("multi_restart")
def restart_keeps_revocation(ctx):
    a, b = pair(ctx)
    admin = Admin(ctx)
    cid, gid = uid("it-mrs"), uid("it-mrsG")
    creds = (cid, admin.add(cid, "--scopes", "read"))
    gw = (gid, admin.add(gid, "--introspect"))
    _, t1 = get_token(a, *creds)
    _, t2 = get_token(a, *creds)
    expect_revoke_ok(revoke(a, creds, t1), "revoke T1 at A")
    reaches_all([a, b], t1, time.monotonic(), "T1 revoked")

    b = restart(ctx, b)
    settle(b, t2, t1, "B after a restart")
    rejected_everywhere([b], t1, "revoked", gw, "T1 at B after a restart")
    valid_everywhere([b], t2, "T2 at B after a restart", gw)

    a = restart(ctx, a, hard=True)
    settle(a, t2, t1, "A after a kill and restart")
    rejected_everywhere([a, b], t1, "revoked", gw,
                        "T1 after A was killed and restarted")
    valid_everywhere([a, b], t2, "T2 after A was killed and restarted", gw)
    check_no_token_logged([a, b], [t1, t2])


def outage_answers(t, creds, gw, tok, what):
    """While the store is down: every token call 503, promptly."""
    for i in range(PROBES):
        t0 = time.monotonic()
        expect_unavailable(verify_request(t, tok, timeout=5),
                           "%s: /verify at %s (%d)" % (what, t.name, i + 1))
        dt = time.monotonic() - t0
        check(dt <= 1.5, "%s: /verify at %s took %.2f s" % (what, t.name,
                                                             dt))
    expect_unavailable(introspect(t, gw, tok, timeout=5),
                       "%s: introspect at %s" % (what, t.name))
    expect_unavailable(revoke(t, creds, tok, timeout=5),
                       "%s: revoke at %s" % (what, t.name))
    r = verify_request(t, "abc.def.ghi")
    check(r.status in (401, 503), "%s: a garbage token at %s: %d %s"
          % (what, t.name, r.status, short(r.body)))
    check_eq(t.request("GET", "/healthz").status, 200,
             "%s: /healthz at %s" % (what, t.name))


def wait_unavailable(t, tok, within, what):
    def fn():
        r = verify_request(t, tok)
        if r.status == 200:
            return False, r
        expect_unavailable(r, what)
        return True, r
    return wait_for(fn, within, what, interval=0.05)


def kill_store(ctx):
    """SAVE (a snapshot in redis-server's --dir, although it runs without
    persistence), then SIGKILL: the restart comes back with the data, as
    a production Redis with persistence would."""
    check_eq(redis_cli(ctx, "SAVE").strip(), "OK", "redis SAVE")
    ctx.redis.kill()


def drop_snapshot(ctx):
    """Other scenarios expect a Redis that restarts empty."""
    try:
        os.unlink(os.path.join(ctx.tmp, "dump.rdb"))
    except FileNotFoundError:
        pass


def recover(ctx, insts, creds, gw, tok, what, revoked=None):
    """Redis restarted (with the snapshot): tok valid again everywhere
    within 7 s, revoked (if given) still rejected, and revocations flow
    again (the subscription came back)."""
    try:
        ctx.redis.start()
    finally:
        drop_snapshot(ctx)
    for t in insts:
        streak = [0]

        def fn():
            # Each worker reconnects on its own backoff: PROBES new
            # connections in a row.
            r = verify_request(t, tok)
            streak[0] = streak[0] + 1 if r.status == 200 else 0
            return streak[0] >= PROBES, r
        dt = wait_for(fn, 7.0, "%s: %s verifies again" % (what, t.name),
                      interval=0.05)
        ctx.vlog("%s: %s valid again after %.2f s" % (what, t.name, dt))
    valid_everywhere(insts, tok, what + ": after recovery", gw)
    if revoked is not None:
        rejected_everywhere(insts, revoked, "revoked", gw,
                            what + ": revoked before the outage")
    _, t_new = get_token(insts[-1], *creds)
    expect_revoke_ok(revoke(insts[-1], creds, t_new),
                     what + ": revoke after recovery")
    reaches_all(insts, t_new, time.monotonic(), what + ": a revocation "
                "after recovery")
    rejected_everywhere(insts, t_new, "revoked", gw,
                        what + ": revoked after recovery")
    return t_new


@scenario("multi_store_outage")
def store_outage(ctx):
    a, b = pair(ctx)
    admin = Admin(ctx)
    cid, gid = uid("it-mso"), uid("it-msoG")
    creds = (cid, admin.add(cid, "--scopes", "read"))
    gw = (gid, admin.add(gid, "--introspect"))
    _, tok = get_token(a, *creds)
    _, rtok = get_token(b, *creds)
    expect_revoke_ok(revoke(b, creds, rtok), "revoke before the outage")
    reaches_all([a, b], rtok, time.monotonic(), "revoked before the outage")
    valid_everywhere([a, b], tok, "before the outage", gw)

    kill_store(ctx)
    try:
        for t in (a, b):
            dt = wait_unavailable(t, tok, 2.0, "503 at %s after the kill"
                                  % t.name)
            ctx.vlog("%s: 503 %.2f s after the kill" % (t.name, dt))
        for t in (a, b):
            outage_answers(t, creds, gw, tok, "redis down")
            expect_unavailable(verify_request(t, rtok), "redis down: the "
                               "revoked token at %s" % t.name)
    except BaseException:
        drop_snapshot(ctx)
        raise
    t_new = recover(ctx, [a, b], creds, gw, tok, "multi_store_outage",
                    revoked=rtok)
    check(a.running() and b.running(), "an instance exited")
    check_no_token_logged([a, b], [tok, rtok, t_new])


@scenario("multi_verify_grace")
def verify_grace(ctx):
    grace = 3
    a, b = pair(ctx, a_args=["--verify-grace", str(grace)])
    admin = Admin(ctx)
    cid, gid = uid("it-mvg"), uid("it-mvgG")
    creds = (cid, admin.add(cid, "--scopes", "read"))
    gw = (gid, admin.add(gid, "--introspect"))
    _, tok = get_token(a, *creds)
    _, rtok = get_token(a, *creds)
    expect_revoke_ok(revoke(a, creds, rtok), "revoke before the outage")
    reaches_all([a, b], rtok, time.monotonic(), "revoked before the outage")
    valid_everywhere([a, b], tok, "before the outage", gw)

    kill_store(ctx)
    t_kill = time.monotonic()
    try:
        wait_unavailable(b, tok, 2.0, "503 at B (no grace)")
        # A: the last known state, for the grace period.
        n = 0
        while time.monotonic() - t_kill < grace - 1.0:
            expect_valid(verify_request(a, tok), what="A within the grace "
                         "period (%.1f s after the kill)"
                         % (time.monotonic() - t_kill))
            expect_rejected(verify_request(a, rtok), "revoked",
                            "A, the revoked token within the grace period")
            n += 1
            time.sleep(0.1)
        check(n >= 3, "too few probes within the grace period (%d)" % n)
        expect_unavailable(introspect(a, gw, tok, timeout=5),
                           "introspection at A within the grace period")
        wait_unavailable(a, tok, grace + 2.0 - (time.monotonic() - t_kill),
                         "503 at A after the grace period")
        since = time.monotonic() - t_kill
        ctx.vlog("A: 503 %.2f s after the kill (grace %d s)"
                 % (since, grace))
        check(since >= grace - 1.0, "A stopped verifying %.2f s after the "
              "kill, before the grace period (%d s)" % (since, grace))
        outage_answers(a, creds, gw, tok, "after the grace period")
    except BaseException:
        drop_snapshot(ctx)
        raise
    t_new = recover(ctx, [a, b], creds, gw, tok, "multi_verify_grace",
                    revoked=rtok)
    check_no_token_logged([a, b], [tok, rtok, t_new])
