"""
The access log.

Setup: the shared TLS instance (--log-level info).

Expected:
- After GET /healthz, GET /nope and POST /healthz, the log has one
  event=access line per request with method=, path=, status= (200, 404,
  405 respectively), dur_us=<integer> and client=127.0.0.1.
- A request for /healthz?token=secretvalue123 (and one carrying it in a
  header) leaves no trace of "secretvalue123" anywhere in the log.
- log_request_ids (own plain instance, --max-body 1024,
  --max-connections 4): a sane X-Request-Id (and one of 128 bytes) is
  echoed and logged as request_id on the access line; ids with a space,
  129 bytes, '"', '=', '\\', non-ASCII, ';' or '/' are replaced by a
  generated one (16 hex, '-', hex counter), which is logged, and never
  logged themselves; 404, 405, 413, 501/405 (PUT), 400 (malformed, from
  libevent), 401 (auth_failed line has the id) and 503 over the
  connection cap all carry X-Request-Id; 1,000 requests without an id get
  1,000 distinct generated ids, all on access lines.
- log_kv_schema: client_ids with newlines, quotes, fake keys, control
  bytes and UTF-8 (failed authentications, so they are logged) come back
  as one value each; every line of that instance (through SIGTERM) and of
  the shared TLS instance matches the kv schema regex (ts level event
  first, values bare or quoted with \\" \\\\ \\xNN escapes).
- log_json: --log-format json and TOKEND_LOG_FORMAT=json: every stderr
  line (start, requests, libevent's 400, auth failures with hostile ids,
  SIGHUP reload, SIGTERM) is a JSON object with ts, level, event first,
  numeric keys as JSON numbers; hostile ids round-trip exactly.
- log_json_pipe_drops: stderr a 4 KiB pipe nobody reads: 300 requests are
  answered, then reading the pipe finds a JSON event=log_dropped line with
  lines > 0.
- log_events_documented: every log call in src/ starts with event=, uses
  only conversions the logger parses, and its event and keys are in
  docs/operations.md's Events table (and every event there is logged
  somewhere).
"""

import base64
import fcntl
import json
import os
import re
import signal
import subprocess
import time
import urllib.parse
import uuid

from tokend_harness import (Tokend, check, check_eq, fail, poll_until,
                            port_listening, scenario, short)

SECRET = "secretvalue123"


@scenario("access_log")
def access_log(ctx):
    t = ctx.tls_default()
    off = t.log_offset()
    marker = "/nope-" + uuid.uuid4().hex[:8]
    reqs = [("GET", "/healthz", 200), ("GET", marker, 404),
            ("POST", "/healthz", 405)]
    for method, path, status in reqs:
        r = t.request(method, path, body=b"" if method == "POST" else None)
        check_eq(r.status, status, "%s %s" % (method, path))
    r = t.request("GET", "/healthz?token=" + SECRET,
                  headers={"X-Api-Token": SECRET})
    check_eq(r.status, 200, "GET /healthz?token=...")
    r = t.request("GET", "/nope?access_token=" + SECRET)
    check_eq(r.status, 404, "GET /nope?access_token=...")

    deadline = time.monotonic() + 3
    while True:
        lines = t.log_lines(r"event=access\b", off)
        if len(lines) >= len(reqs) + 2 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    check(len(lines) >= len(reqs) + 2,
          "%d event=access lines for %d requests: %s"
          % (len(lines), len(reqs) + 2, t.log_tail(6)))

    for method, path, status in reqs:
        found = [ln for ln in lines
                 if re.search(r"\bmethod=%s\b" % method, ln)
                 and re.search(r'\bpath="?%s"?(\s|$)' % re.escape(path), ln)
                 and re.search(r"\bstatus=%d\b" % status, ln)]
        check(found, "no access line with method=%s path=%s status=%d in: %s"
              % (method, path, status, short(" | ".join(lines), 600)))
        ln = found[0]
        check(re.search(r"\bdur_us=\d+\b", ln),
              "access line without dur_us=<integer>: %s" % ln)
        check(re.search(r"\bclient=\"?127\.0\.0\.1\b", ln),
              "access line without client=127.0.0.1: %s" % ln)

    time.sleep(0.2)
    text = t.log_text()
    check(SECRET not in text,
          "the log contains %r: %s" % (SECRET, short(
              [ln for ln in text.splitlines() if SECRET in ln], 400)))


