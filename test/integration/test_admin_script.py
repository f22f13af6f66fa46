#!/usr/bin/env python3
"""
Integration test of scripts/tokend-client, the admin script.

    test_admin_script.py [--source-root DIR] [-k SUBSTRING] [-v]

Starts two redis-servers of its own in a temporary directory, persistence
off: one plain (TCP on a free port and a unix socket), one with a password
and an ACL user. Runs every admin call under each POSIX shell found (dash,
bash --posix) and checks the store with a small RESP client: what is
written, that a refused call changes nothing (the whole database is
compared), that secrets and passwords never reach a process's arguments
(shims on PATH record the argv of redis-cli, openssl and the coreutils the
script runs), and that each change is published on P events.

The scenario admin_script_record_rules, at the end of this file, is run by
run.py instead (the integration suite, which imports this file): it needs
the real tokend. It feeds test/data/record_rules.txt, the table of good and
bad client-record values the server's unit test reads too, to add and set,
and issues and verifies a token over TLS for every good value.

Prints one line per test (PASS / FAIL) and finally "N passed, M failed".
Exit status: 0 when nothing failed, 1 otherwise, 77 (meson's "skipped")
when redis-server, redis-cli or openssl is missing. Python 3 standard
library only; importing this file (as run.py does with every test_*.py)
has no side effects.
"""

import argparse
import hashlib
import hmac
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import traceback

SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")
HASH_RE = re.compile(r"^hmac-sha256:([0-9a-f]{32}):([0-9a-f]{64})$")
FIELDS = {"secret", "scopes", "audience", "ttl", "claims", "disabled",
          "revoked_before", "introspect", "created_at", "updated_at",
          "generation", "token_endpoint_auth_method", "dpop_bound"}
SHOW_ORDER = ["id", "scopes", "audience", "ttl", "claims", "disabled",
              "revoked_before", "introspect", "created_at", "updated_at",
              "generation", "token_endpoint_auth_method", "jwks",
              "tls_subject", "tls_san", "tls_thumbprints", "dpop_bound"]
ED_KEY = {"kty": "OKP", "crv": "Ed25519",
          "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
TP1 = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
TP2 = "A" * 43
GEN_RE = re.compile(r"^([0-9a-f]{16})\.([0-9a-f]{16})$")
LEGACY_INCARNATION = "0" * 16
PASSWORD = "s3cret-redis-pw"
ACL_USER = "admin"
ACL_PASSWORD = "p@ss:w/rd%x y"          # %-encoded in the URL
ACL_PASSWORD_URL = "p%40ss%3Aw%2Frd%25x%20y"

# ---------------------------------------------------------------------------
# A minimal RESP2 client


class RedisError(Exception):
    pass


class Resp:
    def __init__(self, port=None, path=None, user=None, password=None,
                 timeout=5):
        if path is not None:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            self.sock.connect(path)
        else:
            self.sock = socket.create_connection(("127.0.0.1", port),
                                                 timeout=timeout)
        self.f = self.sock.makefile("rb")
        if password is not None:
            if user is not None:
                self.cmd("AUTH", user, password)
            else:
                self.cmd("AUTH", password)

    def close(self):
        try:
            self.f.close()
            self.sock.close()
        except OSError:
            pass

    def send(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            if isinstance(a, int):
                a = str(a)
            if isinstance(a, str):
                a = a.encode("utf-8", "surrogateescape")
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))

    def read(self):
        line = self.f.readline()
        if not line:
            raise ConnectionError("redis closed the connection")
        t, rest = line[:1], line[1:-2]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            raise RedisError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            return self.f.read(n + 2)[:-2]
        if t == b"*":
            n = int(rest)
            if n < 0:
                return None
            return [self.read() for _ in range(n)]
        raise RedisError("bad reply %r" % line)

    def cmd(self, *args):
        self.send(*args)
        return self.read()

    def hgetall(self, key):
        r = self.cmd("HGETALL", key)
        return {r[i].decode(): r[i + 1].decode("utf-8", "surrogateescape")
                for i in range(0, len(r), 2)}

    def smembers(self, key):
        return sorted(m.decode() for m in self.cmd("SMEMBERS", key))

    def snapshot(self):
        """Every key of the current database with its type and value."""
        snap = {}
        for k in self.cmd("KEYS", "*"):
            t = self.cmd("TYPE", k)
            if t == "hash":
                v = self.cmd("HGETALL", k)
                v = sorted(zip(v[0::2], v[1::2]))
            elif t == "set":
                v = sorted(self.cmd("SMEMBERS", k))
            elif t == "string":
                v = self.cmd("GET", k)
            else:
                v = t
            snap[k] = (t, v)
        return snap


# ---------------------------------------------------------------------------
# Servers


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    def __init__(self, tmp, name, password=None, unixsocket=False):
        self.dir = os.path.join(tmp, name)
        os.mkdir(self.dir)
        self.port = free_port()
        self.password = password
        self.sock = os.path.join(self.dir, "redis.sock") if unixsocket \
            else None
        args = ["redis-server", "--port", str(self.port),
                "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", self.dir, "--databases", "16"]
        if self.sock:
            args += ["--unixsocket", self.sock, "--unixsocketperm", "700"]
        if password:
            args += ["--requirepass", password]
        self.log = open(os.path.join(self.dir, "log"), "wb")
        self.proc = subprocess.Popen(args, stdout=self.log,
                                     stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                c = self.client()
                if c.cmd("PING") == "PONG":
                    c.close()
                    break
            except (OSError, RedisError):
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("redis-server %s did not start" % name)
            time.sleep(0.05)

    def client(self, **kw):
        return Resp(port=self.port, password=self.password, **kw)

    def url(self, db=None):
        u = "redis://127.0.0.1:%d" % self.port
        return u if db is None else "%s/%d" % (u, db)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


# ---------------------------------------------------------------------------
# Test context


class Failure(AssertionError):
    pass


def check(cond, msg="check failed"):
    if not cond:
        raise Failure(msg)


class Ctx:
    def __init__(self, args, tmp, shell, plain, locked):
        self.args = args
        self.tmp = tmp
        self.shell = shell          # argv prefix: ["dash"] or ["bash", ...]
        self.plain = plain
        self.locked = locked
        self.script = os.path.join(args.source_root, "scripts",
                                   "tokend-client")
        self.db = plain.client()

    def env(self, **extra):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("TOKEND_") and k != "REDISCLI_AUTH"}
        env["TOKEND_REDIS"] = self.plain.url()
        env.update(extra)
        return env

    def run(self, *argv, env=None, stdin=None, direct=False):
        """Run the script: (status, stdout, stderr), all text."""
        cmd = ([self.script] if direct else self.shell + [self.script]) + \
            list(argv)
        p = subprocess.run(cmd, env=env if env is not None else self.env(),
                           input=(stdin if stdin is not None else "")
                           .encode("utf-8", "surrogateescape"),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=60)
        out = p.stdout.decode("utf-8", "surrogateescape")
        err = p.stderr.decode("utf-8", "surrogateescape")
        if self.args.verbose:
            print("  $ %s -> %d\n    out=%r\n    err=%r"
                  % (" ".join(argv), p.returncode, out, err))
        return p.returncode, out, err

    def ok(self, *argv, **kw):
        rc, out, err = self.run(*argv, **kw)
        check(rc == 0, "%s: exit %d, stderr %r" % (argv, rc, err))
        check(err == "", "%s: stderr %r" % (argv, err))
        return out

    def refused(self, *argv, status=None, match=None, **kw):
        """The call fails with one stderr line, no stdout, nothing changed
        in the plain server's database 0."""
        before = self.db.snapshot()
        rc, out, err = self.run(*argv, **kw)
        check(rc != 0, "%s: accepted (out %r)" % (argv, out))
        if status is not None:
            check(rc == status, "%s: exit %d, want %d (%r)"
                  % (argv, rc, status, err))
        check(out == "", "%s: stdout %r" % (argv, out))
        check(err.startswith("tokend-client: ") and err.endswith("\n")
              and err.count("\n") == 1,
              "%s: stderr is not one line: %r" % (argv, err))
        if match is not None:
            check(re.search(match, err), "%s: stderr %r does not match %r"
                  % (argv, err, match))
        check(self.db.snapshot() == before, "%s: the store changed" %
              (argv,))
        return err

    def add(self, cid, *opts, prefix="tokend:"):
        out = self.ok("add", cid, *opts)
        lines = out.split("\n")
        check(len(lines) == 2 and lines[1] == "",
              "add: stdout is not one line: %r" % out)
        check(SECRET_RE.match(lines[0]), "add: bad secret %r" % lines[0])
        return lines[0]

    def record(self, cid, prefix="tokend:", db=None):
        return (db or self.db).hgetall(prefix + "client:" + cid)


