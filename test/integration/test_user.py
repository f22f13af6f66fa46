"""
--user: started as root, tokend gives root up after binding its socket and
loading its keys and certificate, before any worker thread starts.

Setup: needs root and the user "nobody" (skipped otherwise; CI runs as
root). Key and certificate files are copies of the test PKI in a
directory of our own under /tmp (mode 755; the run's temporary directory
is 700, which nobody could not enter), the files mode 600 owned by root.
Scoped TLS instances with --auth-fail-limit 0.

Expected:
- user_drop: tokend --user nobody starts (it read the root-only files
  as root) and logs event=privileges_dropped user=nobody. /proc/PID/status
  shows nobody's uid in all four Uid fields and nobody's gid in all four
  Gid fields, and Groups is nobody's group list (os.getgrouplist); every
  thread in /proc/PID/task says the same, and there are at least
  1 + --workers threads. /proc/PID/status is owned by root although the
  process runs as nobody: it is not dumpable (PR_SET_DUMPABLE 0).
  /healthz answers 200 and /oauth/token issues a token signed with the
  key (kid = key A's thumbprint).
  SIGHUP after replacing the signing key with key B, still root-only:
  event=reload_failed what=keys ... Permission denied, kept=previous; the
  process keeps serving (healthz 200) and tokens still carry kid A.
  After chown of the three files to nobody, SIGHUP: event=reload and
  tokens carry kid B: reload works when the files are the user's.
- user_unknown: --user no-such-user-tokend and TOKEND_USER=no-such-user-
  tokend each exit 2 within 10 s with exactly one line on stderr naming
  --user / TOKEND_USER ("unknown user"), print no log line (the check
  runs before the log starts, so before any socket), and leave the port
  closed.
- user_not_root: tokend run as nobody (no root) with --plain-http and an
  HS256 secret nobody can read: --user root exits 2 naming --user
  ("only root can switch users"); --user nobody (the current user) starts,
  logs event=user ... already running as this user, answers /healthz 200
  and stops with 0 on SIGTERM.
"""

import http.client
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time

from jwt_helpers import (Admin, NO_LIMIT, Jws, get_token, key_file, key_kid,
                         start_instance, uid)
from tokend_harness import (check, check_eq, child_env, fail, free_port,
                            port_listening, scenario, short, skip, wait_exit)


def need_root_and_nobody():
    if os.geteuid() != 0:
        skip("needs root (the suite runs as root in CI)")
    try:
        return pwd.getpwnam("nobody")
    except KeyError:
        skip("no user 'nobody'")


class OwnDir:
    """A directory under /tmp that nobody may enter; removed on exit."""

    def __enter__(self):
        self.path = tempfile.mkdtemp(prefix="tokend-user-")
        os.chmod(self.path, 0o755)
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)

    def copy(self, src, name, mode=0o600):
        dst = os.path.join(self.path, name)
        tmp = dst + ".new"
        shutil.copyfile(src, tmp)
        os.chmod(tmp, mode)
        os.replace(tmp, dst)
        return dst


def status_fields(path):
    """{field: [values]} of a /proc/.../status file."""
    out = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.split()
    return out


def issue_kid(t, cid, secret):
    _, tok = get_token(t, cid, secret)
    return Jws(tok).header.get("kid")


@scenario("user_drop", timeout=90)
def user_drop(ctx):
    pw = need_root_and_nobody()
    a, b = key_file(ctx, "ec_a"), key_file(ctx, "ec_b")
    kid_a, kid_b = key_kid(a), key_kid(b)
    with OwnDir() as d:
        signing = d.copy(a, "signing.pem")
        cert = d.copy(ctx.pki.cert, "server.pem")
        key = d.copy(ctx.pki.key, "server.key")
        t = start_instance(ctx, "user", args=NO_LIMIT + ["--user", "nobody"],
                           signing_key=signing, cert=cert, key=key,
                           workers=2)
        t.wait_log(r"event=privileges_dropped user=nobody uid=%d gid=%d"
                   % (pw.pw_uid, pw.pw_gid))
        pid = t.proc.pid
        st = status_fields("/proc/%d/status" % pid)
        want_uid = [str(pw.pw_uid)] * 4
        want_gid = [str(pw.pw_gid)] * 4
        want_groups = sorted(set(os.getgrouplist("nobody", pw.pw_gid)))
        check_eq(st["Uid"], want_uid, "Uid (real, effective, saved, fs)")
        check_eq(st["Gid"], want_gid, "Gid (real, effective, saved, fs)")
        check_eq(sorted(int(g) for g in st["Groups"]), want_groups,
                 "Groups")
        tasks = os.listdir("/proc/%d/task" % pid)
        check(len(tasks) >= 3, "threads: %d, want main + 2 workers"
              % len(tasks))
        for tid in tasks:
            ts = status_fields("/proc/%d/task/%s/status" % (pid, tid))
            check_eq((ts["Uid"], ts["Gid"]), (want_uid, want_gid),
                     "thread %s Uid/Gid" % tid)
            check_eq(sorted(int(g) for g in ts["Groups"]), want_groups,
                     "thread %s Groups" % tid)
        check_eq(os.stat("/proc/%d/status" % pid).st_uid, 0,
                 "owner of /proc/PID/status (root when not dumpable)")

        check_eq(t.request("GET", "/healthz").status, 200, "/healthz")
        cid = uid("it-user")
        secret = Admin(ctx).add(cid, "--scopes", "u")
        check_eq(issue_kid(t, cid, secret), kid_a, "kid before reload")

        # Root-only files: the reload, done as nobody, cannot read them.
        d.copy(b, "signing.pem")
        off = t.log_offset()
        t.signal(signal.SIGHUP)
        line = t.wait_log(r"event=reload_failed", since=off)
        check("what=keys" in line and "Permission denied" in line and
              "kept=previous" in line, "reload_failed line: %s" % line)
        check(not t.log_lines(r"event=reload ", since=off),
              "a reload succeeded with root-only files")
        check(t.running(), "tokend exited after a failed reload")
        check_eq(t.request("GET", "/healthz").status, 200,
                 "/healthz after the failed reload")
        check_eq(issue_kid(t, cid, secret), kid_a,
                 "kid after the failed reload (the old key stays)")

        # The user's own files: the reload works.
        for f in ("signing.pem", "server.pem", "server.key"):
            os.chown(os.path.join(d.path, f), pw.pw_uid, pw.pw_gid)
        off = t.log_offset()
        t.signal(signal.SIGHUP)
        line = t.wait_log(r"event=reload ", since=off)
        check("what=keys,tls" in line, "reload line: %s" % line)
        deadline = time.monotonic() + 3
        kid = None
        while time.monotonic() < deadline:
            kid = issue_kid(t, cid, secret)
            if kid == kid_b:
                break
            time.sleep(0.05)
        check_eq(kid, kid_b, "kid after reloading files nobody can read")
        t.stop()


