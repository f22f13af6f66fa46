#!/usr/bin/env python3
"""
scripts/bench-mtls.py --tokend PATH [--requests N] [--clients C]: the cost
of a mutual-TLS token (RFC 8705 tls_client_auth and
self_signed_tls_client_auth) against the ES256 client_secret_basic token,
as tokend's CPU milliseconds per 1,000 tokens on kept-alive connections.

wrk cannot present a client certificate, so the load comes from C client
processes (Python http.client, one kept-alive TLS connection each); only
tokend's CPU time (utime + stime of /proc/PID/stat) is counted, so the
client's own cost does not enter the figure. Starts its own redis-server
(free port, no persistence) and tokend (--workers 1, a throw-away PKI made
with openssl) on 127.0.0.1; stops them however it exits.

Prints one row per configuration and the ratio to the secret row; the
target is mtls <= 1.1 x secret. Exit status 1 when a row misses it or a
request fails. scripts/bench runs it as its mtls rows.
"""

import argparse
import base64
import hashlib
import http.client
import multiprocessing
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse

TARGET = 1.1


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def run(*argv, cwd=None, stdin=None, env=None):
    r = subprocess.run(argv, cwd=cwd, input=stdin, capture_output=True,
                       timeout=60, env=env)
    if r.returncode != 0:
        sys.exit("bench-mtls: %s: %s" % (" ".join(argv), r.stderr[-400:]))
    return r.stdout


def make_pki(d):
    def key(n):
        run("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-out", n + ".key", cwd=d)
    key("ca")
    run("openssl", "req", "-new", "-x509", "-key", "ca.key", "-subj",
        "/CN=bench CA", "-days", "2", "-out", "ca.pem", "-addext",
        "basicConstraints=critical,CA:TRUE", cwd=d)
    with open(os.path.join(d, "srv.ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                "extendedKeyUsage=serverAuth\n")
    with open(os.path.join(d, "cli.ext"), "w") as f:
        f.write("extendedKeyUsage=clientAuth\n")
    for name, subj, ext in (("server", "/CN=localhost", "srv.ext"),
                            ("client", "/O=Bench/CN=svc", "cli.ext")):
        key(name)
        run("openssl", "req", "-new", "-key", name + ".key", "-subj", subj,
            "-out", name + ".csr", cwd=d)
        run("openssl", "x509", "-req", "-in", name + ".csr", "-CA", "ca.pem",
            "-CAkey", "ca.key", "-set_serial", "7", "-days", "2",
            "-extfile", ext, "-out", name + ".pem", cwd=d)
    key("self")
    run("openssl", "req", "-new", "-x509", "-key", "self.key", "-subj",
        "/CN=self", "-days", "2", "-out", "self.pem", cwd=d)
    key("signing")


def thumbprint(pem_path):
    with open(pem_path) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()) \
        .rstrip(b"=").decode()


def cpu_ms(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000.0 / \
        os.sysconf("SC_CLK_TCK")


def client(args):
    port, ca, cert, key, headers, body, n = args
    c = ssl.create_default_context(cafile=ca)
    if cert:
        c.load_cert_chain(cert, key)
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=c,
                                       timeout=10)
    bad = 0
    for _ in range(n):
        conn.request("POST", "/oauth/token", body=body, headers=headers)
        r = conn.getresponse()
        r.read()
        if r.status != 200:
            bad += 1
    conn.close()
    return bad


def measure(port, pid, ca, cert, key, headers, body, n, clients):
    per = n // clients
    with multiprocessing.Pool(clients) as pool:
        # warm-up: connections made, the view synced
        pool.map(client, [(port, ca, cert, key, headers, body, 50)] *
                 clients)
        t0, c0 = time.monotonic(), cpu_ms(pid)
        bad = sum(pool.map(client, [(port, ca, cert, key, headers, body,
                                     per)] * clients))
        c1, t1 = cpu_ms(pid), time.monotonic()
    total = per * clients
    return (c1 - c0) * 1000.0 / total, total / (t1 - t0), bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokend", required=True)
    ap.add_argument("--requests", type=int, default=6000)
    ap.add_argument("--clients", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    d = tempfile.mkdtemp(prefix="tokend-bench-mtls-")
    procs = []
    try:
        make_pki(d)
        rport, port = free_port(), free_port()
        procs.append(subprocess.Popen(
            ["redis-server", "--port", str(rport), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        env = dict(os.environ, TOKEND_REDIS="redis://127.0.0.1:%d" % rport)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", rport), 0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        admin = os.path.join(root, "scripts", "tokend-client")
        secret = run("sh", admin, "add", "bench", env=env).decode().strip()
        run("sh", admin, "add", "bench-tls", "--auth-method",
            "tls_client_auth", "--tls-subject", "CN=svc,O=Bench", env=env)
        run("sh", admin, "add", "bench-self", "--auth-method",
            "self_signed_tls_client_auth", "--tls-cert",
            os.path.join(d, "self.pem"), env=env)
        t = subprocess.Popen(
            [a.tokend, "--listen", "127.0.0.1:%d" % port, "--redis",
             "redis://127.0.0.1:%d" % rport, "--workers", "1",
             "--tls-cert", os.path.join(d, "server.pem"),
             "--tls-key", os.path.join(d, "server.key"),
             "--signing-key", os.path.join(d, "signing.key"),
             "--issuer", "https://localhost:%d" % port,
             "--tls-client-auth", "optional",
             "--tls-client-ca", os.path.join(d, "ca.pem"),
             "--management-listen", "off", "--log-level", "warn"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(t)
        time.sleep(1.0)
        ca = os.path.join(d, "ca.pem")
        form = "application/x-www-form-urlencoded"
        basic = base64.b64encode(("bench:" + secret).encode()).decode()
        rows = [
            ("token-es256-secret-1w", None, None,
             {"Authorization": "Basic " + basic, "Content-Type": form},
             "grant_type=client_credentials"),
            ("token-es256-mtls-pki-1w", os.path.join(d, "client.pem"),
             os.path.join(d, "client.key"), {"Content-Type": form},
             urllib.parse.urlencode({"grant_type": "client_credentials",
                                     "client_id": "bench-tls"})),
            ("token-es256-mtls-self-1w", os.path.join(d, "self.pem"),
             os.path.join(d, "self.key"), {"Content-Type": form},
             urllib.parse.urlencode({"grant_type": "client_credentials",
                                     "client_id": "bench-self"})),
        ]
        base = None
        ok = True
        print("| row | tokend CPU ms / 1k | req/s (client-bound) | "
              "x secret | target <= %.1f |" % TARGET)
        print("| --- | --- | --- | --- | --- |")
        for name, cert, key, headers, body in rows:
            runs = [measure(port, t.pid, ca, cert, key, headers, body,
                            a.requests, a.clients) for _ in range(a.repeat)]
            runs.sort()
            ms, rps, bad = runs[len(runs) // 2]
            if any(r[2] for r in runs):
                print("bench-mtls: %s: %d non-200 answers" % (name, bad),
                      file=sys.stderr)
                ok = False
            if base is None:
                base = ms
                print("| %s | %.1f | %.0f | 1.00 | |" % (name, ms, rps))
                continue
            ratio = ms / base
            passed = ratio <= TARGET
            ok = ok and passed
            print("| %s | %.1f | %.0f | %.2f | %s |" % (
                name, ms, rps, ratio, "pass" if passed else "FAIL"))
        return 0 if ok else 1
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        subprocess.run(["rm", "-rf", d])


if __name__ == "__main__":
    sys.exit(main())
