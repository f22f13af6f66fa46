"""
Brute-force protection under parallel attack, per IPv6 prefix, and what an
unauthenticated caller can make the store hold.

Setup: TLS instances (--workers 2) on the harness's Redis with
--auth-fail-limit 5 and a window long enough to outlast the scenario,
each scenario under a --prefix of its own; clients made with
scripts/tokend-client. Source addresses come from X-Forwarded-For, believed
from the trusted proxy 127.0.0.1. "In parallel" means every connection
is opened and its TLS handshake done first, then all requests are sent at
once (a barrier), each on its own connection.

A secret check is counted by the failure it leaves: each wrong secret that
is checked is answered 401 and logged once as event=auth_failed
(reason=wrong_secret) and adds one to P authfail:ip:SOURCE; an attempt
answered 429 was refused before its secret was checked and leaves none of
the three.

Expected:
- bruteforce_parallel_one_instance: 200 wrong secrets at once from one
  address, one instance: exactly 5 answered 401 (5 auth_failed lines, the
  counter 5), the other 195 answered 429 with Retry-After (1..window) and
  a JSON too_many_requests body naming the address; then the right secret
  from that address -> 429, from another -> 200.
- bruteforce_parallel_two_instances: the same 200 split over two instances
  sharing the Redis and the prefix (100 each, all at once): at most
  5 + 2 - 1 answered 401 (the bound docs/security.md proves, within the
  contract's limit + instances), and exactly as many auth_failed lines
  over both logs and as the counter says; the rest 429.
- bruteforce_parallel_successes: 200 right secrets at once from one clean
  address (with --auth-fail-limit 1, the tightest setting): 200 x 200, no
  auth_failed line, no counter written.
- bruteforce_parallel_redis_stalled: Redis SIGSTOPped (--redis-timeout
  300) while 60 wrong secrets arrive at once from one address, resumed
  1.5 s later: each is answered 401, 429 or 503 (no other status, no
  hang), at most 5 of them 401; afterwards the instance is healthy and
  issues a token to the right secret from another address.
- bruteforce_parallel_clients_gone: 100 wrong secrets at once from one
  address on connections closed as soon as the request is sent (the
  attempts held for the table find their client gone): the instance stays
  healthy, the address ends up locked (429 for the right secret) and the
  counter says at most 5.
- bruteforce_ipv6_prefix: wrong secrets from 2001:db8:1:2::1, ::2, ::3,
  ::4 and ::5 (one /64) lock the /64: the right secret from
  2001:db8:1:2:ffff::9 -> 429 naming 2001:db8:1:2::/64; the counter is
  P authfail:ip:2001:db8:1:2::/64 = 5, P locked holds that member and the
  auth_failed lines say client=2001:db8:1:2::/64; 2001:db8:1:3::1 (another
  /64) gets 200. ::ffff:10.4.4.4 and 10.4.4.4 share one IPv4 counter
  (P authfail:ip:10.4.4.4). With --auth-fail-ipv6-prefix 128 the same
  five addresses are five counters and nothing is locked. Over a real IPv6
  connection from ::1 (when the machine has it), failures count under
  ::/64.
- bruteforce_client_id_not_stored: wrong secrets as a client id with a
  blank, as one with a character outside the id alphabet and as a
  15,000-byte id (client_secret_post; Basic headers are capped at 8 KiB) -> 401 each,
  and no P authfail:client:* key; the address counter counts them. A
  valid unknown id gets its client counter.
"""

import threading
import time

from jwt_helpers import FORM, Admin, basic, form, redis_cli, start_instance, uid
from tokend_harness import (Response, check, check_eq, expect_json_error,
                            ipv6_loopback_available, scaled, scenario, short)

LIMIT = 5
WINDOW = 60


