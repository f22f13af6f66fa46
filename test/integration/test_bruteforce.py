"""
Brute-force protection (RFC 6749 2.3.1): failed client authentications are
counted in Redis per source address (and per client_id, never used for
lockout); an address at --auth-fail-limit failures within
--auth-fail-window gets 429 + Retry-After + a JSON error, without its
secret being checked, until the window has passed.

Setup: plain-HTTP instances on the harness's Redis with
--auth-fail-limit 5 --auth-fail-window 3, each scenario under a --prefix of
its own (so its P authfail:* keys are its own); clients made with
scripts/tokend-client under that prefix. Distinct source addresses are
simulated with --trusted-proxies 127.0.0.1 and X-Forwarded-For.

Expected:
- bruteforce_lockout: for each of /oauth/token, /authorize (JSON body),
  /oauth/introspect and /oauth/revoke, from its own address (XFF
  10.1.1.N): 5 wrong secrets -> 401 (invalid_client; legacy body for
  /authorize); the 6th attempt, with the RIGHT secret -> 429 with
  Retry-After (integer, 1..3), Cache-Control: no-store, a JSON body
  {"error":"too_many_requests","error_description":...} (/authorize:
  exactly {"success":false,"error":"too_many_requests"}); a second instance
  sharing the Redis answers 429 too; the same client from 10.2.2.2 gets
  200 (its client counter, 20 by then, never locks it out). Redis holds
  P authfail:ip:10.1.1.N = 5 with a TTL <= 3 and P authfail:client:ID = 20.
  The log has event=auth_failed ... client=10.1.1.N ... fails_ip=N
  fails_client=M lines and event=auth_rate_limited client=10.1.1.1 exactly
  once over both instances. After Retry-After seconds the right secret
  works again from every locked address.
- bruteforce_untrusted_xff: without --trusted-proxies, X-Forwarded-For is
  ignored: 5 failures with XFF 10.7.7.7 lock out 127.0.0.1 (the right
  secret with XFF 10.8.8.8 -> 429); P authfail:ip:127.0.0.1 exists and no
  key names 10.7.7.7. With --trusted-proxies 10.0.0.0/8 (the peer
  127.0.0.1 is not one) the same.
- bruteforce_success_no_reset: 4 failures, a success (200), the counters
  still 4; a 5th failure -> 401; then the right secret -> 429.
- bruteforce_off: --auth-fail-limit 0: 12 wrong secrets -> 12 401s, the
  right one -> 200, and no P authfail:* key in Redis.
"""

import json
import time

from jwt_helpers import (FORM, Admin, basic, form, redis_cli, start_instance,
                         uid)
from tokend_harness import check, check_eq, expect_json_error, scenario, short

LIMIT = 5
WINDOW = 3


def instance(ctx, name, prefix, extra=()):
    return start_instance(ctx, name, tls=False, workers=2,
                          args=["--prefix", prefix,
                                "--auth-fail-limit", str(LIMIT),
                                "--auth-fail-window", str(WINDOW)]
                          + list(extra))


def attempt(t, path, cid, secret, xff=None):
    """One client authentication at path (Basic, or the JSON body for
    /authorize) from X-Forwarded-For xff."""
    h = {}
    if xff is not None:
        h["X-Forwarded-For"] = xff
    if path == "/authorize":
        h["Content-Type"] = "application/json"
        body = json.dumps({"client_id": cid, "client_secret": secret})
    else:
        h["Content-Type"] = FORM
        h["Authorization"] = basic(cid, secret)
        fields = {"grant_type": "client_credentials"} \
            if path == "/oauth/token" else {"token": "not.a.token"}
        body = form(fields)
    return t.request("POST", path, body=body.encode(), headers=h)


def expect_failed(r, path, what):
    if path == "/authorize":
        check_eq(r.status, 401, what + ": status (body %s)" % short(r.body))
        check_eq(r.json, {"success": False, "error": "invalid_client"},
                 what + ": body")
    else:
        expect_json_error(r, 401, what, "invalid_client")


