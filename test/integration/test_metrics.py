"""
GET /metrics: the Prometheus text exposition format 0.0.4.

Setup: plain-HTTP instances of their own on the harness's Redis, default
prefix; clients made with scripts/tokend-client, each with a fresh id.
Every scrape goes to the instance's management listener
(--management-listen; the public port answers /metrics 404, see
test_management.py) and is checked by a strict validator written here (and by
`promtool check metrics` when promtool is installed):
- every line is "# HELP name text", "# TYPE name type" or a sample
  "name{label="value",...} value"; names and label names match the
  Prometheus regexes; label values use only the escapes \\\\ \\" \\n;
- every family has HELP and TYPE, both before its first sample, and its
  samples are contiguous; every name starts with tokend_;
- counters end in _total; a histogram's samples are name_bucket (with le),
  name_sum and name_count; per label set the buckets are in increasing le
  order, cumulative, end in le="+Inf", and +Inf == _count;
- no series appears twice; the text ends with a newline.

Expected:
- metrics_counts (--workers 2): Content-Type text/plain; version=0.0.4;
  charset=utf-8; HEAD /metrics answers 200, the same Content-Type and no
  body. After 2 tokens from /oauth/token and 1 from /authorize for a new
  client, a good and a tampered token at /verify, a malformed and an
  expired one, the tampered one at /oauth/introspect and at /oauth/revoke,
  a wrong secret and a missing credential at /oauth/token and a GET of an
  unknown path, the next scrape shows exactly these deltas:
    tokend_tokens_issued_total{client_id=ID}                3
    tokend_http_requests_total{/oauth/token,200} 2, {…,401} 2,
      {/authorize,200} 1, {/verify,200} 1, {/verify,401} 3,
      {/oauth/introspect,200} 1, {/oauth/revoke,200} 1, {other,404} 1
    tokend_http_request_duration_seconds_count{/oauth/token} 4
    tokend_verify_failures_total{bad_signature} 2 (the revoke is not
      counted), {malformed} 1, {expired} 1, every other reason 0
    tokend_auth_failures_total 2, tokend_auth_rate_limited_total 0
  and every worker's view counts the new client (tokend_view_clients + 1),
  tokend_store_up is 1 for both workers, tokend_build_info{version} 1.
  The raw request paths never appear as labels. tokend_open_connections
  is at least 1 while a public connection is held open, and falls to 0
  once none is, however many scrapes the management listener answers
  (its connections are not counted).
- metrics_client_cap (--metrics-max-clients 2 --workers 1): tokens for
  clients A, B, C, C, A -> A 2, B 1, other 2, and no label for C.
- metrics_rate_limited (--auth-fail-limit 2): 2 wrong secrets then a third
  attempt -> 429; auth_failures + 2, auth_rate_limited + 1.
- metrics_key_reloads: SIGHUP with a good signing key ->
  tokend_key_reloads_total{result="ok"} + 1; the key file replaced by
  garbage, SIGHUP -> {result="failed"} + 1.
- metrics_store_down (--workers 2): Redis killed -> tokend_store_up 0 for
  both workers within 3 s; restarted -> 1 again within 7 s, and
  tokend_store_reconnects_total grew by exactly 2 (one per worker).
"""

import math
import os
import re
import shutil
import signal
import subprocess
import time

from jwt_helpers import (Admin, Forger, authorize, get_token, introspect,
                         issuer_of, revoke, start_instance, token_request,
                         uid, verify_request)
from tokend_harness import check, check_eq, fail, scenario, short

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
# A label value: anything but \ " and newline, or one of the 3 escapes.
LABEL_VALUE_RE = re.compile(r'(?:[^\\"\n]|\\\\|\\"|\\n)*')
VALUE_RE = re.compile(r"[+-]?(?:Inf|NaN|"
                      r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)")
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


def unescape(v):
    return re.sub(r'\\(\\|"|n)', lambda m: "\n" if m.group(1) == "n"
                  else m.group(1), v)


def parse_value(s):
    if s in ("+Inf", "Inf"):
        return math.inf
    if s == "-Inf":
        return -math.inf
    return float(s)


