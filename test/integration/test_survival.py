"""
Survival under load and faults: wrk (with survival.lua, which counts the
answers by status code) and Python threads against a real tokend over TLS.

Setup: each scenario starts its own tokend (TLS, --auth-fail-limit 0) and
one client made with scripts/tokend-client; wrk runs 2 threads. Under an
ASan build (ctx.asan) the load runs are shorter.

- survival_1000_connections: RLIMIT_NOFILE raised for the harness (so for
  wrk) and by tokend itself; tokend --max-connections 2000. wrk keeps 1,000
  TLS connections with a request in flight on each (token issuing and
  verification alternating). At least 1,000 connections to tokend's port
  are ESTABLISHED at once (/proc/net/tcp); every answer is 200, no socket
  error.
- survival_bad_clients: tokend --workers 1 --request-timeout 2
  --idle-timeout 2. 50 connections trickle a request (TLS done, one byte
  every 0.25 s), 50 send a TLS ClientHello and go silent, 50 speak plain
  HTTP to the TLS port, 50 connect and send nothing. Every one is closed
  by tokend within the deadline plus a slack (CUT_MAX). Meanwhile wrk (8
  connections, verification) on the same (only) worker gets only 200s,
  and no answer takes as long as the 2 s deadline (MAX_LATENCY): none of
  the bad clients holds the worker.
- survival_redis_kill: tokend on a Redis of its own with AOF (appendfsync
  always), so the client survives the crash. Under load (issue + verify),
  Redis is SIGKILLed, then restarted 2 s later on the same port: only 200
  and 503 answers; a token is issued again within RECOVER_MAX of the
  restart. The figures (requests, 200s, 503s, other) are printed.
- survival_redis_stop: the same with SIGSTOP / SIGCONT of Redis for 2 s:
  only 200 and 503.
- survival_sighup_storm: a SIGHUP every 100 ms for 10 s (5 s under ASan)
  under load (issue + verify, every 10th request closes its connection so
  TLS handshakes happen during reloads): not one answer other than 200, no
  socket error, one event=reload line per SIGHUP taken (at least half of
  those sent: signals that arrive during a reload coalesce), no
  event=reload_failed.

After each: /healthz 200, a token is still issued, and tokend's VmRSS
(/proc/PID/status) is at most 2 x its value after a warm-up run of the
same shape, plus 20 MB. The warm-up brings the allocator's arenas,
OpenSSL's per-connection buffers and libevent's buffers to their working
size, so what grows beyond that is memory kept per request or per
connection: a leak of ~1 KiB per request over the tens of thousands of
requests of a run, or buffers not freed after a connection closes, goes
past the bound, while the allocator's fragmentation and the kernel's
accounting stay well inside it. Exact leak checking is LeakSanitizer's and
valgrind's job (scripts/memcheck). Under ASan the bound is not checked
(its quarantine alone keeps up to 256 MB of freed memory); the figures
are printed.
"""

import glob
import os
import re
import resource
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time

from jwt_helpers import (NO_LIMIT, Admin, basic, get_token, token_request,
                         uid)
from tokend_harness import (Redis, check, check_eq, fail, scenario, short,
                            skip, tls_client_hello, wait_closed)

HERE = os.path.dirname(os.path.abspath(__file__))
LUA = os.path.join(HERE, "survival.lua")

RSS_FACTOR = 2
RSS_SLACK_KIB = 20 * 1024
CUT_MAX = 2 + 3.0           # deadline 2 s plus scheduling slack
MAX_LATENCY = 1.5           # below the 2 s deadline a held worker would add
RECOVER_MAX = 5.0           # Redis back -> tokens issued again


def report(msg):
    """A figure for the CI log (always printed, not only with -v)."""
    print("# " + msg, flush=True)


def need_wrk():
    if shutil.which("wrk") is None:
        skip("wrk not installed")


def raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < n:
        skip("RLIMIT_NOFILE hard limit %d < %d" % (hard, n))
    if soft != resource.RLIM_INFINITY and soft < n:
        resource.setrlimit(resource.RLIMIT_NOFILE, (n, hard))


def seconds(ctx, plain, asan):
    return asan if ctx.asan else plain