def expect_ok(r, path, what):
    check_eq(r.status, 200, what + ": status (body %s)" % short(r.body))
    if path == "/authorize":
        check_eq(r.json.get("success"), True, what + ": success")


def expect_limited(r, path, what):
    check_eq(r.status, 429, what + ": status (body %s)" % short(r.body))
    check_eq(r.content_type(), "application/json", what + ": Content-Type")
    check_eq(r.header("Cache-Control"), "no-store", what + ": Cache-Control")
    ra = r.header("Retry-After")
    check(ra is not None and ra.isdigit() and 1 <= int(ra) <= WINDOW,
          "%s: Retry-After %r, want 1..%d" % (what, ra, WINDOW))
    if path == "/authorize":
        check_eq(r.json, {"success": False, "error": "too_many_requests"},
                 what + ": body")
    else:
        expect_json_error(r, 429, what, "too_many_requests")
        check("error_description" in r.json, what + ": no description")
    return int(ra)


def get_int(ctx, key):
    v = redis_cli(ctx, "GET", key).strip()
    return int(v) if v else None


def authfail_keys(ctx, prefix):
    out = redis_cli(ctx, "--scan", "--pattern", prefix + "authfail:*")
    return sorted(out.split())


PATHS = ["/oauth/token", "/authorize", "/oauth/introspect", "/oauth/revoke"]


@scenario("bruteforce_lockout", timeout=90)
def lockout(ctx):
    prefix = uid("bf") + ":"
    extra = ["--trusted-proxies", "127.0.0.1"]
    a = instance(ctx, "bf-a", prefix, extra)
    b = instance(ctx, "bf-b", prefix, extra)
    admin = Admin(ctx, prefix=prefix)
    cid = uid("it-bf")
    secret = admin.add(cid, "--scopes", "read")
    wrong = secret[:-1] + ("x" if secret[-1] != "x" else "y")
    off_a, off_b = a.log_offset(), b.log_offset()
    retry = 0
    for i, path in enumerate(PATHS):
        addr = "10.1.1.%d" % (i + 1)
        for n in range(LIMIT):
            expect_failed(attempt(a, path, cid, wrong, addr), path,
                          "%s: failure %d from %s" % (path, n + 1, addr))
        retry = max(retry, expect_limited(
            attempt(a, path, cid, secret, addr), path,
            "%s: right secret from locked %s" % (path, addr)))
        expect_limited(attempt(b, path, cid, secret, addr), path,
                       "%s: second instance, locked %s" % (path, addr))
        expect_ok(attempt(a, path, cid, secret, "10.2.2.2"), path,
                  "%s: right secret from 10.2.2.2" % path)
        check_eq(get_int(ctx, prefix + "authfail:ip:" + addr), LIMIT,
                 "%s: failures counted for %s" % (path, addr))
        ttl = int(redis_cli(ctx, "TTL", prefix + "authfail:ip:" +
                            addr).strip())
        check(1 <= ttl <= WINDOW, "%s: TTL of the address key %d"
              % (path, ttl))
    check_eq(get_int(ctx, prefix + "authfail:client:" + cid),
             LIMIT * len(PATHS), "per-client failure count")
    check(prefix + "authfail:ip:10.2.2.2" not in authfail_keys(ctx, prefix),
          "a success from 10.2.2.2 wrote a counter")
    log = a.log_lines(r"event=auth_failed .*client=10\.1\.1\.1 ", off_a)
    check_eq(len(log), LIMIT, "auth_failed lines for 10.1.1.1")
    check("fails_ip=5 fails_client=5" in log[-1],
          "counts in the auth_failed line: %s" % log[-1])
    limited = (a.log_lines(r"event=auth_rate_limited client=10\.1\.1\.1 ",
                           off_a) +
               b.log_lines(r"event=auth_rate_limited client=10\.1\.1\.1 ",
                           off_b))
    check_eq(len(limited), 1, "auth_rate_limited lines for 10.1.1.1")
    # The access log names the source address, and the proxy as the peer.
    check(a.log_lines(r"event=access .*client=10\.1\.1\.1 "
                      r"peer=127\.0\.0\.1 ", off_a),
          "no access line with client=10.1.1.1 peer=127.0.0.1")
    # So does a refused token at /verify (the gateway is the peer).
    off_v = a.log_offset()
    r = a.request("GET", "/verify", headers={
        "Authorization": "Bearer not.a.token",
        "X-Forwarded-For": "10.1.1.1"})
    check_eq(r.status, 401, "/verify with a malformed token")
    check(a.log_lines(r"event=verify_failed reason=\w+ jti=- "
                      r"client=10\.1\.1\.1 ", off_v),
          "no verify_failed line with client=10.1.1.1")
    # After the window every address is let in again.
    time.sleep(retry + 0.5)
    for i, path in enumerate(PATHS):
        addr = "10.1.1.%d" % (i + 1)
        expect_ok(attempt(b, path, cid, secret, addr), path,
                  "%s: right secret from %s after the window" % (path, addr))


