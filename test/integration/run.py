#!/usr/bin/env python3
"""
Integration test runner for tokend.

    run.py --tokend build/tokend --test-store build/test/test_store \
           --test-view build/test/test_view \
           --jwt-check build/test/jwt_check --source-root . \
           [-k SUBSTRING] [-v] [--asan] \
           [--tokend-wrapper "valgrind ..." --timeout-scale 10]

Starts redis-server (persistence off, free port) in a temporary directory,
makes a test PKI with the openssl CLI, imports every test_*.py next to this
file and runs the scenarios they register, one at a time, each under a hard
timeout. Prints one line per scenario (PASS / FAIL / SKIP) and finally
"N passed, M failed[, K skipped]". After the scenarios, every log line any
tokend wrote is searched for the client secrets and tokens the run
recorded (one "no-secrets-in-logs" case) and for sanitizer reports. Exit
status: 0 when nothing failed, 1 otherwise, 77 (meson's "skipped") when
redis-server or openssl is missing.
Python 3 standard library only.
"""

import argparse
import importlib
import os
import shlex
import shutil
import signal
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import tokend_harness as H  # noqa: E402


def parse_args(argv):
    p = argparse.ArgumentParser(description="tokend integration tests")
    p.add_argument("--tokend", required=True, help="path to the tokend binary")
    p.add_argument("--test-store", default=None,
                   help="path to the test_store program")
    p.add_argument("--test-view", default=None,
                   help="path to the test_view program")
    p.add_argument("--jwt-check", default=None,
                   help="path to the jwt_check program (libjwt verifier)")
    p.add_argument("--source-root", default=os.path.dirname(
        os.path.dirname(HERE)), help="the repository")
    p.add_argument("-k", dest="filters", action="append", default=[],
                   help="run only scenarios whose name contains this "
                        "(repeatable)")
    p.add_argument("-v", "--verbose", action="store_true")
    p.add_argument("--keep-tmp", action="store_true",
                   help="keep the temporary directory (logs) afterwards")
    p.add_argument("--tokend-wrapper", default="",
                   help="a command line to run every tokend under, e.g. "
                        "\"valgrind --error-exitcode=99\" (shell-split)")
    p.add_argument("--timeout-scale", type=float, default=None,
                   help="multiply the harness's deadlines (default 1, "
                        "or 20 with --tokend-wrapper)")
    p.add_argument("--asan", action="store_true",
                   help="tokend is an ASan build (detected from the binary "
                        "anyway); scenarios may shorten load runs")
    return p.parse_args(argv)


