"""
Log lines gathered per loop turn: none lost, none reordered.

Setup: an instance of its own (TLS, --workers 2, --log-level info, stderr
a file, as the harness runs every instance).

Expected:
- log_batch_all_lines_in_order: 8 client threads, each on one kept-alive
  connection, send 150 GET /healthz each with X-Request-Id cT-NNNN; with
  no further traffic, all 1,200 access lines are in the log within a few
  seconds (the end of a loop turn writes them), each id exactly once, and
  the ids of one connection in the order they were sent; every line of
  the log is one whole line (starts with ts=, one ts= per line).
- The same instance after SIGHUP: event=reload is logged, then 8 x 50 more
  requests each arrive once and in order, after the reload line.
- Then 8 threads send requests as fast as they can and SIGTERM arrives
  while they do: every request answered 200 has its access line, in
  order per connection, and event=stopped is the last line of the log.
"""

import re
import signal
import threading
import time

from tokend_harness import (Tokend, check, check_eq, fail, poll_until,
                            scenario, scaled)

THREADS = 8


def client(t, tid, first, count, answered):
    """
    Requests cTID-NNNN on one connection; appends the answered ids. With
    count None, until the server goes away (at most 20,000).
    """
    conn = t.connection(timeout=5.0)
    try:
        i = first
        while count is None or i < first + count:
            rid = "c%d-%04d" % (tid, i)
            try:
                r = t.request("GET", "/healthz", conn=conn,
                              headers={"X-Request-Id": rid})
            except Exception:
                if count is None:
                    return
                raise
            if r.status == 200:
                answered[tid].append(rid)
            elif count is not None:
                fail("request %s: status %d" % (rid, r.status))
            i += 1
            if count is None and i - first > 20000:
                return
    finally:
        conn.close()


def run_clients(t, first, count, answered):
    errors = []

    def body(tid):
        try:
            client(t, tid, first, count, answered)
        except Exception as e:      # reported below, in this thread
            errors.append("%d: %r" % (tid, e))

    ths = [threading.Thread(target=body, args=(k,)) for k in range(THREADS)]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    return errors


ID_RX = re.compile(r"\bevent=access\b.*\brequest_id=(c\d+-\d{4})\b")


def logged_ids(t, since):
    return [m.group(1) for m in
            (ID_RX.search(ln) for ln in t.log_lines(None, since)) if m]


def check_order(ids, answered, what):
    pos = {}
    for n, rid in enumerate(ids):
        check(rid not in pos, "%s: %s logged twice" % (what, rid))
        pos[rid] = n
    for tid, sent in answered.items():
        missing = [rid for rid in sent if rid not in pos]
        check(not missing, "%s: %d of %d lines of connection %d missing "
              "(first %s)" % (what, len(missing), len(sent), tid,
                              missing[:3]))
        order = [pos[rid] for rid in sent]
        check(order == sorted(order),
              "%s: the lines of connection %d are out of order" % (what, tid))


def check_whole_lines(text):
    for ln in text.splitlines():
        if not ln:
            continue
        check(ln.startswith("ts=") and ln.count(" ts=") == 0,
              "a line not whole: %r" % ln[:200])


@scenario("log_batch_all_lines_in_order", timeout=180)
def log_batch_all_lines_in_order(ctx):
    t = Tokend(ctx, "logbatch", workers=2).start()
    try:
        off = t.log_offset()
        answered = {k: [] for k in range(THREADS)}
        errors = run_clients(t, 0, 150, answered)
        check(not errors, "clients: %s" % errors[:3])
        # No more traffic: the end of the loop turn wrote every line.
        _, took = poll_until(
            lambda: len(logged_ids(t, off)) >= THREADS * 150, scaled(5))
        check(took is not None, "%d of %d access lines within 5 s"
              % (len(logged_ids(t, off)), THREADS * 150))
        check_order(logged_ids(t, off), answered, "keep-alive load")

        # SIGHUP: the reload line, then the next lines after it.
        off = t.log_offset()
        t.signal(signal.SIGHUP)
        t.wait_log(r"event=reload\b", off)
        answered2 = {k: [] for k in range(THREADS)}
        errors = run_clients(t, 150, 50, answered2)
        check(not errors, "clients after SIGHUP: %s" % errors[:3])
        _, took = poll_until(
            lambda: len(logged_ids(t, off)) >= THREADS * 50, scaled(5))
        check(took is not None, "%d of %d access lines after SIGHUP"
              % (len(logged_ids(t, off)), THREADS * 50))
        lines = t.log_lines(None, off)
        reload_at = next(n for n, ln in enumerate(lines)
                         if re.search(r"event=reload\b", ln))
        check(all(not ID_RX.search(ln) for ln in lines[:reload_at]),
              "an access line of after SIGHUP before the reload line")
        check_order(logged_ids(t, off), answered2, "after SIGHUP")

        # SIGTERM while 8 connections keep sending.
        off = t.log_offset()
        answered3 = {k: [] for k in range(THREADS)}
        ths = [threading.Thread(target=client,
                                args=(t, k, 1000, None, answered3))
               for k in range(THREADS)]
        for th in ths:
            th.start()
        deadline = time.monotonic() + scaled(10)
        while (sum(len(v) for v in answered3.values()) < 400 and
               time.monotonic() < deadline):
            time.sleep(0.01)
        t.stop()
        for th in ths:
            th.join(scaled(10))
        total = sum(len(v) for v in answered3.values())
        check(total >= 400, "only %d requests answered before SIGTERM"
              % total)
        check_order(logged_ids(t, off), answered3, "through SIGTERM")
        lines = [ln for ln in t.log_lines(None, off) if ln]
        check(re.search(r"event=stopped\b", lines[-1]) is not None,
              "the last line is not event=stopped: %r" % lines[-1][:200])
        check_whole_lines(t.log_text())
        ctx.vlog("answered before SIGTERM: %d" % total)
    finally:
        t.stop(expect_status=None)