# ---------------------------------------------------------------------------
# The log schema (docs/operations.md, "Logs") and request ids.

TS_RX = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
# A kv value: bare printable ASCII without space, '"', '=' and '\', or a
# quoted string of printable ASCII with \" \\ and \xNN escapes.
KV_VALUE_RX = (r'(?:[!#-<>-\[\]-~]+'
               r'|"(?:[ !#-\[\]-~]|\\["\\]|\\x[0-9a-f]{2})*")')
KV_LINE_RX = re.compile(
    r"^ts=%s level=(?:debug|info|warn|error) event=[a-z][a-z0-9_]*"
    r"(?: [a-z][a-z0-9_]*=%s)*$" % (TS_RX, KV_VALUE_RX))
KV_FIELD_RX = re.compile(r"([a-z][a-z0-9_]*)=(%s)(?: |$)" % KV_VALUE_RX)
GEN_ID_RX = re.compile(r"^[0-9a-f]{16}-[0-9a-f]+$")
NUMERIC_KEYS = ("status", "dur_us", "worker", "client_gone", "fails_ip",
                "fails_client", "expires_in", "port", "workers")


def kv_parse(line):
    """A kv line as an ordered list of (key, value), values unescaped."""
    out = []
    pos = 0
    while pos < len(line):
        m = KV_FIELD_RX.match(line, pos)
        if not m:
            fail("kv line does not parse at %d: %r" % (pos, line))
        v = m.group(2)
        if v.startswith('"'):
            v = re.sub(r'\\x([0-9a-f]{2})|\\(["\\])',
                       lambda e: (chr(int(e.group(1), 16)) if e.group(1)
                                  else e.group(2)), v[1:-1])
        out.append((m.group(1), v))
        pos = m.end()
    return out


def check_kv_log(text, what):
    """Every line matches the kv schema; returns them parsed."""
    parsed = []
    for ln in text.splitlines():
        check(KV_LINE_RX.match(ln), "%s: kv line off schema: %r" % (what, ln))
        fields = kv_parse(ln)
        keys = [k for k, _ in fields]
        check_eq(keys[:3], ["ts", "level", "event"], what + ": first keys")
        check(len(set(keys)) == len(keys), "%s: repeated key: %r"
              % (what, ln))
        d = dict(fields)
        check(d["event"] != "unnamed" and "log_format_error" not in d,
              "%s: a log call without a proper format: %r" % (what, ln))
        parsed.append(d)
    return parsed


def check_json_log(text, what):
    """Every line is one JSON object with ts, level, event first."""
    parsed = []
    for ln in text.splitlines():
        try:
            pairs = json.loads(ln, object_pairs_hook=lambda p: p)
        except ValueError as e:
            fail("%s: line is not JSON (%s): %r" % (what, e, ln))
        check(isinstance(pairs, list), "%s: not an object: %r" % (what, ln))
        keys = [k for k, _ in pairs]
        check_eq(keys[:3], ["ts", "level", "event"], what + ": first keys")
        check(len(set(keys)) == len(keys), "%s: repeated key: %r"
              % (what, ln))
        d = dict(pairs)
        check(re.fullmatch(TS_RX, d["ts"]), "%s: ts %r" % (what, d["ts"]))
        check(d["level"] in ("debug", "info", "warn", "error"),
              "%s: level %r" % (what, d["level"]))
        check(re.fullmatch(r"[a-z][a-z0-9_]*", d["event"])
              and d["event"] != "unnamed" and "log_format_error" not in d,
              "%s: event %r" % (what, d["event"]))
        for k in NUMERIC_KEYS:
            if k in d:
                check(type(d[k]) is int, "%s: %s is not a JSON number: %r"
                      % (what, k, ln))
        for k, v in d.items():
            check(type(v) in (str, int), "%s: %s: %r" % (what, k, ln))
        parsed.append(d)
    return parsed


def access_by_id(lines, rid):
    return [d for d in lines
            if d["event"] == "access" and d.get("request_id") == rid]