def parse_sample(line, lineno):
    """'name{a="b",...} value' -> (name, {labels}, value)."""
    m = NAME_RE.match(line)
    check(m is not None, "line %d: no metric name: %r" % (lineno, line))
    name, i = m.group(0), m.end()
    labels = {}
    if i < len(line) and line[i] == "{":
        i += 1
        while True:
            if line[i] == "}":
                i += 1
                break
            m = LABEL_NAME_RE.match(line, i)
            check(m is not None, "line %d: bad label name at %d: %r"
                  % (lineno, i, line))
            lname = m.group(0)
            i = m.end()
            check(line[i:i + 2] == '="', "line %d: no =\" after %s"
                  % (lineno, lname))
            i += 2
            m = LABEL_VALUE_RE.match(line, i)
            i = m.end()
            check(line[i:i + 1] == '"', "line %d: unterminated or badly "
                  "escaped value of %s: %r" % (lineno, lname, line))
            check(lname not in labels, "line %d: label %s twice"
                  % (lineno, lname))
            labels[lname] = unescape(m.group(0))
            i += 1
            if line[i] == ",":
                i += 1
                continue
            check(line[i] == "}", "line %d: expected , or } at %d: %r"
                  % (lineno, i, line))
    rest = line[i:]
    check(rest.startswith(" "), "line %d: no space before the value: %r"
          % (lineno, line))
    parts = rest[1:].split(" ")
    check(len(parts) in (1, 2) and VALUE_RE.fullmatch(parts[0]) is not None
          and (len(parts) == 1 or re.fullmatch(r"-?\d+", parts[1])),
          "line %d: bad value/timestamp: %r" % (lineno, line))
    return name, labels, parse_value(parts[0])


def family_of(name, types):
    """The family a sample name belongs to, given the TYPEs seen."""
    if name in types:
        return name
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and types.get(
                name[:-len(suffix)]) == "histogram":
            return name[:-len(suffix)]
    return None


def validate(text):
    """
    Check text strictly against format 0.0.4 (see the module docstring).
    Returns {(name, frozenset(labels.items())): value}.
    """
    check(text.endswith("\n"), "exposition does not end with a newline")
    helps, types, series = {}, {}, {}
    done = set()            # families whose samples have ended
    current = None
    hist = {}               # (family, labels without le) -> parts
    for lineno, line in enumerate(text[:-1].split("\n"), 1):
        check(line != "", "line %d: empty line" % lineno)
        if line.startswith("#"):
            m = re.fullmatch(r"# (HELP|TYPE) (\S+) (.*)", line)
            check(m is not None, "line %d: a comment that is neither HELP "
                  "nor TYPE: %r" % (lineno, line))
            kind, name, rest = m.groups()
            check(NAME_RE.fullmatch(name) is not None,
                  "line %d: bad family name %r" % (lineno, name))
            check(name.startswith("tokend_"), "line %d: %s lacks the "
                  "tokend_ prefix" % (lineno, name))
            check(name not in done and name != current,
                  "line %d: %s %s after its samples" % (lineno, kind, name))
            if kind == "HELP":
                check(name not in helps, "line %d: second HELP for %s"
                      % (lineno, name))
                check(re.search(r"\\[^\\n]", rest.replace("\\\\", "")) is
                      None, "line %d: bad escape in HELP" % lineno)
                helps[name] = rest
            else:
                check(name not in types, "line %d: second TYPE for %s"
                      % (lineno, name))
                check(rest in TYPES, "line %d: unknown type %r"
                      % (lineno, rest))
                if rest == "counter":
                    check(name.endswith("_total"), "line %d: counter %s "
                          "does not end in _total" % (lineno, name))
                types[name] = rest
            continue
        name, labels, value = parse_sample(line, lineno)
        fam = family_of(name, types)
        check(fam is not None, "line %d: sample %s before its TYPE"
              % (lineno, name))
        check(fam in helps, "line %d: family %s has no HELP before its "
              "samples" % (lineno, fam))
        if fam != current:
            check(fam not in done, "line %d: samples of %s are not "
                  "contiguous" % (lineno, fam))
            if current is not None:
                done.add(current)
            current = fam
        key = (name, frozenset(labels.items()))
        check(key not in series, "line %d: duplicate series %r"
              % (lineno, line))
        series[key] = value
        t = types[fam]
        if t == "counter":
            check(value >= 0 and not math.isnan(value),
                  "line %d: counter below 0 or NaN" % lineno)
        if t == "histogram":
            check(name != fam, "line %d: bare histogram sample %s"
                  % (lineno, name))
            base = frozenset((k, v) for k, v in labels.items() if k != "le")
            h = hist.setdefault((fam, base), {"buckets": [], "sum": None,
                                              "count": None})
            if name.endswith("_bucket"):
                check("le" in labels, "line %d: bucket without le"
                      % lineno)
                check(h["sum"] is None and h["count"] is None,
                      "line %d: bucket after _sum/_count" % lineno)
                h["buckets"].append((parse_value(labels["le"]), value))
            elif name.endswith("_sum"):
                check("le" not in labels, "line %d: le on _sum" % lineno)
                h["sum"] = value
            else:
                check("le" not in labels, "line %d: le on _count" % lineno)
                h["count"] = value
        else:
            check("le" not in labels or t == "summary",
                  "line %d: le label outside a histogram" % lineno)
    for fam in helps:
        check(fam in types, "%s has HELP but no TYPE" % fam)
    for fam in types:
        check(fam in helps, "%s has TYPE but no HELP" % fam)
    for (fam, base), h in hist.items():
        what = "%s%s" % (fam, dict(base))
        b = h["buckets"]
        check(len(b) > 0, what + ": no buckets")
        check(all(b[i][0] < b[i + 1][0] for i in range(len(b) - 1)),
              what + ": le not increasing: %s" % [x[0] for x in b])
        check(all(b[i][1] <= b[i + 1][1] for i in range(len(b) - 1)),
              what + ": buckets not cumulative: %s" % [x[1] for x in b])
        check(b[-1][0] == math.inf, what + ": no le=\"+Inf\" bucket last")
        check(h["sum"] is not None, what + ": no _sum")
        check(h["count"] is not None, what + ": no _count")
        check_eq(b[-1][1], h["count"], what + ": +Inf bucket vs _count")
    return series


