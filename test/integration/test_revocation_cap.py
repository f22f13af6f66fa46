"""
Revocations bounded per client (--max-revocations-per-client), and the
view's revocations in /metrics.

Setup: TLS instances of their own (--workers 2, --auth-fail-limit 0,
--leeway 0, so a revocation lives exactly until its token's exp) on the
harness's Redis, in database 7 under the key prefix "revcap-<hex>:" so
that their keys and connections are theirs alone; clients made with
scripts/tokend-client on that database and prefix.

Expected:
- revoke_cap_per_client (--max-revocations-per-client 3; client A with
  --ttl 6, client B with --ttl 300): A revokes three tokens, 200 {} each;
  a fourth is 400 invalid_request with the description "revocation limit
  reached: this client holds 3 live revocations, the most allowed; ..."
  (Cache-Control: no-store), the log has event=revocation_refused
  client_id=A, nothing is written for it (no revoked: key) and the token
  stays valid (/verify 200). A revoking one of its revoked tokens again is
  200 and counts once (ZCARD revcap:revocations:A stays 3, its TTL at most
  the tokens' 6 s). B, another client, revokes its token: 200. /metrics
  shows on each worker tokend_view_revoked 4 more than before and
  tokend_view_revoked_bytes higher. Once A's revoked tokens have expired,
  A revokes a new token (200) and the fourth one (200): the count is 2.
  The instance's subscriptions killed (CLIENT KILL of database 7's
  pub/sub links): each worker's view re-reads the store, and
  tokend_view_revoked falls to the 3 live ones, tokend_view_revoked_bytes
  below its peak. remove deletes A's count (revcap:revocations:A).
- revoke_cap_parallel (two instances, same issuer, cap 3): 20 tokens of
  client C revoked at once, 10 at each instance on connections opened
  beforehand: exactly 3 answers 200, 17 are 400 invalid_request, ZCARD 3,
  and exactly the 3 revoked tokens are rejected at both instances. Client
  D (cap 3): two tokens revoked, then a third revoked 10 times at once at
  both instances: all 10 are 200 (counted once: the revocations that
  reach the script after the first find it counted, at the cap), ZCARD 3;
  a fourth token is 400 at both.
- revoke_cap_setting: --max-revocations-per-client 0 and 1000001 (flag and
  TOKEND_MAX_REVOCATIONS_PER_CLIENT) stop start-up with exit status 2 and
  one line naming the setting.
- All: no whole token in any instance's log.
"""

import secrets
import subprocess
import threading
import time

from jwt_helpers import (NO_LIMIT, Admin, Jws, check_no_store,
                         check_no_token_logged, expect_rejected,
                         expect_revoke_ok, expect_valid, get_token, revoke,
                         start_instance, uid, verify_request, wait_for)
from test_metrics import by_worker, scrape
from tokend_harness import (check, check_eq, child_env, expect_json_error,
                            scenario)

DB = 7
ISSUER = "https://tokend.test"
DESC = ("revocation limit reached: this client holds %d live revocations, "
        "the most allowed; it may revoke more once revoked tokens expire")