@scenario("log_request_ids", timeout=120)
def log_request_ids(ctx):
    t = ctx.start_tokend("reqid", tls=False, workers=2,
                         args=["--max-body", "1024", "--max-connections",
                               "4", "--auth-fail-limit", "0"])
    off = t.log_offset()
    conn = t.connection()

    # A sane client id is echoed and logged as it is.
    good = "Req-1.a:b_c-" + uuid.uuid4().hex
    r = t.request("GET", "/healthz", headers={"X-Request-Id": good},
                  conn=conn)
    check_eq(r.status, 200, "GET /healthz")
    check_eq(r.header("X-Request-Id"), good, "echoed X-Request-Id")
    longest = ("Rq1-" * 32)[:127] + "y"
    r = t.request("GET", "/healthz", headers={"X-Request-Id": longest},
                  conn=conn)
    check_eq(r.header("X-Request-Id"), longest, "128-byte id echoed")

    # An insane one is replaced by a generated one, which is logged.
    bad_ids = ["has space", "R" * 129, 'q"uote', "a=b", "back\\slash",
               "caf\u00e9", "semi;colon", "slash/ed"]
    replaced = {}
    for bad in bad_ids:
        r = t.request("GET", "/healthz", headers={"X-Request-Id": bad},
                      conn=conn)
        check_eq(r.status, 200, "GET /healthz with id %r" % bad)
        rid = r.header("X-Request-Id")
        check(rid is not None and GEN_ID_RX.match(rid),
              "id %r not replaced by a generated one: %r" % (bad, rid))
        replaced[bad] = rid

    # Error replies carry the id too: ours (404, 405, 401, 503 over the
    # connection cap) and libevent's (413, 400, 501).
    errs = [("GET", "/nope", None, 404), ("POST", "/healthz", b"", 405),
            ("POST", "/healthz", b"x" * 5000, 413)]
    for method, path, body, status in errs:
        rid = "err-%d-%s" % (status, uuid.uuid4().hex[:8])
        r = t.request(method, path, body=body,
                      headers={"X-Request-Id": rid})
        check_eq(r.status, status, "%s %s" % (method, path))
        check_eq(r.header("X-Request-Id"), rid, "%d: X-Request-Id" % status)
    r = t.request("PUT", "/healthz", body=b"",
                  headers={"X-Request-Id": "err-put"})
    check(r.status in (405, 501), "PUT: %d" % r.status)
    check_eq(r.header("X-Request-Id"), "err-put", "PUT: X-Request-Id")
    resp, _ = t.raw_exchange(b"GARBAGE\r\n\r\n")
    check(resp is not None and resp.status == 400,
          "malformed request line: %r" % resp)
    check(resp.header("X-Request-Id") is not None
          and GEN_ID_RX.match(resp.header("X-Request-Id")),
          "400 from libevent without a generated X-Request-Id: %r"
          % resp.headers)
    auth_id = "auth-" + uuid.uuid4().hex[:8]
    basic = base64.b64encode(b"no-such-client:wrong").decode()
    r = t.request("POST", "/oauth/token",
                  body=b"grant_type=client_credentials",
                  headers={"X-Request-Id": auth_id,
                           "Authorization": "Basic " + basic,
                           "Content-Type":
                           "application/x-www-form-urlencoded"})
    check_eq(r.status, 401, "unknown client")
    check_eq(r.header("X-Request-Id"), auth_id, "401: X-Request-Id")
    # Over the connection cap (4; ours is open): 503 with the id.
    held = [t.connection() for _ in range(3)]
    for c in held:
        check_eq(t.request("GET", "/healthz", conn=c).status, 200, "held")
    cap_id = "cap-" + uuid.uuid4().hex[:8]
    r = t.request("GET", "/healthz", headers={"X-Request-Id": cap_id})
    check_eq(r.status, 503, "over the connection cap")
    check_eq(r.header("X-Request-Id"), cap_id, "503: X-Request-Id")
    for c in held:
        c.close()

    # Generated ids: unique over 1,000 requests on one connection.
    time.sleep(0.2)
    seen = set()
    for _ in range(1000):
        r = t.request("GET", "/healthz", conn=conn)
        rid = r.header("X-Request-Id")
        check(rid is not None and GEN_ID_RX.match(rid),
              "generated id %r" % rid)
        seen.add(rid)
    check_eq(len(seen), 1000, "distinct generated ids in 1000 requests")
    conn.close()

    # The log: the same ids, on the access lines and the auth failure.
    time.sleep(0.3)
    lines = check_kv_log(t.log_since(off), "reqid instance")
    check(access_by_id(lines, good), "no access line with request_id=%s"
          % good)
    check(access_by_id(lines, longest), "128-byte id not logged")
    for bad, rid in replaced.items():
        check(access_by_id(lines, rid), "replacement id %s not logged" % rid)
    text = t.log_since(off)
    for bad in ("has space", 'q"uote', "back\\slash", "semi;colon"):
        check(bad not in text and bad.replace('"', '\\"') not in text,
              "rejected id %r reached the log" % bad)
    check(not any(d.get("request_id") == "R" * 129 for d in lines),
          "the 129-byte id was logged")
    for rid in [cap_id, auth_id]:
        check(access_by_id(lines, rid), "no access line for %s" % rid)
    check([d for d in lines if d["event"] == "http_error"
           and d.get("request_id", "").startswith("err-413-")
           and d.get("status") == "413"], "no http_error line for the 413")
    fails = [d for d in lines if d["event"] == "auth_failed"]
    check([d for d in fails if d.get("request_id") == auth_id],
          "auth_failed without request_id=%s: %s" % (auth_id, fails))
    logged = {d["request_id"] for d in lines if d["event"] == "access"}
    check(seen <= logged, "%d generated ids not in the access log"
          % len(seen - logged))