def promtool_check(ctx, text):
    """promtool check metrics, when promtool is installed."""
    tool = shutil.which("promtool")
    if tool is None:
        return
    r = subprocess.run([tool, "check", "metrics"], input=text.encode(),
                       capture_output=True, timeout=30)
    check(r.returncode == 0, "promtool check metrics: %s"
          % short(r.stdout + r.stderr, 600))


def scrape(ctx, t):
    r = t.mgmt_request("GET", "/metrics")
    check_eq(r.status, 200, "GET /metrics status")
    check_eq(r.header("Content-Type"), CONTENT_TYPE, "/metrics Content-Type")
    text = r.body.decode("utf-8")
    series = validate(text)
    promtool_check(ctx, text)
    return series, text


def get(series, name, **labels):
    return series.get((name, frozenset(labels.items())), 0)


def by_worker(series, name):
    """{worker id: value} of a per-worker gauge."""
    out = {}
    for (n, labels), v in series.items():
        if n == name:
            out[dict(labels)["worker"]] = v
    return out


def deltas_reached(ctx, t, before, expected, timeout=3.0):
    """
    Scrape until every expected (name, labels) delta is reached (the last
    request of a batch is counted once its reply has been written, which
    can be a moment after the client has read it), then check each is
    exact. Returns the last scrape.
    """
    t0 = time.monotonic()
    while True:
        after, text = scrape(ctx, t)
        got = {k: get(after, k[0], **dict(k[1])) - get(before, k[0],
                                                       **dict(k[1]))
               for k in expected}
        if all(got[k] >= v for k, v in expected.items()) or \
                time.monotonic() - t0 > timeout:
            break
        time.sleep(0.05)
    for k, v in expected.items():
        check_eq(got[k], v, "delta of %s%s" % (k[0], dict(k[1])))
    return after, text


def wait_views_current(ctx, t, workers, timeout=5.0):
    """Scrape until every worker's view has synced; that scrape."""
    want = {str(w): 1 for w in range(workers)}
    t0 = time.monotonic()
    while True:
        s, _ = scrape(ctx, t)
        if by_worker(s, "tokend_view_current") == want:
            return s
        if time.monotonic() - t0 > timeout:
            fail("tokend_view_current not 1 on every worker within %.1f s:"
                 " %s" % (timeout, by_worker(s, "tokend_view_current")))
        time.sleep(0.05)


def key(name, **labels):
    return (name, frozenset(labels.items()))