def hash_ok(stored, secret):
    """secret_hash_check() in Python."""
    m = HASH_RE.match(stored)
    if not m or not secret:
        return False
    salt = bytes.fromhex(m.group(1))
    digest = hmac.new(salt, secret.encode("utf-8", "surrogateescape"),
                      hashlib.sha256).hexdigest()
    return hmac.compare_digest(digest, m.group(2))


def show_dict(out):
    d = {}
    for line in out.rstrip("\n").split("\n"):
        f, _, v = line.partition(" ")
        d[f] = v
    return d


# ---------------------------------------------------------------------------
# Tests

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


@test
def add_generates_secret(ctx):
    t0 = int(time.time())
    secret = ctx.add("svc-a")
    t1 = int(time.time())
    rec = ctx.record("svc-a")
    check(set(rec) == FIELDS, "fields %r" % sorted(rec))
    check(HASH_RE.match(rec["secret"]), "hash %r" % rec["secret"])
    check(secret not in rec["secret"])
    check(hash_ok(rec["secret"], secret), "the hash does not verify")
    check(not hash_ok(rec["secret"], secret[:-1]))
    check(not hash_ok(rec["secret"], secret + "x"))
    check(rec["scopes"] == "" and rec["audience"] == "")
    check(rec["ttl"] == "0" and rec["claims"] == "{}")
    check(rec["disabled"] == "0" and rec["revoked_before"] == "0")
    check(rec["introspect"] == "0")
    check(t0 <= int(rec["created_at"]) <= t1 + 1)
    check(rec["updated_at"] == rec["created_at"])
    check(GEN_RE.match(rec["generation"]), "generation %r"
          % rec["generation"])
    check(ctx.db.smembers("tokend:clients") == ["svc-a"])
    # two adds, two different secrets and salts
    s2 = ctx.add("svc-b")
    check(s2 != secret)
    check(ctx.record("svc-b")["secret"][12:44] != rec["secret"][12:44])


@test
def add_with_options(ctx):
    ctx.add("svc", "--scopes", "read write:all", "--audience",
            "https://api.example.com", "--ttl", "0600", "--claims",
            '{\n  "tenant" : "acme",\n  "roles": [ "a b", 1.5e3, {} ],'
            '\n  "caf\u00e9": null }', "--introspect")
    rec = ctx.record("svc")
    check(rec["scopes"] == "read write:all", rec["scopes"])
    check(rec["audience"] == "https://api.example.com")
    check(rec["ttl"] == "600", rec["ttl"])
    check(rec["claims"] ==
          '{"tenant":"acme","roles":["a b",1.5e3,{}],"caf\u00e9":null}',
          rec["claims"])
    check(json.loads(rec["claims"])["roles"][0] == "a b")
    check(rec["introspect"] == "1")
    # --name=value, and an id that starts with '-' after --
    out = ctx.ok("add", "--ttl=31536000", "--scopes=x", "--", "-odd")
    check(SECRET_RE.match(out.strip()))
    rec = ctx.record("-odd")
    check(rec["ttl"] == "31536000" and rec["scopes"] == "x")
    # 128 bytes of every allowed character class
    cid = ("Az09._~:@-" * 13)[:128]
    ctx.add(cid)
    check(ctx.record(cid)["secret"])


@test
def add_secret_stdin(ctx):
    secret = "0123456789abcdef0123456789abcdef"
    out = ctx.ok("add", "in1", "--secret-stdin", "--scopes", "a",
                 stdin=secret + "\n")
    check(out == "", "stdout %r" % out)
    rec = ctx.record("in1")
    check(hash_ok(rec["secret"], secret), "hash of the stdin secret")
    check(rec["scopes"] == "a")
    # no trailing newline is fine too; spaces are printable ASCII
    ctx.ok("add", "in2", "--secret-stdin", stdin=secret)
    check(hash_ok(ctx.record("in2")["secret"], secret))
    ctx.ok("add", "in3", "--secret-stdin", stdin=" " + secret + " ")
    check(hash_ok(ctx.record("in3")["secret"], " " + secret + " "))
    # refused: short, non-ASCII (no client can present it: RFC 6749
    # appendix A), empty, control characters, two newlines
    ctx.refused("add", "x", "--secret-stdin", stdin=secret[:31] + "\n",
                status=2, match="shorter than 32")
    ctx.refused("add", "x", "--secret-stdin", stdin="\u00e9" * 32,
                status=2, match="printable ASCII")
    ctx.refused("add", "x", "--secret-stdin", stdin="", status=2)
    ctx.refused("add", "x", "--secret-stdin", stdin=secret + "\r\n",
                status=2, match="control character")
    ctx.refused("add", "x", "--secret-stdin", stdin=secret + "\n\n",
                status=2)
    ctx.refused("add", "x", "--secret-stdin", stdin=secret + "\0",
                status=2)
    ctx.refused("add", "x", "--secret-stdin", stdin="x" * 1025,
                status=2, match="longer than")
    # an existing id is refused before anything is hashed or written
    ctx.refused("add", "in1", "--secret-stdin", stdin=secret + "x",
                status=1, match="exists")


@test
def add_existing_refused(ctx):
    ctx.add("dup", "--scopes", "a", "--claims", '{"x":1}')
    err = ctx.refused("add", "dup", status=1)
    check("dup" in err and "exists" in err, err)
    ctx.refused("add", "dup", "--scopes", "b", "--introspect", status=1)
    check(ctx.record("dup")["scopes"] == "a")


@test
def add_bad_arguments(ctx):
    for cid in ["a b", "a/b", "caf\u00e9", "x" * 129, "a\nb", "a+b", ""]:
        ctx.refused("add", cid, status=2, match="invalid client id")
    ctx.refused("add", status=2, match="missing client id")
    ctx.refused("add", "--scopes", "a", status=2, match="missing client id")
    ctx.refused("add", "a", "b", status=2)
    ctx.refused("add", "a", "--bogus", status=2, match="unknown option")
    ctx.refused("add", "a", "-x", status=2, match="unknown option")
    ctx.refused("add", "a", "--scopes", status=2, match="needs a value")
    for ttl in ["-1", "abc", "31536001", "1e3", " 5", "0x10",
                "99999999999999999999", "0" * 19 + "1"]:
        ctx.refused("add", "a", "--ttl", ttl, status=2, match="--ttl")
    for scopes in ['a"b', "a\\b", "a\tb", "caf\u00e9", "a\nb", "a a",
                   " a", "a ", "a  b", "read write read", "x" * 129,
                   " ".join("s%d" % i for i in range(65))]:
        ctx.refused("add", "a", "--scopes", scopes, status=2,
                    match="--scopes")
    ctx.refused("add", "a", "--audience", "a\nb", status=2,
                match="--audience")
    ctx.refused("add", "a", "--audience", "x" * 1025, status=2)
    # the secret would be wasted: --secret-stdin belongs to add only
    ctx.refused("set", "a", "--secret-stdin", status=2)