# Values that try to end a line or add a key, sent where tokend logs them
# (the client_id of a failed authentication).
EVIL_IDS = ["x\nts=2000-01-01T00:00:00.000Z level=error event=fake",
            'x" event=fake y="', "x\\\" event=fake", "x\r\n{\"event\":1}",
            "tab\tand\x7fdel", "caf\u00e9"]


def send_evil(t):
    for cid in EVIL_IDS:
        body = ("grant_type=client_credentials&client_id=%s"
                "&client_secret=nope" % urllib.parse.quote(cid, safe=""))
        r = t.request("POST", "/oauth/token", body=body.encode(),
                      headers={"Content-Type":
                               "application/x-www-form-urlencoded"})
        check_eq(r.status, 401, "client_id %r" % cid)


@scenario("log_kv_schema", timeout=90)
def log_kv_schema(ctx):
    t = ctx.start_tokend("kv", tls=False, workers=2,
                         args=["--auth-fail-limit", "0"])
    off = t.log_offset()
    t.request("GET", "/healthz")
    t.request("GET", "/nope")
    send_evil(t)
    t.wait_log(r"event=auth_failed .*client_id=\"caf", off)
    t.stop()
    lines = check_kv_log(t.log_text(), "kv instance")
    check(not [d for d in lines if d["event"] == "fake"],
          "a client_id made a line of its own")
    got = [d["client_id"] for d in lines if d["event"] == "auth_failed"]
    for cid in EVIL_IDS:
        want = cid.encode("utf-8").decode("latin-1")
        check(want[:64] in got, "client_id %r not logged as one value: %s"
              % (cid, got))
    events = {d["event"] for d in lines}
    for ev in ("listening", "access", "auth_failed", "shutdown", "stopped"):
        check(ev in events, "no event=%s line" % ev)
    # The shared instance's whole log follows the schema too.
    shared = ctx.tls_default()
    shared.request("GET", "/healthz")
    time.sleep(0.2)
    check_kv_log(shared.log_text(), "shared TLS instance")


