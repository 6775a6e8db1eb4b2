#!/usr/bin/env python3
"""Mints one signed JWT per JWS algorithm with PyJWT + cryptography, for
tests/interop.rs: an implementation independent of jsonwebtoken and aws-lc-rs.

    python3 mint.py NOW ISSUER AUDIENCE

prints one JSON document: {"tokens": [{"alg", "kid", "jwk", "pem", "pem_pkcs1",
"token", "claims"}, ...]}. `jwk` is the public JWK (for HMAC: the `oct` key),
`pem` the SubjectPublicKeyInfo PEM (`null` for HMAC), `pem_pkcs1` the PKCS#1
PEM of RSA keys. Keys are generated afresh on every run.
"""

import json
import secrets
import sys

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, HMACAlgorithm, OKPAlgorithm, RSAAlgorithm

SECRET_LEN = {"HS256": 32, "HS384": 48, "HS512": 64}


def keypair(alg):
    """The signing key and (JWK dict, SPKI PEM, PKCS#1 PEM) of its public half."""
    if alg.startswith("HS"):
        secret = secrets.token_bytes(SECRET_LEN[alg])
        jwk = json.loads(HMACAlgorithm.to_jwk(secret))
        return secret, jwk, None, None
    if alg[:2] in ("RS", "PS"):
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
    elif alg == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
        jwk = json.loads(ECAlgorithm.to_jwk(private.public_key()))
    elif alg == "ES384":
        private = ec.generate_private_key(ec.SECP384R1())
        jwk = json.loads(ECAlgorithm.to_jwk(private.public_key()))
    elif alg == "EdDSA":
        private = ed25519.Ed25519PrivateKey.generate()
        jwk = json.loads(OKPAlgorithm.to_jwk(private.public_key()))
    else:
        raise SystemExit(f"unknown algorithm {alg}")
    public = private.public_key()
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    pkcs1 = None
    if alg[:2] in ("RS", "PS"):
        pkcs1 = public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.PKCS1
        ).decode()
    return private, jwk, pem, pkcs1


def main():
    now, issuer, audience = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    out = []
    for alg in [
        "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
        "ES256", "ES384", "EdDSA", "HS256", "HS384", "HS512",
    ]:
        kid = f"py-{alg.lower()}"
        key, jwk, pem, pkcs1 = keypair(alg)
        jwk.update({"kid": kid, "alg": alg})
        claims = {
            "iss": issuer,
            "aud": [audience, "other"],
            "sub": f"subject-{alg}",
            "iat": now,
            "nbf": now - 5,
            "exp": now + 600,
            "scope": "orders:read orders:write",
            "jti": secrets.token_hex(8),
        }
        token = jwt.encode(claims, key, algorithm=alg, headers={"kid": kid, "typ": "at+jwt"})
        # Sanity: PyJWT verifies its own token.
        if alg.startswith("HS"):
            check = key
        else:
            check = key.public_key()
        jwt.decode(token, check, algorithms=[alg], audience=audience, issuer=issuer,
                   options={"verify_exp": False, "verify_iat": False, "verify_nbf": False})
        out.append({"alg": alg, "kid": kid, "jwk": jwk, "pem": pem, "pem_pkcs1": pkcs1,
                    "token": token, "claims": claims})
    json.dump({"pyjwt": jwt.__version__, "tokens": out}, sys.stdout)


if __name__ == "__main__":
    main()