@test
def claims_refused(ctx):
    ctx.add("cl", "--claims", '{"keep":true}')
    bad = ['{"a":1,}', "{'a':1}", '{"a":NaN}', '{"a":Infinity}',
           '{"a":1.}', '{"a":01}', '{"a":1e999}', '{"a":"\t"}', "{",
           '{"a":1} x', '{"a":1}{}', " ", "null", "x", '{"a":"\\x"}',
           '{"a\\u0000b":1}', '{"a":' + "[" * 16 + "]" * 16 + "}",
           '{"big":"%s"}' % ("x" * 4100)]
    not_object = ["[]", '"x"', "1", "[{}]", "true"]
    reserved = ['{"iss":"x"}', '{"sub":"x"}', '{"a":1,"aud":"x"}',
                '{"exp":1}', '{"nbf":1}', '{"iat":1}', '{"jti":"x"}',
                '{"client_id":"x"}', '{"client_gen":"x"}',
                '{"scope":"x"}', '{"auth_time":1}',
                '{"acr":"x"}', '{"amr":[]}', '{"cnf":{}}',
                '{"s\\u0075b":"x"}']
    for cmd in (["add", "cl2"], ["set", "cl"]):
        for c in bad:
            ctx.refused(*cmd, "--claims", c, status=2, match="--claims")
        for c in not_object:
            ctx.refused(*cmd, "--claims", c, status=2,
                        match="not a JSON object")
        for c in reserved:
            ctx.refused(*cmd, "--claims", c, status=2,
                        match="registered claim")
    # with other options too: none of them is applied
    ctx.refused("set", "cl", "--scopes", "new", "--claims", "[]", status=2)
    check(ctx.record("cl")["claims"] == '{"keep":true}')
    check(ctx.record("cl")["scopes"] == "")
    check(ctx.db.cmd("EXISTS", "tokend:client:cl2") == 0)
    # nested registered names are fine, and so is depth 16
    ctx.ok("set", "cl", "--claims", '{"x":{"sub":1},"y":' + "[" * 15 +
           "]" * 15 + "}")


@test
def set_each_option(ctx):
    ctx.add("s1")
    created = ctx.record("s1")["created_at"]
    ctx.ok("set", "s1", "--scopes", "a b c")
    check(ctx.record("s1")["scopes"] == "a b c")
    ctx.ok("set", "s1", "--audience", "urn:aud")
    check(ctx.record("s1")["audience"] == "urn:aud")
    ctx.ok("set", "s1", "--ttl", "120")
    check(ctx.record("s1")["ttl"] == "120")
    ctx.ok("set", "s1", "--claims", '{ "k" : "v" }')
    check(ctx.record("s1")["claims"] == '{"k":"v"}')
    ctx.ok("set", "s1", "--introspect")
    check(ctx.record("s1")["introspect"] == "1")
    ctx.ok("set", "s1", "--no-introspect")
    check(ctx.record("s1")["introspect"] == "0")
    # back to the defaults
    ctx.ok("set", "s1", "--scopes", "", "--audience", "", "--ttl", "0",
           "--claims", "{}")
    rec = ctx.record("s1")
    check(rec["scopes"] == "" and rec["audience"] == "")
    check(rec["ttl"] == "0" and rec["claims"] == "{}")
    # '' means the default too, stored as what the server reads as such
    ctx.ok("set", "s1", "--ttl", "7", "--claims", '{"k":1}')
    ctx.ok("set", "s1", "--ttl", "", "--claims", "")
    rec = ctx.record("s1")
    check(rec["ttl"] == "0" and rec["claims"] == "{}", rec)
    # set touches only what it is given, and updated_at
    before = ctx.record("s1")
    time.sleep(1.1)
    ctx.ok("set", "s1", "--ttl=5")
    after = ctx.record("s1")
    check(after["ttl"] == "5")
    check(int(after["updated_at"]) > int(before["updated_at"]))
    for f in FIELDS - {"ttl", "updated_at"}:
        check(after[f] == before[f], f)
    check(after["created_at"] == created)
    # refused: nothing to set, unknown client, bad values
    ctx.refused("set", "s1", status=2, match="nothing to change")
    ctx.refused("set", "nobody", "--ttl", "5", status=1,
                match='no client "nobody"')
    ctx.refused("set", "s1", "--ttl", "-5", status=2)


@test
def rotate(ctx):
    old = ctx.add("r1", "--scopes", "a", "--claims", '{"x":1}')
    before = ctx.record("r1")
    out = ctx.ok("rotate", "r1")
    lines = out.split("\n")
    check(len(lines) == 2 and lines[1] == "" and SECRET_RE.match(lines[0]),
          "rotate stdout %r" % out)
    new = lines[0]
    check(new != old)
    after = ctx.record("r1")
    check(after["secret"] != before["secret"])
    check(hash_ok(after["secret"], new))
    check(not hash_ok(after["secret"], old), "the old secret still works")
    for f in FIELDS - {"secret", "updated_at"}:
        check(after[f] == before[f], f)
    ctx.refused("rotate", "nobody", status=1, match="no client")
    ctx.refused("rotate", "r1", "--scopes", "a", status=2)
    ctx.refused("rotate", status=2)


@test
def disable_enable(ctx):
    ctx.add("d1")
    t0 = int(time.time())
    ctx.ok("disable", "d1")
    t1 = int(time.time())
    rec = ctx.record("d1")
    check(rec["disabled"] == "1")
    rb = int(rec["revoked_before"])
    check(t0 - 1 <= rb <= t1 + 1, "revoked_before %d not now" % rb)
    time.sleep(1.1)
    ctx.ok("enable", "d1")
    rec = ctx.record("d1")
    check(rec["disabled"] == "0")
    check(int(rec["revoked_before"]) == rb, "enable moved revoked_before")
    # disabling again moves it to the new now
    ctx.ok("disable", "d1")
    check(int(ctx.record("d1")["revoked_before"]) > rb)
    for cmd in ("disable", "enable"):
        ctx.refused(cmd, "nobody", status=1, match="no client")
        ctx.refused(cmd, status=2)


def gen_of(ctx, cid):
    m = GEN_RE.match(ctx.record(cid).get("generation", ""))
    check(m, "%s: generation %r" % (cid, ctx.record(cid).get("generation")))
    return m.group(1), m.group(2)