def run_tokend(argv, env=None, **kw):
    return subprocess.run(argv, capture_output=True, timeout=10,
                          stdin=subprocess.DEVNULL, env=child_env(env), **kw)


def one_line_naming(r, names, reason, what):
    err = r.stderr.decode("utf-8", "replace")
    lines = [ln for ln in err.splitlines() if ln.strip()]
    check_eq(r.returncode, 2, what + ": exit status (stderr %s)" % short(
        r.stderr, 300))
    check_eq(len(lines), 1, what + ": lines on stderr (%r)" % lines)
    check(all(n in lines[0] for n in names) and reason in lines[0],
          what + ": %r does not name %s / %r" % (lines[0], names, reason))
    check("event=" not in err, what + ": a log line before the error")


@scenario("user_unknown")
def user_unknown(ctx):
    port = free_port()
    base = [ctx.tokend_bin, "--listen", "127.0.0.1:%d" % port,
            "--redis", "redis://127.0.0.1:%d" % ctx.redis.port,
            "--signing-key", ctx.pki.signing_key,
            "--tls-cert", ctx.pki.cert, "--tls-key", ctx.pki.key,
            "--workers", "2"]
    r = run_tokend(base + ["--user", "no-such-user-tokend"])
    one_line_naming(r, ["--user", "TOKEND_USER"], "unknown user",
                    "--user no-such-user-tokend")
    check(not port_listening(port), "port open after an unknown --user")
    r = run_tokend(base, env={"TOKEND_USER": "no-such-user-tokend"})
    one_line_naming(r, ["TOKEND_USER"], "unknown user",
                    "TOKEND_USER=no-such-user-tokend")
    check(not port_listening(port), "port open after an unknown "
          "TOKEND_USER")


@scenario("user_not_root", timeout=60)
def user_not_root(ctx):
    pw = need_root_and_nobody()
    as_nobody = dict(user=pw.pw_uid, group=pw.pw_gid, extra_groups=[])
    with OwnDir() as d:
        sf = os.path.join(d.path, "hs256.secret")
        with open(sf, "wb") as f:
            f.write(os.urandom(24).hex().encode())
        os.chmod(sf, 0o644)
        # The build tree may be where nobody cannot enter (a checkout
        # under /root): nobody runs a copy of the binary.
        binary = d.copy(ctx.tokend_bin, "tokend", mode=0o755)
        port = free_port()
        base = [binary, "--listen", "127.0.0.1:%d" % port,
                "--redis", "redis://127.0.0.1:%d" % ctx.redis.port,
                "--plain-http", "--hs256-secret-file", sf, "--workers", "1",
                "--management-listen", "127.0.0.1:%d" % free_port()]
        r = run_tokend(base + ["--user", "root"], **as_nobody)
        one_line_naming(r, ["--user", "TOKEND_USER"],
                        "only root can switch users", "--user root as nobody")

        log = os.path.join(ctx.tmp, "tokend-user-not-root-%d.log" % port)
        with open(log, "wb") as fh:
            p = ctx.popen(base + ["--user", "nobody"], stdout=fh, stderr=fh,
                          stdin=subprocess.DEVNULL, env=child_env(),
                          **as_nobody)

        def text():
            with open(log, "rb") as f:
                return f.read().decode("utf-8", "replace")
        deadline = time.monotonic() + 10
        status = None
        while time.monotonic() < deadline and p.poll() is None:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                c.request("GET", "/healthz")
                status = c.getresponse().status
                c.close()
                if status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.05)
        check_eq(status, 200, "/healthz of tokend --user nobody run as "
                 "nobody (log: %s)" % short(text().encode(), 400))
        check(re.search(r"event=user user=nobody uid=%d msg=\"already "
                        r"running as this user\"" % pw.pw_uid, text()),
              "no 'already running as this user' line: %s"
              % short(text().encode(), 400))
        check_eq(status_fields("/proc/%d/status" % p.pid)["Uid"],
                 [str(pw.pw_uid)] * 4, "Uid")
        p.send_signal(signal.SIGTERM)
        st = wait_exit(p, 12)
        if st is None:
            fail("tokend run as nobody did not stop on SIGTERM")
        check_eq(st, 0, "exit status after SIGTERM")
