"""
TLS session resumption: session tickets (TLS 1.2) and resumption PSKs
(TLS 1.3) under the process's random key or --tls-ticket-key-file.

Setup: keys of 80 printable bytes (any 80 bytes are a key; printable ones
let the end-of-run log check look for them), written to files in the
scenario's directory; Python's ssl with a session taken after one request
on a full handshake, offered on fresh connections.

Expected:
- "tls_resumption_across_workers": one instance, 2 workers, no key file:
  of 12 fresh connections offering the session (SO_REUSEPORT spreads them
  over both workers), all resume, for TLS 1.3 and 1.2, and each answers
  /healthz; after SIGHUP (the same random key) they still resume; a second
  instance without a key file does not resume them (a full handshake, 200).
- "tls_ticket_key_shared_by_instances": two instances with the same key
  file resume each other's sessions (both versions); a third with another
  key file answers with a full handshake.
- "tls_ticket_key_rotation_sighup": key file K1; a session S1. The file
  becomes K2 then K1, SIGHUP: S1 still resumes, and the session then issued
  (S2, under K2) resumes. The file becomes K2 alone, SIGHUP: S1 is refused
  (full handshake), S2 resumes. A 48-byte file, SIGHUP: reload_failed,
  kept=previous, S2 still resumes. No key ever appears in the log.
- "tls_ticket_key_file_refused_at_start": a 48-byte file, an 81-byte file,
  an empty file and a missing file each stop start-up with exit 2 and one
  line naming --tls-ticket-key-file, without a key byte.
"""

import os
import secrets
import signal
import ssl
import subprocess
import time

from tokend_harness import (check, check_eq, child_env, free_port, scenario,
                            short)

GET = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"
VERSIONS = ((ssl.TLSVersion.TLSv1_3, "TLSv1.3"),
            (ssl.TLSVersion.TLSv1_2, "TLSv1.2"))


def new_key(ctx):
    k = secrets.token_urlsafe(60)[:80].encode()
    check_eq(len(k), 80, "test key length")
    ctx.sensitive.secret(k, "--tls-ticket-key-file")
    return k


def write_keys(path, *keys):
    tmp = path + ".new"
    with open(tmp, "wb") as f:
        f.write(b"".join(keys))
    os.replace(tmp, path)


def connect(t, cctx, session=None):
    """A fresh TLS connection, one /healthz on it: (reused, session)."""
    s = t.raw_socket(tls=False)
    s = cctx.wrap_socket(s, server_hostname="localhost", session=session)
    try:
        s.sendall(GET)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            check(chunk, "%s: closed before an answer" % t.name)
            data += chunk
        check(data.startswith(b"HTTP/1.1 200"), "%s: /healthz answered %s"
              % (t.name, short(data, 80)))
        # A TLS 1.3 ticket arrives after the handshake: with the answer.
        return s.session_reused, s.session
    finally:
        s.close()


def client(ctx, ver):
    return ctx.pki.client_context(minimum=ver, maximum=ver)


def resumes(t, cctx, session, n=1):
    """How many of n fresh connections offering session resumed."""
    return sum(1 for _ in range(n) if connect(t, cctx, session)[0])


@scenario("tls_resumption_across_workers")
def resumption_across_workers(ctx):
    t = ctx.start_tokend("resume", workers=2)
    other = ctx.start_tokend("resume-other", workers=1)
    for ver, name in VERSIONS:
        c = client(ctx, ver)
        reused, sess = connect(t, c)
        check(not reused, name + ": first connection resumed")
        check_eq(resumes(t, c, sess, 12), 12,
                 name + ": fresh connections resumed (of 12, 2 workers)")
        check_eq(resumes(other, c, sess, 2), 0,
                 name + ": resumed at an instance with its own random key")
    c = client(ctx, ssl.TLSVersion.TLSv1_3)
    _, sess = connect(t, c)
    off = t.log_offset()
    t.signal(signal.SIGHUP)
    t.wait_log(r"event=reload(\s|$)", off, timeout=5)
    time.sleep(0.3)
    check_eq(resumes(t, c, sess, 6), 6,
             "TLSv1.3: resumed after SIGHUP without a key file (of 6)")


