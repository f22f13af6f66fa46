"""
Redis Sentinel: --redis sentinel://..., a real failover.

Setup ("sentinel_failover"): in a scratch directory, a master and a replica
(redis-server, persistence off) and three sentinels (redis-sentinel, quorum
2, down-after-milliseconds 1000, failover-timeout 3000), all on free
local ports. Clients are created with scripts/tokend-client through
TOKEND_REDIS=sentinel://... (a dead sentinel listed first). tokend runs
with --workers 2, --redis-timeout 500 and
--redis sentinel://DEAD,S1,S2,S3/mymaster (the dead sentinel first, so
discovery must skip it).

Expected:
- Before: /readyz 200; three tokens revoked -> 200 (WAIT 1 acknowledged by
  the replica), each /verify 401 "revoked".
- Four threads issue tokens and verify each in a loop, on new connections
  (both workers), through the whole scenario.
- The master is SIGKILLed. /oauth/token answers 200 again within
  down-after + failover-timeout + 1 s = 5 s of the kill (measured: the
  first moment from which 4 /oauth/token in a row, on new connections,
  answer 200). Throughout, the load threads see only 200 and 503 from
  /oauth/token and /verify, never an error of another kind.
- After the switch: every revoked token is still 401 at /verify on 6 new
  connections; /readyz 200 on 4 connections; the log names the switch.
- A revocation right after the switch, while the new master has no
  replica, answers 503 temporarily_unavailable (WAIT saw no replica). The
  old master is restarted; the sentinels make it a replica of the new
  master, and then a revocation answers 200 and the token is 401.
- tokend-client resolves the new master through the sentinels too.

"sentinel_url_script": tokend-client refuses bad sentinel:// URLs with
exit 2 and the same reasons as tokend, and says which sentinels failed
(exit 1) when none answers.
"""

import os
import shutil
import signal
import subprocess
import threading
import time

from jwt_helpers import (NO_LIMIT, Admin, expect_rejected, get_token,
                         revoke, scratch_dir, start_instance, token_request,
                         uid, verify_request)
from tokend_harness import (check, check_eq, child_env, fail, free_port,
                            kill_hard, scenario, short, skip)

DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 3000
MASTER = "mymaster"


def resp(port, *args, timeout=1.0):
    """One command to a local Redis or sentinel via redis-cli --raw."""
    r = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port),
                        "--raw"] + [str(a) for a in args],
                       capture_output=True, timeout=timeout + 5,
                       env=child_env())
    return r.returncode, r.stdout.decode("utf-8", "replace")


