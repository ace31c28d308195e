"""Verifies one access token with PyJWT against a JWK set, as a service that
checks tokens in its own code would: the key the token's kid names, its
algorithm pinned, typ, issuer and audience checked. Exits 0 when the token is
valid, 3 when it is refused; anything else is a failure to run. Run by
tests/api/interop.rs.

Usage: verify_token.py <jwk set file> <token> <issuer> <audience>"""

import json
import sys

import jwt

jwk_set_file, token, issuer, audience = sys.argv[1:5]
keys = jwt.PyJWKSet.from_dict(json.load(open(jwk_set_file)))
try:
    header = jwt.get_unverified_header(token)
    if header.get("typ") != "at+jwt":
        raise jwt.InvalidTokenError(f"typ {header.get('typ')!r}")
    key = next((key for key in keys.keys if key.key_id == header.get("kid")), None)
    if key is None:
        raise jwt.InvalidTokenError(f"no key {header.get('kid')!r} in the set")
    claims = jwt.decode(token, key.key, algorithms=[key.algorithm_name], audience=audience, issuer=issuer,
                        options={"require": ["exp", "iat", "iss", "aud", "sub", "jti"]})
except jwt.InvalidTokenError as refused:
    print(f"refused: {type(refused).__name__}: {refused}")
    sys.exit(3)
print(f"valid: {key.algorithm_name} key {key.key_id}, subject {claims['sub']}")
