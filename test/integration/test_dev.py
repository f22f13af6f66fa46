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
- dev_install_leaves_no_new_service (scripts/dev --deps-only on a fake
  system root, TOKEND_DEV_ROOT, with apt-get, dpkg-query and sudo
  replaced on PATH: the fake apt-get "installs" each package the way
  Debian's maintainer scripts do, asking policy-rc.d whether it may start
  the package's service and enabling it with systemctl --root (a
  WantedBy= link and an Alias= link, each of which systemctl counts as
  enabled); the root has old.service enabled and off.service present but
  disabled, which the install enables too):
  - no policy-rc.d: every start was denied (exit 101) while apt-get ran,
    the policy-rc.d is gone after, redis-server.service, jq.service and
    off.service are disabled and old.service still enabled, and the
    script says what it disabled;
  - the machine's own policy-rc.d (which allows starts) is used, not
    replaced, and is the same file after; the new units are disabled all
    the same;
  - apt-get failing (exit 100): scripts/dev fails too, and the new units
    are disabled and its policy-rc.d removed all the same;
  - scripts/dev sent SIGTERM during the install: it exits 130 after the
    same clean-up;
  - the install moves old.service to another target (its link replaced
    by a new one): old.service stays enabled.
"""

import os
import shlex
import subprocess
import tempfile

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


FAKE_APT_GET = r"""#!/bin/sh
# apt-get as test_dev.py fakes it: "update" does nothing; "install"
# installs each package name as Debian's maintainer scripts would install
# a service: a unit file, a start asked of policy-rc.d (denied: 101), the
# unit enabled.
root=$TOKEND_DEV_ROOT
[ "$1" = update ] && exit 0
for a in "$@"; do
	case $a in -* | install | *::* | *=*) continue ;; esac
	printf '[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\nAlias=%s-alias.service\n' \
	    "$a" >"$root/lib/systemd/system/$a.service"
	if [ -x "$root/usr/sbin/policy-rc.d" ]; then
		"$root/usr/sbin/policy-rc.d" "$a.service" start
		rc=$?
	else
		rc=0
	fi
	if [ "$rc" -eq 101 ]; then
		echo "$a" >>"$root/denied"
	else
		echo "$a" >>"$root/started"
	fi
	systemctl --root="$root" --quiet enable "$a.service" || exit 1
done
systemctl --root="$root" --quiet enable off.service || exit 1
# An upgrade that moves an enabled unit to another target: its old link
# goes, a new one comes (deb-systemd-helper's reenable).
if [ -n "${FAKE_MOVE_OLD:-}" ]; then
	sed -i -e 's/^WantedBy=.*/WantedBy=graphical.target/' \
	    -e 's/^Alias=.*/Alias=old-new.service/' \
	    "$root/lib/systemd/system/old.service"
	systemctl --root="$root" --quiet reenable old.service || exit 1
fi
# SIGTERM to scripts/dev (the parent: the fake sudo execs) while it waits
[ -z "${FAKE_APT_TERM:-}" ] || kill -TERM "$PPID"
exit "${FAKE_APT_STATUS:-0}"
"""

FAKE_DPKG_QUERY = r"""#!/bin/sh
# dpkg-query -W -f=... PACKAGE: installed unless in $FAKE_MISSING.
for a in "$@"; do last=$a; done
for p in $FAKE_MISSING; do
	[ "$p" = "$last" ] && { echo "unknown ok not-installed"; exit 0; }