@scenario("tls_ticket_key_shared_by_instances")
def ticket_key_shared(ctx):
    d = os.path.join(ctx.tmp, "tickets-shared")
    os.makedirs(d, exist_ok=True)
    kf, kf2 = os.path.join(d, "a.key"), os.path.join(d, "b.key")
    write_keys(kf, new_key(ctx))
    write_keys(kf2, new_key(ctx))
    a = ctx.start_tokend("tk-a", args=["--tls-ticket-key-file", kf])
    b = ctx.start_tokend("tk-b", args=["--tls-ticket-key-file", kf],
                         workers=1)
    c = ctx.start_tokend("tk-c", args=["--tls-ticket-key-file", kf2],
                         workers=1)
    for ver, name in VERSIONS:
        cc = client(ctx, ver)
        _, sa = connect(a, cc)
        check_eq(resumes(b, cc, sa, 4), 4, name + ": A's session at B")
        _, sb = connect(b, cc)
        check_eq(resumes(a, cc, sb, 4), 4, name + ": B's session at A")
        check_eq(resumes(c, cc, sa, 2), 0,
                 name + ": A's session at C (another key)")


@scenario("tls_ticket_key_rotation_sighup")
def ticket_key_rotation(ctx):
    d = os.path.join(ctx.tmp, "tickets-rotate")
    os.makedirs(d, exist_ok=True)
    kf = os.path.join(d, "ticket.key")
    k1, k2 = new_key(ctx), new_key(ctx)
    write_keys(kf, k1)
    t = ctx.start_tokend("rotate", args=["--tls-ticket-key-file", kf])
    c = client(ctx, ssl.TLSVersion.TLSv1_3)
    _, s1 = connect(t, c)
    check_eq(resumes(t, c, s1, 2), 2, "S1 before rotation")

    def hup(pattern):
        off = t.log_offset()
        t.signal(signal.SIGHUP)
        line = t.wait_log(pattern, off, timeout=5)
        time.sleep(0.3)     # the workers take the new context
        return line

    # K2 encrypts, K1 still decrypts.
    write_keys(kf, k2, k1)
    hup(r"event=reload(\s|$)")
    reused, s2 = connect(t, c, s1)
    check(reused, "S1 (under K1) not resumed while K1 is the second key")
    check_eq(resumes(t, c, s2, 3), 3, "S2 (issued after the rotation)")

    # K1 gone.
    write_keys(kf, k2)
    hup(r"event=reload(\s|$)")
    check_eq(resumes(t, c, s1, 3), 0, "S1 resumed after K1 was removed")
    check_eq(resumes(t, c, s2, 3), 3, "S2 under K2 after K1 was removed")

    # A bad file keeps the previous keys.
    with open(kf, "wb") as f:
        f.write(k2[:48])
    line = hup(r"event=reload_failed")
    check("tls_ticket_keys" in line and "48 bytes" in line,
          "reload_failed line does not say why: %s" % short(line, 200))
    check_eq(resumes(t, c, s2, 3), 3, "S2 after a failed reload")
    log = t.log_text()
    for k in (k1, k2):
        for form in (k.decode(), k[:48].decode(), k.hex(), k[:16].decode()):
            check(form not in log, "a ticket key is in the log")


@scenario("tls_ticket_key_file_refused_at_start")
def ticket_key_refused(ctx):
    d = os.path.join(ctx.tmp, "tickets-bad")
    os.makedirs(d, exist_ok=True)
    k = new_key(ctx)
    cases = (("48 bytes", k[:48]), ("81 bytes", k + b"x"), ("empty", b""),
             ("missing", None))
    for label, content in cases:
        path = os.path.join(d, label.replace(" ", "-") + ".key")
        if content is not None:
            with open(path, "wb") as f:
                f.write(content)
        argv = [ctx.tokend_bin, "--listen", "127.0.0.1:%d" % free_port(),
                "--management-listen", "off",
                "--redis", "redis://127.0.0.1:%d" % ctx.redis.port,
                "--signing-key", ctx.pki.signing_key,
                "--tls-cert", ctx.pki.cert, "--tls-key", ctx.pki.key,
                "--tls-ticket-key-file", path]
        r = subprocess.run(argv, capture_output=True, timeout=10,
                           stdin=subprocess.DEVNULL, env=child_env())
        err = r.stderr.decode("utf-8", "replace")
        lines = [ln for ln in err.splitlines() if ln.strip()]
        ctx.vlog("%s -> exit %d: %s" % (label, r.returncode, short(err, 200)))
        check_eq(r.returncode, 2, label + ": exit status")
        check_eq(len(lines), 1, label + ": lines on stderr")
        check("--tls-ticket-key-file" in lines[0] or
              "TOKEND_TLS_TICKET_KEY_FILE" in lines[0],
              label + ": the line does not name the setting: " + lines[0])
        check(k[:16].decode() not in err, label + ": key bytes on stderr")