class Wrk:
    """One wrk run in the background; result() waits and parses it."""

    def __init__(self, ctx, t, duration, conns, mix, auth="", token="",
                 close_every=0, threads=2, timeout=10):
        self.ctx = ctx
        self.dir = os.path.join(ctx.tmp, uid("wrk"))
        os.mkdir(self.dir)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
               "SURV_MIX": mix, "SURV_AUTH": auth, "SURV_TOKEN": token,
               "SURV_CLOSE_EVERY": str(close_every),
               "SURV_TOKENS_DIR": self.dir}
        url = "%s://127.0.0.1:%d/" % (t.scheme, t.port)
        self.argv = ["wrk", "-t", str(threads), "-c", str(conns),
                     "-d", "%ds" % duration, "--timeout", "%ds" % timeout,
                     "-s", LUA, url]
        self.duration = duration
        self.out = open(os.path.join(self.dir, "wrk.out"), "w+b")
        self.proc = ctx.popen(self.argv, stdout=self.out,
                              stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL, env=env)
        self.t0 = time.monotonic()

    def result(self):
        try:
            self.proc.wait(timeout=self.duration + 30)
        except subprocess.TimeoutExpired:
            fail("wrk did not end within %d s" % (self.duration + 30))
        self.out.seek(0)
        text = self.out.read().decode("utf-8", "replace")
        self.out.close()
        for path in glob.glob(os.path.join(self.dir, "tokens-*.txt")):
            with open(path) as f:
                for line in f:
                    self.ctx.sensitive.token(line.strip())
        m = re.search(r"^SURV (.*)$", text, re.M)
        if self.proc.returncode != 0 or m is None:
            fail("wrk exited %s without a result: %s"
                 % (self.proc.returncode, short(text, 500)))
        r = {}
        for kv in m.group(1).split():
            k, _, v = kv.partition("=")
            r[k] = v if k == "statuses" else int(v)
        r["errors"] = (r["err_connect"] + r["err_read"] + r["err_write"]
                       + r["err_timeout"])
        return r


def describe(r):
    return ("requests %d: 200 %d, 503 %d, other %d (%s); socket errors: "
            "connect %d read %d write %d timeout %d; p50 %.1f ms p99 %.1f "
            "ms max %.1f ms"
            % (r["requests"], r["s200"], r["s503"], r["other"],
               r["statuses"], r["err_connect"], r["err_read"],
               r["err_write"], r["err_timeout"], r["p50_us"] / 1e3,
               r["p99_us"] / 1e3, r["max_us"] / 1e3))


def setup_client(ctx, admin=None):
    admin = admin or Admin(ctx)
    cid = uid("surv")
    secret = admin.add(cid, "--scopes", "read write")
    return cid, secret


def established(port):
    """ESTABLISHED TCP connections whose local port is port (IPv4)."""
    n = 0
    want = ":%04X" % port
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            if fields[1].endswith(want) and fields[3] == "01":
                n += 1
    return n


def after_checks(ctx, t, cid, secret, base_kib, what):
    """/healthz 200, a token is issued, VmRSS within the bound."""
    r = t.request("GET", "/healthz")
    check_eq(r.status, 200, "%s: /healthz afterwards" % what)
    get_token(t, cid, secret)
    rss = t.rss_kib()
    limit = RSS_FACTOR * base_kib + RSS_SLACK_KIB
    report("%s: VmRSS %d KiB after warm-up, %d KiB after the run "
           "(bound %d KiB%s)" % (what, base_kib, rss, limit,
                                 ", not checked under ASan" if ctx.asan
                                 else ""))
    if not ctx.asan:
        check(rss <= limit, "%s: VmRSS grew from %d KiB to %d KiB (bound "
              "%d KiB)" % (what, base_kib, rss, limit))


def warm_up(ctx, t, conns, mix, auth, token, close_every=0):
    w = Wrk(ctx, t, 1, conns, mix, auth=auth, token=token,
            close_every=close_every)
    r = w.result()
    check(r["other"] == 0 and r["errors"] == 0,
          "warm-up: %s" % describe(r))
    return t.rss_kib()


# ---------------------------------------------------------------------------

@scenario("survival_1000_connections", timeout=60)
def thousand(ctx):
    need_wrk()
    conns = 1000
    raise_nofile(4096)
    # Under ASan a burst of 1,000 TLS handshakes can keep a worker's loop
    # busy for longer than the default 500 ms Redis deadline, and a
    # subscriber probe then misses it (see docs/internals.md, Tests): this scenario
    # is about connections, so the deadline is raised there.
    t = ctx.start_tokend("surv-conn", args=NO_LIMIT + [
        "--max-connections", "2000"] + (
            ["--redis-timeout", "3000"] if ctx.asan else []))
    cid, secret = setup_client(ctx)
    _, token = get_token(t, cid, secret)
    auth = basic(cid, secret)
    base = warm_up(ctx, t, conns, "mix", auth, token)
    dur = seconds(ctx, 5, 4)
    w = Wrk(ctx, t, dur, conns, "mix", auth=auth, token=token)
    peak = 0
    while w.proc.poll() is None and time.monotonic() - w.t0 < dur - 0.5:
        peak = max(peak, established(t.port))
        time.sleep(0.2)
    r = w.result()
    report("1000 connections: %s; peak %d established" % (describe(r), peak))
    check(peak >= conns, "at most %d connections were open at once, "
          "expected %d" % (peak, conns))
    check(r["requests"] >= conns and r["s200"] == r["requests"]
          and r["errors"] == 0, "not every request answered 200: %s"
          % describe(r))
    after_checks(ctx, t, cid, secret, base, "1000 connections")