@test
def generations(ctx):
    """
    add draws an incarnation and a serial; disable, and enable of a
    disabled client, a new serial in the same incarnation; enable of an
    enabled client, set and rotate change nothing of it; remove + add a new
    incarnation; a record without a generation (an older script's) gets
    the legacy incarnation at its first lifecycle change, one with a
    malformed field a new incarnation.
    """
    ctx.add("g1")
    inc, s0 = gen_of(ctx, "g1")
    check(inc != LEGACY_INCARNATION)
    ctx.add("g2")
    check(gen_of(ctx, "g2")[0] != inc, "two adds, one incarnation")
    seen = {s0}
    for cmd in ("disable", "enable", "disable", "disable", "enable"):
        ctx.ok(cmd, "g1")
        i, s = gen_of(ctx, "g1")
        check(i == inc, "%s changed the incarnation" % cmd)
        check(s not in seen, "%s: serial %s repeated" % (cmd, s))
        seen.add(s)
    # enable of an enabled client, set and rotate: the same generation,
    # and enable writes nothing at all
    before = ctx.db.snapshot()
    ctx.ok("enable", "g1")
    check(ctx.db.snapshot() == before, "enable of an enabled client wrote")
    gen = ctx.record("g1")["generation"]
    ctx.ok("set", "g1", "--ttl", "60")
    ctx.ok("rotate", "g1")
    check(ctx.record("g1")["generation"] == gen)
    # remove + add: another incarnation
    ctx.ok("remove", "g1")
    ctx.add("g1")
    check(gen_of(ctx, "g1")[0] not in (inc, LEGACY_INCARNATION))
    # a record as an older script wrote it
    ctx.db.cmd("HSET", "tokend:client:old", "secret", "x", "disabled", "0",
               "revoked_before", "0", "created_at", "1700000000")
    ctx.db.cmd("SADD", "tokend:clients", "old")
    ctx.ok("enable", "old")
    check("generation" not in ctx.record("old"))
    ctx.ok("set", "old", "--ttl", "60")
    check("generation" not in ctx.record("old"))
    ctx.ok("disable", "old")
    check(gen_of(ctx, "old")[0] == LEGACY_INCARNATION)
    ctx.ok("enable", "old")
    check(gen_of(ctx, "old")[0] == LEGACY_INCARNATION)
    # a generation field that is none: a fresh incarnation
    ctx.db.cmd("HSET", "tokend:client:old", "generation", "junk")
    ctx.ok("disable", "old")
    check(gen_of(ctx, "old")[0] != LEGACY_INCARNATION)
    ctx.db.cmd("DEL", "tokend:client:old", "tokend:client:g2")
    ctx.db.cmd("SREM", "tokend:clients", "old", "g2")


@test
def remove(ctx):
    ctx.add("rm1")
    ctx.add("rm2")
    # the revocation counts tokend keeps (P revocations:ID) and a
    # revocation (P revoked:JTI): the removed client's count goes with it,
    # the other's stays, and so do the revocations themselves
    until = str(int(time.time()) + 600)
    for cid in ("rm1", "rm2"):
        ctx.db.cmd("ZADD", "tokend:revocations:" + cid, until, "j-" + cid)
    ctx.db.cmd("SET", "tokend:revoked:j-rm1", until)
    ctx.ok("remove", "rm1")
    check(ctx.db.cmd("EXISTS", "tokend:client:rm1") == 0)
    check(ctx.db.cmd("EXISTS", "tokend:revocations:rm1") == 0,
          "remove left the revocation count")
    check(ctx.db.cmd("EXISTS", "tokend:revoked:j-rm1") == 1,
          "remove deleted a revocation")
    check(ctx.db.cmd("ZCARD", "tokend:revocations:rm2") == 1)
    check(ctx.db.smembers("tokend:clients") == ["rm2"])
    ctx.refused("remove", "rm1", status=1, match="no client")
    ctx.refused("remove", "rm2", "extra", status=2)
    check(ctx.db.cmd("EXISTS", "tokend:client:rm2") == 1)
    # disable and enable keep the count: those revocations still stand
    ctx.ok("disable", "rm2")
    ctx.ok("enable", "rm2")
    check(ctx.db.cmd("ZCARD", "tokend:revocations:rm2") == 1)


@test
def key_bound_clients(ctx):
    """add/set/show/rotate of clients with private_key_jwt and the two
    mutual-TLS methods: no secret is made, what each method needs is
    required, key options only for their method, a private JWK member
    refused, show prints key ids and never a key."""
    jwks = json.dumps({"keys": [dict(ED_KEY, kid="k1"),
                                dict(ED_KEY, kid="k 2", use="sig")]},
                      indent=2)
    jf = os.path.join(ctx.tmp, "jwks.json")
    with open(jf, "w") as f:
        f.write(jwks)
    out = ctx.ok("add", "pk1", "--auth-method", "private_key_jwt", "--jwks",
                 jf, "--scopes", "a b")
    check(out == "", "add printed %r" % out)
    rec = ctx.record("pk1")
    check("secret" not in rec, "a secret was stored: %r" % sorted(rec))
    check(rec["token_endpoint_auth_method"] == "private_key_jwt")
    check(json.loads(rec["jwks"]) == json.loads(jwks) and
          "\n" not in rec["jwks"] and " " not in rec["jwks"].replace(
              '"k 2"', ""), rec["jwks"])
    d = show_dict(ctx.ok("show", "pk1"))
    check(d["jwks"] == "k1 k\\x202", d)
    check(d["token_endpoint_auth_method"] == "private_key_jwt")
    check("11qYAYK" not in ctx.ok("show", "pk1"))
    # from stdin, and set replaces the keys
    ctx.ok("set", "pk1", "--jwks", "-",
           stdin=json.dumps({"keys": [dict(ED_KEY)]}))
    check(show_dict(ctx.ok("show", "pk1"))["jwks"] == "-")
    ctx.refused("rotate", "pk1", status=1, match="not a secret")
    ctx.refused("add", "pk2", "--auth-method", "private_key_jwt", status=2,
                match="needs --jwks")
    for bad, why in (({"keys": [dict(ED_KEY, d="AA")]}, '"d"'),
                     ({"keys": [{"kty": "oct", "k": "AAAA"}]}, '"k"'),
                     ({"keys": []}, "1..16"),
                     ({"keys": [dict(ED_KEY, kid="a"), dict(ED_KEY, kid="a")]},
                      "twice"),
                     ([ED_KEY], "JSON object")):
        ctx.refused("add", "pk2", "--auth-method", "private_key_jwt",
                    "--jwks", "-", stdin=json.dumps(bad), status=2,
                    match=why)
        ctx.refused("set", "pk1", "--jwks", "-", stdin=json.dumps(bad),
                    status=2, match=why)
    ctx.refused("add", "pk2", "--jwks", jf, status=2, match="private_key_jwt")
    ctx.refused("add", "pk2", "--auth-method", "private_key_jwt", "--jwks",
                jf, "--secret-stdin", stdin="x" * 40, status=2)
    ctx.refused("set", "pk1", "--auth-method", "tls_client_auth", status=2)
    ctx.refused("set", "pk1", "--tls-san", "a.example", status=2,
                match="private_key_jwt")
    # tls_client_auth: a subject or a SAN; '' removes one, not both
    ctx.ok("add", "t1", "--auth-method", "tls_client_auth", "--tls-subject",
           "CN=svc,O=Acme")
    rec = ctx.record("t1")
    check("secret" not in rec and rec["tls_subject"] == "CN=svc,O=Acme")
    ctx.refused("set", "t1", "--tls-subject", "", status=2,
                match="needs --tls-subject or --tls-san")
    ctx.ok("set", "t1", "--tls-san", "svc.example", "--tls-subject", "")
    rec = ctx.record("t1")
    check("tls_subject" not in rec and rec["tls_san"] == "svc.example", rec)
    ctx.refused("add", "t2", "--auth-method", "tls_client_auth", status=2)
    ctx.refused("add", "t2", "--auth-method", "tls_client_auth",
                "--tls-subject", "svc", status=2, match="RFC 4514")
    ctx.refused("set", "t1", "--jwks", jf, status=2)
    # self_signed: thumbprints, given or from a certificate
    cert = os.path.join(ctx.tmp, "c.pem")
    key = os.path.join(ctx.tmp, "k.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                    "-out", cert, "-subj", "/CN=me", "-days", "2"],
                   check=True, capture_output=True)
    der = subprocess.run(["openssl", "x509", "-in", cert, "-outform", "DER"],
                         check=True, capture_output=True).stdout
    import base64
    tp = base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(
        b"=").decode()
    ctx.ok("add", "s1", "--auth-method", "self_signed_tls_client_auth",
           "--tls-cert", cert, "--tls-thumbprint", TP1, "--dpop-bound")
    rec = ctx.record("s1")
    check(rec["tls_thumbprints"] == tp + " " + TP1, rec)
    check(rec["dpop_bound"] == "1")
    ctx.ok("set", "s1", "--tls-thumbprint", TP2, "--no-dpop-bound")
    rec = ctx.record("s1")
    check(rec["tls_thumbprints"] == TP2 and rec["dpop_bound"] == "0", rec)
    ctx.refused("set", "s1", "--tls-thumbprint", TP2, "--tls-thumbprint",
                TP2, status=2, match="twice")
    ctx.refused("set", "s1", "--tls-thumbprint", TP1[:-1] + "t", status=2)
    ctx.refused("set", "s1", "--tls-cert", jf, status=2,
                match="not a PEM certificate")
    many = sum([["--tls-thumbprint", c * 43] for c in "AEIMQUYcgkosw048"],
               [])
    ctx.ok("add", "s2", "--auth-method", "self_signed_tls_client_auth", *many)
    ctx.refused("add", "s3", "--auth-method", "self_signed_tls_client_auth",
                "--tls-thumbprint", TP1, *many, status=2, match="more than")
    # a secret client with a method named explicitly
    sec = ctx.add("cp1", "--auth-method", "client_secret_post")
    rec = ctx.record("cp1")
    check(rec["token_endpoint_auth_method"] == "client_secret_post" and
          hash_ok(rec["secret"], sec))
    ctx.refused("add", "x1", "--auth-method", "client_secret_jwt", status=2)
    ctx.refused("set", "cp1", "--tls-subject", "CN=a", status=2)


