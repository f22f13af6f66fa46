#!/usr/bin/env python3
"""
scripts/bench-dpop.py: the DPoP proofs of scripts/bench's dpop rows, made
ahead (wrk's Lua cannot sign), as a Lua table for scripts/bench-dpop.lua.

    bench-dpop.py --port PORT --auth BASE64 --issuer URL --mode token|verify
        [-n 150000] --out FILE.lua

token: N proofs for POST ISSUER/oauth/token; the table is
`return { auth = "Basic ...", proofs = { ... } }`. verify: one DPoP token
got from 127.0.0.1:PORT with a proof, then N proofs for GET
https://127.0.0.1:PORT/verify bound to it (ath); the table is
`return { token = "...", proofs = { ... } }`. Every proof has its own jti
and iat = now, so the rows run with a large --dpop-max-age (scripts/bench
gives 3600): N must exceed what a row sends in its warm-up and runs, or
the proofs repeat and the replays count as failures. One EC P-256 key;
python3-cryptography.
"""

import argparse
import base64
import hashlib
import http.client
import json
import secrets
import ssl
import sys
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import \
    decode_dss_signature


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--auth", required=True)
    ap.add_argument("--issuer", required=True)
    ap.add_argument("--mode", choices=("token", "verify"), required=True)
    ap.add_argument("-n", type=int, default=150000)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    key = ec.generate_private_key(ec.SECP256R1())
    nums = key.public_key().public_numbers()
    header = b64u(json.dumps({
        "typ": "dpop+jwt", "alg": "ES256",
        "jwk": {"kty": "EC", "crv": "P-256",
                "x": b64u(nums.x.to_bytes(32, "big")),
                "y": b64u(nums.y.to_bytes(32, "big"))}},
        separators=(",", ":")).encode())

    def proof(htm, htu, ath=None):
        c = {"jti": secrets.token_urlsafe(12), "htm": htm, "htu": htu,
             "iat": int(time.time())}
        if ath is not None:
            c["ath"] = ath
        si = header + "." + b64u(json.dumps(c, separators=(",", ":"))
                                 .encode())
        r, s = decode_dss_signature(key.sign(si.encode(),
                                             ec.ECDSA(hashes.SHA256())))
        return si + "." + b64u(r.to_bytes(32, "big") + s.to_bytes(32, "big"))

    token_url = a.issuer.rstrip("/") + "/oauth/token"
    with open(a.out, "w") as f:
        if a.mode == "token":
            f.write('return { auth = "Basic %s", proofs = {\n' % a.auth)
            for _ in range(a.n):
                f.write('"%s",\n' % proof("POST", token_url))
        else:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            conn = http.client.HTTPSConnection("127.0.0.1", a.port,
                                               timeout=10, context=ctx)
            conn.request("POST", "/oauth/token",
                         body="grant_type=client_credentials",
                         headers={"Authorization": "Basic " + a.auth,
                                  "Content-Type":
                                  "application/x-www-form-urlencoded",
                                  "DPoP": proof("POST", token_url)})
            r = conn.getresponse()
            body = r.read()
            if r.status != 200:
                sys.exit("bench-dpop.py: token: %d %s" % (r.status,
                                                         body[:200]))
            tok = json.loads(body)["access_token"]
            ath = b64u(hashlib.sha256(tok.encode()).digest())
            htu = "https://127.0.0.1:%d/verify" % a.port
            f.write('return { token = "%s", proofs = {\n' % tok)
            for _ in range(a.n):
                f.write('"%s",\n' % proof("GET", htu, ath))
        f.write("} }\n")


if __name__ == "__main__":
    main()
