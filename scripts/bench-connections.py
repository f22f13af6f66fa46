#!/usr/bin/env python3
"""
scripts/bench-connections.py: hold N concurrent keep-alive TLS connections
open to a tokend and measure its memory per idle connection.

    bench-connections.py --port PORT --pid PID [--host 127.0.0.1] [-n N]
        [--cafile CA.pem] [--path /healthz] [--hold SECONDS]
        [--in-flight K] [--json]

One process, non-blocking sockets and a selector (epoll): N connections
are opened, at most K (default 256) handshaking or waiting for their
answer at a time (the server's listen backlog is 1,024); on each, once
the TLS handshake is done, one `GET PATH` (HTTP/1.1, keep-alive), whose
answer must be 200 with the connection kept open. Then all N are held
idle: after a settle period, tokend's VmRSS (/proc/PID/status) is read,
and compared with its VmRSS before the first connection:

    per idle connection = (RSS with N idle - RSS before) / N

Then HOLD seconds idle (default 2; keep it below tokend's
--idle-timeout), a second request on every connection (all must still be
served: nothing was dropped while idle), the connections closed, and
tokend's RSS read once more (after 1 s).

Prints one line `CONNECTIONS n=... served=... served_again=... failed=...
rss_before_kib=... rss_idle_kib=... rss_after_kib=... per_conn_kib=...
connect_s=...` (or JSON with --json) and exits 0 when every connection
was served twice, 1 otherwise. The soft RLIMIT_NOFILE is raised to the
hard limit first. Python 3 standard library only; tokend must run on the
same machine (its /proc is read). test/integration/test_scale.py loads
this file as a module and calls run().
"""

import argparse
import errno
import json
import resource
import selectors
import socket
import ssl
import sys
import time

CONNECTING, HANDSHAKE, SENDING, READING, IDLE, DEAD = range(6)


