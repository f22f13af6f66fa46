#!/usr/bin/env python3
"""
scripts/bench-fresh.py --port P -n N [--threads T] [--resume] [--method M]
[--path PATH] [--auth BASIC] [--body BODY] [--cafile CA] [--tls12]: N
requests, each
on a fresh TLS connection to 127.0.0.1:P (one request, then close), from T
threads. With --resume each thread offers the session of its previous
connection (a TLS 1.3 ticket, or with --tls12 a TLS 1.2 session ticket:
the client offers TLS 1.2 at most; Python's ssl), so every connection but
each thread's first is a resumption; without it every one is a full
handshake.
Prints one line like scripts/bench.lua's:

  BENCH requests=N duration_us=N rps=F p50_us=N p99_us=N non2xx=N
        err_connect=N resumed=N

(what scripts/bench's transport part reads). Python standard library only.
"""

import argparse
import socket
import ssl
import threading
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("-n", type=int, required=True)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--method", default="GET")
    ap.add_argument("--path", default="/healthz")
    ap.add_argument("--auth", default="")
    ap.add_argument("--body", default="")
    ap.add_argument("--cafile")
    ap.add_argument("--tls12", action="store_true")
    a = ap.parse_args()

    ctx = ssl.create_default_context(cafile=a.cafile)
    if a.tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if a.cafile is None:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    head = "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n" % (
        a.method, a.path)
    if a.auth:
        head += "Authorization: Basic %s\r\n" % a.auth
    if a.body:
        head += ("Content-Type: application/x-www-form-urlencoded\r\n"
                 "Content-Length: %d\r\n" % len(a.body))
    req = (head + "\r\n" + a.body).encode()

    lock = threading.Lock()
    lat, counts = [], {"non2xx": 0, "err": 0, "resumed": 0}
    per = [a.n // a.threads + (1 if i < a.n % a.threads else 0)
           for i in range(a.threads)]

    def worker(n):
        sess = None
        mine, bad, err, res = [], 0, 0, 0
        for _ in range(n):
            t0 = time.monotonic()
            try:
                raw = socket.create_connection(("127.0.0.1", a.port), 10)
                raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                s = ctx.wrap_socket(raw, server_hostname="localhost",
                                    session=sess if a.resume else None)
                s.sendall(req)
                data = b""
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                if s.session_reused:
                    res += 1
                if a.resume:
                    sess = s.session
                s.close()
                if not data.startswith(b"HTTP/1.1 2"):
                    bad += 1
            except (OSError, ssl.SSLError):
                err += 1
                sess = None
                continue
            mine.append(time.monotonic() - t0)
        with lock:
            lat.extend(mine)
            counts["non2xx"] += bad
            counts["err"] += err
            counts["resumed"] += res

    t0 = time.monotonic()
    ts = [threading.Thread(target=worker, args=(n,)) for n in per]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    dur = time.monotonic() - t0
    lat.sort()

    def pct(p):
        return int(lat[min(len(lat) - 1, int(len(lat) * p))] * 1e6) \
            if lat else 0
    print("BENCH requests=%d duration_us=%d rps=%.1f p50_us=%d p99_us=%d "
          "non2xx=%d err_connect=%d resumed=%d"
          % (len(lat), dur * 1e6, len(lat) / dur, pct(0.50), pct(0.99),
             counts["non2xx"], counts["err"], counts["resumed"]))


if __name__ == "__main__":
    main()
