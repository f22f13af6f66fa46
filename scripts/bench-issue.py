#!/usr/bin/env python3
"""
scripts/bench-issue.py: issue N tokens through POST /oauth/token and write
them as a Lua table for scripts/bench-verify-distinct.lua.

    bench-issue.py --port PORT --auth BASE64 [-n 10000] [--threads 4]
        --out FILE.lua

BASE64 is base64("client_id:secret") (HTTP Basic). Each thread keeps one
keep-alive TLS connection (the certificate is not checked: the server is
the one scripts/bench started on 127.0.0.1). Every answer must be 200 with
an access_token, and the N tokens must be distinct; the file is
`return { "token", ... }`. Python 3 standard library only.
"""

import argparse
import http.client
import json
import ssl
import sys
import threading


def issue(port, auth, count, out, errors):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=10,
                                       context=ctx)
    headers = {"Authorization": "Basic " + auth,
               "Content-Type": "application/x-www-form-urlencoded"}
    try:
        for _ in range(count):
            conn.request("POST", "/oauth/token",
                         body="grant_type=client_credentials",
                         headers=headers)
            r = conn.getresponse()
            body = r.read()
            if r.status != 200:
                errors.append("status %d: %s" % (r.status, body[:200]))
                return
            out.append(json.loads(body)["access_token"])
    except (OSError, http.client.HTTPException, ValueError) as e:
        errors.append(repr(e))
    finally:
        conn.close()


def main(argv):
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--auth", required=True)
    p.add_argument("-n", type=int, default=10000)
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    tokens, errors, threads = [], [], []
    for i in range(a.threads):
        share = a.n // a.threads + (1 if i < a.n % a.threads else 0)
        t = threading.Thread(target=issue, args=(a.port, a.auth, share,
                                                 tokens, errors))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    if errors:
        print("bench-issue: %s" % errors[0], file=sys.stderr)
        return 1
    if len(set(tokens)) != a.n:
        print("bench-issue: %d distinct tokens, expected %d"
              % (len(set(tokens)), a.n), file=sys.stderr)
        return 1
    with open(a.out, "w") as f:
        f.write("return {\n")
        for t in tokens:
            f.write('"%s",\n' % t)
        f.write("}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