def raise_nofile(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else max(soft, need)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        raise RuntimeError("RLIMIT_NOFILE is %d, %d connections need more "
                           "(ulimit -Hn)" % (soft, need))


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS for pid %d" % pid)


class Conn:
    __slots__ = ("sock", "state", "out", "inbuf", "served", "error")

    def __init__(self, sock):
        self.sock = sock
        self.state = CONNECTING
        self.out = b""
        self.inbuf = b""
        self.served = 0
        self.error = None


def response_done(buf):
    """(complete, status, keep_alive, rest) for one HTTP/1.1 answer."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return False, 0, False, buf
    head = buf[:end].decode("latin-1").split("\r\n")
    parts = head[0].split(" ", 2)
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    length, close = 0, False
    for h in head[1:]:
        k, _, v = h.partition(":")
        k, v = k.strip().lower(), v.strip().lower()
        if k == "content-length":
            length = int(v)
        elif k == "connection" and "close" in v:
            close = True
    if len(buf) < end + 4 + length:
        return False, 0, False, buf
    return True, status, not close, buf[end + 4 + length:]


class Driver:
    def __init__(self, host, port, ctx, request, in_flight, log):
        self.host, self.port, self.ctx = host, port, ctx
        self.request = request
        self.in_flight = in_flight
        self.log = log
        self.sel = selectors.DefaultSelector()
        self.conns = []
        self.active = 0          # not yet idle nor dead

    def _watch(self, c, events):
        try:
            self.sel.modify(c.sock, events, c)
        except KeyError:
            self.sel.register(c.sock, events, c)

    def _unwatch(self, c):
        try:
            self.sel.unregister(c.sock)
        except (KeyError, ValueError):
            pass

    def _die(self, c, why):
        if c.state not in (IDLE, DEAD):
            self.active -= 1
        c.error = why
        c.state = DEAD
        self._unwatch(c)
        try:
            c.sock.close()
        except OSError:
            pass

    def _open(self):
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        raw.setblocking(False)
        rc = raw.connect_ex((self.host, self.port))
        c = Conn(raw)
        self.conns.append(c)
        self.active += 1
        if rc not in (0, errno.EINPROGRESS):
            self._die(c, "connect: %s" % errno.errorcode.get(rc, rc))
            return
        self._watch(c, selectors.EVENT_WRITE)

    def _send_request(self, c):
        c.state = SENDING
        c.out = self.request
        c.inbuf = b""
        self.active += 1
        self._step(c)

    def _step(self, c):
        try:
            if c.state == CONNECTING:
                err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    return self._die(c, "connect: %s" % os_err(err))
                # The TLS socket takes over the descriptor (and detaches
                # the plain one): watch it instead.
                self._unwatch(c)
                c.sock = self.ctx.wrap_socket(
                    c.sock, server_hostname="localhost",
                    do_handshake_on_connect=False)
                c.state = HANDSHAKE
            if c.state == HANDSHAKE:
                try:
                    c.sock.do_handshake()
                except ssl.SSLWantReadError:
                    return self._watch(c, selectors.EVENT_READ)
                except ssl.SSLWantWriteError:
                    return self._watch(c, selectors.EVENT_WRITE)
                c.state = SENDING
                c.out = self.request
            if c.state == SENDING:
                while c.out:
                    try:
                        n = c.sock.send(c.out)
                    except (ssl.SSLWantWriteError, BlockingIOError):
                        return self._watch(c, selectors.EVENT_WRITE)
                    except ssl.SSLWantReadError:
                        return self._watch(c, selectors.EVENT_READ)
                    c.out = c.out[n:]
                c.state = READING
            if c.state == READING:
                while True:
                    try:
                        chunk = c.sock.recv(16384)
                    except (ssl.SSLWantReadError, BlockingIOError):
                        return self._watch(c, selectors.EVENT_READ)
                    except ssl.SSLWantWriteError:
                        return self._watch(c, selectors.EVENT_WRITE)
                    if not chunk:
                        return self._die(c, "closed before the answer")
                    c.inbuf += chunk
                    done, status, keep, rest = response_done(c.inbuf)
                    if not done:
                        continue
                    if status != 200:
                        return self._die(c, "status %d" % status)
                    if not keep or rest:
                        return self._die(c, "not kept alive")
                    c.served += 1
                    c.inbuf = b""
                    c.state = IDLE
                    self.active -= 1
                    self._unwatch(c)
                    return None
        except (OSError, ssl.SSLError) as e:
            return self._die(c, "%s: %s" % (type(e).__name__, e))
        return None

    def _pump(self, deadline):
        while self.active > 0 and time.monotonic() < deadline:
            for key, _ in self.sel.select(timeout=0.5):
                self._step(key.data)
            if self.pending and self.active < self.in_flight:
                return

    def open_all(self, n, timeout):
        deadline = time.monotonic() + timeout
        self.pending = n
        while self.pending and time.monotonic() < deadline:
            while self.pending and self.active < self.in_flight:
                self._open()
                self.pending -= 1
            self._pump(deadline)
        self.pending = 0
        self._pump(deadline)
        for c in self.conns:
            if c.state not in (IDLE, DEAD):
                self._die(c, "timed out")

    def request_all(self, timeout):
        deadline = time.monotonic() + timeout
        self.pending = 0
        idle = [c for c in self.conns if c.state == IDLE]
        i = 0
        while i < len(idle) and time.monotonic() < deadline:
            while i < len(idle) and self.active < self.in_flight:
                self._send_request(idle[i])
                i += 1
            self.pending = i < len(idle)
            self._pump(deadline)
        self.pending = 0
        self._pump(deadline)
        for c in self.conns:
            if c.state not in (IDLE, DEAD):
                self._die(c, "timed out")

    def close_all(self):
        for c in self.conns:
            if c.state != DEAD:
                self._unwatch(c)
                try:
                    c.sock.close()
                except OSError:
                    pass
        self.sel.close()


def os_err(e):
    return errno.errorcode.get(e, str(e))


def run(host, port, pid, n, cafile=None, path="/healthz", hold=2.0,
        in_flight=256, settle=2.0, timeout=None, log=None):
    """Open n connections, measure; returns a dict (see the module doc)."""
    log = log or (lambda m: None)
    raise_nofile(n + 64)
    if cafile:
        ctx = ssl.create_default_context(cafile=cafile)
    else:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    request = ("GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n" % path).encode()
    timeout = timeout if timeout is not None else 30.0 + n / 200.0
    rss_before = rss_kib(pid)
    d = Driver(host, port, ctx, request, in_flight, log)
    t0 = time.monotonic()
    try:
        d.open_all(n, timeout)
        connect_s = time.monotonic() - t0
        served = sum(1 for c in d.conns if c.served == 1)
        log("%d/%d connections served in %.1f s" % (served, n, connect_s))
        time.sleep(settle)
        rss_idle = rss_kib(pid)
        time.sleep(hold)
        d.request_all(timeout)
        served_again = sum(1 for c in d.conns if c.served == 2)
        log("%d/%d served again after %.0f s idle" % (served_again, n,
                                                      settle + hold))
        errors = {}
        for c in d.conns:
            if c.error:
                errors[c.error] = errors.get(c.error, 0) + 1
    finally:
        d.close_all()
    time.sleep(1.0)
    rss_after = rss_kib(pid)
    return {
        "n": n, "served": served, "served_again": served_again,
        "failed": n - served_again,
        "rss_before_kib": rss_before, "rss_idle_kib": rss_idle,
        "rss_after_kib": rss_after,
        "per_conn_kib": round((rss_idle - rss_before) / n, 2),
        "connect_s": round(connect_s, 2),
        "errors": errors,
    }


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--pid", type=int, required=True,
                   help="tokend's process id (its /proc is read)")
    p.add_argument("-n", type=int, default=10000)
    p.add_argument("--cafile")
    p.add_argument("--path", default="/healthz")
    p.add_argument("--hold", type=float, default=2.0)
    p.add_argument("--in-flight", type=int, default=256)
    p.add_argument("--json", action="store_true")
    p.add_argument("-v", "--verbose", action="store_true")
    a = p.parse_args(argv)
    log = (lambda m: print("bench-connections: " + m, file=sys.stderr,
                           flush=True)) if a.verbose else None
    try:
        r = run(a.host, a.port, a.pid, a.n, a.cafile, a.path, a.hold,
                a.in_flight, log=log)
    except RuntimeError as e:
        print("bench-connections: %s" % e, file=sys.stderr)
        return 2
    if a.json:
        print(json.dumps(r, sort_keys=True))
    else:
        errs = ",".join("%s:%d" % (k.replace(" ", "_"), v)
                        for k, v in sorted(r["errors"].items())) or "-"
        print("CONNECTIONS n=%d served=%d served_again=%d failed=%d "
              "rss_before_kib=%d rss_idle_kib=%d rss_after_kib=%d "
              "per_conn_kib=%.2f connect_s=%.2f errors=%s"
              % (r["n"], r["served"], r["served_again"], r["failed"],
                 r["rss_before_kib"], r["rss_idle_kib"],
                 r["rss_after_kib"], r["per_conn_kib"], r["connect_s"],
                 errs))
    return 0 if r["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