@test
def list_and_show(ctx):
    out = ctx.ok("list")
    check(out == "", "empty list: %r" % out)
    secrets = {}
    for cid in ["zeta", "Alpha", "mid:1", "alpha"]:
        secrets[cid] = ctx.add(cid, "--scopes", "s", "--claims",
                               '{"t":"a b"}')
    out = ctx.ok("list")
    check(out == "Alpha\nalpha\nmid:1\nzeta\n", "list %r" % out)
    out = ctx.ok("show", "mid:1")
    rec = ctx.record("mid:1")
    lines = out.rstrip("\n").split("\n")
    check([ln.split(" ")[0] for ln in lines] == SHOW_ORDER, out)
    d = show_dict(out)
    check(d["id"] == "mid:1" and d["scopes"] == "s")
    check(d["claims"] == '{"t":"a b"}' and d["audience"] == "")
    for f in FIELDS - {"secret"}:
        check(d[f] == rec[f], f)
    everything = ctx.ok("list")
    for cid in secrets:
        everything += ctx.ok("show", cid)
    for cid, s in secrets.items():
        h = ctx.record(cid)["secret"]
        check(s not in everything and h not in everything)
        check(h[12:44] not in everything and h[45:] not in everything)
    check("\nsecret " not in everything and "hmac" not in everything)
    # a record written by hand: missing fields are empty, other fields
    # come last, sorted, control characters escaped
    ctx.db.cmd("HSET", "tokend:client:hand", "secret", "x", "zz", "1",
               "aa", "two\nlines")
    ctx.db.cmd("SADD", "tokend:clients", "hand")
    d = show_dict(ctx.ok("show", "hand"))
    check(d["ttl"] == "" and d["disabled"] == "")
    out = ctx.ok("show", "hand")
    check(out.rstrip("\n").split("\n")[-2:] == ["aa two\\x0alines", "zz 1"],
          out)
    ctx.refused("show", "nobody", status=1, match="no client")
    ctx.refused("show", status=2)
    ctx.refused("list", "x", status=2)
    ctx.refused("list", "--x", status=2)


@test
def usage_errors(ctx):
    ctx.refused(status=2, match="missing command")
    ctx.refused("bogus", status=2, match="unknown command")
    ctx.refused("--bogus", status=2, match="unknown option")
    # an unknown option's value is never echoed
    err = ctx.refused("add", "x", "--secret=abcdefgh", status=2)
    check("abcdefgh" not in err, err)
    for argv in (["-h"], ["--help"], ["help"], ["add", "-h"],
                 ["list", "--help"], ["set", "x", "--help"]):
        out = ctx.ok(*argv)
        check(out.startswith("usage: tokend-client"), out[:40])
        check("show prints one" in out)
    # and run directly, through the #! line
    check(ctx.ok("--help", direct=True).startswith("usage:"))


@test
def bad_environment(ctx):
    for url in ["http://127.0.0.1:6379", "rediss://127.0.0.1:6379",
                "redis://user@127.0.0.1:%d" % ctx.plain.port,
                "redis://:@127.0.0.1:1", "redis://127.0.0.1:0",
                "redis://127.0.0.1:70000", "redis://127.0.0.1:x",
                "redis://127.0.0.1:6379/x", "redis://:a%zz@127.0.0.1:1",
                "redis://:a/b@127.0.0.1:1", "redis://[::1:6379",
                "unix://relative.sock", "unix:///tmp/x.sock?foo=1",
                "redis://ho_st:1"]:
        ctx.refused("list", env=ctx.env(TOKEND_REDIS=url), status=2,
                    match="TOKEND_REDIS")
    # the URL (it may hold a password) is never quoted back
    err = ctx.refused("list", env=ctx.env(
        TOKEND_REDIS="redis://:hunter2@ho_st:1"), status=2)
    check("hunter2" not in err)
    ctx.refused("list", env=ctx.env(TOKEND_PREFIX="a b"), status=2,
                match="TOKEND_PREFIX")
    ctx.refused("list", env=ctx.env(TOKEND_PREFIX="x" * 65), status=2)


@test
def unreachable_redis(ctx):
    port = free_port()
    env = ctx.env(TOKEND_REDIS="redis://127.0.0.1:%d" % port)
    for argv in (["add", "x"], ["list"], ["show", "x"], ["rotate", "x"],
                 ["set", "x", "--ttl", "1"], ["remove", "x"]):
        ctx.refused(*argv, env=env, status=1, match="cannot use Redis")
    ctx.refused("add", "x", "--secret-stdin", env=env, status=1,
                stdin="0123456789abcdef0123456789abcdef",
                match="cannot use Redis")
    ctx.refused("list", env=ctx.env(
        TOKEND_REDIS="unix://%s/none.sock" % ctx.tmp), status=1)
    # a database redis-cli cannot select: refused, not db 0 instead
    ctx.refused("add", "x", env=ctx.env(TOKEND_REDIS=ctx.plain.url(99)),
                status=1, match="cannot use Redis")


@test
def database_and_unix_socket(ctx):
    ctx.ok("add", "indb5", env=ctx.env(TOKEND_REDIS=ctx.plain.url(5)))
    check(ctx.db.cmd("EXISTS", "tokend:client:indb5") == 0)
    db5 = ctx.plain.client()
    db5.cmd("SELECT", 5)
    check(db5.cmd("EXISTS", "tokend:client:indb5") == 1)
    out = ctx.ok("list", env=ctx.env(TOKEND_REDIS=ctx.plain.url(5)))
    check(out == "indb5\n")
    db5.cmd("FLUSHDB")
    db5.close()
    env = ctx.env(TOKEND_REDIS="unix://" + ctx.plain.sock)
    out = ctx.ok("add", "viaunix", env=env)
    secret = out.strip()
    check(hash_ok(ctx.record("viaunix")["secret"], secret))
    check(ctx.ok("list", env=env) == "viaunix\n")
    env = ctx.env(TOKEND_REDIS="unix://%s?db=3" % ctx.plain.sock)
    ctx.ok("add", "unix3", env=env)
    check(ctx.db.cmd("EXISTS", "tokend:client:unix3") == 0)
    check(ctx.ok("list", env=env) == "unix3\n")
    ctx.ok("remove", "unix3", env=env)


