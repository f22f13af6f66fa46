"""
The per-worker view of clients and revocations against a real
redis-server (test/integration/test_view.c).

Setup: the harness's redis-server; the test_view program gets its port
and pid (it SIGSTOPs and SIGCONTs that server, kills only connections of
its own db 10, and uses only keys under "tokend-test-view:"; the runner
restores Redis afterwards).

Expected: test_view exits 0 (its last line is "N passed, M failed"):
two views fill at start, a revocation or client change published once
reaches both within 1 s, a change made while their subscriptions were
down is picked up by the re-read, a stalled Redis makes them fail closed
within about 2 s, and --verify-grace keeps them current for its time;
the revocation script counts each client's live revocations exactly, up
to its cap, at two instances at once.
Skipped when the program has not been built.
"""

import os
import subprocess

from tokend_harness import check, child_env, scenario, short, skip


@scenario("test_view", timeout=180)
def test_view(ctx):
    exe = getattr(ctx, "test_view_bin", None)
    if not exe or not os.access(exe, os.X_OK):
        skip("test_view not built (%s)" % exe)
    p = ctx.popen([exe, "--redis-port", str(ctx.redis.port),
                   "--redis-pid", str(ctx.redis.pid)],
                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                  stdin=subprocess.DEVNULL, env=child_env())
    out, _ = p.communicate(timeout=170)
    text = out.decode("utf-8", "replace")
    for ln in text.splitlines():
        ctx.vlog("test_view: " + ln)
    lines = [ln for ln in text.splitlines() if ln.strip()]
    last = lines[-1] if lines else "(no output)"
    if p.returncode != 0:
        bad = [ln for ln in lines if ln.startswith("FAIL")]
        check(False, "test_view exited %d (%s); %s"
              % (p.returncode, last, short(" | ".join(bad[:5]), 600)))