@scenario("bruteforce_untrusted_xff", timeout=60)
def untrusted_xff(ctx):
    for extra in ([], ["--trusted-proxies", "10.0.0.0/8"]):
        prefix = uid("bf") + ":"
        t = instance(ctx, "bf-untrusted", prefix, extra)
        admin = Admin(ctx, prefix=prefix)
        cid = uid("it-bf")
        secret = admin.add(cid)
        for n in range(LIMIT):
            expect_failed(attempt(t, "/oauth/token", cid, "w" * 40,
                                  "10.7.7.7"), "/oauth/token",
                          "failure %d (XFF 10.7.7.7, %s)" % (n + 1, extra))
        expect_limited(attempt(t, "/oauth/token", cid, secret, "10.8.8.8"),
                       "/oauth/token", "right secret, XFF 10.8.8.8 (%s)"
                       % extra)
        keys = authfail_keys(ctx, prefix)
        check_eq(keys, [prefix + "authfail:client:" + cid,
                        prefix + "authfail:ip:127.0.0.1"],
                 "authfail keys (%s)" % extra)
        t.stop()


@scenario("bruteforce_success_no_reset", timeout=60)
def success_no_reset(ctx):
    prefix = uid("bf") + ":"
    t = instance(ctx, "bf-reset", prefix)
    admin = Admin(ctx, prefix=prefix)
    cid = uid("it-bf")
    secret = admin.add(cid)
    path = "/oauth/token"
    for n in range(LIMIT - 1):
        expect_failed(attempt(t, path, cid, "w" * 40), path,
                      "failure %d" % (n + 1))
    expect_ok(attempt(t, path, cid, secret), path, "success below the limit")
    check_eq(get_int(ctx, prefix + "authfail:ip:127.0.0.1"), LIMIT - 1,
             "address count after a success")
    check_eq(get_int(ctx, prefix + "authfail:client:" + cid), LIMIT - 1,
             "client count after a success")
    expect_failed(attempt(t, path, cid, "w" * 40), path,
                  "failure %d (reaches the limit)" % LIMIT)
    expect_limited(attempt(t, path, cid, secret), path,
                   "right secret over the limit")


@scenario("bruteforce_off", timeout=60)
def off(ctx):
    prefix = uid("bf") + ":"
    t = start_instance(ctx, "bf-off", tls=False,
                       args=["--prefix", prefix, "--auth-fail-limit", "0",
                             "--trusted-proxies", "127.0.0.1"])
    admin = Admin(ctx, prefix=prefix)
    cid = uid("it-bf")
    secret = admin.add(cid)
    for n in range(12):
        expect_failed(attempt(t, "/oauth/token", cid, "w" * 40, "10.9.9.9"),
                      "/oauth/token", "failure %d" % (n + 1))
    expect_ok(attempt(t, "/oauth/token", cid, secret, "10.9.9.9"),
              "/oauth/token", "right secret, limit off")
    check_eq(authfail_keys(ctx, prefix), [], "authfail keys with the limit "
             "off")
