"""
Issuing from the per-worker view: a token for a known client
costs no Redis command; a client the view does not know yet is read from
Redis (the miss path); admin changes reach every instance within 1 s; a
brute-force lock reaches every instance without a read on the success
path.

Setup: plain-HTTP instances (--workers 2), each scenario under a --prefix
of its own; clients made with scripts/tokend-client under that prefix.
The scenarios that count Redis commands (INFO commandstats) run a
redis-server of their own, so that only their instances talk to it; a
count "of no command" allows PING and SUBSCRIBE (the link probes: once a
second per link) and INFO (the count itself).

Expected:
- clientview_no_redis_command: a client added before the instance starts;
  once a token works, 200 POST /oauth/token (Basic, keep-alive) and 50
  POST /authorize: all 200, and not one Redis command other than PING and
  INFO ran meanwhile (HGETALL, EVAL, EVALSHA: 0). Under the default
  --auth-fail-limit, so the success path reads no counter either.
- clientview_miss_path: a record written with HSET + SADD and not
  announced: the view lacks it, yet the first token request is 200 (one
  HGETALL, no EVAL). Once "client ID" is published, 100 tokens take no
  HGETALL. A client made by `tokend-client add` while the instances run
  gets a token at once from both instances, and 100 more from each with no
  HGETALL once the view has it (within 1 s).
- clientview_admin_changes: two instances A and B (--auth-fail-limit 0).
  `rotate`: the new secret works at both at once; the old one is refused
  (401 invalid_client) at both within 1 s, on new connections so both
  workers answer. `disable`: no token at either (401) within 1 s; `enable`:
  tokens again. `set --scopes read`: scope=write is invalid_scope at both
  within 1 s. `remove`: 401 at both within 1 s.
- clientview_lock_everywhere: --auth-fail-limit 3 --auth-fail-window 4,
  --trusted-proxies 127.0.0.1, addresses from X-Forwarded-For. 3 wrong
  secrets from 10.5.5.5 at A: P locked holds 10.5.5.5 scored by the
  unlock time (now + about 4 s), the set expiring then; the right secret
  from 10.5.5.5 at A and at B: 429 with Retry-After 1..4, and these 429s
  run no Redis command; 10.6.6.6 still gets 200 at B. After Retry-After,
  P locked is gone and 10.5.5.5 gets 200 again at both.
"""

import hashlib
import hmac
import os
import subprocess
import time

from jwt_helpers import (NO_LIMIT, Admin, Jws, authorize, get_token,
                         start_instance, token_request, uid,
                         wait_for)
import tokend_harness as H
from tokend_harness import (check, check_eq, child_env, expect_json_error,
                            scenario, short)

PROPAGATION = 1.0       # the contract: every instance within 1 s
# The link probes (a subscriber's is a repeated SUBSCRIBE) and the count.
IDLE = {"ping", "subscribe", "info"}


class Private:
    """A redis-server of the scenario's own, with an Admin on it."""

    def __init__(self, ctx, prefix):
        self.ctx = ctx
        self.prefix = prefix
        self.redis = H.Redis(ctx)
        self.redis.start()
        self.url = "redis://127.0.0.1:%d" % self.redis.port
        self.admin = Admin(ctx, prefix=prefix)
        self.admin.env["TOKEND_REDIS"] = self.url
        self.insts = []

    def cli(self, *args):
        r = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p",
                            str(self.redis.port)] + list(args),
                           capture_output=True, timeout=30, env=child_env())
        check_eq(r.returncode, 0, "redis-cli %s exit status" % args[0])
        return r.stdout.decode("utf-8", "replace")

    def instance(self, name, extra=()):
        t = start_instance(self.ctx, name, tls=False, workers=2,
                           args=["--prefix", self.prefix] + list(extra),
                           replace={"--redis": self.url})
        self.insts.append(t)
        return t

    def close(self):
        for t in self.insts:
            t.stop()
        self.redis.shutdown()


def commandstats(p):
    """{command: calls} from INFO commandstats of Private p."""
    out = {}
    for line in p.cli("INFO", "commandstats").splitlines():
        line = line.strip()
        if not line.startswith("cmdstat_"):
            continue
        name, rest = line[len("cmdstat_"):].split(":", 1)
        fields = dict(kv.split("=", 1) for kv in rest.split(","))
        out[name] = int(fields["calls"])
    return out


def delta(before, after):
    """Commands that ran between two commandstats, PING and INFO aside."""
    d = {}
    for k, v in after.items():
        n = v - before.get(k, 0)
        if n > 0 and k not in IDLE:
            d[k] = n
    return d


def instance(ctx, name, prefix, extra=()):
    return start_instance(ctx, name, tls=False, workers=2,
                          args=["--prefix", prefix] + list(extra))


def wait_token(t, cid, secret, what):
    """Poll until a token is issued (the view is read at start)."""
    def ok():
        r = token_request(t, client=(cid, secret))
        return r.status == 200, "%d %s" % (r.status, short(r.body))
    wait_for(ok, 5.0, what)