def instance(ctx, name, prefix, extra=(), limit=LIMIT, **kw):
    return start_instance(ctx, name, workers=2,
                          args=["--prefix", prefix,
                                "--auth-fail-limit", str(limit),
                                "--auth-fail-window", str(WINDOW),
                                "--trusted-proxies", "127.0.0.1"]
                          + list(extra), **kw)


def token_attempt(cid, secret, xff=None):
    """Headers and body of one POST /oauth/token with Basic credentials."""
    h = {"Content-Type": FORM, "Authorization": basic(cid, secret)}
    if xff is not None:
        h["X-Forwarded-For"] = xff
    return h, form({"grant_type": "client_credentials"}).encode()


def parallel(jobs):
    """
    jobs: a list of (instance, headers, body). Opens one connection per
    job (TLS handshake done), then sends every request at once; returns
    the responses in order (an exception text where one failed).
    """
    conns = []
    for t, h, b in jobs:
        c = t.connection(timeout=30)
        c.connect()
        conns.append(c)
    out = [None] * len(jobs)
    barrier = threading.Barrier(len(jobs))

    def run(i):
        t, h, b = jobs[i]
        t.ctx.sensitive.from_request(h, b)
        try:
            barrier.wait(timeout=scaled(30))
            conns[i].request("POST", "/oauth/token", body=b, headers=h)
            r = conns[i].getresponse()
            data = r.read()
            resp = Response(r.status, r.getheaders(), data)
            t.ctx.sensitive.from_response(resp)
            out[i] = resp
        except Exception as e:  # reported below, per job
            out[i] = repr(e)
        finally:
            conns[i].close()

    threads = [threading.Thread(target=run, args=(i,))
               for i in range(len(jobs))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(scaled(60))
    bad = [o for o in out if not hasattr(o, "status")]
    check(not bad, "%d of %d parallel requests failed: %s"
          % (len(bad), len(jobs), bad[:3]))
    return out


def expect_limited(r, what, source):
    expect_json_error(r, 429, what, "too_many_requests")
    check_eq(r.header("Cache-Control"), "no-store", what + ": Cache-Control")
    ra = r.header("Retry-After")
    check(ra is not None and ra.isdigit() and 1 <= int(ra) <= WINDOW,
          "%s: Retry-After %r, want 1..%d" % (what, ra, WINDOW))
    desc = r.json.get("error_description", "")
    check(source in desc, "%s: the description %r does not name %s"
          % (what, desc, source))


def get_int(ctx, key):
    v = redis_cli(ctx, "GET", key).strip()
    return int(v) if v else None


def keys(ctx, pattern):
    return sorted(redis_cli(ctx, "--scan", "--pattern", pattern).split())


def failed_lines(insts, offsets, source):
    n = 0
    for t, off in zip(insts, offsets):
        n += len(t.log_lines(r"event=auth_failed .*reason=wrong_secret "
                             r"client=%s " % source.replace(".", r"\."),
                             off))
    return n


def statuses(rs):
    out = {}
    for r in rs:
        out[r.status] = out.get(r.status, 0) + 1
    return out


def attack(ctx, insts, per_instance, source, what):
    """per_instance wrong secrets from source at each of insts, all at
    once. Returns (401 count, 429 count, auth_failed lines, counter)."""
    prefix = insts[0].argv[insts[0].argv.index("--prefix") + 1]
    admin = Admin(ctx, prefix=prefix)
    cid = uid("it-par")
    secret = admin.add(cid)
    wrong = "w" * 43
    offs = [t.log_offset() for t in insts]
    jobs = []
    for t in insts:
        h, b = token_attempt(cid, wrong, source)
        jobs += [(t, h, b)] * per_instance
    rs = parallel(jobs)
    st = statuses(rs)
    ctx.vlog("%s: answers %r" % (what, st))
    check_eq(set(st) - {401, 429}, set(), what + ": statuses %r" % st)
    for r in rs:
        if r.status == 401:
            expect_json_error(r, 401, what, "invalid_client")
        else:
            expect_limited(r, what, source)
    # Every failure's log line is written before its answer.
    lines = failed_lines(insts, offs, source)
    counter = get_int(ctx, prefix + "authfail:ip:" + source)
    ctx.vlog("%s: %r, %d auth_failed lines, counter %s"
             % (what, st, lines, counter))
    # The locked address stays locked for the right secret too.
    h, b = token_attempt(cid, secret, source)
    for t in insts:
        expect_limited(t.request("POST", "/oauth/token", body=b, headers=h),
                       what + ": right secret afterwards", source)
    h, b = token_attempt(cid, secret, "10.250.0.1")
    r = insts[0].request("POST", "/oauth/token", body=b, headers=h)
    check_eq(r.status, 200, what + ": right secret from another address "
             "(body %s)" % short(r.body))
    return st.get(401, 0), st.get(429, 0), lines, counter


@scenario("bruteforce_parallel_one_instance", timeout=120)
def parallel_one(ctx):
    prefix = uid("bfp") + ":"
    t = instance(ctx, "bfp-one", prefix)
    n401, n429, lines, counter = attack(ctx, [t], 200, "10.3.3.3",
                                        "one instance")
    print("    secret checks, 200 parallel wrong attempts, one instance: "
          "%d (limit %d); 429: %d" % (n401, LIMIT, n429))
    check_eq(n401, LIMIT, "wrong secrets checked on one instance")
    check_eq(n429, 200 - LIMIT, "attempts refused without a check")
    check_eq(lines, n401, "auth_failed lines")
    check_eq(counter, n401, "P authfail:ip:10.3.3.3")


@scenario("bruteforce_parallel_two_instances", timeout=120)
def parallel_two(ctx):
    prefix = uid("bfp") + ":"
    a = instance(ctx, "bfp-a", prefix)
    b = instance(ctx, "bfp-b", prefix)
    n401, n429, lines, counter = attack(ctx, [a, b], 100, "10.3.3.4",
                                        "two instances")
    print("    secret checks, 200 parallel wrong attempts, two instances: "
          "%d (limit %d, at most %d); 429: %d" % (n401, LIMIT, LIMIT + 1,
                                                  n429))
    check(LIMIT <= n401 <= LIMIT + 2 - 1, "%d wrong secrets checked over "
          "two instances, want %d..%d" % (n401, LIMIT, LIMIT + 1))
    check_eq(n429, 200 - n401, "attempts refused without a check")
    check_eq(lines, n401, "auth_failed lines over both instances")
    check_eq(counter, n401, "P authfail:ip:10.3.3.4")


@scenario("bruteforce_parallel_successes", timeout=120)
def parallel_successes(ctx):
    prefix = uid("bfp") + ":"
    t = instance(ctx, "bfp-ok", prefix, limit=1)
    admin = Admin(ctx, prefix=prefix)
    cid = uid("it-par")
    secret = admin.add(cid)
    off = t.log_offset()
    h, b = token_attempt(cid, secret, "10.3.3.5")
    h2, b2 = token_attempt(cid, secret)         # the peer, 127.0.0.1
    rs = parallel([(t, h, b)] * 100 + [(t, h2, b2)] * 100)
    check_eq(statuses(rs), {200: 200}, "200 right secrets at once")
    check_eq(t.log_lines(r"event=auth_failed ", off), [],
             "auth_failed lines")
    check_eq(keys(ctx, prefix + "authfail:*"), [], "counters written")


@scenario("bruteforce_parallel_redis_stalled", timeout=120)
def parallel_redis_stalled(ctx):
    prefix = uid("bfp") + ":"
    t = instance(ctx, "bfp-stall", prefix, ["--redis-timeout", "300"])
    admin = Admin(ctx, prefix=prefix)
    cid = uid("it-par")
    secret = admin.add(cid)
    h, b = token_attempt(cid, "w" * 43, "10.3.3.6")
    timer = threading.Timer(1.5, ctx.redis.cont)
    ctx.redis.pause()
    try:
        timer.start()
        rs = parallel([(t, h, b)] * 60)
    finally:
        timer.cancel()
        ctx.redis.cont()
    st = statuses(rs)
    ctx.vlog("redis stalled: answers %r" % st)
    check_eq(set(st) - {401, 429, 503}, set(), "statuses %r" % st)
    check(st.get(401, 0) <= LIMIT, "%d answered 401" % st.get(401, 0))
    ok = False
    deadline = time.monotonic() + scaled(10)
    h, b = token_attempt(cid, secret, "10.250.0.2")
    while time.monotonic() < deadline and not ok:
        ok = t.request("POST", "/oauth/token", body=b,
                       headers=h).status == 200
        time.sleep(0.2)
    check(ok, "no token for the right secret after Redis came back")
    check(t.healthy(), "instance not healthy after the stall")


@scenario("bruteforce_parallel_clients_gone", timeout=120)
def parallel_clients_gone(ctx):
    prefix = uid("bfp") + ":"
    t = instance(ctx, "bfp-gone", prefix)
    admin = Admin(ctx, prefix=prefix)
    cid = uid("it-par")
    secret = admin.add(cid)
    h, b = token_attempt(cid, "w" * 43, "10.3.3.7")
    ctx.sensitive.from_request(h, b)
    raw = ("POST /oauth/token HTTP/1.1\r\nHost: localhost\r\n" +
           "".join("%s: %s\r\n" % kv for kv in h.items()) +
           "Content-Length: %d\r\n\r\n" % len(b)).encode() + b
    socks = [t.raw_socket() for _ in range(100)]
    for s in socks:
        s.sendall(raw)
    for s in socks:
        s.close()
    deadline = time.monotonic() + scaled(10)
    h, b = token_attempt(cid, secret, "10.3.3.7")
    while True:
        r = t.request("POST", "/oauth/token", body=b, headers=h)
        if r.status == 429 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    expect_limited(r, "right secret after the gone attempts", "10.3.3.7")
    n = get_int(ctx, prefix + "authfail:ip:10.3.3.7")
    check(n is not None and 1 <= n <= LIMIT, "counter %r" % n)
    check(t.healthy(), "instance not healthy")


def v6_attempts(t, cid, secret, addrs):
    out = []
    for a in addrs:
        h, b = token_attempt(cid, secret, a)
        out.append(t.request("POST", "/oauth/token", body=b, headers=h))
    return out


@scenario("bruteforce_ipv6_prefix", timeout=120)
def ipv6_prefix(ctx):
    prefix = uid("bfp") + ":"
    t = instance(ctx, "bfp-v6", prefix)
    admin = Admin(ctx, prefix=prefix)
    cid = uid("it-v6")
    secret = admin.add(cid)
    off = t.log_offset()
    block = "2001:db8:1:2::/64"
    addrs = ["2001:db8:1:2::%d" % i for i in range(1, LIMIT + 1)]
    for i, r in enumerate(v6_attempts(t, cid, "w" * 43, addrs)):
        expect_json_error(r, 401, "failure from %s" % addrs[i],
                          "invalid_client")
    r = v6_attempts(t, cid, secret, ["2001:db8:1:2:ffff::9"])[0]
    expect_limited(r, "right secret from another address of the /64",
                   block)
    r = v6_attempts(t, cid, secret, ["2001:db8:1:3::1"])[0]
    check_eq(r.status, 200, "another /64 (body %s)" % short(r.body))
    check_eq(keys(ctx, prefix + "authfail:ip:*"),
             [prefix + "authfail:ip:" + block], "address counters")
    check_eq(get_int(ctx, prefix + "authfail:ip:" + block), LIMIT,
             "the /64's counter")
    members = redis_cli(ctx, "ZRANGE", prefix + "locked", "0", "-1").split()
    check_eq(members, [block], "P locked")
    check_eq(len(t.log_lines(r"event=auth_failed .*client=2001:db8:1:2::/64 ",
                             off)), LIMIT, "auth_failed lines naming the /64")
    check_eq(len(t.log_lines(r"event=auth_rate_limited "
                             r"client=2001:db8:1:2::/64 ", off)), 1,
             "auth_rate_limited line naming the /64")
    # An IPv4-mapped IPv6 address counts as the IPv4 address.
    for a in ["::ffff:10.4.4.4", "10.4.4.4", "[::ffff:10.4.4.4]"]:
        check_eq(v6_attempts(t, cid, "w" * 43, [a])[0].status, 401,
                 "failure from %s" % a)
    check_eq(get_int(ctx, prefix + "authfail:ip:10.4.4.4"), 3,
             "IPv4 and IPv4-mapped share a counter")
    t.stop()

    # Per address: five counters, no lock.
    prefix = uid("bfp") + ":"
    t = instance(ctx, "bfp-v6-128", prefix,
                 ["--auth-fail-ipv6-prefix", "128"])
    admin = Admin(ctx, prefix=prefix)
    secret = admin.add(cid)
    for r in v6_attempts(t, cid, "w" * 43, addrs):
        check_eq(r.status, 401, "failure under /128")
    check_eq(v6_attempts(t, cid, secret, ["2001:db8:1:2::1"])[0].status, 200,
             "right secret under /128 after one failure from it")
    check_eq(keys(ctx, prefix + "authfail:ip:*"),
             sorted(prefix + "authfail:ip:" + a + "/128" for a in addrs),
             "counters under /128")
    t.stop()

    # A real IPv6 peer (no X-Forwarded-For).
    if ipv6_loopback_available():
        prefix = uid("bfp") + ":"
        t = instance(ctx, "bfp-v6-peer", prefix, host="::1")
        admin = Admin(ctx, prefix=prefix)
        secret = admin.add(cid)
        for _ in range(LIMIT):
            r = v6_attempts(t, cid, "w" * 43, [None])[0]
            check_eq(r.status, 401, "failure from ::1")
        expect_limited(v6_attempts(t, cid, secret, [None])[0],
                       "right secret from ::1 after the limit", "::/64")
        check_eq(get_int(ctx, prefix + "authfail:ip:::/64"), LIMIT,
                 "counter of ::1's /64")
        t.stop()


@scenario("bruteforce_client_id_not_stored", timeout=60)
def client_id_not_stored(ctx):
    prefix = uid("bfp") + ":"
    t = instance(ctx, "bfp-id", prefix, limit=100)
    # The long one is no run of one character: its first 64 bytes are
    # logged, and other scenarios use such runs as wrong secrets.
    ids = ["bad id", "a/b", "id-9f3k2" * 1875]
    for cid in ids:
        body = form({"grant_type": "client_credentials", "client_id": cid,
                     "client_secret": "w" * 43}).encode()
        r = t.request("POST", "/oauth/token", body=body, headers={
            "Content-Type": FORM, "X-Forwarded-For": "10.5.5.5"})
        expect_json_error(r, 401, "client id of %d bytes" % len(cid),
                          "invalid_client")
    check_eq(keys(ctx, prefix + "authfail:client:*"), [],
             "client counters for invalid ids")
    check_eq(get_int(ctx, prefix + "authfail:ip:10.5.5.5"), len(ids),
             "the address counter")
    big = max(len(k) for k in keys(ctx, prefix + "*"))
    check(big < 256, "a key of %d bytes" % big)
    h, b = token_attempt("valid-unknown.id", "w" * 43, "10.5.5.5")
    check_eq(t.request("POST", "/oauth/token", body=b, headers=h).status,
             401, "a valid unknown id")
    check_eq(keys(ctx, prefix + "authfail:client:*"),
             [prefix + "authfail:client:valid-unknown.id"],
             "the valid id's counter")
