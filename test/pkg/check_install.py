#!/usr/bin/env python3
"""
check_install.py MESON BUILD-DIR PREFIX BINDIR SBINDIR MANDIR UNITDIR:
run `meson install --no-rebuild --destdir TMP` on the build directory and
check what it installed:

  - exactly PREFIX/SBINDIR/tokend, PREFIX/BINDIR/tokend-client,
    UNITDIR/tokend.service, PREFIX/MANDIR/man8/tokend.8 and
    PREFIX/MANDIR/man1/tokend-client.1 (directories relative to PREFIX, as
    meson reports them; UNITDIR absolute);
  - the binary and the script are executable; the installed tokend runs
    (--version) and its --help-man output is the installed page;
  - the installed unit's ExecStart names the installed binary.
"""

import os
import subprocess
import sys
import tempfile

from checks import Checks


def main():
    meson, build, prefix, bindir, sbindir, mandir, unitdir = sys.argv[1:8]
    c = Checks("install")

    def under(p):
        return os.path.normpath(os.path.join(prefix, p))
    sbin_tokend = os.path.join(under(sbindir), "tokend")
    want = {
        sbin_tokend,
        os.path.join(under(bindir), "tokend-client"),
        os.path.join(under(unitdir), "tokend.service"),
        os.path.join(under(mandir), "man8", "tokend.8"),
        os.path.join(under(mandir), "man1", "tokend-client.1"),
    }
    with tempfile.TemporaryDirectory(prefix="tokend-install-") as dest:
        r = subprocess.run([meson, "install", "-C", build, "--no-rebuild",
                            "--quiet", "--destdir", dest],
                           capture_output=True, text=True, timeout=120)
        if not c.check(r.returncode == 0, "meson install exited %d: %s"
                       % (r.returncode, (r.stdout + r.stderr)[-2000:])):
            c.done()
        got = set()
        for root, _, files in os.walk(dest):
            for f in files:
                got.add("/" + os.path.relpath(os.path.join(root, f), dest))
        c.check(got == want, "installed files: %s, want %s"
                % (sorted(got), sorted(want)))

        def d(p):
            return dest + p
        for exe in (sbin_tokend, os.path.join(under(bindir),
                                              "tokend-client")):
            c.check(os.access(d(exe), os.X_OK), "%s executable" % exe)
        r = subprocess.run([d(sbin_tokend), "--version"],
                           capture_output=True, text=True, timeout=30)
        c.check(r.returncode == 0 and r.stdout.startswith("tokend "),
                "installed tokend --version: %d %r"
                % (r.returncode, r.stdout))
        r = subprocess.run([d(sbin_tokend), "--help-man"],
                           capture_output=True, text=True, timeout=30)
        page = os.path.join(under(mandir), "man8", "tokend.8")
        if os.path.exists(d(page)):
            with open(d(page)) as f:
                c.check(f.read() == r.stdout,
                        "installed tokend.8 == tokend --help-man")
        unit = os.path.join(under(unitdir), "tokend.service")
        execstart = None
        if os.path.exists(d(unit)):
            with open(d(unit)) as f:
                for line in f:
                    if line.startswith("ExecStart="):
                        execstart = line.strip()[len("ExecStart="):]
        c.check(execstart == sbin_tokend,
                "unit ExecStart=%r, want %r" % (execstart, sbin_tokend))
    c.done()


if __name__ == "__main__":
    main()
