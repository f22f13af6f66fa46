#!/usr/bin/env python3
"""
check_man.py PAGE: lint a generated manual page (tokend.8, tokend-client.1).

  mandoc -T lint -W warning   must print nothing and exit 0
  groff -man -ww -z           must print nothing

Both must be installed (mandoc and groff-base are in
scripts/debian-packages.txt): a missing one fails the check. That every setting is on the page is checked by
test/unit/test_man.c.
"""

import shutil
import subprocess
import sys

from checks import Checks


def main():
    page = sys.argv[1]
    c = Checks("man")
    c.check(shutil.which("mandoc") is not None,
            "mandoc is not installed (package mandoc)")
    c.check(shutil.which("groff") is not None,
            "groff is not installed (package groff-base)")
    if shutil.which("mandoc"):
        r = subprocess.run(["mandoc", "-T", "lint", "-W", "warning", page],
                           capture_output=True, text=True, timeout=60)
        out = (r.stdout + r.stderr).strip()
        c.check(r.returncode == 0 and out == "",
                "mandoc -T lint -W warning (exit %d): %s"
                % (r.returncode, out))
    if shutil.which("groff"):
        r = subprocess.run(["groff", "-man", "-ww", "-z", page],
                           capture_output=True, text=True, timeout=60)
        out = (r.stdout + r.stderr).strip()
        c.check(r.returncode == 0 and out == "",
                "groff -man -ww -z (exit %d): %s" % (r.returncode, out))
    c.done()


if __name__ == "__main__":
    main()