@test
def custom_prefix(ctx):
    env = ctx.env(TOKEND_PREFIX="myapp:")
    secret = ctx.ok("add", "p1", env=env).strip()
    check(ctx.db.cmd("EXISTS", "tokend:client:p1") == 0)
    rec = ctx.record("p1", prefix="myapp:")
    check(hash_ok(rec["secret"], secret))
    check(ctx.db.smembers("myapp:clients") == ["p1"])
    check(ctx.ok("list", env=env) == "p1\n")
    check(ctx.ok("list") == "")
    ctx.ok("disable", "p1", env=env)
    check(ctx.record("p1", prefix="myapp:")["disabled"] == "1")
    ctx.refused("show", "p1", status=1)
    ctx.ok("remove", "p1", env=env)
    check(ctx.db.cmd("KEYS", "myapp:*") == [])


@test
def wrong_types_change_nothing(ctx):
    # a broken store: the checks come before the first write
    ctx.db.cmd("SET", "tokend:clients", "oops")
    ctx.refused("add", "w1", status=1, match="not a set")
    ctx.db.cmd("DEL", "tokend:clients")
    ctx.add("w2")
    ctx.db.cmd("DEL", "tokend:clients")
    ctx.db.cmd("SET", "tokend:clients", "oops")
    ctx.refused("remove", "w2", status=1, match="not a set")
    ctx.db.cmd("DEL", "tokend:clients")
    ctx.db.cmd("SET", "tokend:revocations:w2", "oops")
    ctx.refused("remove", "w2", status=1, match="not a sorted set")
    ctx.db.cmd("DEL", "tokend:revocations:w2")
    ctx.db.cmd("SET", "tokend:clients", "oops")
    ctx.refused("list", status=1, match="not a set")
    ctx.db.cmd("DEL", "tokend:clients")
    ctx.db.cmd("SET", "tokend:client:str", "x")
    ctx.refused("set", "str", "--ttl", "1", status=1, match="no client")
    ctx.refused("add", "str", status=1, match="exists")


@test
def events_published(ctx):
    sub = ctx.plain.client(timeout=5)
    sub.send("SUBSCRIBE", "tokend:events", "other:events")
    check(sub.read()[0] == b"subscribe")
    check(sub.read()[0] == b"subscribe")
    calls = [["add", "ev1"], ["set", "ev1", "--ttl", "9"], ["rotate", "ev1"],
             ["disable", "ev1"], ["enable", "ev1"], ["remove", "ev1"]]
    for argv in calls:
        ctx.ok(*argv)
        msg = sub.read()
        check(msg == [b"message", b"tokend:events", b"client ev1"],
              "%s: %r" % (argv, msg))
    # a refused call publishes nothing; another prefix its own channel
    ctx.refused("enable", "ev1", status=1)
    ctx.ok("add", "ev2", env=ctx.env(TOKEND_PREFIX="other:"))
    msg = sub.read()
    check(msg == [b"message", b"other:events", b"client ev2"], repr(msg))
    ctx.ok("add", "--secret-stdin", "ev3",
           stdin="0123456789abcdef0123456789abcdef")
    msg = sub.read()
    check(msg == [b"message", b"tokend:events", b"client ev3"], repr(msg))
    sub.close()
    ctx.db.cmd("DEL", "other:client:ev2", "other:clients")


def shim_dir(ctx):
    """Shims that log their argv (NUL-separated) and exec the real tool."""
    d = os.path.join(ctx.tmp, "shims")
    log = os.path.join(ctx.tmp, "argv.log")
    if not os.path.isdir(d):
        os.mkdir(d)
        for tool in ["redis-cli", "openssl", "timeout", "basenc", "tr",
                     "wc", "cut", "cat"]:
            real = shutil.which(tool)
            if real is None:
                continue
            path = os.path.join(d, tool)
            with open(path, "w") as f:
                f.write("#!/bin/sh\n"
                        "printf '%%s\\0' %s \"$@\" >>'%s'\n"
                        "printf '\\n' >>'%s'\n"
                        "exec '%s' \"$@\"\n" % (tool, log, log, real))
            os.chmod(path, 0o755)
    if os.path.exists(log):
        os.unlink(log)
    return d, log


@test
def password_and_argv(ctx):
    shims, log = shim_dir(ctx)
    locked = ctx.locked
    url = "redis://:%s@127.0.0.1:%d" % (PASSWORD, locked.port)
    env = ctx.env(TOKEND_REDIS=url,
                  PATH=shims + os.pathsep + os.environ.get("PATH", ""))
    lockdb = locked.client()
    secret = ctx.ok("add", "pw1", "--scopes", "a", env=env).strip()
    check(SECRET_RE.match(secret))
    h1 = lockdb.hgetall("tokend:client:pw1")["secret"]
    check(hash_ok(h1, secret))
    stdin_secret = "stdin-secret-0123456789-abcdefghij"
    ctx.ok("add", "pw2", "--secret-stdin", env=env, stdin=stdin_secret)
    h2 = lockdb.hgetall("tokend:client:pw2")["secret"]
    check(hash_ok(h2, stdin_secret))
    rotated = ctx.ok("rotate", "pw1", env=env).strip()
    h3 = lockdb.hgetall("tokend:client:pw1")["secret"]
    check(hash_ok(h3, rotated))
    ctx.ok("set", "pw1", "--ttl", "5", env=env)
    ctx.ok("show", "pw1", env=env)
    ctx.ok("list", env=env)
    # an ACL user with a %-encoded password full of URL characters
    aurl = "redis://%s:%s@127.0.0.1:%d/2" % (ACL_USER, ACL_PASSWORD_URL,
                                            locked.port)
    aenv = ctx.env(TOKEND_REDIS=aurl,
                   PATH=shims + os.pathsep + os.environ.get("PATH", ""))
    asecret = ctx.ok("add", "acl1", env=aenv).strip()
    lockdb.cmd("SELECT", 2)
    check(hash_ok(lockdb.hgetall("tokend:client:acl1")["secret"], asecret))
    lockdb.cmd("SELECT", 0)

    with open(log, "rb") as f:
        logged = f.read()
    calls = [c.split(b"\0")[0] for c in logged.split(b"\n") if c]
    check(b"redis-cli" in calls and b"openssl" in calls
          and b"timeout" in calls, "shims not used: %r" % set(calls))
    for s in (secret, stdin_secret, rotated, asecret, PASSWORD,
              ACL_PASSWORD, ACL_PASSWORD_URL, "p@ss", h1, h2, h3):
        check(s.encode() not in logged, "%r is in a process's argv" % s)
    # the hash's salt is fine on argv, its digest never is
    for h in (h1, h2, h3):
        check(h[45:].encode() not in logged)

    # refused: no password, a wrong one, a wrong user
    lockdb.close()
    before = locked.client().snapshot()
    for bad in ["redis://127.0.0.1:%d" % locked.port,
                "redis://:wrong@127.0.0.1:%d" % locked.port,
                "redis://nobody:%s@127.0.0.1:%d" % (PASSWORD, locked.port)]:
        rc, out, err = ctx.run("add", "pw3", env=ctx.env(TOKEND_REDIS=bad))
        check(rc == 1 and out == "" and err.count("\n") == 1 and
              "cannot use Redis" in err, "%s: %d %r" % (bad, rc, err))
        check(PASSWORD not in err and "wrong" not in err)
    check(locked.client().snapshot() == before)