class Store:
    """Database DB of the harness's Redis, under a prefix of our own."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.prefix = "revcap-%s:" % secrets.token_hex(3)
        self.url = "redis://127.0.0.1:%d/%d" % (ctx.redis.port, DB)
        self.admin = Admin(ctx, prefix=self.prefix)
        self.admin.env["TOKEND_REDIS"] = self.url

    def cli(self, *args):
        r = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p",
                            str(self.ctx.redis.port), "-n", str(DB)] +
                           [str(a) for a in args], capture_output=True,
                           timeout=30, env=child_env())
        check_eq(r.returncode, 0, "redis-cli %s exit status" % args[0])
        return r.stdout.decode("utf-8", "replace").strip()

    def count(self, cid):
        return int(self.cli("ZCARD", self.prefix + "revocations:" + cid))

    def instance(self, name, cap, extra=()):
        return start_instance(
            self.ctx, name, args=NO_LIMIT + [
                "--prefix", self.prefix, "--leeway", "0",
                "--max-revocations-per-client", str(cap)] + list(extra),
            replace={"--redis": self.url, "--issuer": ISSUER})

    def kill_subscriptions(self):
        """CLIENT KILL every pub/sub link on database DB; how many."""
        n = 0
        for line in self.cli("CLIENT", "LIST", "TYPE", "pubsub").split("\n"):
            f = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
            if f.get("db") == str(DB) and "id" in f:
                self.cli("CLIENT", "KILL", "ID", f["id"])
                n += 1
        return n


def eval_calls(st):
    """EVAL calls Redis has run (INFO commandstats)."""
    for line in st.cli("INFO", "commandstats").splitlines():
        if line.startswith("cmdstat_eval:"):
            return int(line.split("calls=")[1].split(",")[0])
    return 0


def expect_limited(r, cap, what):
    expect_json_error(r, 400, what, "invalid_request")
    check_eq(r.json.get("error_description"), DESC % cap,
             what + ": error_description")
    check_no_store(r, what)


def revoked_gauges(ctx, t):
    s, _ = scrape(ctx, t)
    return (by_worker(s, "tokend_view_revoked"),
            by_worker(s, "tokend_view_revoked_bytes"))


def wait_gauges(ctx, t, pred, what, timeout=3.0):
    """Scrape until pred(revoked, bytes) holds; those gauges."""
    last = [None]

    def fn():
        last[0] = revoked_gauges(ctx, t)
        return pred(*last[0]), last[0]
    wait_for(fn, timeout, what)
    return last[0]


@scenario("revoke_cap_per_client", timeout=90)
def revoke_cap_per_client(ctx):
    st = Store(ctx)
    t = st.instance("revcap", 3)
    a, b = uid("it-capA"), uid("it-capB")
    ca = (a, st.admin.add(a, "--ttl", "6"))
    cb = (b, st.admin.add(b, "--ttl", "300"))
    rev0, bytes0 = wait_gauges(ctx, t, lambda r, b: len(r) == 2,
                               "every worker's gauges")

    toks = [get_token(t, *ca)[1] for _ in range(4)]
    exp_max = max(Jws(x).claims["exp"] for x in toks)
    for i, tok in enumerate(toks[:3]):
        expect_revoke_ok(revoke(t, ca, tok), "A revokes token %d" % (i + 1))
    check_eq(st.count(a), 3, "A's count after 3 revocations")
    ttl = int(st.cli("TTL", st.prefix + "revocations:" + a))
    check(0 < ttl <= 6, "TTL of A's count: %d (tokens of 6 s)" % ttl)

    off = t.log_offset()
    expect_limited(revoke(t, ca, toks[3]), 3, "A revokes a 4th token")
    expect_limited(revoke(t, ca, toks[3], post=True), 3,
                   "A revokes the 4th again (client_secret_post)")
    t.wait_log(r"event=revocation_refused client_id=%s jti=%s "
               r"revocations=3 " % (a, Jws(toks[3]).claims["jti"]),
               since=off)
    check_eq(st.cli("EXISTS", st.prefix + "revoked:" +
                    Jws(toks[3]).claims["jti"]), "0",
             "a revoked: key for the refused revocation")
    for i in range(4):
        expect_valid(verify_request(t, toks[3]), Jws(toks[3]).claims,
                     "the refused token at /verify (%d)" % (i + 1))
        expect_rejected(verify_request(t, toks[0]), "revoked",
                        "a revoked token at /verify (%d)" % (i + 1))

    # Already revoked: 200 and not counted again.
    expect_revoke_ok(revoke(t, ca, toks[1]), "A revokes token 2 again")
    check_eq(st.count(a), 3, "A's count after a repeated revocation")

    # Another client has a count of its own.
    _, tb = get_token(t, *cb)
    expect_revoke_ok(revoke(t, cb, tb), "B revokes its token")
    check_eq(st.count(b), 1, "B's count")

    rev1, bytes1 = wait_gauges(
        ctx, t, lambda r, _: all(r[w] == rev0[w] + 4 for w in r),
        "tokend_view_revoked + 4 on every worker")
    for w in bytes1:
        check(bytes1[w] > bytes0[w], "worker %s: tokend_view_revoked_bytes "
              "%d, not above %d" % (w, bytes1[w], bytes0[w]))
        check(bytes1[w] >= rev1[w] * 64, "worker %s: %d bytes for %d "
              "revocations" % (w, bytes1[w], rev1[w]))

    # Once the revoked tokens have expired (--leeway 0), they stop
    # counting: a new token and the 4th one.
    while time.time() < exp_max + 1.2:
        time.sleep(0.1)
    _, t5 = get_token(t, *ca)
    expect_revoke_ok(revoke(t, ca, t5), "A revokes a new token after "
                     "its revoked ones expired")
    check_eq(st.count(a), 1, "A's count after expiry")
    _, t6 = get_token(t, *ca)
    expect_revoke_ok(revoke(t, ca, t6), "A revokes another")
    check_eq(st.count(a), 2, "A's count")

    # A re-read (the subscriptions killed) holds only the live ones.
    check(st.kill_subscriptions() >= 2, "no pub/sub link of the instance")
    rev2, bytes2 = wait_gauges(
        ctx, t, lambda r, _: all(v == 3 for v in r.values()),
        "tokend_view_revoked 3 on every worker after the re-read",
        timeout=5.0)
    for w in bytes2:
        check(bytes2[w] < bytes1[w], "worker %s: tokend_view_revoked_bytes "
              "%d after the re-read, not below %d" % (w, bytes2[w],
                                                       bytes1[w]))
    expect_rejected(verify_request(t, t5), "revoked", "t5 after the re-read")

    # remove: the client's count goes with it; its revocations stay.
    st.admin.remove(a)
    check_eq(st.cli("EXISTS", st.prefix + "revocations:" + a), "0",
             "A's count after remove")
    check_eq(st.cli("EXISTS", st.prefix + "revoked:" +
                    Jws(t6).claims["jti"]), "1", "A's revocation after remove")
    check_no_token_logged([t], toks + [tb, t5, t6])


def parallel(jobs):
    """Run each job (a function of no argument) in a thread of its own,
    all released at once; their results, in order."""
    out = [None] * len(jobs)
    go = threading.Barrier(len(jobs))

    def run(i):
        go.wait()
        try:
            out[i] = jobs[i]()
        except Exception as e:          # reported below, not lost
            out[i] = e
    threads = [threading.Thread(target=run, args=(i,), daemon=True)
               for i in range(len(jobs))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    for r in out:
        if isinstance(r, Exception):
            raise r
    return out


def revoke_jobs(insts, creds, toks):
    """One revocation per token, alternately at each instance, each on a
    connection opened beforehand."""
    jobs = []
    for i, tok in enumerate(toks):
        t = insts[i % len(insts)]
        conn = t.connection()
        jobs.append(lambda t=t, tok=tok, conn=conn: revoke(t, creds, tok,
                                                           conn=conn))
    return jobs


@scenario("revoke_cap_parallel", timeout=90)
def revoke_cap_parallel(ctx):
    st = Store(ctx)
    a = st.instance("revcap-a", 3)
    b = st.instance("revcap-b", 3)
    c, d = uid("it-capC"), uid("it-capD")
    cc = (c, st.admin.add(c, "--ttl", "300"))
    cd = (d, st.admin.add(d, "--ttl", "300"))

    toks = [get_token(a if i % 2 else b, *cc)[1] for i in range(20)]
    res = parallel(revoke_jobs([a, b], cc, toks))
    ok = [i for i, r in enumerate(res) if r.status == 200]
    check_eq(len(ok), 3, "revocations answered 200 (statuses %s)"
             % [r.status for r in res])
    for i, r in enumerate(res):
        if i in ok:
            expect_revoke_ok(r, "revocation %d" % i)
        else:
            expect_limited(r, 3, "revocation %d" % i)
    check_eq(st.count(c), 3, "C's count")
    time.sleep(1.0)             # the contract: every instance within 1 s
    for i, tok in enumerate(toks):
        for t in (a, b):
            r = verify_request(t, tok)
            if i in ok:
                expect_rejected(r, "revoked", "revoked token %d at %s"
                                % (i, t.name))
            else:
                expect_valid(r, Jws(tok).claims, "refused token %d at %s"
                             % (i, t.name))

    # Two revoked, then a third token revoked 10 times at once at both
    # instances: it fills the cap, and is counted once, so none of the 10
    # is refused; a fourth token is.
    toks_d = [get_token(b, *cd)[1] for _ in range(4)]
    expect_revoke_ok(revoke(a, cd, toks_d[0]), "D's 1st token")
    expect_revoke_ok(revoke(b, cd, toks_d[1]), "D's 2nd token")
    evals0 = eval_calls(st)
    res = parallel(revoke_jobs([a, b], cd, [toks_d[2]] * 10))
    ctx.vlog("10 revocations of one token: %d scripts ran"
             % (eval_calls(st) - evals0))
    for i, r in enumerate(res):
        expect_revoke_ok(r, "D's 3rd token, revocation %d of 10" % i)
    check_eq(st.count(d), 3, "D's count after 10 revocations of one token")
    expect_limited(revoke(a, cd, toks_d[3]), 3, "D's 4th token")
    expect_limited(revoke(b, cd, toks_d[3]), 3, "D's 4th token at B")
    check_eq(st.count(d), 3, "D's count")
    check_no_token_logged([a, b], toks + toks_d)


@scenario("revoke_cap_setting")
def revoke_cap_setting(ctx):
    base = [ctx.tokend_bin, "--plain-http", "--signing-key",
            ctx.pki.signing_key, "--listen", "127.0.0.1:1"]
    for value in ("0", "1000001", "-1", "ten"):
        for how in ("flag", "env"):
            env = {}
            argv = list(base)
            if how == "flag":
                argv += ["--max-revocations-per-client", value]
            else:
                env["TOKEND_MAX_REVOCATIONS_PER_CLIENT"] = value
            r = subprocess.run(argv, capture_output=True, timeout=30,
                               env=child_env(env))
            what = "%s %s" % (how, value)
            check_eq(r.returncode, 2, what + ": exit status")
            err = r.stderr.decode("utf-8", "replace")
            check(err.count("\n") == 1 and
                  "--max-revocations-per-client" in err and
                  "TOKEND_MAX_REVOCATIONS_PER_CLIENT" in err,
                  "%s: stderr %r" % (what, err))