@scenario("metrics_counts")
def metrics_counts(ctx):
    t = start_instance(ctx, "metrics", tls=False, workers=2)
    admin = Admin(ctx)

    # HEAD answers like GET, without the body.
    r = t.mgmt_request("HEAD", "/metrics")
    check_eq(r.status, 200, "HEAD /metrics status")
    check_eq(r.header("Content-Type"), CONTENT_TYPE, "HEAD Content-Type")
    check_eq(r.body, b"", "HEAD /metrics body")

    # A worker's view starts empty and fills at its first sync.
    before = wait_views_current(ctx, t, 2)
    check_eq(get(before, "tokend_build_info", version="0.1.0"), 1,
             "tokend_build_info")
    check_eq(by_worker(before, "tokend_store_up"), {"0": 1, "1": 1},
             "tokend_store_up before")
    clients0 = by_worker(before, "tokend_view_clients")

    cid = uid("metrics")
    secret = admin.add(cid, "--scopes", "read write")
    # Every worker's view learns the new client by pub/sub.
    t0 = time.monotonic()
    while True:
        s, _ = scrape(ctx, t)
        now = by_worker(s, "tokend_view_clients")
        if all(now.get(w, 0) == clients0.get(w, 0) + 1 for w in ("0", "1")):
            break
        if time.monotonic() - t0 > 3:
            fail("tokend_view_clients did not grow by 1 on each worker: "
                 "%s -> %s" % (clients0, now))
        time.sleep(0.05)
    before, _ = scrape(ctx, t)

    _, tok = get_token(t, cid, secret)
    get_token(t, cid, secret, post=True)
    r = authorize(t, cid, secret)
    check_eq(r.status, 200, "/authorize")

    check_eq(verify_request(t, tok).status, 200, "/verify good token")
    head, payload, sig = tok.split(".")
    bad = "%s.%s.%s" % (head, payload, ("A" if sig[0] != "A" else "B")
                        + sig[1:])
    check_eq(verify_request(t, bad).status, 401, "/verify tampered token")
    check_eq(verify_request(t, "not-a-token").status, 401,
             "/verify malformed token")
    forger = Forger(ctx.pki.signing_key, issuer_of(t), cid)
    now = int(time.time())
    expired = forger.token(claims={"iat": now - 7200, "exp": now - 3600})
    r = verify_request(t, expired)
    check_eq(r.status, 401, "/verify expired token")
    check("expired" in short(r.body), "expired token: %s" % short(r.body))
    r = introspect(t, (cid, secret), bad)
    check_eq(r.status, 200, "introspect tampered token")
    check_eq(r.json, {"active": False}, "introspect tampered token")
    check_eq(revoke(t, (cid, secret), bad).status, 200,
             "revoke tampered token")

    r = token_request(t, client=(cid, secret + "x"))
    check_eq(r.status, 401, "wrong secret")
    r = token_request(t)
    check_eq(r.status, 401, "no credentials")
    check_eq(t.request("GET", "/no/such/path?x=1").status, 404,
             "unknown path")

    H = "tokend_http_requests_total"
    V = "tokend_verify_failures_total"
    expected = {
        key("tokend_tokens_issued_total", client_id=cid): 3,
        key(H, endpoint="/oauth/token", code="200"): 2,
        key(H, endpoint="/oauth/token", code="401"): 2,
        key(H, endpoint="/authorize", code="200"): 1,
        key(H, endpoint="/verify", code="200"): 1,
        key(H, endpoint="/verify", code="401"): 3,
        key(H, endpoint="/oauth/introspect", code="200"): 1,
        key(H, endpoint="/oauth/revoke", code="200"): 1,
        key(H, endpoint="other", code="404"): 1,
        key("tokend_http_request_duration_seconds_count",
            endpoint="/oauth/token"): 4,
        key("tokend_http_request_duration_seconds_count",
            endpoint="/verify"): 4,
        key(V, reason="bad_signature"): 2,
        key(V, reason="malformed"): 1,
        key(V, reason="expired"): 1,
        key("tokend_auth_failures_total"): 2,
        key("tokend_auth_rate_limited_total"): 0,
    }
    after, text = deltas_reached(ctx, t, before, expected)
    # Every other verdict stayed where it was; each one is listed.
    reasons = {dict(labels)["reason"] for (n, labels) in after if n == V}
    for reason in ("malformed", "bad_signature", "expired", "not_yet_valid",
                   "unknown_kid", "alg_mismatch", "wrong_type",
                   "wrong_issuer", "revoked", "client_removed",
                   "client_revoked", "unavailable"):
        check(reason in reasons, "no %s{reason=%s}" % (V, reason))
    for reason in reasons - {"bad_signature", "malformed", "expired"}:
        check_eq(get(after, V, reason=reason) - get(before, V, reason=reason),
                 0, "delta of %s{reason=%s}" % (V, reason))
    # Bounded labels: the raw URL never becomes one.
    check("/no/such/path" not in text, "a raw path is a label")
    endpoints = {dict(labels).get("endpoint") for (n, labels) in after
                 if n == H}
    check(endpoints <= {"/", "/healthz", "/readyz", "/oauth/token",
                        "/authorize", "/verify", "/oauth/introspect",
                        "/oauth/revoke", "/.well-known/jwks.json",
                        "/.well-known/oauth-authorization-server",
                        "/metrics", "other"},
          "unexpected endpoint labels: %s" % endpoints)
    # Public connections are counted, the management listener's are not.
    held = t.connection()
    check_eq(t.request("GET", "/healthz", conn=held).status, 200,
             "/healthz on a held connection")
    s, _ = scrape(ctx, t)
    check(get(s, "tokend_open_connections") >= 1,
          "tokend_open_connections does not count a held public "
          "connection: %s" % get(s, "tokend_open_connections"))
    held.close()
    t0 = time.monotonic()
    while get(s, "tokend_open_connections") != 0:
        if time.monotonic() - t0 > 3:
            fail("tokend_open_connections %s with no public connection "
                 "open" % get(s, "tokend_open_connections"))
        time.sleep(0.05)
        s, _ = scrape(ctx, t)
    check(abs(get(after, "tokend_start_time_seconds") - time.time()) < 600,
          "tokend_start_time_seconds is not about now")
    check_eq(by_worker(after, "tokend_view_current"), {"0": 1, "1": 1},
             "tokend_view_current")
    ages = by_worker(after, "tokend_view_last_sync_age_seconds")
    check(set(ages) == {"0", "1"} and all(0 <= a < 600
                                          for a in ages.values()),
          "tokend_view_last_sync_age_seconds: %s" % ages)
    check(get(after, "tokend_store_command_duration_seconds_count") >
          get(before, "tokend_store_command_duration_seconds_count"),
          "Redis command latencies are not recorded")

    # A real revocation reaches every worker's view.
    revoked0 = by_worker(after, "tokend_view_revoked")
    check_eq(revoke(t, (cid, secret), tok).status, 200, "revoke")
    t0 = time.monotonic()
    while True:
        s, _ = scrape(ctx, t)
        now = by_worker(s, "tokend_view_revoked")
        if all(now[w] >= revoked0[w] + 1 for w in ("0", "1")):
            break
        if time.monotonic() - t0 > 3:
            fail("tokend_view_revoked did not grow on each worker: "
                 "%s -> %s" % (revoked0, now))
        time.sleep(0.05)
    before = s
    check_eq(verify_request(t, tok).status, 401, "/verify revoked token")
    deltas_reached(ctx, t, before, {key(V, reason="revoked"): 1})


