"""
docs/prometheus-alerts.yaml, the alerting rules operators drop in, checked
with Prometheus's own promtool (Debian package prometheus, the test
section of scripts/debian-packages.txt), and against what a real tokend
exposes on its management listener.

Setup: promtool on PATH (a scenario fails, not skips, without it); the
harness's Redis and PKI; an instance of its own with TLS, 2 workers and
--auth-fail-limit 2, its certificate and key in files of the scenario.

Expected:
- alerts_rules_pass_promtool: `promtool check rules` accepts the file and
  counts as many rules as it has "- alert:" lines (at least 8); `promtool
  test rules test/data/prometheus-alerts.test.yaml` (store down, the two
  certificate alerts, rate limiting, on made-up series) passes; a copy of
  the file with one expression broken is refused by check rules, so the
  check can fail.
- alerts_metrics_exist_in_live_scrape: after a token, a good, a forged
  and a malformed token at /verify, two wrong secrets (401) and a third
  attempt (429), the management listener's /metrics passes `promtool
  check metrics` with no finding, has tokend_auth_rate_limited_total 1
  and tokend_auth_failures_total 2, and every metric name the rules use
  (tokend_*, plus Prometheus's own up), as written in the expressions
  (a histogram's as name_bucket), is a sample name of that scrape; so is
  every metric name the dashboard's queries use.
- alerts_cert_expiry_follows_reload: tokend_tls_cert_expiry_timestamp_seconds
  is the served certificate's notAfter (openssl x509 -enddate); after the
  files are replaced by a certificate valid 30 days and SIGHUP, it is the
  new notAfter; after garbage in the certificate file and SIGHUP (a failed
  reload) it stays, and the TLS port still answers with the previous one.
"""

import calendar
import json
import os
import re
import shutil
import signal
import subprocess
import time

from jwt_helpers import (Admin, get_token, start_instance, token_request,
                         uid, verify_request)
from tokend_harness import check, check_eq, fail, scenario, short

RULES = os.path.join("docs", "prometheus-alerts.yaml")
RULE_TESTS = os.path.join("test", "data", "prometheus-alerts.test.yaml")
DASHBOARD = os.path.join("docs", "grafana-dashboard.json")
EXPIRY = "tokend_tls_cert_expiry_timestamp_seconds"


def promtool():
    tool = shutil.which("promtool")
    if tool is None:
        fail("promtool is not installed (Debian package prometheus, in the "
             "test section of scripts/debian-packages.txt)")
    return tool


def run_promtool(ctx, *args, stdin=None):
    r = subprocess.run([promtool()] + list(args), cwd=ctx.source_root,
                       input=stdin, capture_output=True, timeout=60)
    return r.returncode, (r.stdout + r.stderr).decode("utf-8", "replace")


def rules_text(ctx):
    with open(os.path.join(ctx.source_root, RULES)) as f:
        return f.read()


def rule_metric_names(text):
    """Every metric name an expr of the rules names: tokend_* and up."""
    names = set(re.findall(r"\btokend_[a-z0-9_]+", text))
    exprs = "\n".join(re.findall(r"expr: [^\n]*(?:\n {10,}[^\n]*)*", text))
    if re.search(r"\bup\{", exprs):
        names.add("up")
    return names


def dashboard_queries(ctx):
    """Every PromQL query of the dashboard, its variables filled in."""
    with open(os.path.join(ctx.source_root, DASHBOARD)) as f:
        dash = json.load(f)
    queries = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    for v in dash["templating"]["list"]:
        if v["type"] == "query":
            m = re.fullmatch(r"label_values\((.*), *\w+\)",
                             v["query"]["query"])
            check(m is not None, "dashboard variable %s: %s"
                  % (v["name"], v["query"]))
            queries.append(m.group(1))
    check(len(queries) >= 8, "only %d dashboard queries" % len(queries))
    return [q.replace("$__rate_interval", "5m").replace("$instance", ".*")
            for q in queries]


def scrape_text(t):
    r = t.mgmt_request("GET", "/metrics")
    check_eq(r.status, 200, "GET /metrics")
    return r.body.decode("utf-8")


def families(text):
    """The sample names of an exposition."""
    samples = set()
    for line in text.splitlines():
        if line and not line.startswith("#"):
            samples.add(re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0))
    return samples


def sample(text, name):
    m = re.search(r"^%s (\S+)$" % re.escape(name), text, re.M)
    return None if m is None else float(m.group(1))


def not_after(ctx, cert):
    out = subprocess.run(["openssl", "x509", "-in", cert, "-noout",
                          "-enddate"], capture_output=True, timeout=30,
                         check=True).stdout.decode().strip()
    when = out.split("=", 1)[1]
    return calendar.timegm(time.strptime(when, "%b %d %H:%M:%S %Y %Z"))