done
echo "install ok installed"
"""

FAKE_SUDO = "#!/bin/sh\nexec \"$@\"\n"


def fake_system(top, policy=None):
    """A system root with old.service enabled and off.service disabled,
    and a bin directory of fakes; (root, bin)."""
    root = os.path.join(top, "root")
    units = os.path.join(root, "lib", "systemd", "system")
    os.makedirs(units)
    os.makedirs(os.path.join(root, "etc", "systemd", "system"))
    os.makedirs(os.path.join(root, "usr", "sbin"))
    for name in ("old", "off"):
        with open(os.path.join(units, name + ".service"), "w") as f:
            f.write("[Service]\nExecStart=/bin/true\n"
                    "[Install]\nWantedBy=multi-user.target\n"
                    "Alias=%s-alias.service\n" % name)
    systemctl(root, "enable", "old.service")
    if policy is not None:
        path = os.path.join(root, "usr", "sbin", "policy-rc.d")
        with open(path, "w") as f:
            f.write(policy)
        os.chmod(path, 0o755)
    bindir = os.path.join(top, "bin")
    os.mkdir(bindir)
    for name, text in (("apt-get", FAKE_APT_GET),
                       ("dpkg-query", FAKE_DPKG_QUERY),
                       ("sudo", FAKE_SUDO)):
        with open(os.path.join(bindir, name), "w") as f:
            f.write(text)
        os.chmod(os.path.join(bindir, name), 0o755)
    return root, bindir


def systemctl(root, *args):
    r = subprocess.run(["systemctl", "--root=" + root] + list(args),
                       capture_output=True, timeout=30, env=child_env())
    return r.returncode, r.stdout.decode().strip()


def enabled(root, unit):
    return systemctl(root, "is-enabled", unit)[1]


def lines_of(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return f.read().split()


def run_dev_install(ctx, root, bindir, status=0, term=False,
                    move_old=False):
    script = os.path.join(ctx.source_root, "scripts", "dev")
    env = child_env({"TOKEND_DEV_ROOT": root,
                     "FAKE_MISSING": "redis-server jq",
                     "FAKE_APT_STATUS": str(status),
                     "FAKE_APT_TERM": "1" if term else "",
                     "FAKE_MOVE_OLD": "1" if move_old else ""})
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "/usr/bin:/bin")
    r = subprocess.run([script, "--deps-only"], capture_output=True,
                       timeout=60, stdin=subprocess.DEVNULL, env=env,
                       cwd=ctx.source_root)
    return r.returncode, r.stderr.decode("utf-8", "replace")


@scenario("dev_install_leaves_no_new_service")
def dev_install_leaves_no_new_service(ctx):
    if subprocess.run(["sh", "-c", "command -v systemctl"],
                      capture_output=True).returncode != 0:
        check(False, "systemctl is not installed (package systemd, test "
              "section of scripts/debian-packages.txt)")
    new_units = ("redis-server.service", "jq.service", "off.service")

    # No policy-rc.d on the machine: scripts/dev brings its own.
    with tempfile.TemporaryDirectory(dir=ctx.tmp) as top:
        root, bindir = fake_system(top)
        check_eq(enabled(root, "old.service"), "enabled", "old.service before")
        check_eq(enabled(root, "off.service"), "disabled", "off.service before")
        rc, err = run_dev_install(ctx, root, bindir)
        check_eq(rc, 0, "scripts/dev --deps-only (stderr %s)" % short(err, 600))
        check_eq(sorted(lines_of(os.path.join(root, "denied"))),
                 ["jq", "redis-server"], "service starts denied")
        check_eq(lines_of(os.path.join(root, "started")), [],
                 "service starts allowed")
        check(not os.path.lexists(os.path.join(root, "usr", "sbin",
                                               "policy-rc.d")),
              "scripts/dev left its policy-rc.d behind")
        for unit in new_units:
            check_eq(enabled(root, unit), "disabled", unit + " after")
        check_eq(enabled(root, "old.service"), "enabled", "old.service after")
        check("disabled what the install enabled: jq.service off.service "
              "redis-server.service" in err,
              "scripts/dev does not say what it disabled: %s" % short(err, 600))

    # The machine's policy-rc.d decides (this one allows everything) and
    # stays as it was; what the install enabled is disabled all the same.
    policy = "#!/bin/sh\n# the machine's own\nexit 0\n"
    with tempfile.TemporaryDirectory(dir=ctx.tmp) as top:
        root, bindir = fake_system(top, policy=policy)
        rc, err = run_dev_install(ctx, root, bindir)
        check_eq(rc, 0, "scripts/dev --deps-only, own policy-rc.d (stderr %s)"
                 % short(err, 600))
        with open(os.path.join(root, "usr", "sbin", "policy-rc.d")) as f:
            check_eq(f.read(), policy, "the machine's policy-rc.d after")
        check_eq(sorted(lines_of(os.path.join(root, "started"))),
                 ["jq", "redis-server"], "starts the machine's policy allowed")
        for unit in new_units:
            check_eq(enabled(root, unit), "disabled",
                     unit + " after, own policy-rc.d")
        check_eq(enabled(root, "old.service"), "enabled",
                 "old.service after, own policy-rc.d")

    # apt-get fails: so does scripts/dev, after the same clean-up.
    with tempfile.TemporaryDirectory(dir=ctx.tmp) as top:
        root, bindir = fake_system(top)
        rc, err = run_dev_install(ctx, root, bindir, status=100)
        check(rc != 0, "scripts/dev succeeded although apt-get failed")
        check("apt-get install failed" in err,
              "no message for the failed install: %s" % short(err, 600))
        check(not os.path.lexists(os.path.join(root, "usr", "sbin",
                                               "policy-rc.d")),
              "scripts/dev left its policy-rc.d behind after a failure")
        for unit in new_units:
            check_eq(enabled(root, unit), "disabled",
                     unit + " after a failed install")
        check_eq(enabled(root, "old.service"), "enabled",
                 "old.service after a failed install")

    # SIGTERM during the install: the same clean-up, exit status 130.
    with tempfile.TemporaryDirectory(dir=ctx.tmp) as top:
        root, bindir = fake_system(top)
        rc, err = run_dev_install(ctx, root, bindir, term=True)
        check_eq(rc, 130, "scripts/dev after SIGTERM (stderr %s)"
                 % short(err, 600))
        check(not os.path.lexists(os.path.join(root, "usr", "sbin",
                                               "policy-rc.d")),
              "scripts/dev left its policy-rc.d behind after SIGTERM")
        for unit in new_units:
            check_eq(enabled(root, unit), "disabled", unit + " after SIGTERM")
        check_eq(enabled(root, "old.service"), "enabled",
                 "old.service after SIGTERM")

    # The install moves old.service (enabled before) to another target:
    # its new link is the install's, but the unit was enabled before and
    # stays enabled; the new units are disabled all the same.
    with tempfile.TemporaryDirectory(dir=ctx.tmp) as top:
        root, bindir = fake_system(top)
        rc, err = run_dev_install(ctx, root, bindir, move_old=True)
        check_eq(rc, 0, "scripts/dev, old.service moved (stderr %s)"
                 % short(err, 600))
        check_eq(enabled(root, "old.service"), "enabled",
                 "old.service after the install moved it")
        for unit in new_units:
            check_eq(enabled(root, unit), "disabled",
                     unit + " after old.service moved")
