"""
DPoP proofs (RFC 9449) for the integration scenarios (test_dpop.py,
test_nginx.py): keys (ES256, RS256) with their RFC 7638 thumbprints, and
compact proofs with any field set, dropped or wrong. Made with
python3-cryptography.
"""

import base64
import hashlib
import json
import secrets
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import \
    decode_dss_signature


def b64u(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def uint(n, size):
    return n.to_bytes(size, "big")


class Key:
    """A DPoP key: ES256 (default) or RS256."""

    def __init__(self, alg="ES256"):
        self.alg = alg
        if alg == "ES256":
            self.priv = ec.generate_private_key(ec.SECP256R1())
            nums = self.priv.public_key().public_numbers()
            self.jwk = {"kty": "EC", "crv": "P-256",
                        "x": b64u(uint(nums.x, 32)),
                        "y": b64u(uint(nums.y, 32))}
            req = ("crv", "kty", "x", "y")
        else:
            self.priv = rsa.generate_private_key(65537, 2048)
            nums = self.priv.public_key().public_numbers()
            self.jwk = {"kty": "RSA",
                        "n": b64u(uint(nums.n, 256)),
                        "e": b64u(uint(nums.e, 3))}
            req = ("e", "kty", "n")
        canon = json.dumps({k: self.jwk[k] for k in req},
                           separators=(",", ":"), sort_keys=True)
        self.jkt = b64u(hashlib.sha256(canon.encode()).digest())

    def sign(self, data):
        if self.alg == "ES256":
            r, s = decode_dss_signature(
                self.priv.sign(data, ec.ECDSA(hashes.SHA256())))
            return uint(r, 32) + uint(s, 32)
        return self.priv.sign(data, padding.PKCS1v15(), hashes.SHA256())


def proof(key, htm, htu, token=None, iat=None, jti="new", typ="dpop+jwt",
          alg=None, jwk=None, extra_claims=None, drop=(), signer=None):
    """A compact DPoP proof; jti "new" is a fresh random one."""
    h = {"typ": typ, "alg": alg or key.alg, "jwk": jwk or key.jwk}
    c = {"jti": secrets.token_urlsafe(16) if jti == "new" else jti,
         "htm": htm, "htu": htu,
         "iat": int(time.time()) if iat is None else iat}
    if token is not None:
        c["ath"] = b64u(hashlib.sha256(token.encode()).digest())
    c.update(extra_claims or {})
    for k in drop:
        h.pop(k, None)
        c.pop(k, None)
    si = b64u(json.dumps(h, separators=(",", ":"))) + "." + \
        b64u(json.dumps(c, separators=(",", ":")))
    return si + "." + b64u((signer or key).sign(si.encode()))
