"""
The access log.

Setup: the shared TLS instance (--log-level info).

Expected:
- After GET /healthz, GET /nope and POST /healthz, the log has one
  event=access line per request with method=, path=, status= (200, 404,
  405 respectively), dur_us=<integer> and client=127.0.0.1.
- A request for /healthz?token=secretvalue123 (and one carrying it in a
  header) leaves no trace of "secretvalue123" anywhere in the log.
"""

import re
import time
import uuid

from tokend_harness import check, check_eq, scenario, short

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
