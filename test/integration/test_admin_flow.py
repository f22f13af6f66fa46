"""
scripts/tokend-client and a running tokend: what an admin changes in
Redis is what the next token request sees.

Setup: the shared instance "tokens" (see test_token.py); each client is
made with scripts/tokend-client under the default prefix. Every expected
state must hold within 1 s of the admin call (tokend reads the record per
request today; a record cache would have to follow the events channel).

Expected:
- admin_lifecycle: add -> 200 (Basic and post); rotate -> the old secret
  401 invalid_client, the new one 200; disable -> 401 (also on
  /authorize); enable -> 200 again; remove -> 401.
- admin_set_fields: set --scopes "b c" -> tokens carry "b c" and scope
  "a" -> 400 invalid_scope; set --scopes '' -> no scope member, no scope
  claim; set --ttl 60 -> expires_in 60, exp = iat + 60; set --ttl 0 ->
  back to 3600; set --audience urn:x -> aud urn:x; set --audience '' ->
  aud back to the issuer; set --claims '{"tier":"gold"}' -> claim tier;
  set --claims '{}' -> no tier claim.
"""

import time

from jwt_helpers import (Admin, Jws, authorize, issuer_of, token_request,
                         tokens_instance, uid)
from tokend_harness import (check, check_eq, expect_json_error, fail,
                            scenario, short)

SETTLE = 1.0        # seconds an admin change may take to be seen


def eventually(fn, what):
    """fn() -> (ok, detail); retried for SETTLE seconds."""
    t0 = time.monotonic()
    while True:
        ok, detail = fn()
        if ok:
            return detail
        if time.monotonic() - t0 > SETTLE:
            fail("%s: %s" % (what, detail))
        time.sleep(0.05)


def status_is(t, creds, status, post=False):
    def fn():
        r = token_request(t, client=None if post else creds,
                          post=creds if post else None)
        return r.status == status, r
    r = eventually(fn, "expected %d for %s" % (status, creds[0]))
    if status == 401:
        expect_json_error(r, 401, "token request", "invalid_client")
    return r


def token_where(t, creds, pred, what):
    """A token response whose (json, claims) satisfies pred."""
    def fn():
        r = token_request(t, client=creds)
        if r.status != 200:
            return False, "status %d %s" % (r.status, short(r.body))
        c = Jws(r.json["access_token"]).claims
        return bool(pred(r.json, c)), "response %s claims %s" % (
            short(r.json, 100), short(str(c), 300))
    return eventually(fn, what)


@scenario("admin_lifecycle")
def lifecycle(ctx):
    t = tokens_instance(ctx)
    admin = Admin(ctx)
    cid = uid("it-life")
    s1 = admin.add(cid, "--scopes", "a")
    status_is(t, (cid, s1), 200)
    status_is(t, (cid, s1), 200, post=True)

    s2 = admin.rotate(cid)
    check(s2 != s1, "rotate printed the old secret")
    status_is(t, (cid, s1), 401)
    status_is(t, (cid, s1), 401, post=True)
    status_is(t, (cid, s2), 200)

    admin.disable(cid)
    status_is(t, (cid, s2), 401)
    r = authorize(t, cid, s2)
    check_eq((r.status, r.json), (401, {"success": False,
                                        "error": "invalid_client"}),
             "/authorize for a disabled client")
    admin.enable(cid)
    status_is(t, (cid, s2), 200)
    r = authorize(t, cid, s2)
    check_eq(r.status, 200, "/authorize after enable (%s)" % short(r.body))

    admin.remove(cid)
    status_is(t, (cid, s2), 401)
    status_is(t, (cid, s1), 401)


@scenario("admin_set_fields")
def set_fields(ctx):
    t = tokens_instance(ctx)
    admin = Admin(ctx)
    issuer = issuer_of(t)
    cid = uid("it-set")
    s = admin.add(cid, "--scopes", "a")
    creds = (cid, s)
    token_where(t, creds, lambda j, c: j.get("scope") == "a" and
                c.get("scope") == "a", "initial scope")

    admin.set(cid, "--scopes", "b c")
    token_where(t, creds, lambda j, c: j.get("scope") == "b c" and
                c.get("scope") == "b c", "after set --scopes 'b c'")
    r = token_request(t, {"grant_type": "client_credentials", "scope": "a"},
                      client=creds)
    expect_json_error(r, 400, "scope a after set --scopes 'b c'",
                      "invalid_scope")
    admin.set(cid, "--scopes", "")
    token_where(t, creds, lambda j, c: "scope" not in j and
                "scope" not in c, "after set --scopes ''")

    admin.set(cid, "--ttl", "60")
    token_where(t, creds, lambda j, c: j.get("expires_in") == 60 and
                c["exp"] - c["iat"] == 60, "after set --ttl 60")
    admin.set(cid, "--ttl", "0")
    token_where(t, creds, lambda j, c: j.get("expires_in") == 3600 and
                c["exp"] - c["iat"] == 3600, "after set --ttl 0")

    admin.set(cid, "--audience", "urn:x")
    token_where(t, creds, lambda j, c: c.get("aud") == "urn:x",
                "after set --audience urn:x")
    admin.set(cid, "--audience", "")
    token_where(t, creds, lambda j, c: c.get("aud") == issuer,
                "after set --audience ''")

    admin.set(cid, "--claims", '{"tier":"gold"}')
    token_where(t, creds, lambda j, c: c.get("tier") == "gold",
                "after set --claims '{\"tier\":\"gold\"}'")
    admin.set(cid, "--claims", "{}")
    base = {"iss", "sub", "client_id", "client_gen", "aud", "iat", "exp",
            "jti"}
    token_where(t, creds, lambda j, c: set(c) == base,
                "after set --claims '{}' (only the registered claims)")