# ---------------------------------------------------------------------------

def bad_client(kind, t, ctx, results, i):
    """One bad connection; results[i] = (kind, seconds to the close or
    None, error text or None)."""
    t0 = time.monotonic()
    try:
        s = socket.create_connection(("127.0.0.1", t.port), timeout=5)
        if kind == "trickle":
            s = t.ssl_ctx.wrap_socket(s, server_hostname="localhost")
            data = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: " \
                + b"a" * 200
            closed = None
            for b in data:
                try:
                    s.sendall(bytes([b]))
                except (OSError, ssl.SSLError):
                    closed = time.monotonic() - t0
                    break
                # a read with a timeout notices the close early
                s.settimeout(0.25)
                try:
                    chunk = s.recv(4096)
                    if not chunk:
                        closed = time.monotonic() - t0
                        break
                except socket.timeout:
                    pass
                except (OSError, ssl.SSLError):
                    closed = time.monotonic() - t0
                    break
                if time.monotonic() - t0 > 10:
                    break
            if closed is None:
                left = wait_closed(s, 10 - (time.monotonic() - t0))
                closed = None if left is None else time.monotonic() - t0
            results[i] = (kind, closed, None)
        else:
            if kind == "hello":
                s.sendall(tls_client_hello())
            elif kind == "plain":
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
            left = wait_closed(s, 10)
            results[i] = (kind, None if left is None
                          else time.monotonic() - t0, None)
        s.close()
    except Exception as e:              # noqa: BLE001
        results[i] = (kind, None, "%s: %s" % (type(e).__name__, e))


@scenario("survival_bad_clients", timeout=60)
def bad_clients(ctx):
    need_wrk()
    raise_nofile(4096)
    t = ctx.start_tokend("surv-bad", workers=1, args=NO_LIMIT + [
        "--request-timeout", "2", "--idle-timeout", "2"])
    cid, secret = setup_client(ctx)
    _, token = get_token(t, cid, secret)
    auth = basic(cid, secret)
    base = warm_up(ctx, t, 8, "verify", auth, token)

    # the load starts first, so its connections are open when the bad
    # ones arrive; it outlasts them
    dur = 7
    w = Wrk(ctx, t, dur, 8, "verify", auth=auth, token=token)
    time.sleep(0.5)
    kinds = ["trickle", "hello", "plain", "silent"]
    results = [None] * (50 * len(kinds))
    threads = []
    for i in range(len(results)):
        th = threading.Thread(target=bad_client, daemon=True,
                              args=(kinds[i % len(kinds)], t, ctx, results,
                                    i))
        th.start()
        threads.append(th)
    for th in threads:
        th.join(timeout=20)
    r = w.result()
    report("bad clients: load on the same worker: %s" % describe(r))
    problems = []
    worst = {}
    for kind, closed, err in (x or ("?", None, "thread did not finish")
                              for x in results):
        if err is not None:
            problems.append("%s: %s" % (kind, err))
        elif closed is None:
            problems.append("%s: still open after 10 s" % kind)
        else:
            worst[kind] = max(worst.get(kind, 0), closed)
            if closed > CUT_MAX * (2 if ctx.asan else 1):
                problems.append("%s: closed after %.1f s" % (kind, closed))
    report("bad clients: slowest close per kind: %s" % ", ".join(
        "%s %.2f s" % kv for kv in sorted(worst.items())))
    check(not problems, "bad clients not cut off: %s"
          % "; ".join(sorted(set(problems))[:8]))
    check(r["requests"] > 0 and r["s200"] == r["requests"]
          and r["errors"] == 0, "the load on the same worker: %s"
          % describe(r))
    check(r["max_us"] < MAX_LATENCY * 1e6 * (1.5 if ctx.asan else 1),
          "an answer took %.2f s while bad clients were connected"
          % (r["max_us"] / 1e6))
    after_checks(ctx, t, cid, secret, base, "bad clients")