@scenario("alerts_rules_pass_promtool")
def alerts_rules_pass_promtool(ctx):
    text = rules_text(ctx)
    n = len(re.findall(r"^\s*- alert: ", text, re.M))
    check(n >= 8, "only %d alerts in %s" % (n, RULES))
    rc, out = run_promtool(ctx, "check", "rules", RULES)
    check_eq(rc, 0, "promtool check rules: %s" % short(out, 800))
    check("SUCCESS: %d rules found" % n in out,
          "promtool check rules did not count %d rules: %s"
          % (n, short(out, 400)))

    rc, out = run_promtool(ctx, "test", "rules", RULE_TESTS)
    check_eq(rc, 0, "promtool test rules: %s" % short(out, 1500))
    check("SUCCESS" in out, "promtool test rules: %s" % short(out, 400))

    # The dashboard's queries, as recording rules (a JSON file is YAML).
    queries = dashboard_queries(ctx)
    rules = os.path.join(ctx.tmp, "dashboard-%s.yaml" % uid("d")[-8:])
    with open(rules, "w") as f:
        json.dump({"groups": [{"name": "dashboard", "rules": [
            {"record": "dashboard:query_%d" % i, "expr": q}
            for i, q in enumerate(queries)]}]}, f)
    rc, out = run_promtool(ctx, "check", "rules", rules)
    check(rc == 0 and "SUCCESS: %d rules found" % len(queries) in out,
          "promtool on the dashboard's queries: %s" % short(out, 1500))

    # The check can fail: one expression broken.
    broken = os.path.join(ctx.tmp, "alerts-broken-%s.yaml" % uid("r")[-8:])
    with open(broken, "w") as f:
        f.write(text.replace("== 0\n", "== ) 0\n", 1))
    rc, out = run_promtool(ctx, "check", "rules", broken)
    check(rc != 0, "promtool check rules accepted a broken expression: %s"
          % short(out, 300))


@scenario("alerts_metrics_exist_in_live_scrape")
def alerts_metrics_exist_in_live_scrape(ctx):
    prefix = "alr%s:" % uid("x")[-8:]
    t = start_instance(ctx, "alerts", workers=2,
                       args=["--prefix", prefix, "--auth-fail-limit", "2",
                             "--auth-fail-window", "30"])
    admin = Admin(ctx, prefix=prefix)
    cid = uid("alerts")
    secret = admin.add(cid)
    _, token = get_token(t, cid, secret)
    check_eq(verify_request(t, token).status, 200, "/verify good token")
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    check_eq(verify_request(t, forged).status, 401, "/verify forged token")
    check_eq(verify_request(t, "not.a.token").status, 401,
             "/verify malformed token")
    for _ in range(2):
        check_eq(token_request(t, client=(cid, "wrong" * 8)).status, 401,
                 "wrong secret")
    check_eq(token_request(t, client=(cid, secret)).status, 429,
             "over --auth-fail-limit")

    # The last reply is counted once written: scrape until it shows.
    t0 = time.monotonic()
    while True:
        text = scrape_text(t)
        if sample(text, "tokend_auth_rate_limited_total") == 1 or \
                time.monotonic() - t0 > 3:
            break
        time.sleep(0.05)
    check_eq(sample(text, "tokend_auth_rate_limited_total"), 1,
             "tokend_auth_rate_limited_total")
    check_eq(sample(text, "tokend_auth_failures_total"), 2,
             "tokend_auth_failures_total")

    rc, out = run_promtool(ctx, "check", "metrics", stdin=text.encode())
    check(rc == 0 and out.strip() == "",
          "promtool check metrics on a live scrape: exit %d: %s"
          % (rc, short(out, 1500)))

    have = families(text) | {"up"}
    names = rule_metric_names(rules_text(ctx))
    check(len(names) >= 8, "metric names found in the rules: %s" % names)
    missing = sorted(n for n in names if n not in have)
    check(not missing, "metric names of %s not in a live scrape: %s"
          % (RULES, missing))
    names = rule_metric_names("\n".join(dashboard_queries(ctx)))
    check(len(names) >= 8, "metric names found in the dashboard: %s" % names)
    missing = sorted(n for n in names if n not in have)
    check(not missing, "metric names of %s not in a live scrape: %s"
          % (DASHBOARD, missing))


@scenario("alerts_cert_expiry_follows_reload")
def alerts_cert_expiry_follows_reload(ctx):
    d = os.path.join(ctx.tmp, "alerts-cert-%s" % uid("c")[-8:])
    os.mkdir(d)
    cert, key = os.path.join(d, "server.pem"), os.path.join(d, "server.key")
    shutil.copyfile(ctx.pki.cert, cert)
    shutil.copyfile(ctx.pki.key, key)
    t = start_instance(ctx, "alerts-cert", workers=2, cert=cert, key=key)

    first = not_after(ctx, cert)
    check_eq(sample(scrape_text(t), EXPIRY), first,
             "%s of the served certificate" % EXPIRY)

    # A new certificate, valid 30 days: the gauge follows a reload.
    new_cert, new_key = cert + ".new", key + ".new"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "30",
                    "-subj", "/CN=localhost", "-keyout", new_key, "-out",
                    new_cert], capture_output=True, timeout=30, check=True)
    second = not_after(ctx, new_cert)
    check(second > first + 20 * 86400, "the new certificate's notAfter")
    os.replace(new_key, key)
    os.replace(new_cert, cert)
    since = t.log_offset()
    t.signal(signal.SIGHUP)
    t.wait_log(r"event=reload\b", since)
    t0 = time.monotonic()
    while sample(scrape_text(t), EXPIRY) != second and \
            time.monotonic() - t0 < 3:
        time.sleep(0.05)
    check_eq(sample(scrape_text(t), EXPIRY), second,
             "%s after SIGHUP with a new certificate" % EXPIRY)

    # A failed reload keeps the previous certificate and its expiry.
    with open(cert, "w") as f:
        f.write("not a certificate\n")
    since = t.log_offset()
    t.signal(signal.SIGHUP)
    t.wait_log(r"event=reload_failed\b", since)
    check_eq(sample(scrape_text(t), EXPIRY), second,
             "%s after a failed reload" % EXPIRY)
    check(t.running(), "tokend exited after a failed reload")