def wait_ready(*insts):
    """Until /readyz (the views current) is 200 on 6 new connections in a
    row at each instance, so that both workers have read theirs."""
    def ok():
        for t in insts:
            for i in range(6):
                r = t.request("GET", "/readyz")
                if r.status != 200:
                    return False, "%s: %d %s" % (t.name, r.status,
                                                 short(r.body))
        return True, None
    wait_for(ok, 5.0, "views read at start")


def many_tokens(t, cid, secret, n, what, scope=None):
    conn = t.connection()
    try:
        for i in range(n):
            f = {"grant_type": "client_credentials"}
            if scope is not None:
                f["scope"] = scope
            r = token_request(t, f, client=(cid, secret), conn=conn)
            check_eq(r.status, 200, "%s: token %d (body %s)"
                     % (what, i + 1, short(r.body)))
    finally:
        conn.close()


@scenario("clientview_no_redis_command", timeout=60)
def no_redis_command(ctx):
    p = Private(ctx, uid("cv") + ":")
    try:
        no_redis_command_in(ctx, p)
    finally:
        p.close()


def no_redis_command_in(ctx, p):
    cid = uid("it-cv")
    secret = p.admin.add(cid, "--scopes", "read write")
    t = p.instance("cv-norc")
    wait_token(t, cid, secret, "first token")
    wait_ready(t)
    # Every worker's view must have it: a few new connections first.
    for i in range(4):
        get_token(t, cid, secret)
    before = commandstats(p)
    t0 = time.monotonic()
    many_tokens(t, cid, secret, 200, "known client", scope="read")
    dt = time.monotonic() - t0
    conn = t.connection()
    try:
        for i in range(50):
            r = authorize(t, cid, secret, conn=conn)
            check_eq(r.status, 200, "/authorize %d (body %s)"
                     % (i + 1, short(r.body)))
            check_eq(Jws(r.json["token"]).claims.get("client_id"), cid,
                     "/authorize token's client_id")
    finally:
        conn.close()
    d = delta(before, commandstats(p))
    ctx.vlog("200 tokens in %.2f s; Redis commands meanwhile: %r" % (dt, d))
    check_eq(d, {}, "Redis commands during 200 /oauth/token + 50 "
             "/authorize for a known client")


@scenario("clientview_miss_path", timeout=60)
def miss_path(ctx):
    p = Private(ctx, uid("cv") + ":")
    try:
        miss_path_in(ctx, p)
    finally:
        p.close()


def miss_path_in(ctx, p):
    prefix, admin = p.prefix, p.admin
    seed = uid("it-cv-seed")
    seed_secret = admin.add(seed)
    a = p.instance("cv-miss-a", NO_LIMIT)
    b = p.instance("cv-miss-b", NO_LIMIT)
    wait_token(a, seed, seed_secret, "A ready")
    wait_token(b, seed, seed_secret, "B ready")
    wait_ready(a, b)

    # A record the view cannot know: written, not announced.
    cid = uid("it-cv-quiet")
    secret = uid("quiet-secret-") + "x" * 32
    salt = os.urandom(16)
    h = "hmac-sha256:%s:%s" % (salt.hex(), hmac.new(
        salt, secret.encode(), hashlib.sha256).hexdigest())
    p.cli("HSET", prefix + "client:" + cid, "secret", h,
          "scopes", "read", "created_at", "1700000000")
    p.cli("SADD", prefix + "clients", cid)
    before = commandstats(p)
    r = token_request(a, client=(cid, secret))
    check_eq(r.status, 200, "unannounced client at A (body %s)"
             % short(r.body))
    d = delta(before, commandstats(p))
    check_eq(d, {"hgetall": 1}, "commands for the miss (record read once)")

    # Announced: from the view from then on.
    p.cli("PUBLISH", prefix + "events", "client " + cid)
    time.sleep(PROPAGATION)
    before = commandstats(p)
    many_tokens(a, cid, secret, 100, "announced client at A")
    many_tokens(b, cid, secret, 100, "announced client at B")
    check_eq(delta(before, commandstats(p)), {},
             "commands for 200 tokens of the announced client")

    # The admin script announces by itself; the token works at once.
    cid2 = uid("it-cv-new")
    secret2 = admin.add(cid2, "--scopes", "read")
    for t in (a, b):
        r = token_request(t, client=(cid2, secret2))
        check_eq(r.status, 200, "new client at %s at once (body %s)"
                 % (t.name, short(r.body)))
    time.sleep(PROPAGATION)
    before = commandstats(p)
    many_tokens(a, cid2, secret2, 100, "new client at A")
    many_tokens(b, cid2, secret2, 100, "new client at B")
    check_eq(delta(before, commandstats(p)), {},
             "commands for 200 tokens of the new client")


def fresh_status(t, cid, secret, scope=None):
    """A token request on a new connection: (status, error)."""
    f = {"grant_type": "client_credentials"}
    if scope is not None:
        f["scope"] = scope
    r = token_request(t, f, client=(cid, secret))
    err = r.json.get("error") if isinstance(r.json, dict) else None
    return r.status, err