# ---------------------------------------------------------------------------

def own_redis(ctx, name):
    """A redis-server whose data survives SIGKILL (AOF, fsync always)."""
    d = os.path.join(ctx.tmp, uid(name))
    os.mkdir(d)
    r = Redis(ctx, name=name, args=["--dir", d, "--appendonly", "yes",
                                    "--appendfsync", "always"])
    r.start()
    return r


def redis_fault(ctx, kind):
    need_wrk()
    rd = own_redis(ctx, "redis-" + kind)
    try:
        url = "redis://127.0.0.1:%d" % rd.port
        admin = Admin(ctx)
        admin.env["TOKEND_REDIS"] = url
        t = ctx.start_tokend("surv-" + kind, args=NO_LIMIT + [
            "--redis-timeout", "300"])
        # the command line points at the harness's Redis; move it
        t.stop()
        t.argv[t.argv.index("--redis") + 1] = url
        t.start()
        cid, secret = setup_client(ctx, admin)
        _, token = get_token(t, cid, secret)
        auth = basic(cid, secret)
        base = warm_up(ctx, t, 20, "mix", auth, token)

        dur = seconds(ctx, 9, 8)
        w = Wrk(ctx, t, dur, 20, "mix", auth=auth, token=token)
        time.sleep(2)
        if kind == "kill":
            rd.kill()
            time.sleep(2)
            rd.start()
        else:
            rd.pause()
            time.sleep(2)
            rd.cont()
        back = time.monotonic()
        recovered = None
        while time.monotonic() - back < RECOVER_MAX + 5:
            try:
                rr = token_request(t, client=(cid, secret), timeout=2)
                if rr.status == 200:
                    recovered = time.monotonic() - back
                    break
            except OSError:
                pass
            time.sleep(0.05)
        r = w.result()
        report("redis %s: %s; tokens again %s after Redis came back"
               % ("SIGKILL + restart" if kind == "kill" else
                  "SIGSTOP + SIGCONT", describe(r),
                  "never" if recovered is None else "%.2f s" % recovered))
        check(r["requests"] > 0 and r["other"] == 0 and r["errors"] == 0,
              "answers other than 200 and 503: %s" % describe(r))
        check(r["s503"] > 0, "no 503 during the outage: %s" % describe(r))
        check(recovered is not None and recovered <= RECOVER_MAX,
              "tokens not issued again within %.0f s of Redis coming back"
              " (%s)" % (RECOVER_MAX, recovered))
        after_checks(ctx, t, cid, secret, base, "redis " + kind)
        t.stop()
    finally:
        rd.shutdown()


@scenario("survival_redis_kill", timeout=60)
def redis_kill(ctx):
    redis_fault(ctx, "kill")


@scenario("survival_redis_stop", timeout=60)
def redis_stop(ctx):
    redis_fault(ctx, "stop")


# ---------------------------------------------------------------------------

@scenario("survival_sighup_storm", timeout=60)
def sighup_storm(ctx):
    need_wrk()
    t = ctx.start_tokend("surv-hup", args=NO_LIMIT)
    cid, secret = setup_client(ctx)
    _, token = get_token(t, cid, secret)
    auth = basic(cid, secret)
    base = warm_up(ctx, t, 16, "mix", auth, token, close_every=10)
    off = t.log_offset()
    dur = seconds(ctx, 10, 5)
    w = Wrk(ctx, t, dur + 1, 16, "mix", auth=auth, token=token,
            close_every=10)
    time.sleep(0.5)
    sent = 0
    t_end = time.monotonic() + dur
    while time.monotonic() < t_end:
        t.signal(signal.SIGHUP)
        sent += 1
        time.sleep(0.1)
    r = w.result()
    time.sleep(0.3)
    reloads = len(t.log_lines(r"event=reload what=", since=off))
    failed = t.log_lines(r"event=reload_failed", since=off)
    report("SIGHUP storm: %d SIGHUPs sent, %d reloads logged; %s"
           % (sent, reloads, describe(r)))
    check(r["requests"] > 0 and r["s200"] == r["requests"]
          and r["errors"] == 0, "not every request answered 200 during "
          "the SIGHUPs: %s" % describe(r))
    check(not failed, "reload failed: %s" % short(failed[0] if failed
                                                  else ""))
    check(reloads >= sent // 2, "only %d reloads for %d SIGHUPs"
          % (reloads, sent))
    after_checks(ctx, t, cid, secret, base, "SIGHUP storm")
