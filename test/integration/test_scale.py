"""
Many concurrent keep-alive TLS connections: all served, none dropped
while idle, and little memory for each.

Setup: a scenario-scoped TLS tokend (--workers 2, --max-connections
N + 100, --idle-timeout 60). The client is scripts/bench-connections.py
(the one `scripts/bench --connections 10000` uses), loaded as a module:
one process, non-blocking sockets and a selector, at most 256 handshakes
in flight. N is 3,000 (TOKEND_SCALE_CONNECTIONS overrides it), which fits
CI's time (about 10 s here); fewer when the hard RLIMIT_NOFILE is below
N + 200, skipped below 1,200.

Expected:
- every one of the N connections completes its handshake and gets 200
  for GET /healthz, kept alive;
- while all N are open and idle, a new connection still gets 200;
- after 4 s idle, a second request on every connection is served (none
  was closed or lost);
- tokend's RSS grows by less than LIMIT_KIB per idle connection: 20 KiB,
  the target of `scripts/bench --connections 10000` (release build),
  plus a margin for the unoptimised test build (24 KiB); not checked
  under AddressSanitizer, whose redzones and quarantine make RSS
  meaningless;
- tokend is still healthy after the connections are closed, and logged
  no error.
"""

import importlib.util
import os
import resource

from tokend_harness import check, check_eq, scenario, skip

LIMIT_KIB = 24.0


def load_client(ctx):
    path = os.path.join(ctx.source_root, "scripts", "bench-connections.py")
    spec = importlib.util.spec_from_file_location("bench_connections", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def sanitized(pid):
    with open("/proc/%d/maps" % pid) as f:
        return any("libasan" in line or "libclang_rt.asan" in line
                   for line in f)


@scenario("scale_connections", timeout=120)
def scale_connections(ctx):
    n = int(os.environ.get("TOKEND_SCALE_CONNECTIONS", "3000"))
    # Both this process and tokend need a descriptor per connection.
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard < n + 200:
        if hard < 1200:
            skip("RLIMIT_NOFILE hard limit %d: too low" % hard)
        ctx.vlog("scale: hard RLIMIT_NOFILE %d, %d connections instead of "
                 "%d" % (hard, hard - 200, n))
        n = hard - 200
    client = load_client(ctx)
    t = ctx.start_tokend("scale", args=["--max-connections", str(n + 100),
                                        "--idle-timeout", "60"])
    pid = t.proc.pid
    probes = []

    def log(msg):
        ctx.vlog("scale: " + msg)
        # Called once all N are open (and again after the second round):
        # a new connection must still be served.
        probes.append(t.request("GET", "/healthz").status)

    r = client.run("127.0.0.1", t.port, pid, n, cafile=ctx.pki.ca_cert,
                   hold=2.0, log=log)
    ctx.vlog("scale: %r" % (r,))
    check_eq(r["served"], n, "connections served (errors: %r)"
             % r["errors"])
    check_eq(r["served_again"], n, "connections served again after idle "
             "(errors: %r)" % r["errors"])
    check_eq(probes, [200, 200], "a new connection while %d were open" % n)
    if sanitized(pid):
        ctx.vlog("scale: AddressSanitizer build, RSS not checked")
    else:
        check(r["per_conn_kib"] < LIMIT_KIB,
              "%.2f KiB of RSS per idle TLS connection (limit %.0f): "
              "%d KiB before, %d KiB with %d idle"
              % (r["per_conn_kib"], LIMIT_KIB, r["rss_before_kib"],
                 r["rss_idle_kib"], n))
    check(t.healthy(), "tokend unhealthy after the connections closed")
    errors = t.log_lines(r"level=error")
    check(not errors, "tokend logged errors: %s" % errors[:3])