@scenario("metrics_client_cap")
def metrics_client_cap(ctx):
    t = start_instance(ctx, "metrics-cap", tls=False, workers=1,
                       args=["--metrics-max-clients", "2"])
    admin = Admin(ctx)
    ids = [uid("cap-a"), uid("cap-b"), uid("cap-c")]
    secrets_ = [admin.add(i) for i in ids]
    before, _ = scrape(ctx, t)
    for n in (0, 1, 2, 2, 0):
        get_token(t, ids[n], secrets_[n])
    I = "tokend_tokens_issued_total"
    after, text = deltas_reached(ctx, t, before, {
        key(I, client_id=ids[0]): 2,
        key(I, client_id=ids[1]): 1,
        key(I, client_id="other"): 2,
    })
    check(ids[2] not in text, "the third client has a label of its own")
    labels = [dict(lb)["client_id"] for (n, lb) in after if n == I]
    check_eq(sorted(labels), sorted([ids[0], ids[1], "other"]),
             "client_id labels with --metrics-max-clients 2")


@scenario("metrics_verify_cache")
def metrics_verify_cache(ctx):
    # One worker, so one cache: the first /verify of a token misses and
    # fills it, the next two hit.
    t = start_instance(ctx, "metrics-vc", tls=False, workers=1)
    admin = Admin(ctx)
    cid = uid("vc")
    secret = admin.add(cid)
    _, tok = get_token(t, cid, secret)
    before, _ = scrape(ctx, t)
    for _ in range(3):
        check_eq(verify_request(t, tok).status, 200, "/verify")
    deltas_reached(ctx, t, before, {
        key("tokend_verify_cache_hits_total"): 2,
        key("tokend_verify_cache_misses_total"): 1,
    })


