"""
POST /authorize: the original service's issuing call.

Setup: the shared instance "tokens" (see test_token.py: ES256, TLS,
--workers 2, --auth-fail-limit 0); clients made with scripts/tokend-client.

Expected:
- authorize_json: JSON {"client_id","client_secret"} -> 200, JSON, exactly
  {"success":true,"client_id":ID,"token":JWT}, Cache-Control: no-store; the
  token is the kind /oauth/token issues (header {alg ES256, typ at+jwt,
  kid}, iss, sub, client_id, aud, exp = iat + 3600, jti) and carries all of
  the client's scopes ("read write admin"); its kid is the JWKS key's.
- authorize_form: the same with a form-encoded body, and with a JSON body
  sent without a Content-Type.
- authorize_errors: wrong secret, unknown client, disabled client -> 401
  with the body exactly {"success":false,"error":"invalid_client"} (the
  same bytes for all three); invalid JSON (truncated, trailing garbage, a
  JSON array, single quotes), invalid UTF-8 inside a JSON string (0xFF
  0xFE, the overlong 0xC0 0xAF, the UTF-8-encoded surrogate 0xED 0xA0
  0x80: RFC 8259 8.1, RFC 3629 3), a bad %-escape in a form body -> 400
  {"success":false,"error":"invalid_request"}; an unpaired \\ud800
  escape -> 400 or 401; Content-Type text/plain -> 400; no 5xx anywhere;
  the instance still answers afterwards.
"""

import json

from jwt_helpers import (Admin, FORM, Jws, authorize, check_token_claims,
                         form, issuer_of, jwk_thumbprint, jwks,
                         tokens_instance, uid)
from tokend_harness import check, check_eq, scenario, short

INVALID_CLIENT = {"success": False, "error": "invalid_client"}
INVALID_REQUEST = {"success": False, "error": "invalid_request"}


def check_success(t, r, cid, scope, what):
    check_eq(r.status, 200, what + ": status (body %s)" % short(r.body))
    check_eq(r.content_type(), "application/json", what + ": Content-Type")
    check_eq(r.header("Cache-Control"), "no-store", what + ": Cache-Control")
    j = r.json
    check(isinstance(j, dict), what + ": body is not a JSON object")
    check_eq(sorted(j), ["client_id", "success", "token"], what + ": members")
    check(j["success"] is True, what + ": success is %r" % j["success"])
    check_eq(j["client_id"], cid, what + ": client_id")
    jws = Jws(j["token"])
    issuer = issuer_of(t)
    kid = jwk_thumbprint(jwks(t)["keys"][0])
    check_token_claims(jws, issuer, cid, issuer, 3600, scope=scope, kid=kid,
                       what=what + " token")
    return jws


@scenario("authorize_json")
def authorize_json(ctx):
    t = tokens_instance(ctx)
    admin = Admin(ctx)
    cid = uid("it-auth")
    secret = admin.add(cid, "--scopes", "read write admin")
    r = authorize(t, cid, secret)
    check_success(t, r, cid, "read write admin", "JSON /authorize")


@scenario("authorize_form")
def authorize_form(ctx):
    t = tokens_instance(ctx)
    admin = Admin(ctx)
    cid = uid("it-authf")
    secret = admin.add(cid, "--scopes", "one")
    r = authorize(t, cid, secret, as_json=False)
    check_success(t, r, cid, "one", "form /authorize")
    body = json.dumps({"client_id": cid, "client_secret": secret})
    r = t.request("POST", "/authorize", body=body.encode())
    check_success(t, r, cid, "one", "JSON /authorize without Content-Type")


@scenario("authorize_errors")
def authorize_errors(ctx):
    t = tokens_instance(ctx)
    admin = Admin(ctx)
    cid = uid("it-autherr")
    secret = admin.add(cid, "--scopes", "read")
    off = uid("it-autherr-off")
    osecret = admin.add(off)
    admin.disable(off)

    bodies = []
    for label, (i, s) in (("wrong secret", (cid, secret + "x")),
                          ("unknown client", (uid("it-nobody"), secret)),
                          ("disabled client", (off, osecret))):
        r = authorize(t, i, s)
        check_eq(r.status, 401, label + ": status (%s)" % short(r.body))
        check_eq(r.content_type(), "application/json",
                 label + ": Content-Type")
        check_eq(r.json, INVALID_CLIENT, label + ": body")
        bodies.append(r.body)
        r = authorize(t, i, s, as_json=False)
        check_eq((r.status, r.json), (401, INVALID_CLIENT),
                 label + " (form): status and body")
    check(bodies[0] == bodies[1] == bodies[2],
          "401 bodies differ: %s" % [short(b) for b in bodies])

    j = "application/json"
    bad = [
        ("truncated JSON", j, b'{"client_id":"%s","client_secret":'
         % cid.encode()),
        ("trailing garbage", j, json.dumps(
            {"client_id": cid, "client_secret": secret}).encode() + b"}x"),
        ("a JSON array", j, json.dumps([cid, secret]).encode()),
        ("single quotes", j, ("{'client_id':'%s','client_secret':'%s'}"
                              % (cid, secret)).encode()),
        ("raw invalid UTF-8 in a string", j,
         b'{"client_id":"' + cid.encode() + b'","client_secret":"\xff\xfe'
         + secret.encode() + b'"}'),
        ("overlong UTF-8 in a string", j,
         b'{"client_id":"\xc0\xaf' + cid.encode() + b'","client_secret":"'
         + secret.encode() + b'"}'),
        ("UTF-8-encoded surrogate in a string", j,
         b'{"client_id":"' + cid.encode() + b'\xed\xa0\x80",'
         b'"client_secret":"' + secret.encode() + b'"}'),
        ("bad %-escape in a form", FORM, b"client_id=%ZZ&client_secret=x"),
    ]
    problems = []
    for label, ct, body in bad:
        r = t.request("POST", "/authorize", body=body,
                      headers={"Content-Type": ct})
        check(r.status < 500, label + ": status %d (%s)"
              % (r.status, short(r.body)))
        if (r.status, r.json) != (400, INVALID_REQUEST):
            problems.append("%s: %d %s, expected 400 %s" % (
                label, r.status, short(r.body), json.dumps(INVALID_REQUEST)))
    # An unpaired surrogate escape is valid JSON syntax but no Unicode
    # string: refused one way or the other, never a 5xx.
    r = t.request("POST", "/authorize", body=(
        '{"client_id":"\\ud800%s","client_secret":"%s"}' % (cid, secret)
    ).encode(), headers={"Content-Type": j})
    check(r.status in (400, 401), "unpaired \\ud800: status %d (%s)"
          % (r.status, short(r.body)))
    check_eq(r.json, INVALID_REQUEST if r.status == 400 else INVALID_CLIENT,
             "unpaired \\ud800: body")
    r = t.request("POST", "/authorize", body=form(
        {"client_id": cid, "client_secret": secret}).encode(),
        headers={"Content-Type": "text/plain"})
    check(r.status == 400, "Content-Type text/plain: status %d (%s)"
          % (r.status, short(r.body)))
    check(t.running(), "tokend exited")
    check_success(t, authorize(t, cid, secret), cid, "read",
                  "/authorize afterwards")
    check(not problems, "; ".join(problems))