@scenario("log_json", timeout=90)
def log_json(ctx):
    for how in ("flag", "env"):
        if how == "flag":
            t = ctx.start_tokend("json", tls=True, workers=2,
                                 args=["--log-format", "json",
                                       "--auth-fail-limit", "0"])
        else:
            t = ctx.start_tokend("json-env", tls=False, workers=2,
                                 args=["--auth-fail-limit", "0"],
                                 env={"TOKEND_LOG_FORMAT": "json"})
        rid = "json-" + uuid.uuid4().hex[:8]
        r = t.request("GET", "/healthz", headers={"X-Request-Id": rid})
        check_eq(r.header("X-Request-Id"), rid, "echoed id")
        t.request("GET", "/nope")
        t.request("POST", "/healthz", body=b"")
        send_evil(t)
        resp, _ = t.raw_exchange(b"GARBAGE\r\n\r\n")
        t.wait_log(r'"event":"auth_failed".*"client_id":"caf', 0)
        t.signal(signal.SIGHUP)
        t.wait_log(r'"event":"reload"', 0)
        t.stop()
        lines = check_json_log(t.log_text(), how)
        events = {d["event"] for d in lines}
        for ev in ("listening", "keys_loaded", "access", "auth_failed",
                   "http_error", "reload", "shutdown", "stopped"):
            check(ev in events, "%s: no event %s in %s" % (how, ev, events))
        acc = access_by_id(lines, rid)
        check(acc, "%s: no access line for %s" % (how, rid))
        a = acc[0]
        check_eq((a["method"], a["path"], a["status"], a["client_gone"]),
                 ("GET", "/healthz", 200, 0), how + ": access line")
        check(isinstance(a["dur_us"], int) and a["dur_us"] >= 0,
              how + ": dur_us")
        got = [d["client_id"] for d in lines if d["event"] == "auth_failed"]
        for cid in EVIL_IDS:
            want = cid.encode("utf-8").decode("latin-1")
            check(want in got, "%s: client_id %r not logged as one value: %s"
                  % (how, cid, got))
        check(not [d for d in lines if d["event"] == "fake"],
              how + ": a client_id made a line of its own")


