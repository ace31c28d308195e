"""Verifies the service's access tokens with code the service did not write:
from the running service's discovery document, PyJWT's PyJWKClient fetches
its key set, finds the key a
token names, and checks the token as any downstream service would. A token
signed by a key that is not in the set, under a kid of its own or under the
set's, is refused by PyJWT and by the service. Part of scripts/api-conformance;
reads CONFORMANCE_BASE_URL, CONFORMANCE_USERNAME, CONFORMANCE_PASSWORD."""

import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

BASE = os.environ["CONFORMANCE_BASE_URL"]
# The local run's audience: the default.
AUDIENCE = "user-auth-service"


def call(method, path, body=None, token=None):
    request = urllib.request.Request(BASE + path, method=method)
    if body is not None:
        request.data = json.dumps(body).encode()
        request.add_header("Content-Type", "application/json")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def fail(message):
    print(f"interop: {message}", file=sys.stderr)
    sys.exit(1)


status, issued = call("POST", "/auth/login", {"username": os.environ["CONFORMANCE_USERNAME"], "password": os.environ["CONFORMANCE_PASSWORD"]})
if status != 200:
    fail(f"login answered {status}: {issued}")
token = issued["access_token"]

# As a verifier given only the issuer (API Gateway's JWT authorizers) finds the keys.
status, discovery = call("GET", "/.well-known/openid-configuration")
if status != 200:
    fail(f"the discovery document answered {status}: {discovery}")
ISSUER = discovery["issuer"]
if ISSUER != BASE:
    fail(f"the discovery document names the issuer {ISSUER}, not {BASE}")
client = jwt.PyJWKClient(discovery["jwks_uri"], cache_jwk_set=False)
key = client.get_signing_key_from_jwt(token)
# Pinned to the published key's own algorithm (EdDSA, or ES256 for a P-256
# key), never to the token's header.
ALGORITHM = key.algorithm_name
if ALGORITHM not in ("EdDSA", "ES256"):
    fail(f"the published key's algorithm is {ALGORITHM}")
claims = jwt.decode(
    token, key.key, algorithms=[ALGORITHM], audience=AUDIENCE, issuer=ISSUER,
    options={"require": ["exp", "iat", "iss", "aud", "sub", "jti", "amr"]},
)
header = jwt.get_unverified_header(token)
if header.get("typ") != "at+jwt":
    fail(f"the token's typ is {header.get('typ')!r}, not at+jwt")
# RFC 8176's methods: a password alone for the conformance user, who has no second factor.
if claims.get("amr") != ["pwd"]:
    fail(f"the token's amr is {claims.get('amr')!r}, not ['pwd']")
status, me = call("GET", "/users/me", token=token)
if status != 200 or me["id"] != claims["sub"]:
    fail(f"PyJWT's subject {claims['sub']} is not the service's user: {status} {me}")
print(f"interop: PyJWT {jwt.__version__} verified a login's {ALGORITHM} token with key {key.key_id} of the published set")

# Tokens of a key outside the set: under a kid of its own, and under the set's.
stranger = Ed25519PrivateKey.generate() if ALGORITHM == "EdDSA" else ec.generate_private_key(ec.SECP256R1())
now = int(time.time())
forged_claims = {**claims, "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())}
for kid in ["not-a-key-of-the-set", key.key_id]:
    forged = jwt.encode(forged_claims, stranger, algorithm=ALGORITHM, headers={"typ": "at+jwt", "kid": kid})
    try:
        signing_key = client.get_signing_key_from_jwt(forged)
        jwt.decode(forged, signing_key.key, algorithms=[ALGORITHM], audience=AUDIENCE, issuer=ISSUER)
        fail(f"PyJWT accepted a token of a key outside the set (kid {kid})")
    except (jwt.PyJWKClientError, jwt.InvalidSignatureError) as refused:
        print(f"interop: PyJWT refused a stranger's token under kid {kid[:12]}...: {type(refused).__name__}")
    status, answer = call("GET", "/users/me", token=forged)
    if status != 401:
        fail(f"the service answered {status} to a stranger's token under kid {kid}: {answer}")
print("interop: the service refused both")