class Cluster:
    """A master, a replica and three sentinels of our own."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.dir = scratch_dir(ctx, "sentinel")
        self.master = free_port()
        self.replica = free_port()
        self.sentinels = [free_port() for _ in range(3)]
        self.dead = free_port()          # nothing listens there
        self.procs = {}

    def redis(self, port, replicaof=None):
        argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", self.dir,
                "--dbfilename", "dump-%d.rdb" % port, "--daemonize", "no",
                "--logfile", os.path.join(self.dir, "redis-%d.log" % port),
                "--repl-diskless-sync-delay", "0"]
        if replicaof is not None:
            argv += ["--replicaof", "127.0.0.1", str(replicaof)]
        self.procs[port] = self.ctx.popen(argv, stdin=subprocess.DEVNULL,
                                          stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL,
                                          env=child_env())
        self.wait_ping(port)

    def sentinel(self, port):
        conf = os.path.join(self.dir, "sentinel-%d.conf" % port)
        with open(conf, "w") as f:
            f.write("port %d\nbind 127.0.0.1\ndaemonize no\n"
                    "dir %s\nlogfile %s\n"
                    "sentinel monitor %s 127.0.0.1 %d 2\n"
                    "sentinel down-after-milliseconds %s %d\n"
                    "sentinel failover-timeout %s %d\n"
                    "sentinel parallel-syncs %s 1\n"
                    % (port, self.dir,
                       os.path.join(self.dir, "sentinel-%d.log" % port),
                       MASTER, self.master, MASTER, DOWN_AFTER_MS,
                       MASTER, FAILOVER_TIMEOUT_MS, MASTER))
        self.procs[port] = self.ctx.popen(["redis-sentinel", conf],
                                          stdin=subprocess.DEVNULL,
                                          stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL,
                                          env=child_env())
        self.wait_ping(port)

    def wait_ping(self, port, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rc, out = resp(port, "PING")
            if rc == 0 and out.strip() == "PONG":
                return
            time.sleep(0.05)
        fail("redis on port %d did not answer PING" % port)

    def start(self):
        self.redis(self.master)
        self.redis(self.replica, replicaof=self.master)
        for p in self.sentinels:
            self.sentinel(p)
        # Ready for a failover: the replica is in sync and every sentinel
        # knows the replica and the two other sentinels.
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.ready():
                return
            time.sleep(0.2)
        fail("sentinels did not discover each other and the replica "
             "within 15 s")

    def ready(self):
        rc, out = resp(self.master, "INFO", "replication")
        if rc != 0 or "connected_slaves:1" not in out or \
                "state=online" not in out:
            return False
        for p in self.sentinels:
            rc, out = resp(p, "SENTINEL", "master", MASTER)
            if rc != 0:
                return False
            lines = out.splitlines()
            info = dict(zip(lines[0::2], lines[1::2]))
            if info.get("num-other-sentinels") != "2" or \
                    info.get("num-slaves") != "1":
                return False
        return True

    def master_addr(self, port):
        rc, out = resp(port, "SENTINEL", "get-master-addr-by-name", MASTER)
        lines = out.split()
        return (lines[0], int(lines[1])) if rc == 0 and len(lines) == 2 \
            else None

    def url(self, dead_first=True):
        hosts = (["127.0.0.1:%d" % self.dead] if dead_first else []) + \
            ["127.0.0.1:%d" % p for p in self.sentinels]
        return "sentinel://%s/%s" % (",".join(hosts), MASTER)

    def kill(self, port):
        p = self.procs[port]
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=5)


class Load:
    """Threads issuing a token and verifying it, in a loop."""

    def __init__(self, t, client, n=4):
        self.t = t
        self.client = client
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.seen = {}          # (endpoint, status) -> count
        self.bad = []           # anything but 200 / 503
        self.threads = [threading.Thread(target=self.run, daemon=True)
                        for _ in range(n)]

    def note(self, what, status, body):
        with self.lock:
            self.seen[(what, status)] = self.seen.get((what, status), 0) + 1
            if status not in (200, 503) and len(self.bad) < 10:
                self.bad.append("%s %s %s" % (what, status, short(body)))

    def run(self):
        while not self.stop.is_set():
            try:
                r = token_request(self.t, {"grant_type":
                                           "client_credentials"},
                                  client=self.client, timeout=5)
                self.note("token", r.status, r.body)
                if r.status != 200:
                    time.sleep(0.02)
                    continue
                r = verify_request(self.t, r.json["access_token"],
                                   timeout=5)
                self.note("verify", r.status, r.body)
            except Exception as e:          # noqa: BLE001
                self.note("exception", 0, repr(e).encode())
                time.sleep(0.02)

    def __enter__(self):
        for th in self.threads:
            th.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for th in self.threads:
            th.join(timeout=10)


def token_status(t, client):
    try:
        return token_request(t, {"grant_type": "client_credentials"},
                             client=client, timeout=3).status
    except OSError:
        return 0


def expect_revoked(t, tok, what):
    for i in range(6):
        expect_rejected(verify_request(t, tok), "revoked",
                        "%s (connection %d)" % (what, i + 1))


@scenario("sentinel_failover", timeout=90)
def sentinel_failover(ctx):
    if shutil.which("redis-sentinel") is None:
        skip("redis-sentinel not installed (Debian package redis-sentinel)")
    c = Cluster(ctx)
    c.start()
    ctx.vlog("master %d, replica %d, sentinels %s"
             % (c.master, c.replica, c.sentinels))

    admin = Admin(ctx)
    admin.env["TOKEND_REDIS"] = c.url()
    cid = uid("sent")
    secret = admin.add(cid, "--scopes", "read")
    client = (cid, secret)
    rc, out = resp(c.master, "EXISTS", "tokend:client:" + cid)
    check_eq(out.strip(), "1", "tokend-client wrote the client to the "
             "master found through the sentinels")

    t = start_instance(ctx, "sentinel", replace={"--redis": c.url()},
                       args=NO_LIMIT + ["--redis-timeout", "500",
                                        "--log-level", "info"])
    deadline = time.monotonic() + 10
    while t.request("GET", "/readyz").status != 200:
        if time.monotonic() > deadline:
            fail("/readyz not 200 within 10 s: %s" % t.log_tail())
        time.sleep(0.1)

    revoked = []
    for i in range(3):
        _, tok = get_token(t, cid, secret)
        r = revoke(t, client, tok)
        check_eq(r.status, 200, "revoke %d before the failover (body %s)"
                 % (i + 1, short(r.body)))
        revoked.append(tok)
    for i, tok in enumerate(revoked):
        expect_revoked(t, tok, "revoked token %d before" % (i + 1))

    offset = t.log_offset()
    with Load(t, client) as load:
        time.sleep(1.0)
        c.kill(c.master)
        t_kill = time.monotonic()
        bound = (DOWN_AFTER_MS + FAILOVER_TIMEOUT_MS) / 1000.0 + 1.0
        streak, first_ok = 0, None
        while True:
            now = time.monotonic()
            if token_status(t, client) == 200:
                streak += 1
                if first_ok is None:
                    first_ok = now
            else:
                streak, first_ok = 0, None
            if streak >= 4:
                break
            if now - t_kill > bound + 5:
                fail("/oauth/token not 200 again %.1f s after the kill: %s"
                     % (now - t_kill, t.log_tail()))
            time.sleep(0.05)
        took = first_ok - t_kill
        ctx.vlog("FAILOVER: /oauth/token 200 again %.2f s after SIGKILL "
                 "(bound %.1f s)" % (took, bound))
        print("# sentinel failover: /oauth/token 200 again %.2f s after "
              "SIGKILL of the master (bound %.1f s)" % (took, bound),
              flush=True)
        check(took <= bound, "/oauth/token 200 again only %.2f s after "
              "the kill (bound %.1f s)" % (took, bound))
        time.sleep(1.0)
    check(not load.bad, "answers other than 200/503 during the failover: "
          + "; ".join(load.bad))
    ctx.vlog("load: %s" % sorted(load.seen.items()))
    check(load.seen.get(("token", 200), 0) > 20,
          "the load threads got few tokens: %s" % sorted(load.seen.items()))
    check(load.seen.get(("exception", 0), 0) == 0,
          "the load threads had failed connections")

    new = c.master_addr(c.sentinels[0])
    check(new == ("127.0.0.1", c.replica),
          "the sentinels did not promote the replica: %r" % (new,))
    check(t.log_lines(r"event=store_master_switch", offset),
          "no event=store_master_switch line in the log")

    for i, tok in enumerate(revoked):
        expect_revoked(t, tok, "revoked token %d after the switch" % (i + 1))
    for i in range(4):
        r = t.request("GET", "/readyz")
        check_eq(r.status, 200, "/readyz %d after the switch (%s)"
                 % (i + 1, short(r.body)))

    # The new master has no replica yet: WAIT 1 sees none, 503.
    _, tok = get_token(t, cid, secret)
    r = revoke(t, client, tok)
    check_eq(r.status, 503, "revoke while the new master has no replica "
             "(body %s)" % short(r.body))
    check(isinstance(r.json, dict) and
          r.json.get("error") == "temporarily_unavailable",
          "revoke without a replica: body %s" % short(r.body))

    # The old master comes back; the sentinels make it a replica.
    c.redis(c.master)
    deadline = time.monotonic() + 20
    while True:
        r = revoke(t, client, tok)
        if r.status == 200:
            break
        check_eq(r.status, 503, "revoke while the old master rejoins")
        if time.monotonic() > deadline:
            fail("revoke not 200 within 20 s of the old master's restart")
        time.sleep(0.3)
    expect_revoked(t, tok, "token revoked after the switch")
    rc, out = resp(c.master, "ROLE")
    check(out.startswith("slave"), "the old master is not a replica: %s"
          % short(out))

    # tokend-client follows the switch too.
    r = admin.run("show", cid)
    check(cid.encode() in r.stdout, "tokend-client show after the switch: "
          "%s" % short(r.stdout))
    check(t.running(), "tokend exited")
    t.stop()
    for p in list(c.procs.values()):
        kill_hard(p)


@scenario("sentinel_url_script")
def sentinel_url_script(ctx):
    admin = Admin(ctx)
    bad = [
        ("sentinel://h", "missing /mastername"),
        ("sentinel://h/", "bad master name"),
        ("sentinel://h,/m", "empty host"),
        ("sentinel://h:0/m", "bad port"),
        ("sentinel://h,[::1/m", "missing ']'"),
        ("sentinel://h/m?db=x", "bad database"),
        ("sentinel://h/m?db=1&db=2", "repeated"),
        ("sentinel://h/m?foo=1", "unknown"),
        ("sentinel://h/m?sentinel_password=", "empty sentinel password"),
        ("sentinel://SECRET@h/m", "without ':'"),
    ]
    for url, reason in bad:
        admin.env["TOKEND_REDIS"] = url
        r = admin.run("list", ok=False)
        check_eq(r.returncode, 2, "tokend-client with %s: exit status" % url)
        check(reason.encode() in r.stderr, "tokend-client with %s: %s"
              % (url, short(r.stderr)))
        check(b"SECRET" not in r.stderr, "the password reached stderr")
    # No sentinel answers: exit 1, a reason naming the master.
    d1, d2 = free_port(), free_port()
    admin.env["TOKEND_REDIS"] = ("sentinel://127.0.0.1:%d,127.0.0.1:%d/m"
                                 % (d1, d2))
    r = admin.run("list", ok=False)
    check_eq(r.returncode, 1, "tokend-client with dead sentinels: exit")
    check(b"no sentinel knows master m" in r.stderr,
          "tokend-client with dead sentinels: %s" % short(r.stderr))
    # A sentinel that does not know the master: the harness's plain Redis
    # answers SENTINEL with an error, which counts as not knowing.
    admin.env["TOKEND_REDIS"] = ("sentinel://127.0.0.1:%d/m"
                                 % ctx.redis.port)
    r = admin.run("list", ok=False)
    check_eq(r.returncode, 1, "tokend-client with a non-sentinel: exit")
    # A good URL with the sentinel list parsed: the plain redis:// path
    # still works (the harness's Redis).
    admin.env["TOKEND_REDIS"] = "redis://127.0.0.1:%d" % ctx.redis.port
    check_eq(admin.run("list").returncode, 0, "tokend-client redis://")
