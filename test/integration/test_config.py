"""
Start-up settings: bad values, --help, --version.

Setup: tokend run directly (no readiness wait) with a valid base command
line (--listen 127.0.0.1:<free port>, --redis to the test Redis, the test
signing key and TLS certificate), one setting broken per case.

Expected for each bad setting: exit status 2 within 10 s, exactly one line
on stderr, which names the setting (its flag, or its variable for an
environment case), and nothing listening on the port afterwards:
  --listen 127.0.0.1:70000, --listen nonsense, --redis http://x,
  --redis redis://host:0, no --tls-cert (and no --plain-http),
  --tls-cert /nonexistent, a --tls-cert file that is not a certificate,
  --bogus-flag, --workers 0, --max-body abc, TOKEND_LISTEN=bad in the
  environment, no --signing-key.
--help: exit 0, lists every flag and variable of the contract's
Operations table. --version: exit 0, prints "tokend 0.1.0".
"""

import os
import re
import subprocess

from tokend_harness import (check, check_eq, child_env, free_port,
                            port_listening, scenario, short)

# The settings tokend promised its users from the start (flag and
# environment variable each); later settings are checked by the unit test
# that compares docs/configuration.md's table with the code.
CONTRACT_SETTINGS = [
    ("--listen", "TOKEND_LISTEN"),
    ("--tls-cert", "TOKEND_TLS_CERT"),
    ("--tls-key", "TOKEND_TLS_KEY"),
    ("--plain-http", "TOKEND_PLAIN_HTTP"),
    ("--redis", "TOKEND_REDIS"),
    ("--prefix", "TOKEND_PREFIX"),
    ("--issuer", "TOKEND_ISSUER"),
    ("--signing-key", "TOKEND_SIGNING_KEY"),
    ("--hs256-secret-file", "TOKEND_HS256_SECRET_FILE"),
    ("--retired-key", "TOKEND_RETIRED_KEYS"),
    ("--token-ttl", "TOKEND_TOKEN_TTL"),
    ("--workers", "TOKEND_WORKERS"),
    ("--default-audience", "TOKEND_DEFAULT_AUDIENCE"),
    ("--token-typ", "TOKEND_TOKEN_TYP"),
    ("--hs256-kid", "TOKEND_HS256_KID"),
    ("--max-body", "TOKEND_MAX_BODY"),
    ("--max-headers", "TOKEND_MAX_HEADERS"),
    ("--request-timeout", "TOKEND_REQUEST_TIMEOUT"),
    ("--idle-timeout", "TOKEND_IDLE_TIMEOUT"),
    ("--max-connections", "TOKEND_MAX_CONNECTIONS"),
    ("--redis-timeout", "TOKEND_REDIS_TIMEOUT"),
    ("--verify-grace", "TOKEND_VERIFY_GRACE"),
    ("--leeway", "TOKEND_LEEWAY"),
    ("--auth-fail-limit", "TOKEND_AUTH_FAIL_LIMIT"),
    ("--auth-fail-window", "TOKEND_AUTH_FAIL_WINDOW"),
    ("--trusted-proxies", "TOKEND_TRUSTED_PROXIES"),
    ("--max-revocations-per-client", "TOKEND_MAX_REVOCATIONS_PER_CLIENT"),
]


def base_args(ctx, port):
    return {
        "--listen": "127.0.0.1:%d" % port,
        "--redis": "redis://127.0.0.1:%d" % ctx.redis.port,
        "--signing-key": ctx.pki.signing_key,
        "--tls-cert": ctx.pki.cert,
        "--tls-key": ctx.pki.key,
        "--workers": "2",
    }


def run_tokend(ctx, args, env=None):
    argv = [ctx.tokend_bin]
    for k, v in args.items():
        argv.append(k)
        if v is not None:
            argv.append(v)
    ctx.vlog("run: %s" % " ".join(argv[1:]))
    return subprocess.run(argv, capture_output=True, timeout=10,
                          stdin=subprocess.DEVNULL, env=child_env(env))


def bad_cases(ctx):
    notcert = os.path.join(ctx.tmp, "not-a-cert.pem")
    with open(notcert, "w") as f:
        f.write("this is not a certificate\n")
    # (label, changes to the base args (None value: remove), env, names)
    return [
        ("listen port 70000", {"--listen": "127.0.0.1:70000"}, None,
         "--listen"),
        ("listen nonsense", {"--listen": "nonsense"}, None, "--listen"),
        ("redis http://x", {"--redis": "http://x"}, None, "--redis"),
        ("redis port 0", {"--redis": "redis://host:0"}, None, "--redis"),
        ("no tls-cert", {"--tls-cert": None, "--tls-key": None}, None,
         "--tls-cert"),
        ("tls-cert missing file", {"--tls-cert": "/nonexistent"}, None,
         "--tls-cert"),
        ("tls-cert not a certificate", {"--tls-cert": notcert}, None,
         "--tls-cert"),
        ("bogus flag", {"--bogus-flag": None}, None, "--bogus-flag"),
        ("workers 0", {"--workers": "0"}, None, "--workers"),
        ("max-body abc", {"--max-body": "abc"}, None, "--max-body"),
        ("TOKEND_LISTEN=bad", {"--listen": None}, {"TOKEND_LISTEN": "bad"},
         "TOKEND_LISTEN"),
        ("no signing-key", {"--signing-key": None}, None, "--signing-key"),
    ]


@scenario("config_bad_settings")
def bad_settings(ctx):
    default_port_busy = port_listening(2600)
    problems = []
    for label, change, env, names in bad_cases(ctx):
        port = free_port()
        args = base_args(ctx, port)
        for k, v in change.items():
            if v is None and k in args:
                del args[k]
            else:
                args[k] = v
        r = run_tokend(ctx, args, env)
        lines = [ln for ln in r.stderr.decode("utf-8", "replace")
                 .splitlines() if ln.strip()]
        what = "%s: " % label
        ctx.vlog("%s -> exit %d, stderr %s" % (label, r.returncode,
                                               short(r.stderr, 300)))
        if r.returncode != 2:
            problems.append(what + "exit status %d, expected 2 (stderr %s)"
                            % (r.returncode, short(r.stderr, 300)))
            continue
        if len(lines) != 1:
            problems.append(what + "%d lines on stderr, expected 1: %s"
                            % (len(lines), short(" | ".join(lines), 300)))
            continue
        if names not in lines[0]:
            problems.append(what + "stderr line does not name %s: %s"
                            % (names, short(lines[0])))
        if port_listening(port):
            problems.append(what + "port %d is open" % port)
        if "--listen" not in args and not default_port_busy \
                and port_listening(2600):
            problems.append(what + "default port 2600 is open")
    check(not problems, "; ".join(problems))


@scenario("config_help_version")
def help_version(ctx):
    r = subprocess.run([ctx.tokend_bin, "--help"], capture_output=True,
                       timeout=10, env=child_env())
    check_eq(r.returncode, 0, "--help exit status")
    text = (r.stdout + r.stderr).decode("utf-8", "replace")
    def listed(word):
        return re.search(re.escape(word) + r"(?![\w-])", text) is not None
    missing = [f for f, e in CONTRACT_SETTINGS if not listed(f)]
    missing += [e for f, e in CONTRACT_SETTINGS if not listed(e)]
    check(not missing, "--help does not list: %s" % ", ".join(missing))

    r = subprocess.run([ctx.tokend_bin, "--version"], capture_output=True,
                       timeout=10, env=child_env())
    check_eq(r.returncode, 0, "--version exit status")
    check_eq(r.stdout.decode().strip(), "tokend 0.1.0", "--version output")