# ---------------------------------------------------------------------------
# The record rules table, against the script and the real tokend
#
# test/data/record_rules.txt is the table of good and bad values of every
# kind of client-record value that test/unit/test_record_rules.c feeds to
# the server's checks. The scenario below (run by run.py, which imports
# this file) feeds the same table to scripts/tokend-client and to a tokend
# over TLS that reads the clients it writes.

# The kinds the script takes from an admin, and the option that takes
# each (None: the client id itself, or the secret on stdin). The others
# (secret_hash, flag, time, generation) are written by the script
# itself, never given: only the unit test judges them. A one-scope or
# one-audience value goes through the list option, as a list of one; a
# value that is empty or holds a space is a different list, which the
# list kinds' cases cover.
RULE_OPTIONS = {"id": None, "secret": None, "scope": "--scopes",
                "scopes": "--scopes", "audience": "--audience",
                "audiences": "--audience", "claims": "--claims",
                "ttl": "--ttl"}
RULE_FIELDS = {"scope": "scopes", "scopes": "scopes",
               "audience": "audience", "audiences": "audience",
               "claims": "claims", "ttl": "ttl"}
RULE_PIECE_RE = re.compile(rb'"((?:[^"\\]|\\.)*)"(?:\*([0-9]+))?')
RULE_ESCAPES = {b'"': b'"', b"\\": b"\\", b"t": b"\t", b"n": b"\n",
                b"r": b"\r"}


def load_rules_table(path):
    """[(line, kind, valid, value bytes)], as test_record_rules.c reads
    the file (the grammar is at its top)."""
    cases = []
    with open(path, "rb") as f:
        for lineno, line in enumerate(f.read().split(b"\n"), 1):
            if not line or line.startswith(b"#"):
                continue
            kind, expect, rest = line.split(b" ", 2)
            if expect not in (b"valid", b"invalid"):
                raise ValueError("%s:%d: bad EXPECT" % (path, lineno))
            value, pos = b"", 0
            while pos < len(rest):
                m = RULE_PIECE_RE.match(rest, pos)
                if m is None:
                    raise ValueError("%s:%d: bad VALUE" % (path, lineno))
                text, i = b"", 0
                raw = m.group(1)
                while i < len(raw):
                    if raw[i:i + 1] != b"\\":
                        text += raw[i:i + 1]
                        i += 1
                    elif raw[i + 1:i + 2] == b"x":
                        text += bytes([int(raw[i + 2:i + 4], 16)])
                        i += 4
                    else:
                        text += RULE_ESCAPES[raw[i + 1:i + 2]]
                        i += 2
                value += text * int(m.group(2) or 1)
                pos = m.end()
                while rest[pos:pos + 1] == b" ":
                    pos += 1
            cases.append((lineno, kind.decode(), expect == b"valid", value))
    return cases


def snapshot_prefix(db, prefix):
    """Every key under prefix with its type and value."""
    snap = {}
    for k in db.cmd("KEYS", prefix.encode() + b"*"):
        t = db.cmd("TYPE", k)
        if t == "hash":
            v = db.cmd("HGETALL", k)
            v = sorted(zip(v[0::2], v[1::2]))
        elif t == "set":
            v = sorted(db.cmd("SMEMBERS", k))
        else:
            v = db.cmd("DUMP", k)
        snap[k] = (t, v)
    return snap


class RulesRun:
    """The script on the harness's Redis under a prefix of its own."""

    def __init__(self, ctx, prefix):
        import tokend_harness as H
        self.ctx = ctx
        self.H = H
        self.prefix = prefix
        self.script = os.path.join(ctx.source_root, "scripts",
                                   "tokend-client")
        self.env = H.child_env({
            "TOKEND_REDIS": "redis://127.0.0.1:%d" % ctx.redis.port,
            "TOKEND_PREFIX": prefix})
        self.db = Resp(port=ctx.redis.port)
        self.shells = [sh for _, sh in shells()]

    def run(self, shell, argv, stdin=b""):
        p = subprocess.run(shell + [self.script] + argv, input=stdin,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=self.env, timeout=60)
        return p.returncode, p.stdout, p.stderr

    def record(self, cid):
        r = self.db.cmd("HGETALL", (self.prefix + "client:").encode() +
                        cid)
        return {r[i].decode(): r[i + 1] for i in range(0, len(r), 2)}

    def refused(self, where, shell, argv, stdin=b""):
        """A bad value: status 2, one line on stderr, nothing written."""
        H = self.H
        before = snapshot_prefix(self.db, self.prefix)
        rc, out, err = self.run(shell, argv, stdin)
        H.check(rc == 2, "%s: exit %d, want 2 (stderr %s)"
                % (where, rc, H.short(err)))
        H.check(out == b"", "%s: stdout %s" % (where, H.short(out)))
        H.check(err.startswith(b"tokend-client: ") and
                err.endswith(b"\n") and err.count(b"\n") == 1,
                "%s: stderr is not one line: %s" % (where, H.short(err)))
        H.check(snapshot_prefix(self.db, self.prefix) == before,
                "%s: the store changed" % where)

    def accepted(self, where, shell, argv, stdin=b""):
        """A good value: status 0, nothing on stderr; stdout returned."""
        H = self.H
        rc, out, err = self.run(shell, argv, stdin)
        H.check(rc == 0 and err == b"", "%s: exit %d, stderr %s"
                % (where, rc, H.short(err)))
        return out


def stored_form(kind, value):
    """What the script writes for a good value of kind."""
    if kind == "ttl":
        return str(int(value)).encode() if value else b"0"
    if kind == "claims":
        return None     # compact JSON: compared as JSON
    return value


def rule_token_checks(t, kind, value, cid, secret):
    """
    A token for client cid shows the good value of kind at work, and
    /verify accepts it: (ok, detail), for eventually().
    """
    import tokend_harness as H
    from jwt_helpers import Jws, issuer_of, token_request, verify_request
    text = value.decode("utf-8")
    fields = {"grant_type": "client_credentials"}
    if kind == "scope":
        fields["scope"] = text
    r = token_request(t, fields, client=(cid, secret))
    if r.status != 200:
        return False, "token: %d %s" % (r.status, H.short(r.body))
    tok = r.json["access_token"]
    c = Jws(tok).claims
    if kind in ("scope", "scopes"):
        if (c.get("scope") != text) if text else ("scope" in c):
            return False, "scope claim %r" % c.get("scope")
    elif kind in ("audience", "audiences"):
        want = text.split(" ")[0] if text else issuer_of(t)
        if c.get("aud") != want:
            return False, "aud %r, want %r" % (c.get("aud"), want)
    elif kind == "claims":
        want = json.loads(text or "{}")
        got = {k: c.get(k) for k in want}
        if got != want:
            return False, "claims %s" % H.short(json.dumps(got))
    elif kind == "ttl":
        want = int(text) if text and int(text) else 3600
        if r.json.get("expires_in") != want or \
                c["exp"] - c["iat"] != want:
            return False, "expires_in %r" % r.json.get("expires_in")
    if c.get("client_id") != cid.decode():
        return False, "client_id %r" % c.get("client_id")
    v = verify_request(t, tok, scope=text if kind == "scope" else None)
    if v.status != 200 or not v.json or v.json.get("valid") is not True:
        return False, "/verify: %d %s" % (v.status, H.short(v.body))
    if v.header("X-Token-Client-Id") != cid.decode():
        return False, "X-Token-Client-Id %r" % v.header("X-Token-Client-Id")
    if kind == "claims":
        vc = v.json["claims"]
        if {k: vc.get(k) for k in json.loads(text or "{}")} != \
                json.loads(text or "{}"):
            return False, "/verify claims %s" % H.short(json.dumps(vc))
    return True, None