@scenario("log_json_pipe_drops", timeout=90)
def log_json_pipe_drops(ctx):
    """
    stderr is a pipe nobody reads: requests are still answered, lines are
    dropped and counted, and once the pipe drains the count is reported
    as event=log_dropped, in JSON like every other line.
    """
    t = Tokend(ctx, "pipe", tls=False, workers=1,
               args=["--log-format", "json"])
    rfd, wfd = os.pipe()
    try:
        fcntl.fcntl(wfd, fcntl.F_SETPIPE_SZ, 4096)
    except (AttributeError, OSError):
        pass
    p = ctx.popen(t.argv, stdout=subprocess.DEVNULL, stderr=wfd,
                  stdin=subprocess.DEVNULL, env=t.env)
    os.close(wfd)
    try:
        poll_until(lambda: port_listening(t.port), 10)
        conn = t.connection()
        for i in range(300):
            r = t.request("GET", "/healthz", conn=conn)
            check_eq(r.status, 200, "request %d with a full log pipe" % i)
        check(p.poll() is None, "tokend exited with a full log pipe")
        os.set_blocking(rfd, False)
        data = b""
        while True:
            try:
                chunk = os.read(rfd, 65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            data += chunk
        # The next line that gets through reports the drops.
        deadline = time.monotonic() + 5
        while b'"log_dropped"' not in data and time.monotonic() < deadline:
            t.request("GET", "/healthz", conn=conn)
            time.sleep(0.05)
            try:
                data += os.read(rfd, 65536)
            except BlockingIOError:
                pass
        conn.close()
    finally:
        os.close(rfd)
    text = data.decode("ascii")
    lines = check_json_log(text, "pipe")
    drops = [d for d in lines if d["event"] == "log_dropped"]
    check(drops and drops[0]["lines"] > 0,
          "no log_dropped line with a count: %s" % short(text[-400:]))
    check_eq(drops[0]["level"], "warn", "log_dropped level")
    ctx.vlog("dropped %d lines; %d lines read" % (drops[0]["lines"],
                                                   len(lines)))


# Events whose name is built at run time, and what they expand to.
DYNAMIC_EVENTS = {
    "%s kid": ["sign_failed", "verify_crypto_failed"],     # keys.c
    "%s reason": ["view_stale", "view_sync_failed"],       # view.c
    "store_subscriber_%s": ["store_subscriber_down",
                            "store_subscriber_attempt_failed"],
}
CONV_RX = re.compile(r"%(?:%|(?:\.\*|\.\d+)?s|(?:hh|h|ll|l|z|j|t)?[diux]|c)")


def c_log_calls(root):
    """(file:line, function, format) of every log call in src/."""
    call = re.compile(r"\blog_(debug|info|warnx|warn|error)\s*\(")
    lit = re.compile(r'\s*("(?:[^"\\]|\\.)*"|PRI([diux])(?:8|16|32|64))')
    out = []
    for name in sorted(os.listdir(os.path.join(root, "src"))):
        if not name.endswith(".c") or name == "log.c":
            continue
        src = open(os.path.join(root, "src", name)).read()
        for m in call.finditer(src):
            fmt, pos = "", m.end()
            while True:
                t = lit.match(src, pos)
                if not t:
                    break
                if t.group(2):
                    fmt += "l" + t.group(2)
                else:
                    fmt += t.group(1)[1:-1].replace('\\"', '"')
                pos = t.end()
            where = "%s:%d" % (name, src.count("\n", 0, m.start()) + 1)
            out.append((where, m.group(1), fmt))
    return out


EVENTS_DOC = os.path.join("docs", "operations.md")


def documented_events(root):
    """event -> set of names in backquotes on its row of the Events table
    of EVENTS_DOC (from "### Events" to the next heading of level 2)."""
    text = open(os.path.join(root, EVENTS_DOC)).read()
    sec = text[text.index("### Events"):]
    end = sec.find("\n## ")
    sec = sec if end < 0 else sec[:end]
    events = {}
    for row in sec.splitlines():
        cells = row.split("|")
        if len(cells) < 5 or not cells[1].strip().startswith("`"):
            continue
        names = re.findall(r"`([^`]+)`", cells[1])
        keys = set(re.findall(r"`([^`]+)`", cells[3]))
        for n in names:
            events[n] = keys
    return events


@scenario("log_events_documented", timeout=30)
def log_events_documented(ctx):
    root = ctx.source_root
    documented = documented_events(root)
    check(len(documented) > 30, "%s: Events table not found" % EVENTS_DOC)
    seen = {"log_dropped"}                   # written by log.c itself
    calls = c_log_calls(root)
    check(len(calls) > 40, "found only %d log calls" % len(calls))
    for where, fn, fmt in calls:
        check(fmt.startswith("event="), "%s: log format without event= "
              "first: %r" % (where, fmt))
        for conv in re.findall(r"%[^ \"]*", fmt):
            check(CONV_RX.match(conv), "%s: conversion %r the logger does "
                  "not parse: %r" % (where, conv, fmt))
        tokens = re.findall(r'([a-z0-9_]+)=(?:"[^"]*"|\S*)', fmt)
        check(re.fullmatch(r'[a-z0-9_]+=(?:"[^"]*"|[^ "]*)'
                           r'(?: [a-z0-9_]+=(?:"[^"]*"|[^ "]*))*', fmt),
              "%s: not space-separated key=value tokens: %r" % (where, fmt))
        ev = re.match(r'event=(\S+)', fmt).group(1)
        rest = fmt[len("event=") + len(ev):]
        names = None
        for pat, expand in DYNAMIC_EVENTS.items():
            if (ev + rest).startswith(pat):
                names = expand
        if names is None:
            check(re.fullmatch(r"[a-z][a-z0-9_]*", ev),
                  "%s: event %r is not snake_case" % (where, ev))
            names = [ev]
        keys = tokens[1:] + (["err"] if fn == "warn" else [])
        check(len(set(keys)) == len(keys), "%s: repeated key in %r"
              % (where, fmt))
        if "request_id" in keys:
            check(keys[-1] == "request_id", "%s: request_id not last: %r"
                  % (where, fmt))
        for name in names:
            seen.add(name)
            check(name in documented, "%s: event %s is not in %s's "
                  "Events table" % (where, name, EVENTS_DOC))
            missing = [k for k in keys if k not in documented[name]]
            check(not missing, "%s: keys %s of event %s are not in its "
                  "%s row" % (where, missing, name, EVENTS_DOC))
    stale = set(documented) - seen
    check(not stale, "%s documents events no code logs: %s"
          % (EVENTS_DOC, sorted(stale)))
