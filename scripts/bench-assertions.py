#!/usr/bin/env python3
"""
scripts/bench-assertions.py --key PEM --client ID --aud URL -n N --out FILE

For scripts/bench's private_key_jwt row: N client assertions (RFC 7523),
ES256-signed with the P-256 key PEM, each with a jti of its own and an exp
--exp-in seconds ahead (default 3500: the row runs tokend with
--assertion-max-age 3600), written as a Lua table wrk can dofile(). wrk's
Lua cannot sign, and each assertion is accepted once, so the row's
requests are bounded by N: bench-pkjwt.lua walks the table once across
its runs and a replay (the table exhausted) is a 401 that fails the row.
Needs python3's cryptography package.
"""

import argparse
import base64
import json
import os
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import \
    decode_dss_signature


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--key", required=True)
    ap.add_argument("--client", required=True)
    ap.add_argument("--aud", required=True)
    ap.add_argument("--kid", default="bench-1")
    ap.add_argument("-n", type=int, required=True)
    ap.add_argument("--exp-in", type=int, default=3500)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    with open(a.key, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), None)
    head = b64(json.dumps({"alg": "ES256", "kid": a.kid},
                          separators=(",", ":")).encode())
    now = int(time.time())
    with open(a.out + ".tmp", "w") as out:
        out.write("return {\n")
        for i in range(a.n):
            claims = {"iss": a.client, "sub": a.client, "aud": a.aud,
                      "exp": now + a.exp_in, "iat": now,
                      "jti": b64(os.urandom(12))}
            si = head + "." + b64(json.dumps(
                claims, separators=(",", ":")).encode())
            r, s = decode_dss_signature(key.sign(si.encode(),
                                                 ec.ECDSA(hashes.SHA256())))
            sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
            out.write('"%s.%s",\n' % (si, b64(sig)))
        out.write("}\n")
    os.replace(a.out + ".tmp", a.out)


if __name__ == "__main__":
    main()
