"""
TLS versions, the presented certificate, SIGHUP reload.

Setup:
- "tls_versions": the shared TLS instance (certificate #1, serial 1001).
- "tls_sighup_reload": a TLS instance whose --tls-cert/--tls-key are copies
  of certificate #1 in their own directory.

Expected:
- A client forced to TLS 1.2, and one forced to TLS 1.3, both complete the
  handshake (negotiated version as forced), see certificate #1 and get 200
  from /healthz.
- A client forced to TLS 1.1 (security level 0, so the client can offer
  it) fails the handshake, and a TLS 1.1-only ClientHello sent raw gets an
  alert or a close, never a ServerHello.
- SIGHUP after the files were overwritten with certificate #2 (same names,
  serial 2002): event=reload in the log; new connections present
  certificate #2 (within 2 s, on every worker); a keep-alive connection
  opened before still answers 200.
- SIGHUP after garbage was written into the certificate file:
  event=reload_failed in the log; new connections still get certificate #2
  and 200; tokend exits 0 on SIGTERM.
"""

import os
import shutil
import signal
import socket
import ssl
import time

from tokend_harness import (check, check_eq, fail, peer_serial, recv_response,
                            scenario, short)

GET = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"


def get_on(sock, what):
    sock.sendall(GET)
    r, _ = recv_response(sock, timeout=5)
    check(r is not None, "%s: no response" % what)
    check_eq(r.status, 200, "%s: /healthz status" % what)


@scenario("tls_versions")
def tls_versions(ctx):
    t = ctx.tls_default()
    serial1 = ctx.pki.serial(ctx.pki.cert)
    for ver, name in ((ssl.TLSVersion.TLSv1_2, "TLSv1.2"),
                      (ssl.TLSVersion.TLSv1_3, "TLSv1.3")):
        c = ctx.pki.client_context(minimum=ver, maximum=ver)
        s = t.raw_socket(ssl_ctx=c)
        try:
            check_eq(s.version(), name, "negotiated version")
            check_eq(peer_serial(s), serial1, name + ": certificate serial")
            get_on(s, name)
        finally:
            s.close()

    # TLS 1.1 through the ssl module: must fail.
    c = ctx.pki.client_context(minimum=ssl.TLSVersion.TLSv1_1,
                               maximum=ssl.TLSVersion.TLSv1_1)
    c.set_ciphers("ALL:@SECLEVEL=0")
    try:
        s = t.raw_socket(ssl_ctx=c)
        v = s.version()
        s.close()
        fail("a TLS 1.1 handshake succeeded (negotiated %s)" % v)
    except (ssl.SSLError, ConnectionError) as e:
        ctx.vlog("TLS 1.1 refused: %s" % e)

    # The same, checked on the wire: a 1.1-only ClientHello.
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    c2 = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c2.check_hostname = False
    c2.verify_mode = ssl.CERT_NONE
    c2.minimum_version = c2.maximum_version = ssl.TLSVersion.TLSv1_1
    c2.set_ciphers("ALL:@SECLEVEL=0")
    obj = c2.wrap_bio(inc, out, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    except ssl.SSLError as e:
        ctx.vlog("this client cannot offer TLS 1.1 (%s); wire check "
                 "skipped" % e)
        return
    hello = out.read()
    check(len(hello) > 40, "no TLS 1.1 ClientHello produced")
    s = t.raw_socket(tls=False)
    try:
        s.sendall(hello)
        s.settimeout(5)
        try:
            reply = s.recv(4096)
        except (ConnectionError, OSError):
            reply = b""
        except socket.timeout:
            fail("TLS 1.1 ClientHello: no answer and no close in 5 s")
    finally:
        s.close()
    ctx.vlog("TLS 1.1 ClientHello answered with %s" % (reply[:16].hex()
                                                       or "a close"))
    if len(reply) >= 6 and reply[0] == 0x16 and reply[5] == 0x02:
        fail("the server answered a TLS 1.1 ClientHello with a ServerHello "
             "(version bytes %s)" % reply[1:3].hex())
    check(reply == b"" or reply[0] == 0x15,
          "TLS 1.1 ClientHello: neither an alert nor a close: %s"
          % reply[:16].hex())


@scenario("tls_sighup_reload")
def sighup_reload(ctx):
    d = os.path.join(ctx.tmp, "reload")
    os.makedirs(d, exist_ok=True)
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    shutil.copyfile(ctx.pki.cert, cert)
    shutil.copyfile(ctx.pki.key, key)
    serial1 = ctx.pki.serial(ctx.pki.cert)
    serial2 = ctx.pki.serial(ctx.pki.cert2)
    check(serial1 != serial2, "test PKI: both certificates have serial %s"
          % serial1)

    t = ctx.start_tokend("reload", cert=cert, key=key)
    old = t.raw_socket()
    check_eq(peer_serial(old), serial1, "certificate before reload")
    get_on(old, "connection opened before reload")

    # 1. A good new certificate.
    shutil.copyfile(ctx.pki.cert2, cert)
    shutil.copyfile(ctx.pki.key2, key)
    off = t.log_offset()
    t.signal(signal.SIGHUP)
    t.wait_log(r"event=reload(\s|$)", off, timeout=5)

    def new_serial():
        s = t.raw_socket()
        try:
            get_on(s, "new connection after reload")
            return peer_serial(s)
        finally:
            s.close()

    t0 = time.monotonic()
    streak = 0
    while streak < 6:
        got = new_serial()
        streak = streak + 1 if got == serial2 else 0
        if streak < 6 and time.monotonic() - t0 > 2.0:
            fail("new connections still get serial %s 2 s after the reload "
                 "(expected %s)" % (got, serial2))
    get_on(old, "keep-alive connection opened before the reload")
    check(t.running(), "tokend exited after SIGHUP")

    # 2. A broken certificate file: keep serving with the current one.
    with open(cert, "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\ngarbage\n"
                "-----END CERTIFICATE-----\n")
    off = t.log_offset()
    t.signal(signal.SIGHUP)
    line = t.wait_log(r"event=reload_failed", off, timeout=5)
    ctx.vlog("reload_failed line: %s" % short(line, 300))
    time.sleep(0.2)
    for i in range(4):
        check_eq(new_serial(), serial2,
                 "certificate after a failed reload (connection %d)" % (i + 1))
    get_on(old, "old connection after the failed reload")
    check(t.running(), "tokend exited after a failed reload")
    old.close()
    t.stop()
