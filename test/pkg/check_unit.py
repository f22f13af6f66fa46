#!/usr/bin/env python3
"""
check_unit.py TOKEND.SERVICE TOKEND-BINARY: check the configured systemd
unit (meson's configure_file of scripts/tokend.service.in).

1. Parse it (systemd's ini syntax) and check the hardening
   docs/operations.md promises: DynamicUser, NoNewPrivileges, an empty capability bounding
   set, ProtectSystem=strict, the address families, the system call
   filter and the rest (HARDENING below), plus ExecStart, ExecReload,
   Restart, LimitNOFILE, EnvironmentFile and the LoadCredential= keys.
2. Run `systemd-analyze verify` on a copy whose ExecStart names the
   built binary (verify wants an existing executable; the installed path
   need not exist here). systemd need not be PID 1 for that, but must be
   installed (package systemd, in scripts/debian-packages.txt): without
   systemd-analyze the check fails.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

from checks import Checks

HARDENING = {
    "DynamicUser": "yes",
    "NoNewPrivileges": "yes",
    "CapabilityBoundingSet": "",
    "AmbientCapabilities": "",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes",
    "ProtectControlGroups": "yes",
    "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
    "RestrictNamespaces": "yes",
    "RestrictRealtime": "yes",
    "RestrictSUIDSGID": "yes",
    "LockPersonality": "yes",
    "MemoryDenyWriteExecute": "yes",
    "UMask": "0077",
    "Restart": "on-failure",
    "ExecReload": "/bin/kill -HUP $MAINPID",
    "EnvironmentFile": "-/etc/default/tokend",
}


def parse_unit(path):
    """{section: {key: [values in order]}}; continuation lines joined."""
    units = {}
    section = None
    buf = ""
    with open(path) as f:
        for raw in f:
            line = raw.rstrip("\n")
            if buf:
                line = buf + line.lstrip()
                buf = ""
            if line.endswith("\\"):
                buf = line[:-1] + " "
                continue
            s = line.strip()
            if not s or s[0] in "#;":
                continue
            m = re.match(r"^\[(.+)\]$", s)
            if m:
                section = units.setdefault(m.group(1), {})
                continue
            key, _, val = s.partition("=")
            section.setdefault(key.strip(), []).append(val.strip())
    return units


def main():
    unit, binary = sys.argv[1], sys.argv[2]
    c = Checks("unit")
    u = parse_unit(unit)
    svc = u.get("Service", {})
    c.check("Unit" in u and "Install" in u and svc, "sections")
    for key, want in HARDENING.items():
        got = svc.get(key)
        c.check(got is not None and got[-1] == want,
                "%s=%s (got %r)" % (key, want, got))
    for key in ("ProtectClock", "ProtectHostname", "PrivateUsers",
                "SystemCallArchitectures"):
        c.check(key in svc, "%s set" % key)
    c.check("@system-service" in svc.get("SystemCallFilter", []),
            "SystemCallFilter=@system-service")
    nofile = svc.get("LimitNOFILE", ["0"])[-1]
    c.check(nofile.isdigit() and int(nofile) >= 65536,
            "LimitNOFILE >= 65536 (got %s)" % nofile)
    c.check(svc.get("Type", ["simple"])[-1] == "simple", "Type=simple")
    execstart = svc.get("ExecStart", [""])[-1]
    c.check(os.path.isabs(execstart) and
            os.path.basename(execstart) == "tokend",
            "ExecStart is an absolute path to tokend: %r" % execstart)
    with open(unit) as f:
        left = re.findall(r"@[A-Z_]+@", f.read())
    c.check(not left, "@VARIABLE@ left unsubstituted: %r" % left)
    creds = {v.split(":", 1)[0] for v in svc.get("LoadCredential", [])}
    c.check(creds == {"signing-key", "tls-cert", "tls-key"},
            "LoadCredential= signing-key, tls-cert, tls-key: %r" % creds)
    env = " ".join(svc.get("Environment", []))
    for var, cred in (("TOKEND_SIGNING_KEY", "signing-key"),
                      ("TOKEND_TLS_CERT", "tls-cert"),
                      ("TOKEND_TLS_KEY", "tls-key")):
        c.check("%s=%%d/%s" % (var, cred) in env,
                "Environment=%s=%%d/%s" % (var, cred))
    c.check("TOKEND_USER" not in env,
            "no TOKEND_USER (DynamicUser does the switch)")

    sa = shutil.which("systemd-analyze")
    c.check(sa is not None,
            "systemd-analyze is not installed (package systemd)")
    if sa is not None:
        with tempfile.TemporaryDirectory() as d:
            copy = os.path.join(d, "tokend.service")
            with open(unit) as f:
                text = f.read()
            text = text.replace("ExecStart=" + execstart,
                                "ExecStart=" + os.path.abspath(binary))
            with open(copy, "w") as f:
                f.write(text)
            r = subprocess.run([sa, "verify", "--man=no", copy],
                               capture_output=True, text=True, timeout=60)
            out = (r.stdout + r.stderr).strip()
            c.check(r.returncode == 0 and out == "",
                    "systemd-analyze verify (exit %d): %s"
                    % (r.returncode, out))
            print("systemd-analyze verify: %s"
                  % ("clean" if r.returncode == 0 and not out else "FAILED"))
    c.done()


if __name__ == "__main__":
    main()