def until_all(insts, cid, secret, want, what, scope=None, rounds=4):
    """Within PROPAGATION, `rounds` requests in a row at every instance
    answer want (status, error)."""
    def ok():
        for t in insts:
            for i in range(rounds):
                got = fresh_status(t, cid, secret, scope)
                if got != want:
                    return False, "%s: %r" % (t.name, got)
        return True, None
    took = wait_for(ok, PROPAGATION, what)
    return took


@scenario("clientview_admin_changes", timeout=90)
def admin_changes(ctx):
    prefix = uid("cv") + ":"
    admin = Admin(ctx, prefix=prefix)
    cid = uid("it-cv-adm")
    old = admin.add(cid, "--scopes", "read write")
    a = instance(ctx, "cv-adm-a", prefix, NO_LIMIT)
    b = instance(ctx, "cv-adm-b", prefix, NO_LIMIT)
    both = (a, b)
    wait_token(a, cid, old, "A ready")
    wait_token(b, cid, old, "B ready")
    ok = (200, None)
    refused = (401, "invalid_client")

    new = admin.rotate(cid)
    check(new != old, "rotate gave the same secret")
    for t in both:
        check_eq(fresh_status(t, cid, new), ok,
                 "new secret at %s right after rotate" % t.name)
    took = until_all(both, cid, old, refused, "old secret refused at both")
    ctx.vlog("old secret refused everywhere %.3f s after rotate" % took)
    until_all(both, cid, new, ok, "new secret at both")
    r = authorize(a, cid, old)
    check_eq(r.status, 401, "/authorize with the old secret")

    admin.disable(cid)
    took = until_all(both, cid, new, refused, "disabled client refused")
    ctx.vlog("disabled client refused everywhere %.3f s after" % took)
    for t in both:
        check_eq(authorize(t, cid, new).status, 401,
                 "/authorize of the disabled client at %s" % t.name)
    admin.enable(cid)
    until_all(both, cid, new, ok, "enabled client served")

    admin.set(cid, "--scopes", "read")
    until_all(both, cid, new, (400, "invalid_scope"), "scope removed",
              scope="write")
    until_all(both, cid, new, ok, "remaining scope", scope="read")

    admin.remove(cid)
    until_all(both, cid, new, refused, "removed client refused")


@scenario("clientview_lock_everywhere", timeout=60)
def lock_everywhere(ctx):
    p = Private(ctx, uid("cv") + ":")
    try:
        lock_everywhere_in(ctx, p)
    finally:
        p.close()


def lock_everywhere_in(ctx, p):
    extra = ["--auth-fail-limit", "3", "--auth-fail-window", "4",
             "--trusted-proxies", "127.0.0.1"]
    cid = uid("it-cv-lock")
    secret = p.admin.add(cid)
    a = p.instance("cv-lock-a", extra)
    b = p.instance("cv-lock-b", extra)
    wait_token(a, cid, secret, "A ready")
    wait_token(b, cid, secret, "B ready")
    wait_ready(a, b)

    def attempt(t, s, addr):
        return token_request(t, client=(cid, s),
                             headers={"X-Forwarded-For": addr})

    for n in range(3):
        r = attempt(a, "w" * 40, "10.5.5.5")
        expect_json_error(r, 401, "failure %d" % (n + 1), "invalid_client")
    now_ms = time.time() * 1000
    out = p.cli("ZSCORE", p.prefix + "locked", "10.5.5.5").strip()
    check(out != "", "10.5.5.5 not in P locked")
    left = float(out) - now_ms
    check(2500 < left <= 4100, "lock of 10.5.5.5 ends in %.0f ms, want "
          "about 4000" % left)
    pttl = int(p.cli("PTTL", p.prefix + "locked").strip())
    check(0 < pttl <= 4000, "P locked expires in %d ms" % pttl)
    before = commandstats(p)
    ra = 0
    for t in (a, b, a, b):
        r = attempt(t, secret, "10.5.5.5")
        expect_json_error(r, 429, "right secret from the locked address "
                          "at %s" % t.name, "too_many_requests")
        v = r.header("Retry-After")
        check(v is not None and v.isdigit() and 1 <= int(v) <= 4,
              "Retry-After %r" % v)
        ra = max(ra, int(v))
    check_eq(delta(before, commandstats(p)), {},
             "Redis commands for four 429s")
    r = attempt(b, secret, "10.6.6.6")
    check_eq(r.status, 200, "another address at B (body %s)" % short(r.body))
    time.sleep(ra + 0.3)
    check_eq(p.cli("EXISTS", p.prefix + "locked").strip(), "0",
             "P locked after its last lock ended")
    for t in (a, b):
        r = attempt(t, secret, "10.5.5.5")
        check_eq(r.status, 200, "after the lock at %s (body %s)"
                 % (t.name, short(r.body)))