def is_asan_build(path):
    """True when the binary links AddressSanitizer's runtime."""
    try:
        with open(path, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


def load_scenarios():
    for fn in sorted(os.listdir(HERE)):
        if fn.startswith("test_") and fn.endswith(".py"):
            importlib.import_module(fn[:-3])
    # test_store and test_view drive the shared redis-server hard (SIGSTOP,
    # CLIENT KILL): run them last.
    return sorted(H.SCENARIOS, key=lambda s: s.module in (
        "test_store_client", "test_view_client"))


def on_alarm(signum, frame):
    raise H.ScenarioTimeout()


def one_line(s):
    return " ".join(str(s).split())


def run_one(ctx, sc):
    """Run one scenario: ("PASS"|"FAIL"|"SKIP", reason)."""
    ctx.current = sc.name
    status, reason = "PASS", ""
    t0 = time.monotonic()
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(int(H.scaled(sc.timeout)))
    try:
        try:
            sc.fn(ctx)
        finally:
            signal.alarm(0)
    except H.SkipScenario as e:
        status, reason = "SKIP", str(e)
    except H.TestFailure as e:
        status, reason = "FAIL", str(e)
    except H.ScenarioTimeout:
        status, reason = "FAIL", "hard timeout of %d s" % sc.timeout
    except Exception as e:                  # noqa: BLE001
        status = "FAIL"
        reason = "%s: %s" % (type(e).__name__, e)
        if ctx.verbose:
            traceback.print_exc(file=sys.stdout)
    if status == "FAIL":
        # The logs of the instances involved, for whoever reads the CI log.
        for t in ctx.scoped + [u for i, u in enumerate(ctx.used)
                               if u not in ctx.used[:i]]:
            print("#   log of %s (%s): %s" % (t.name, t.logfile,
                                               t.log_tail(12)))
    signal.alarm(int(H.scaled(90)))
    try:
        problem = ctx.cleanup_scenario()
    except H.ScenarioTimeout:
        problem = "cleanup timed out"
    finally:
        signal.alarm(0)
    if problem and status != "FAIL":
        status, reason = "FAIL", "cleanup: " + problem
    ctx.vlog("%s took %.1f s" % (sc.name, time.monotonic() - t0))
    return status, reason


def scan_logs(ctx):
    """Every log of every tokend of the run: no recorded client secret,
    no issued token or its signature, no sanitizer report. Returns
    ("PASS"|"FAIL", text)."""
    for t in ctx.instances():
        if t.running():
            t.kill()
    sens = ctx.sensitive
    problems = []
    lines = 0
    for path in sorted(ctx.logfiles):
        problems += sens.scan(path)
        try:
            with open(path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            continue
        lines += text.count("\n")
        report = H.sanitizer_report(text, os.path.basename(path))
        if report:
            problems.append(report)
    summary = ("%d log files, %d lines; %d secrets, %d tokens looked for"
               % (len(ctx.logfiles), lines, len(sens.secrets),
                  len(sens.tokens)))
    if problems:
        return "FAIL", ": %s: %s%s" % (summary, "; ".join(problems[:10]),
                                       " (and %d more)" % (len(problems) - 10)
                                       if len(problems) > 10 else "")
    if not ctx.verbose:
        return "PASS", ""
    return "PASS", " (%s)" % summary


def main(argv):
    args = parse_args(argv)
    for prog in ("redis-server", "openssl"):
        if shutil.which(prog) is None:
            print("SKIP integration: %s not on PATH" % prog)
            return 77
    if not os.access(args.tokend, os.X_OK):
        print("FAIL integration: tokend binary not found: %s" % args.tokend)
        return 1

    sys.stdout.reconfigure(line_buffering=True)
    scenarios = load_scenarios()
    if args.filters:
        scenarios = [s for s in scenarios
                     if any(f in s.name for f in args.filters)]

    tmp = tempfile.mkdtemp(prefix="tokend-it-")
    ctx = H.Context(tmp, os.path.abspath(args.tokend),
                    os.path.abspath(args.test_store) if args.test_store
                    else None, os.path.abspath(args.source_root),
                    args.verbose)
    ctx.jwt_check_bin = (os.path.abspath(args.jwt_check) if args.jwt_check
                         else None)
    ctx.test_view_bin = (os.path.abspath(args.test_view) if args.test_view
                         else None)
    ctx.wrapper = shlex.split(args.tokend_wrapper)
    H.TIMEOUT_SCALE = (args.timeout_scale if args.timeout_scale is not None
                       else 20.0 if ctx.wrapper else 1.0)
    ctx.asan = args.asan or is_asan_build(ctx.tokend_bin)
    if ctx.asan:
        ctx.vlog("tokend is an ASan build")
    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    t_start = time.monotonic()
    try:
        try:
            ctx.setup()
        except Exception as e:              # noqa: BLE001
            print("FAIL setup: %s" % one_line(e))
            print("0 passed, 1 failed")
            return 1
        ctx.vlog("tmp dir %s" % tmp)
        for sc in scenarios:
            status, reason = run_one(ctx, sc)
            counts[status] += 1
            if status == "PASS":
                print("PASS %s" % sc.name)
            else:
                print("%s %s: %s" % (status, sc.name, one_line(reason)))

        # Shared instances ran many scenarios; each must still stop cleanly.
        for name, t in list(ctx.shared.items()):
            label = "shutdown[%s]" % name
            try:
                signal.signal(signal.SIGALRM, on_alarm)
                signal.alarm(int(H.scaled(30)))
                try:
                    t.stop(expect_status=0)
                finally:
                    signal.alarm(0)
                report = t.sanitizer_report()
                if report:
                    raise H.TestFailure(report)
                counts["PASS"] += 1
                print("PASS %s" % label)
            except (H.TestFailure, H.ScenarioTimeout) as e:
                counts["FAIL"] += 1
                print("FAIL %s: %s" % (label, one_line(e) or "timeout"))
        ctx.shared.clear()

        status, reason = scan_logs(ctx)
        counts[status] += 1
        print("%s no-secrets-in-logs%s" % (status, reason))
    finally:
        ctx.teardown()
        ctx.vlog("total %.1f s" % (time.monotonic() - t_start))
        if args.keep_tmp or counts["FAIL"]:
            print("# logs kept in %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    line = "%d passed, %d failed" % (counts["PASS"], counts["FAIL"])
    if counts["SKIP"]:
        line += ", %d skipped" % counts["SKIP"]
    print(line)
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
