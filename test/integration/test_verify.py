"""
GET or POST /verify: the original service's verifying call and the hook
of gateways.

Setup: the shared instance "tokens" (see test_token.py: ES256 with the
harness's signing key, TLS, --workers 2, --auth-fail-limit 0). Clients are
made with scripts/tokend-client, each with a fresh id; tokens come from
/oauth/token (and one from /authorize).

Expected:
- verify_ways: the token is taken from "Authorization: Bearer <t>" (also
  "bearer" in lower case), a bare "Authorization: <t>", `token` in a form
  body and in a JSON body (POST), and a POST with only the header: each
  answers 200 {"valid":true,"claims":C} with C exactly the token's claims,
  Content-Type application/json, Cache-Control: no-store, and exactly one
  X-Token-Client-Id (= client_id), X-Token-Sub (= sub), X-Token-Scope
  (= scope). A token from /authorize verifies too. A header and a body
  token at once -> 400 invalid_request (both when they are the same
  token). No token (GET without Authorization, POST with an empty form,
  Authorization: Basic ...) -> 401 {"valid":false,"error":"invalid_token"}
  with exactly WWW-Authenticate: Bearer realm="tokend". A tampered token ->
  401 with WWW-Authenticate: Bearer error="invalid_token" and
  error_description "token rejected: bad_signature", and the log has an
  event=verify_failed reason=bad_signature line. PUT and DELETE /verify ->
  405 with an Allow header naming GET and POST.
- verify_scope: a token with "read write": ?scope=read, ?scope=read+write,
  ?scope=write+read, ?scope= (empty) -> 200; ?scope=admin -> 403
  {"valid":false,"error":"insufficient_scope"} with exactly
  WWW-Authenticate: Bearer error="insufficient_scope", scope="admin";
  ?scope=read+admin -> 403 naming "read admin"; ?scope=rea (a prefix) ->
  403. A token of a client without scopes (no scope claim): 200 with
  X-Token-Scope empty, and ?scope=read -> 403. A tampered token with
  ?scope=admin -> 401 (invalid before insufficient). The same through POST
  with a form body.
- Every scenario: no whole token (nor its signature, nor header.payload)
  in the instance's log.
"""

import json

from jwt_helpers import (BEARER_NO_TOKEN, FORM, Admin, Jws, authorize,
                         b64url, check_no_store, check_no_token_logged,
                         expect_rejected, expect_valid, get_token,
                         tokens_instance, uid, verify_request)
from tokend_harness import (check, check_eq, expect_json_error, scenario,
                            short)


def tamper(tok):
    """The token with its payload's scope widened (signature kept)."""
    c = dict(Jws(tok).claims)
    c["scope"] = "read write admin"
    h, _, s = tok.split(".")
    return h + "." + b64url(json.dumps(c, separators=(",", ":")).encode()) \
        + "." + s


def expect_no_token(r, what):
    check_eq(r.status, 401, what + ": status (body %s)" % short(r.body))
    check_no_store(r, what)
    check(isinstance(r.json, dict) and r.json.get("valid") is False and
          r.json.get("error") == "invalid_token",
          what + ": body %s" % short(r.body))
    check_eq(r.header_all("WWW-Authenticate"), [BEARER_NO_TOKEN],
             what + ": WWW-Authenticate")


def expect_insufficient(r, scope, what):
    check_eq(r.status, 403, what + ": status (body %s)" % short(r.body))
    check_no_store(r, what)
    check(isinstance(r.json, dict) and r.json.get("valid") is False and
          r.json.get("error") == "insufficient_scope",
          what + ": body %s" % short(r.body))
    check_eq(r.header_all("WWW-Authenticate"),
             ['Bearer error="insufficient_scope", scope="%s"' % scope],
             what + ": WWW-Authenticate")
    check(not r.header_all("X-Token-Client-Id"),
          what + ": X-Token-Client-Id on a 403")