def rule_eventually(what, fn, *args, timeout=2.0):
    """fn(*args) -> (ok, detail) until ok; a client change reaches every
    worker's view within a second."""
    import tokend_harness as H
    t0 = time.monotonic()
    while True:
        ok, detail = fn(*args)
        if ok:
            return
        if time.monotonic() - t0 > H.scaled(timeout):
            H.fail("%s: %s" % (what, detail))
        time.sleep(0.05)


try:
    from tokend_harness import scenario as _scenario
except ImportError:         # the harness is next to this file
    _scenario = None


def _rules_scenario(fn):
    return _scenario("admin_script_record_rules", timeout=600)(fn) \
        if _scenario else fn


@_rules_scenario
def admin_script_record_rules(ctx):
    """
    Setup: a tokend over TLS on the harness's Redis under a prefix of its
    own; each case of test/data/record_rules.txt whose kind the script
    takes (RULE_OPTIONS) is given to `tokend-client add` (dash) and
    `set` (bash --posix; a secret: add under both). Expected: a bad
    value exits 2 with one line on stderr and changes nothing under the
    prefix; a good one is written as given (ttl without leading zeros,
    claims compact), and a token issued for the client (Basic and
    client_secret_post for ids and secrets) carries it (scope, aud =
    the first audience, claims, expires_in) and passes /verify.
    """
    import tokend_harness as H
    from jwt_helpers import start_instance, uid
    cases = load_rules_table(os.path.join(ctx.source_root, "test", "data",
                                          "record_rules.txt"))
    prefix = uid("rules") + ":"
    t = start_instance(ctx, "rules", args=["--prefix", prefix,
                                           "--auth-fail-limit", "0"])
    run = RulesRun(ctx, prefix)
    add_sh = run.shells[0]
    set_sh = run.shells[-1]
    n = 0

    def new_client(shell, *opts):
        cid = uid("r").encode()
        out = run.accepted("add %s" % cid.decode(), shell,
                           ["add"] + list(opts) + ["--", cid])
        secret = out.decode().strip()
        ctx.sensitive.secret(secret, "tokend-client add")
        return cid, secret

    bases = {}
    try:
        for lineno, kind, valid, value in cases:
            if kind not in RULE_OPTIONS:
                continue
            where = "record_rules.txt:%d %s %s" % (
                lineno, kind, "valid" if valid else "invalid")
            opt = RULE_OPTIONS[kind]
            if kind in ("scope", "audience") and (value == b"" or
                                                  b" " in value):
                continue
            if b"\0" in value and kind != "secret":
                continue        # no argv can hold it
            n += 1
            if kind == "id":
                if not valid:
                    run.refused(where + " add", add_sh,
                                ["add", "--", value])
                    run.refused(where + " set", set_sh,
                                ["set", "--ttl", "5", "--", value])
                    continue
                out = run.accepted(where + " add", add_sh,
                                   ["add", "--", value])
                secret = out.decode().strip()
                ctx.sensitive.secret(secret, "tokend-client add")
                H.check(run.record(value).get("secret", b"")
                        .startswith(b"hmac-sha256:"), where + ": no record")
                run.accepted(where + " set", set_sh,
                             ["set", "--ttl", "5", "--", value])
                for post in (False, True):
                    rule_eventually(where, rule_id_checks, t, value, secret,
                                    post)
                continue
            if kind == "secret":
                for shell in run.shells:
                    cid = uid("s").encode()
                    argv = ["add", "--secret-stdin", "--", cid]
                    if not valid:
                        run.refused(where, shell, argv, value + b"\n")
                        continue
                    ctx.sensitive.secret(value, "--secret-stdin")
                    run.accepted(where, shell, argv, value + b"\n")
                    for post in (False, True):
                        rule_eventually(where, rule_id_checks, t, cid,
                                        value.decode(), post)
                continue
            # an option: add a client with it, and set it on another
            field = RULE_FIELDS[kind]
            if kind not in bases:
                bases[kind] = new_client(add_sh)
            base, base_secret = bases[kind]
            if not valid:
                run.refused(where + " add", add_sh,
                            ["add", opt, value, "--", uid("r").encode()])
                run.refused(where + " set", set_sh,
                            ["set", opt, value, "--", base])
                continue
            cid, secret = new_client(add_sh, opt, value)
            for c, sec, how in ((cid, secret, "add"),
                                (base, base_secret, "set")):
                if how == "set":
                    run.accepted(where + " set", set_sh,
                                 ["set", opt, value, "--", base])
                got = run.record(c).get(field)
                want = stored_form(kind, value)
                if want is None:
                    H.check(got is not None and
                            json.loads(got or b"{}") ==
                            json.loads(value or b"{}") and
                            b"\n" not in got,
                            "%s %s: stored %s" % (where, how, H.short(got)))
                else:
                    H.check(got == want, "%s %s: stored %s, want %s" % (
                        where, how, H.short(got), H.short(want)))
                rule_eventually(where + " " + how, rule_token_checks, t,
                                kind, value, c, sec)
    finally:
        run.db.close()
    H.check(n > 150, "only %d cases of the table were run" % n)


def rule_id_checks(t, cid, secret, post):
    """A token for (cid, secret), by Basic or client_secret_post, and
    /verify of it: (ok, detail)."""
    from jwt_helpers import token_request, verify_request
    import tokend_harness as H
    c = (cid.decode(), secret)
    r = token_request(t, client=None if post else c, post=c if post
                      else None)
    if r.status != 200:
        return False, "token (%s): %d %s" % (
            "post" if post else "basic", r.status, H.short(r.body))
    v = verify_request(t, r.json["access_token"])
    if v.status != 200 or v.header("X-Token-Client-Id") != c[0]:
        return False, "/verify: %d %s" % (v.status, H.short(v.body))
    return True, None


# ---------------------------------------------------------------------------
# Runner


def shells():
    found = []
    if shutil.which("dash"):
        found.append(("dash", ["dash"]))
    if shutil.which("bash"):
        found.append(("bash", ["bash", "--posix"]))
    if not found:
        found.append(("sh", ["sh"]))
    return found


def parse_args(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    p.add_argument("--source-root",
                   default=os.path.dirname(os.path.dirname(here)))
    p.add_argument("-k", dest="filters", action="append", default=[])
    p.add_argument("-v", "--verbose", action="store_true")
    return p.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    for tool in ("redis-server", "redis-cli", "openssl"):
        if shutil.which(tool) is None:
            print("SKIP: %s not found" % tool)
            print("0 passed, 0 failed")
            return 77
    passed = failed = 0
    tmp = tempfile.mkdtemp(prefix="tokend-admin-")
    servers = []
    try:
        plain = RedisServer(tmp, "plain", unixsocket=True)
        servers.append(plain)
        locked = RedisServer(tmp, "locked", password=PASSWORD)
        servers.append(locked)
        c = locked.client()
        c.cmd("ACL", "SETUSER", ACL_USER, "on", ">" + ACL_PASSWORD, "~*",
              "&*", "+@all")
        c.close()
        for sname, shell in shells():
            for fn in TESTS:
                name = "%s [%s]" % (fn.__name__, sname)
                if args.filters and not any(f in name for f in args.filters):
                    continue
                for srv in servers:
                    cl = srv.client()
                    cl.cmd("FLUSHALL")
                    cl.close()
                ctx = Ctx(args, tmp, shell, plain, locked)
                try:
                    fn(ctx)
                    print("PASS %s" % name)
                    passed += 1
                except Exception as e:
                    print("FAIL %s: %s" % (name, " ".join(str(e).split())))
                    if args.verbose or not isinstance(e, Failure):
                        traceback.print_exc()
                    failed += 1
                finally:
                    ctx.db.close()
                sys.stdout.flush()
    finally:
        for srv in servers:
            srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
