#!/usr/bin/env python3
"""
check_man.py TOKEND.8: lint the generated manual page.

  mandoc -T lint -W warning   must print nothing and exit 0
  groff -man -ww -z           must print nothing

Each linter that is installed is run (mandoc is in
scripts/debian-packages.txt; groff's troff comes with man-db). With
neither, exit 77 (skip). That every setting is on the page is checked by
test/unit/test_man.c.
"""

import shutil
import subprocess
import sys

from checks import Checks


def main():
    page = sys.argv[1]
    c = Checks("man")
    ran = 0
    if shutil.which("mandoc"):
        ran += 1
        r = subprocess.run(["mandoc", "-T", "lint", "-W", "warning", page],
                           capture_output=True, text=True, timeout=60)
        out = (r.stdout + r.stderr).strip()
        c.check(r.returncode == 0 and out == "",
                "mandoc -T lint -W warning (exit %d): %s"
                % (r.returncode, out))
    if shutil.which("groff"):
        ran += 1
        r = subprocess.run(["groff", "-man", "-ww", "-z", page],
                           capture_output=True, text=True, timeout=60)
        out = (r.stdout + r.stderr).strip()
        c.check(r.returncode == 0 and out == "",
                "groff -man -ww -z (exit %d): %s" % (r.returncode, out))
    if ran == 0:
        print("neither mandoc nor groff is installed: skipped")
        sys.exit(77)
    c.done()


if __name__ == "__main__":
    main()