@scenario("verify_ways")
def ways(ctx):
    t = tokens_instance(ctx)
    admin = Admin(ctx)
    cid = uid("it-ver")
    secret = admin.add(cid, "--scopes", "read write")
    _, tok = get_token(t, cid, secret)
    claims = Jws(tok).claims
    tokens = [tok]

    for how in ("bearer", "bare", "form", "json"):
        c = expect_valid(verify_request(t, tok, how), claims,
                         "/verify, token by %s" % how)
        check_eq(c["client_id"], cid, "claims client_id")
    expect_valid(verify_request(t, tok, "none", headers={
        "Authorization": "bearer " + tok}), claims, "/verify, 'bearer'")
    expect_valid(verify_request(t, tok, "bearer", method="POST"), claims,
                 "POST /verify with only the header")

    r = authorize(t, cid, secret)
    check_eq(r.status, 200, "/authorize (%s)" % short(r.body))
    atok = r.json["token"]
    tokens.append(atok)
    expect_valid(verify_request(t, atok), Jws(atok).claims,
                 "/verify of an /authorize token")

    # Two tokens at once.
    for body_how, ct, body in (
            ("form", FORM, "token=" + tok),
            ("json", "application/json", '{"token":"%s"}' % atok)):
        r = t.request("POST", "/verify", body=body.encode(), headers={
            "Authorization": "Bearer " + tok, "Content-Type": ct})
        expect_json_error(r, 400, "header and %s token" % body_how,
                          "invalid_request")
        check_no_store(r, "header and %s token" % body_how)

    # No token.
    expect_no_token(verify_request(t, None, "none"), "GET without a token")
    expect_no_token(t.request("POST", "/verify", body=b"",
                              headers={"Content-Type": FORM}),
                    "POST with an empty form")
    expect_no_token(verify_request(t, None, "none", headers={
        "Authorization": "Basic " + "eDp5"}), "Authorization: Basic")

    # A rejected one: the reason in the answer and in the log.
    off = t.log_offset()
    bad = tamper(tok)
    tokens.append(bad)
    expect_rejected(verify_request(t, bad), "bad_signature",
                    "/verify of a tampered token")
    expect_rejected(verify_request(t, bad, "form"), "bad_signature",
                    "POST /verify of a tampered token")
    t.wait_log(r"event=verify_failed reason=bad_signature\b", off)

    for m in ("PUT", "DELETE"):
        r = t.request(m, "/verify", headers={"Authorization": "Bearer " + tok})
        expect_json_error(r, 405, m + " /verify")
        allow = {a.strip() for a in (r.header("Allow") or "").split(",")}
        check({"GET", "POST"} <= allow, "%s /verify: Allow %r"
              % (m, r.header("Allow")))

    check_no_token_logged([t], tokens)


@scenario("verify_scope")
def scope(ctx):
    t = tokens_instance(ctx)
    admin = Admin(ctx)
    cid = uid("it-vsc")
    secret = admin.add(cid, "--scopes", "read write")
    _, tok = get_token(t, cid, secret)
    claims = Jws(tok).claims
    check_eq(claims.get("scope"), "read write", "scope claim")

    for how in ("bearer", "form"):
        for q in ("read", "read write", "write read", "", "read read"):
            expect_valid(verify_request(t, tok, how, scope=q), claims,
                         "?scope=%s (%s)" % (q, how))
        for q, named in (("admin", "admin"), ("read admin", "read admin"),
                         ("rea", "rea"), ("write admin read",
                                          "write admin read")):
            expect_insufficient(verify_request(t, tok, how, scope=q), named,
                                "?scope=%s (%s)" % (q, how))
        expect_rejected(verify_request(t, tamper(tok), how, scope="admin"),
                        "bad_signature", "tampered token, ?scope=admin")

    # A token without a scope claim.
    cid2 = uid("it-vsc0")
    s2 = admin.add(cid2)
    _, tok2 = get_token(t, cid2, s2)
    c2 = Jws(tok2).claims
    check("scope" not in c2, "a client without scopes got scope %r"
          % c2.get("scope"))
    r = verify_request(t, tok2)
    expect_valid(r, c2, "/verify of a token without scope")
    check_eq(r.header("X-Token-Scope"), "", "X-Token-Scope of no scope")
    expect_insufficient(verify_request(t, tok2, scope="read"), "read",
                        "no scope claim, ?scope=read")

    check_no_token_logged([t], [tok, tok2, tamper(tok)])