@scenario("metrics_rate_limited")
def metrics_rate_limited(ctx):
    prefix = "mrl%s:" % uid("x")[-8:]
    t = start_instance(ctx, "metrics-rl", tls=False, workers=2,
                       args=["--prefix", prefix, "--auth-fail-limit", "2",
                             "--auth-fail-window", "30"])
    admin = Admin(ctx, prefix=prefix)
    cid = uid("rl")
    secret = admin.add(cid)
    before, _ = scrape(ctx, t)
    for _ in range(2):
        check_eq(token_request(t, client=(cid, "wrong" * 8)).status, 401,
                 "wrong secret")
    check_eq(token_request(t, client=(cid, secret)).status, 429,
             "over the limit")
    deltas_reached(ctx, t, before, {
        key("tokend_auth_failures_total"): 2,
        key("tokend_auth_rate_limited_total"): 1,
        key("tokend_http_requests_total", endpoint="/oauth/token",
            code="429"): 1,
        key("tokend_tokens_issued_total", client_id=cid): 0,
    })


@scenario("metrics_store_down", timeout=60)
def metrics_store_down(ctx):
    t = start_instance(ctx, "metrics-store", tls=False, workers=2)

    def wait_up(value, timeout, what):
        t0 = time.monotonic()
        while True:
            s, _ = scrape(ctx, t)
            up = by_worker(s, "tokend_store_up")
            if up == {"0": value, "1": value}:
                return s, time.monotonic() - t0
            if time.monotonic() - t0 > timeout:
                fail("%s: tokend_store_up %s, not %d on both workers "
                     "within %.1f s" % (what, up, value, timeout))
            time.sleep(0.05)

    before, _ = wait_up(1, 5, "before")
    r0 = get(before, "tokend_store_reconnects_total")
    ctx.redis.kill()
    try:
        s, dt = wait_up(0, 3, "redis killed")
        ctx.vlog("store_up 0 after %.2f s" % dt)
        check_eq(get(s, "tokend_store_reconnects_total"), r0,
                 "reconnects while redis is down")
    finally:
        ctx.redis.start()
    s, dt = wait_up(1, 7, "redis restarted")
    ctx.vlog("store_up 1 again after %.2f s" % dt)
    check_eq(get(s, "tokend_store_reconnects_total") - r0, 2,
             "tokend_store_reconnects_total delta (one per worker)")
    # The scrape works whatever the store does, and the gauge of each
    # worker is its own link's.
    check(os.path.exists(t.logfile), "no log")


@scenario("metrics_key_reloads")
def metrics_key_reloads(ctx):
    keyfile = os.path.join(ctx.tmp, "metrics-reload-%s.pem"
                           % uid("k")[-8:])
    shutil.copyfile(ctx.pki.signing_key, keyfile)
    t = start_instance(ctx, "metrics-reload", tls=False, workers=2,
                       signing_key=keyfile)
    R = "tokend_key_reloads_total"
    before, _ = scrape(ctx, t)
    since = t.log_offset()
    t.signal(signal.SIGHUP)
    t.wait_log(r"event=reload\b", since)
    before = deltas_reached(ctx, t, before, {key(R, result="ok"): 1,
                                             key(R, result="failed"): 0})[0]
    with open(keyfile, "w") as f:
        f.write("not a key\n")
    since = t.log_offset()
    t.signal(signal.SIGHUP)
    t.wait_log(r"event=reload_failed\b", since)
    deltas_reached(ctx, t, before, {key(R, result="ok"): 0,
                                    key(R, result="failed"): 1})
