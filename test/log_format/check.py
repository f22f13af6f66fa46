#!/usr/bin/env python3
"""
check.py CHECKER FIXTURES PROBE -- CC [FLAG...]: scripts/check-log-formats
on its fixtures, through the C preprocessor as the build runs it, and
against the logger itself.

  good.c: log calls in every shape the logger reads (split over lines,
          concatenated literals, PRIu64, macros); the check passes and
          writes its stamp.
  bad.c:  calls the logger would cut with log_format_error=1 (%p, %5d, %f,
          ...) or name event=unnamed; the check fails, reports every call
          on a line marked "rejected" and no other, and writes no stamp.
  PROBE:  the real logger (test/log_format/probe.c) and the check's
          grammar give the same verdict, ok, cut or unnamed, on 4,000
          formats generated from a fixed seed.
"""

import importlib.machinery
import importlib.util
import os
import random
import re
import subprocess
import sys
import tempfile

failures = 0


def check(cond, msg):
    global failures
    if not cond:
        failures += 1
        print("FAIL " + msg)


def run_checker(checker, fixture, cc, tmp):
    base = os.path.splitext(os.path.basename(fixture))[0]
    out = os.path.join(tmp, base + ".i")
    dep = os.path.join(tmp, base + ".d")
    stamp = os.path.join(tmp, base + ".h")
    r = subprocess.run([sys.executable, checker, "--preprocess", out, dep,
                        fixture, "--"] + cc)
    check(r.returncode == 0, "%s: the preprocessor failed" % fixture)
    r = subprocess.run([sys.executable, checker, "--stamp", stamp, out],
                       capture_output=True, text=True)
    return r.returncode, r.stderr, os.path.exists(stamp)


# Pieces of formats: keys, conversions, their parts, and what breaks them.
PIECES = ["event=", "event=e ", "a=", "b_1=", " ", "  ", "%", "%%", "d", "i",
          "u", "x", "c", "s", "p", "f", "g", "n", ".", "*", "5", "0", "-",
          "+", "'", "#", "l", "ll", "h", "hh", "z", "j", "t", "L", "q", '"',
          "=", "K", "%s", "%d", "%.*s", "%zu", "%lld", "%hhx", "%.3s"]
KEYS = ["event=", "event=", "a=", "b_1=", "n9="]
VALUES = ["v", "%d", "%i", "%u", "%x", "%c", "%s", "%.*s", "%.8s", "%lld",
          "%zu", "%hhx", "%jd", "%td", "%%", '"two words %s"', '""']


def compare_with_logger(checker, probe):
    """The check's verdict and the logger's on generated formats."""
    loader = importlib.machinery.SourceFileLoader("check_log_formats",
                                                  checker)
    spec = importlib.util.spec_from_loader(loader.name, loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    rng = random.Random(20261129)
    formats = []
    for k in range(4000):
        if k % 2:
            # pieces at random: mostly formats the logger refuses
            f = "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 9)))
        else:
            # key=value tokens, then perhaps one piece put in anywhere
            f = " ".join(rng.choice(KEYS) + "".join(
                rng.choice(VALUES) for _ in range(rng.randint(1, 2)))
                for _ in range(rng.randint(1, 4)))
            if rng.random() < 0.5:
                at = rng.randint(0, len(f))
                f = f[:at] + rng.choice(PIECES) + f[at:]
        formats.append(f)
    verdicts = []
    for i in range(0, len(formats), 500):
        r = subprocess.run([probe] + formats[i:i + 500],
                           capture_output=True, text=True)
        check(r.returncode == 0, "the probe failed: " + r.stderr)
        verdicts += r.stdout.split()
    check(len(verdicts) == len(formats), "the probe gave %d verdicts for "
          "%d formats" % (len(verdicts), len(formats)))
    seen = {}
    for f, logger in zip(formats, verdicts):
        bad = mod.check_format(f)
        mine = ("ok" if bad is None else
                "unnamed" if bad[1] == mod.UNNAMED else "cut")
        seen[logger] = seen.get(logger, 0) + 1
        check(mine == logger, "format %r: the logger says %s, the check "
              "says %s (%s)" % (f, logger, mine, bad and bad[0]))
    for verdict in ("ok", "cut", "unnamed"):
        check(seen.get(verdict, 0) > 100, "only %d generated formats are "
              "%s" % (seen.get(verdict, 0), verdict))
    return len(formats)


def main(argv):
    if len(argv) < 6 or argv[4] != "--":
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        return 2
    checker, fixtures, probe, cc = argv[1], argv[2], argv[3], argv[5:]
    good = os.path.join(fixtures, "good.c")
    bad = os.path.join(fixtures, "bad.c")
    with tempfile.TemporaryDirectory() as tmp:
        rc, err, stamped = run_checker(checker, good, cc, tmp)
        check(rc == 0 and err == "", "good.c was refused:\n" + err)
        check(stamped, "good.c passed but no stamp was written")

        rc, err, stamped = run_checker(checker, bad, cc, tmp)
        check(rc == 1, "bad.c: exit status %d, not 1" % rc)
        check(not stamped, "bad.c failed but a stamp was written")
        reported = set()
        for line in err.splitlines():
            m = re.match(r"(.*?):(\d+): ", line)
            if m and os.path.basename(m.group(1)) == "bad.c":
                reported.add(int(m.group(2)))
        with open(bad) as fp:
            marked = {i for i, text in enumerate(fp, 1)
                      if "/* rejected */" in text}
        check(len(marked) > 20, "bad.c: only %d lines marked" % len(marked))
        for n in sorted(marked - reported):
            check(False, "bad.c:%d: not rejected" % n)
        for n in sorted(reported - marked):
            check(False, "bad.c:%d: rejected but not marked" % n)
        if failures:
            print(err)
    n = compare_with_logger(checker, probe)
    print("%d marked calls rejected, good.c passed, %d formats compared "
          "with the logger; %d failures" % (len(marked & reported), n,
                                             failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
