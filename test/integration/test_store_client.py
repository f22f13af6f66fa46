"""
The store module against a real redis-server (test/integration/test_store.c).

Setup: the harness's redis-server; the test_store program gets its port
and pid (it may kill, stop and restart nothing but that server; the runner
restores Redis afterwards).

Expected: test_store exits 0 (its last line is "N passed, M failed").
Skipped when the program has not been built.
"""

import os
import subprocess

from tokend_harness import check, child_env, scenario, short, skip


@scenario("test_store", timeout=120)
def test_store(ctx):
    exe = ctx.test_store_bin
    if not exe or not os.access(exe, os.X_OK):
        skip("test_store not built (%s)" % exe)
    p = ctx.popen([exe, "--redis-port", str(ctx.redis.port),
                   "--redis-pid", str(ctx.redis.pid)],
                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                  stdin=subprocess.DEVNULL, env=child_env())
    out, _ = p.communicate(timeout=110)
    text = out.decode("utf-8", "replace")
    for ln in text.splitlines():
        ctx.vlog("test_store: " + ln)
    lines = [ln for ln in text.splitlines() if ln.strip()]
    last = lines[-1] if lines else "(no output)"
    if p.returncode != 0:
        bad = [ln for ln in lines if ln.startswith("FAIL")]
        check(False, "test_store exited %d (%s); %s"
              % (p.returncode, last, short(" | ".join(bad[:5]), 600)))
