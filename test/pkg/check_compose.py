#!/usr/bin/env python3
"""
check_compose.py COMPOSE.YAML DOCKERFILE TOKEND-BINARY: docker/compose.yaml
and docker/Dockerfile agree with the tokend they run.

From `tokend --help` (every flag and its TOKEND_* variable), check that

1. every TOKEND_* variable the Dockerfile sets (ENV) and every variable
   of the tokend service's `environment` is one tokend reads, and every
   flag of its `command` is one tokend takes;
2. the management listener (TOKEND_MANAGEMENT_LISTEN or
   --management-listen: compose's value, else the Dockerfile's, else
   tokend's default) binds every interface of the container, not
   loopback, and its port is published; the same for the API listener
   (--listen), and the Dockerfile EXPOSEs both;
3. the Redis host of TOKEND_REDIS is a service of the file, one the tokend
   service depends on;
4. the files the settings name (certificate, keys) lie under a volume the
   service mounts, and a `user` override is not root;
5. every scripts/ file the top-level meson.build reads is copied by the
   Dockerfile and let through by its .dockerignore (the builder stage
   runs that meson.build).

Then the same checks run on broken copies of the file (an unknown
variable, an unknown flag, the management listener on loopback or not
published), each of which must be refused, so that the check is seen to
fail where it should. Needs python3-yaml (scripts/debian-packages.txt,
test section).
"""

import copy
import os
import re
import subprocess
import sys

from checks import Checks

try:
    import yaml
except ImportError:
    print("check_compose.py: python3-yaml is missing "
          "(apt-get install python3-yaml; scripts/dev --test-deps)")
    print("0 passed, 1 failed")
    sys.exit(1)


def tokend_help(binary):
    out = subprocess.run([binary, "--help"], capture_output=True, text=True,
                         check=True).stdout
    flags, variables = set(), set()
    for line in out.splitlines():
        m = re.match(r"^\s+(?:-\w, )?(--[a-z0-9-]+)", line)
        if m:
            flags.add(m.group(1))
        for v in re.findall(r"\((TOKEND_[A-Z0-9_]+)", line):
            variables.add(v)
    defaults = {}
    for line in out.splitlines():
        m = re.search(r"\((TOKEND_[A-Z0-9_]+), default: ([^)\s]+)", line)
        if m:
            defaults[m.group(1)] = m.group(2)
    return flags, variables, defaults


def dockerfile_facts(path):
    """ENV and EXPOSE of the Dockerfile's last stage (the image)."""
    env, expose = {}, set()
    text = open(path).read().replace("\\\n", " ")
    for line in text.splitlines():
        line = line.strip()
        if re.match(r"(?i)^FROM\s", line):
            env, expose = {}, set()
        m = re.match(r"(?i)^ENV\s+(.*)$", line)
        if m:
            rest = m.group(1).strip()
            if "=" in rest.split()[0]:
                for item in rest.split():
                    k, _, v = item.partition("=")
                    env[k] = v.strip('"')
            else:
                k, _, v = rest.partition(" ")
                env[k] = v.strip().strip('"')
        m = re.match(r"(?i)^EXPOSE\s+(.*)$", line)
        if m:
            for p in m.group(1).split():
                expose.add(p.split("/")[0])
    return env, expose


def as_env(value):
    if value is None:
        return {}
    if isinstance(value, dict):
        return {str(k): ("" if v is None else str(v)) for k, v in value.items()}
    env = {}
    for item in value:
        k, _, v = str(item).partition("=")
        env[k] = v
    return env


def as_argv(value):
    if value is None:
        return []
    if isinstance(value, str):
        return value.split()
    return [str(v) for v in value]


def published(ports):
    """Container ports the service publishes."""
    out = set()
    for p in ports or []:
        if isinstance(p, dict):
            out.add(str(p.get("target")))
            continue
        p = str(p).split("/")[0]
        out.add(p.rsplit(":", 1)[-1])
    return out


def split_addr(addr):
    m = re.match(r"^\[([^\]]*)\]:(\d+)$", addr) or \
        re.match(r"^([^:]*):(\d+)$", addr)
    return (m.group(1), m.group(2)) if m else (None, None)


def setting(name, flag, env, argv, image_env, defaults):
    """A setting's effective value: flag, then variable, then default."""
    value = None
    for i, a in enumerate(argv):
        if a == flag and i + 1 < len(argv):
            value = argv[i + 1]
        elif a.startswith(flag + "="):
            value = a[len(flag) + 1:]
    if value is not None:
        return value
    if env.get(name):
        return env[name]
    if image_env.get(name):
        return image_env[name]
    return defaults.get(name)


