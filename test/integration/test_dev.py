"""
scripts/dev, the demo, through its --dry-run (which prints the packages
it would install and the tokend command it would run, and changes
nothing).

Setup: none; scripts/dev of the source tree, run with a clean environment.

Expected:
- dev_demo_binds_loopback: within 10 s, exit 0 and exactly two lines on
  stdout, "packages: ..." and "tokend: ..."; the tokend command's last
  --listen is 127.0.0.1:2600 and its last --management-listen
  127.0.0.1:9600 (with --issuer https://localhost:2600); extra arguments
  come after them, so --listen 0.0.0.0:2601 wins (and the issuer follows
  its port) while the management listener stays on 127.0.0.1:9600, and
  --management-listen off wins too; with TOKEND_LISTEN or
  TOKEND_MANAGEMENT_LISTEN in the environment the script passes no flag
  of its own for it.
- dev_demo_installs_no_test_tools: the demo's packages are the build and
  demo sections of scripts/debian-packages.txt, among them redis-server,
  redis-tools, openssl, curl, jq, ca-certificates and the toolchain, and
  none of the test tools (nginx, redis-sentinel, clang, wrk, valgrind,
  mandoc, systemd, ...); --test-deps adds exactly the test section.
"""

import os
import shlex
import subprocess

from tokend_harness import check, check_eq, child_env, scenario, short

DEMO_NEEDS = ["build-essential", "pkg-config", "meson", "ninja-build",
              "libevent-dev", "libssl-dev", "libjson-c-dev",
              "libhiredis-dev", "redis-server", "redis-tools", "openssl",
              "curl", "jq", "ca-certificates"]
TEST_TOOLS = ["nginx", "redis-sentinel", "clang", "libclang-rt-14-dev",
              "wrk", "valgrind", "mandoc", "groff-base", "systemd"]


def dry_run(ctx, *args, env=None):
    """(packages, tokend argv) that scripts/dev --dry-run ARGS prints."""
    script = os.path.join(ctx.source_root, "scripts", "dev")
    r = subprocess.run([script, "--dry-run"] + list(args),
                       capture_output=True, timeout=10,
                       stdin=subprocess.DEVNULL, env=child_env(env))
    out = r.stdout.decode("utf-8", "replace")
    what = "scripts/dev --dry-run %s" % " ".join(args)
    check_eq(r.returncode, 0, "%s: exit status (stderr %s)"
             % (what, short(r.stderr, 300)))
    lines = out.splitlines()
    check(len(lines) == 2 and lines[0].startswith("packages: ") and
          lines[1].startswith("tokend: "),
          "%s: not two lines packages/tokend: %s" % (what, short(out, 600)))
    return lines[0].split()[1:], shlex.split(lines[1])[1:]


def last(argv, flag):
    """The value tokend takes for flag: its last occurrence, or None."""
    value = None
    for i, a in enumerate(argv):
        if a == flag and i + 1 < len(argv):
            value = argv[i + 1]
        elif a.startswith(flag + "="):
            value = a.split("=", 1)[1]
    return value


@scenario("dev_demo_binds_loopback")
def dev_demo_binds_loopback(ctx):
    _, argv = dry_run(ctx)
    check_eq(argv[0], "build/tokend", "the command")
    check_eq(last(argv, "--listen"), "127.0.0.1:2600", "default --listen")
    check_eq(last(argv, "--management-listen"), "127.0.0.1:9600",
             "default --management-listen")
    check_eq(last(argv, "--issuer"), "https://localhost:2600", "issuer")

    _, argv = dry_run(ctx, "--listen", "0.0.0.0:2601", "--workers", "1")
    check_eq(last(argv, "--listen"), "0.0.0.0:2601", "--listen given")
    check_eq(last(argv, "--management-listen"), "127.0.0.1:9600",
             "--management-listen with --listen given")
    check_eq(last(argv, "--issuer"), "https://localhost:2601",
             "issuer with --listen given")
    check_eq(argv[-2:], ["--workers", "1"], "extra arguments last")

    _, argv = dry_run(ctx, "--management-listen=off")
    check_eq(last(argv, "--management-listen"), "off",
             "--management-listen=off given")
    check_eq(last(argv, "--listen"), "127.0.0.1:2600",
             "--listen with --management-listen given")

    _, argv = dry_run(ctx, env={"TOKEND_LISTEN": "[::1]:2602",
                                "TOKEND_MANAGEMENT_LISTEN": "off"})
    check(last(argv, "--listen") is None and
          last(argv, "--management-listen") is None,
          "flags that override the environment: %s" % argv)
    check_eq(last(argv, "--issuer"), "https://localhost:2602",
             "issuer with TOKEND_LISTEN")


@scenario("dev_demo_installs_no_test_tools")
def dev_demo_installs_no_test_tools(ctx):
    reader = os.path.join(ctx.source_root, "scripts", "debian-packages")

    def section(*names):
        r = subprocess.run([reader] + list(names), capture_output=True,
                           timeout=10, env=child_env())
        check_eq(r.returncode, 0, "debian-packages %s" % " ".join(names))
        return r.stdout.decode().split()

    demo, _ = dry_run(ctx)
    check_eq(demo, section("build", "demo"), "the demo's packages")
    missing = [p for p in DEMO_NEEDS if p not in demo]
    check(not missing, "the demo does not install %s" % missing)
    extra = [p for p in TEST_TOOLS if p in demo]
    check(not extra, "the demo installs test tools: %s" % extra)

    everything, _ = dry_run(ctx, "--test-deps")
    check_eq(everything, demo + section("test"), "--test-deps packages")
    missing = [p for p in TEST_TOOLS if p not in everything]
    check(not missing, "--test-deps does not install %s" % missing)