def check_compose(doc, image_env, expose, flags, variables, defaults, c):
    services = doc.get("services") or {}
    svc = services.get("tokend")
    if not c.check(isinstance(svc, dict), "a service named tokend"):
        return
    for k in image_env:
        if k.startswith("TOKEND_"):
            c.check(k in variables, "Dockerfile ENV %s is a tokend variable" % k)
    env = as_env(svc.get("environment"))
    for k in env:
        c.check(k in variables,
                "environment %s is a variable tokend reads" % k)
    argv = as_argv(svc.get("command"))
    for a in argv:
        if a.startswith("--"):
            f = a.split("=", 1)[0]
            c.check(f in flags, "command flag %s is a tokend flag" % f)
    ports = published(svc.get("ports"))
    for name, flag, what in (
            ("TOKEND_MANAGEMENT_LISTEN", "--management-listen",
             "management listener"),
            ("TOKEND_LISTEN", "--listen", "API listener")):
        value = setting(name, flag, env, argv, image_env, defaults)
        host, port = split_addr(value or "")
        c.check(host in ("0.0.0.0", "::"),
                "%s binds every interface in the container (%s)"
                % (what, value))
        c.check(port is not None and port in ports,
                "%s port %s is published (ports: %s)"
                % (what, port, ", ".join(sorted(ports)) or "none"))
        c.check(port is not None and port in expose,
                "the Dockerfile EXPOSEs the %s port %s" % (what, port))
    redis = setting("TOKEND_REDIS", "--redis", env, argv, image_env, defaults)
    m = re.match(r"^redis://(?:[^@/]*@)?([^:/]+)", redis or "")
    host = m.group(1) if m else None
    c.check(host in services and host != "tokend",
            "the Redis host of %s is a service of the file" % redis)
    deps = svc.get("depends_on") or []
    c.check(host in deps, "tokend depends on %s" % host)
    # A `user` override (with compose's ${VAR:-default} at its defaults)
    # must not make the container root.
    user = re.sub(r"\$\{[A-Za-z_][A-Za-z0-9_]*:?-([^}]*)\}", r"\1",
                  str(svc.get("user", "")))
    c.check(user.split(":")[0] not in ("0", "root"),
            "the service does not run as root (user: %s)" % user)
    mounts = []
    for v in svc.get("volumes") or []:
        target = v.get("target") if isinstance(v, dict) else \
            str(v).split(":")[1] if ":" in str(v) else None
        if target:
            mounts.append(target.rstrip("/") + "/")
    for name in ("TOKEND_TLS_CERT", "TOKEND_TLS_KEY", "TOKEND_SIGNING_KEY"):
        path = setting(name, "--" + name[7:].lower().replace("_", "-"), env,
                       argv, image_env, defaults)
        if path and path.startswith("/"):
            c.check(any(path.startswith(m) for m in mounts),
                    "%s (%s) lies under a mounted volume" % (name, path))


def check_build_inputs(dockerfile, c):
    """5. every scripts/ file the top-level meson.build reads (what the
    image's builder stage runs) is copied by the Dockerfile and let
    through by its .dockerignore, so the image builds."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(dockerfile)))
    meson = open(os.path.join(root, "meson.build")).read()
    needed = sorted(set(re.findall(r"'(scripts/[A-Za-z0-9_.-]+)'", meson)))
    text = open(dockerfile).read().replace("\\\n", " ")
    copied = set()
    for line in text.splitlines():
        words = line.split()
        if words[:1] == ["COPY"] and not any(w.startswith("--from")
                                             for w in words):
            copied.update(words[1:-1])
    ignore = open(dockerfile + ".dockerignore").read().split()
    for path in needed:
        c.check(path in copied, "the Dockerfile copies %s (meson.build "
                "reads it)" % path)
        c.check("!" + path in ignore, "the .dockerignore lets %s through"
                % path)


def main():
    if len(sys.argv) != 4:
        print(__doc__.strip().splitlines()[0])
        sys.exit(2)
    compose, dockerfile, binary = sys.argv[1:]
    flags, variables, defaults = tokend_help(binary)
    c = Checks("compose")
    c.check(len(flags) > 20 and len(variables) > 20,
            "tokend --help lists its flags and variables (%d, %d)"
            % (len(flags), len(variables)))
    doc = yaml.safe_load(open(compose))
    image_env, expose = dockerfile_facts(dockerfile)
    c.check("TOKEND_MANAGEMENT_LISTEN" in image_env,
            "the Dockerfile sets TOKEND_MANAGEMENT_LISTEN")
    check_compose(doc, image_env, expose, flags, variables, defaults, c)
    check_build_inputs(dockerfile, c)
    svc = doc["services"]["tokend"]
    mgmt_port = split_addr(setting(
        "TOKEND_MANAGEMENT_LISTEN", "--management-listen",
        as_env(svc.get("environment")), as_argv(svc.get("command")),
        image_env, defaults) or "")[1]

    # Broken copies: each must fail at least one check.
    def broken(what, change):
        d = copy.deepcopy(doc)
        change(d["services"]["tokend"])
        probe = Checks("compose (broken: %s)" % what)
        out = sys.stdout
        try:
            sys.stdout = open("/dev/null", "w")
            check_compose(d, image_env, expose, flags, variables, defaults,
                          probe)
        finally:
            sys.stdout.close()
            sys.stdout = out
        c.check(probe.failed > 0, "a copy with %s is refused" % what)

    def unknown_var(s):
        s["environment"]["TOKEND_NO_SUCH_SETTING"] = "1"

    def unknown_flag(s):
        s["command"] = ["--no-such-flag", "1"]

    def loopback(s):
        s["environment"]["TOKEND_MANAGEMENT_LISTEN"] = "127.0.0.1:9600"

    def unpublished(s):
        s["ports"] = [p for p in s["ports"]
                      if published([p]) != {mgmt_port}]

    def as_root(s):
        s["user"] = "${TOKEND_UID:-0}:${TOKEND_GID:-0}"

    def other_redis(s):
        s["environment"]["TOKEND_REDIS"] = "redis://elsewhere:6379"

    for what, change in (("an unknown variable", unknown_var),
                         ("an unknown flag", unknown_flag),
                         ("the management listener on loopback", loopback),
                         ("the management port not published", unpublished),
                         ("a Redis host that is no service", other_redis),
                         ("user root", as_root)):
        broken(what, change)
    c.done()


if __name__ == "__main__":
    main()
