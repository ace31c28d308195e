"""Schemathesis hooks for the API conformance run of scripts/api-conformance.

Bodies that are not UTF-8. cargo lambda watch, the local router, answers a
JSON request whose body is not valid UTF-8 with its own 500 before any
function runs. API Gateway instead passes such a body base64-encoded, and the
functions answer 400 (`functions/login` has a fixture test for it). So,
against the local router only, such bodies are not sent; every other
generated request is.

Authentication. scripts/api-conformance signs one user up before the run and
gives its credentials and the service's URL in CONFORMANCE_BASE_URL,
CONFORMANCE_USERNAME and CONFORMANCE_PASSWORD. Then:

- every request to a route that takes a bearer token carries a real access
  token, of a session of its own: a login (`POST /auth/login`, one argon2 run)
  per request, as ending a session (a logout, `DELETE /auth/sessions/{id}`)
  ends its tokens, and a logout with `scope` `others` or `global` the other
  sessions' too. Schemathesis generates some cases ahead of sending them: a
  token obtained before a request that may have ended sessions is replaced by
  a fresh one when its case is sent. Schemathesis's own negative cases about
  the `Authorization` header (none, or a generated one) are sent as generated;
- three in four well-formed `POST /auth/refresh` requests carry the refresh
  token of a fresh login instead of the generated one, so refreshes succeed;
  the others, and malformed bodies, are sent as generated;
- the check `conformance_token_accepted` fails when the service refuses (401)
  a token these hooks obtained: without it, a service refusing every token
  would pass, as 401 is an answer the description allows everywhere;
- generated logins never use the conformance username: five wrong passwords
  would lock it, and these hooks' own logins with it;
- the routes that check the caller's password (`POST /users/me/password`,
  `DELETE /users/me`) run as a throwaway user instead, signed up and logged
  in for each request: their wrong passwords count toward the lock of that
  user's name, not the conformance user's, and a right one changes or
  deletes nobody else. Three in four bodies with a string in the password
  field carry the user's password instead of the generated one, so that
  changes and deletions succeed; the others are sent as generated. For these
  routes, the check `conformance_token_accepted` allows 401
  `invalid_credentials` for a wrong password only, and fails on a 429 (the
  user has had one try at most).

Addresses and codes. A positive case's `email` that the service's address
rule (shared/src/domain/email.rs) refuses, which the schema does not state,
is replaced by a fresh valid address. Every positive `POST
/users/me/email/verify` runs as a throwaway user signed up with an address,
and carries the code the service mailed it, read from the local SES
(CONFORMANCE_SES_URL): a generated code would always be wrong. Every
positive `POST /auth/recovery/confirm` names a throwaway user whose address
is verified, with the recovery code mailed to it, and a password the rules
accept.

Second factor. `POST /users/me/mfa/totp` and `DELETE /users/me/mfa/totp`
check the caller's password, so they run as throwaway users as above. Every
positive case of the routes that need an active or pending factor runs as a
throwaway user who has one, enrolled through the API, with a code that
passes: `POST /users/me/mfa/totp/confirm` the current TOTP code of the
pending secret (computed here, RFC 6238), `POST /users/me/mfa/recovery-codes`,
`DELETE /users/me/mfa/totp` and `POST /auth/mfa/verify` (with the
`mfa_token` of the user's login) one of the user's recovery codes. A 401
`invalid_code` refuses a code, not the token: the check
`conformance_token_accepted` allows it, and fails on it for these positive
cases.

Password rules JSON Schema cannot state. A positive case's password is
valid by its schema, yet the service refuses (400 `invalid_password`) one
that contains the username or the service's name, or that is common, or
whose length, counted after NFKC normalisation, is out of bounds (see
`SignUp` in openapi.yaml). Before such a positive sign-up or password change
is sent, its password is replaced by one that breaks none of these rules.
And as the schema counts a password's characters as sent, a password of any
case whose length is in bounds as sent but not once normalised, or the
reverse (`½` is three characters in NFKC), is replaced by one of the same
length that normalisation leaves alone: the schema and the service then
agree on whether it is too short or too long.
"""

import atexit
import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import sys
import threading
import time
import unicodedata
import urllib.error
import urllib.request
import uuid
import zlib

import schemathesis

BASE_URL_VARIABLE = "CONFORMANCE_BASE_URL"
USERNAME_VARIABLE = "CONFORMANCE_USERNAME"
PASSWORD_VARIABLE = "CONFORMANCE_PASSWORD"
SES_URL_VARIABLE = "CONFORMANCE_SES_URL"

# The security scheme of openapi.yaml that takes the access token.
BEARER_SCHEME = "bearer"
# The User-Agent of the hooks' logins, listed by `GET /auth/sessions`.
USER_AGENT = "api-conformance-hooks"
# Logins refused with 429 (locked) or 503 are retried after their Retry-After.
LOGIN_ATTEMPTS = 5
LOGIN_TIMEOUT_SECONDS = 60
MAX_RETRY_AFTER_SECONDS = 30
# The password rules of shared/src/domain/password.rs that openapi.yaml can
# only describe: the service's name, the length bounds, the common passwords.
SERVICE_NAME = "userauth"
# openapi.yaml's minLength, the service's default PASSWORD_MIN_LENGTH, which
# scripts/api-conformance leaves as it is.
PASSWORD_MIN_LENGTH = 15
PASSWORD_MAX_LENGTH = 256
COMMON_PASSWORDS_FILE = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "common-passwords.txt")
# No letter or digit, so it contains no username; 16 characters; not common.
ACCEPTABLE_PASSWORD = "!#%&()*+,/:;<=>?"
# The routes that check the caller's password -> the body field that holds it.
PASSWORD_FIELDS = {
    ("POST", "/users/me/password"): "current_password",
    ("DELETE", "/users/me"): "password",
    ("PUT", "/users/me/email"): "password",
    ("POST", "/users/me/mfa/totp"): "password",
    ("DELETE", "/users/me/mfa/totp"): "password",
    ("DELETE", "/users/me/passkeys/{id}"): "password",
}
# The routes whose positive cases run as a throwaway user with a factor.
FACTOR_ROUTES = {
    ("POST", "/users/me/mfa/totp/confirm"),
    ("POST", "/users/me/mfa/recovery-codes"),
    ("DELETE", "/users/me/mfa/totp"),
    ("POST", "/auth/mfa/verify"),
}


def _setting(name):
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(
            f"{name} is not set: run the conformance tests with scripts/api-conformance, which signs a user up "
            f"and sets {BASE_URL_VARIABLE}, {USERNAME_VARIABLE} and {PASSWORD_VARIABLE}"
        )
    return value


def _retry_after(headers):
    try:
        seconds = int(headers.get("Retry-After", "1"))
    except ValueError:
        seconds = 1
    return min(max(seconds, 1), MAX_RETRY_AFTER_SECONDS)


def _post(path, payload, expected):
    """POSTs JSON to the service, retrying 429 (locked) and 503 after their Retry-After: the answer's body."""
    base_url = _setting(BASE_URL_VARIABLE).rstrip("/")
    body = json.dumps(payload).encode()
    for attempt in range(1, LOGIN_ATTEMPTS + 1):
        request = urllib.request.Request(
            f"{base_url}{path}",
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "Accept": "application/json", "User-Agent": USER_AGENT},
        )
        try:
            with urllib.request.urlopen(request, timeout=LOGIN_TIMEOUT_SECONDS) as response:
                status, answer = response.status, response.read()
        except urllib.error.HTTPError as err:
            status, answer = err.code, err.read()
            if status in (429, 503) and attempt < LOGIN_ATTEMPTS:
                time.sleep(_retry_after(err.headers))
                continue
        if status not in expected:
            raise RuntimeError(
                f"POST {base_url}{path} as {payload['username']!r} answered {status}: {answer[:300]!r}"
            )
        return answer
    raise AssertionError("unreachable")


def _login(username, password):
    answer = _post("/auth/login", {"username": username, "password": password}, (200,))
    try:
        tokens = json.loads(answer)
    except ValueError:
        tokens = None
    if not (
        isinstance(tokens, dict)
        and isinstance(tokens.get("access_token"), str)
        and isinstance(tokens.get("refresh_token"), str)
    ):
        raise RuntimeError(
            f"POST /auth/login answered 200 without a string access_token and refresh_token: {answer[:300]!r}"
        )
    return tokens


def _acceptable_email(text):
    """Whether shared/src/domain/email.rs's EmailAddress::parse takes it."""
    address = text.strip().lower()
    if len(address) > 254 or address.count("@") != 1:
        return False
    local, domain = address.split("@")
    local_chars = set("abcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+/=?^_`{|}~.-")
    local_ok = (
        0 < len(local) <= 64
        and not local.startswith(".")
        and not local.endswith(".")
        and ".." not in local
        and all(c in local_chars for c in local)
    )
    labels = domain.split(".")
    label_chars = set("abcdefghijklmnopqrstuvwxyz0123456789-")
    domain_ok = len(labels) >= 2 and all(
        0 < len(label) <= 63
        and not label.startswith("-")
        and not label.endswith("-")
        and all(c in label_chars for c in label)
        for label in labels
    )
    return local_ok and domain_ok


def _keep_the_email_acceptable(case):
    """A positive case's address that the service's rule refuses gets a fresh valid one."""
    body = case.body
    if (
        not _is_negative(case)
        and isinstance(body, dict)
        and isinstance(body.get("email"), str)
        and not _acceptable_email(body["email"])
    ):
        case.body = {**body, "email": f"c{uuid.uuid4().hex[:20]}@example.org"}


def _code_mailed_to(address):
    """The code of the newest mail the local SES took for `address`."""
    url = _setting(SES_URL_VARIABLE).rstrip("/") + "/moto-api/data.json"
    with urllib.request.urlopen(url, timeout=LOGIN_TIMEOUT_SECONDS) as response:
        messages = json.load(response).get("ses", {}).get("Message", [])
    for message in reversed(messages):
        if address in message.get("destinations", {}).get("ToAddresses", []):
            found = re.search(r"Your code: ([0-9]{8})", message.get("body", ""))
            if found:
                return found.group(1)
    raise RuntimeError(f"the local SES holds no code for {address}")


def throwaway_with_code():
    """The access token of a new user signed up with an address, and the code mailed to it."""
    username = f"throwaway-{uuid.uuid4().hex[:20]}"
    password = f"throwaway {secrets.token_urlsafe(24)}"
    address = f"{username}@example.org"
    _post("/users", {"username": username, "password": password, "email": address}, (201, 409))
    token = _login(username, password)["access_token"]
    _THROWAWAY_NAMES[token] = username
    return token, _code_mailed_to(address)


# The username of each token throwaway_with_code made.
_THROWAWAY_NAMES = {}


def _send(method, path, payload, expected, token):
    """A request with a bearer token (and a JSON body, unless `payload` is
    None), whose status must be one of `expected`: its JSON body, if any."""
    base_url = _setting(BASE_URL_VARIABLE).rstrip("/")
    request = urllib.request.Request(
        f"{base_url}{path}",
        data=None if payload is None else json.dumps(payload).encode(),
        method=method,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}", "User-Agent": USER_AGENT},
    )
    try:
        with urllib.request.urlopen(request, timeout=LOGIN_TIMEOUT_SECONDS) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as err:
        status, body = err.code, err.read()
    if status not in expected:
        raise RuntimeError(f"{method} {path} answered {status}")
    return json.loads(body) if body else None


def throwaway_with_recovery_code():
    """A new user with a verified address, and the recovery code mailed to it: (username, code)."""
    token, code = throwaway_with_code()
    username = _THROWAWAY_NAMES[token]
    _send("POST", "/users/me/email/verify", {"code": code}, (204,), token)
    _post("/auth/recovery", {"username": username}, (202,))
    address = f"{username}@example.org"
    deadline = time.monotonic() + LOGIN_TIMEOUT_SECONDS
    while True:
        recovery = _code_mailed_to(address)
        if recovery != code:
            return username, recovery
        if time.monotonic() > deadline:
            raise RuntimeError(f"no recovery code reached {address}")
        time.sleep(0.1)


def _totp(secret):
    """The current RFC 6238 code of a base32 secret: HMAC-SHA-1, 6 digits, 30 s."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    digest = hmac.new(key, int(time.time() // 30).to_bytes(8, "big"), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(int.from_bytes(digest[offset : offset + 4], 'big') & 0x7FFFFFFF) % 1_000_000:06d}"


def throwaway_with_factor(confirmed=True):
    """A new user who enrolled an authenticator app: (token, username, password, secret, recovery codes).
    Unconfirmed, the secret is pending and there are no recovery codes."""
    username = f"throwaway-{uuid.uuid4().hex[:20]}"
    password = f"throwaway {secrets.token_urlsafe(24)}"
    _post("/users", {"username": username, "password": password}, (201, 409))
    token = _login(username, password)["access_token"]
    _THROWAWAYS.issued(token, username, password)
    secret = _send("POST", "/users/me/mfa/totp", {"password": password}, (200,), token)["secret"]
    codes = []
    if confirmed:
        codes = _send("POST", "/users/me/mfa/totp/confirm", {"code": _totp(secret)}, (200,), token)["recovery_codes"]
    return token, username, password, secret, codes


def _mfa_token(username, password):
    """The mfa_token of a login of a user with a factor."""
    answer = json.loads(_post("/auth/login", {"username": username, "password": password}, (200,)))
    if answer.get("mfa_required") is not True or not isinstance(answer.get("mfa_token"), str):
        raise RuntimeError(f"a login with a factor answered no mfa_token: {str(answer)[:300]}")
    return answer["mfa_token"]


def _with_a_factor(case):
    """Sends a positive case of a route that needs a factor as a throwaway user who has one."""
    body = case.body
    if _is_negative(case) or not isinstance(body, dict) or not isinstance(body.get("code"), str):
        return
    route = (case.operation.method.upper(), case.operation.path)
    token, username, password, secret, codes = throwaway_with_factor(
        confirmed=route != ("POST", "/users/me/mfa/totp/confirm")
    )
    _FACTOR_CASES.add(token)
    if route == ("POST", "/users/me/mfa/totp/confirm"):
        case.body = {**body, "code": _totp(secret)}
    elif route == ("POST", "/auth/mfa/verify"):
        case.body = {**body, "mfa_token": _mfa_token(username, password), "code": codes[0]}
        _VERIFY_CODES.add(codes[0])
    elif route == ("DELETE", "/users/me/mfa/totp"):
        case.body = {**body, "password": password, "code": codes[0]}
    else:
        case.body = {**body, "code": codes[0]}
    key, _ = _header(case.headers, "Authorization")
    if key is not None:
        case.headers[key] = f"Bearer {token}"
        _THROWAWAYS.first_sending(token)


# The tokens of positive factor cases, whose codes pass; the recovery codes
# sent with the mfa_token of a positive POST /auth/mfa/verify.
_FACTOR_CASES = set()
_VERIFY_CODES = set()


# The tokens of positive passkey registrations, and those answered 201.
_PASSKEY_CASES = set()
_PASSKEYS_REGISTERED = set()


@atexit.register
def _report_passkey_cases():
    print(
        f"conformance hooks: {len(_PASSKEY_CASES)} positive passkey registrations sent with a credential made "
        f"for their ceremony, {len(_PASSKEYS_REGISTERED)} of them answered 201",
        file=sys.stderr,
    )


@atexit.register
def _report_factor_cases():
    print(
        f"conformance hooks: {len(_FACTOR_CASES) + len(_VERIFY_CODES)} positive second-factor cases sent "
        f"as users with a factor ({len(_VERIFY_CODES)} of them logins completed with a code)",
        file=sys.stderr,
    )


def login():
    """A new session of the conformance user: the login answer as a dict."""
    tokens = _login(_setting(USERNAME_VARIABLE), _setting(PASSWORD_VARIABLE))
    _SESSIONS.issued(tokens["access_token"])
    return tokens


def throwaway_login():
    """The access token of a new session of a new user, for one request that checks the caller's password."""
    username = f"throwaway-{uuid.uuid4().hex[:20]}"
    password = f"throwaway {secrets.token_urlsafe(24)}"
    # 409: a sign-up retried after a 503 that had stored the user.
    _post("/users", {"username": username, "password": password}, (201, 409))
    token = _login(username, password)["access_token"]
    _THROWAWAYS.issued(token, username, password)
    return token


class _Sessions:
    """The access tokens the hooks obtained, and whether a session may have ended since."""

    def __init__(self):
        self._lock = threading.Lock()
        # Bumped by every request that may have ended a session.
        self._epoch = 0
        # Each access token the hooks obtained -> the epoch it was obtained in.
        self._tokens = {}

    def issued(self, token):
        with self._lock:
            self._tokens[token] = self._epoch

    def ours(self, token):
        with self._lock:
            return token in self._tokens

    def may_have_ended(self, token):
        with self._lock:
            return token in self._tokens and self._tokens[token] != self._epoch

    def ended_some(self):
        with self._lock:
            self._epoch += 1


_SESSIONS = _Sessions()


class _Throwaways:
    """The access tokens of throwaway users, each user's password, and which tokens were sent."""

    def __init__(self):
        self._lock = threading.Lock()
        self._passwords = {}
        self._usernames = {}
        self._sent = set()

    def issued(self, token, username, password):
        with self._lock:
            self._passwords[token] = password
            self._usernames[token] = username

    def password(self, token):
        with self._lock:
            return self._passwords.get(token)

    def username(self, token):
        with self._lock:
            return self._usernames.get(token)

    def first_sending(self, token):
        """Whether the token is sent for the first time; it counts as sent from now on."""
        with self._lock:
            first = token not in self._sent
            self._sent.add(token)
            return first


_THROWAWAYS = _Throwaways()


def _requires_bearer(ctx):
    operation = ctx.operation
    requirements = operation.definition.raw.get("security", operation.schema.raw_schema.get("security", []))
    return any(isinstance(requirement, dict) and BEARER_SCHEME in requirement for requirement in requirements)


def _is(case, method, path):
    return case.operation.method.upper() == method and case.operation.path == path


def _password_field(case):
    return PASSWORD_FIELDS.get((case.operation.method.upper(), case.operation.path))


def _ends_sessions(case):
    return _is(case, "POST", "/auth/logout") or _is(case, "DELETE", "/auth/sessions/{id}")


def _header(headers, name):
    """A header's value whatever its case (the case may hold a plain dict)."""
    for key, value in (headers or {}).items():
        if isinstance(key, str) and key.lower() == name.lower():
            return key, value
    return None, None


def _bearer_token(value):
    if isinstance(value, str) and value.startswith("Bearer "):
        return value[len("Bearer ") :]
    return None


@schemathesis.auth(refresh_interval=None).apply_to(_requires_bearer)
class FreshSession:
    """A fresh login for each request to a bearer route (no caching: a token may die with its session)."""

    def get(self, case, context):
        if _password_field(case) is not None:
            return throwaway_login()
        return login()["access_token"]

    def set(self, case, data, context):
        if case.headers is None:
            case.headers = {}
        key, _ = _header(case.headers, "Authorization")
        if key is not None and key != "Authorization":
            del case.headers[key]
        case.headers["Authorization"] = f"Bearer {data}"


def _is_negative(case):
    meta = case.meta
    return meta is not None and not meta.generation.mode.is_positive


def _keeps_generated(value):
    # One in four, chosen by the generated value, so that a replayed case is chosen the same way.
    return zlib.crc32(value.encode("utf-8", "surrogatepass")) % 4 == 0


def _sent_json(response):
    try:
        return json.loads(response.request.body)
    except (TypeError, ValueError):
        return None


def _error_code(response):
    try:
        return json.loads(response.content)["error"]["code"]
    except (TypeError, ValueError, KeyError):
        return None


def _nfkc(text):
    return unicodedata.normalize("NFKC", text)


def _keep_the_cursor_genuine(case):
    """A positive case's cursor is one the service gave the case's caller:
    the next page's of its first event. Any other cursor is refused (400),
    which the integration tests prove."""
    query = case.query or {}
    if _is_negative(case) or "cursor" not in query:
        return
    token = _bearer_token(_header(case.headers, "Authorization")[1])
    first = _send("GET", "/users/me/activity?limit=1", None, (200,), token)
    if first["next_cursor"] is None:
        case.query = {name: value for name, value in query.items() if name != "cursor"}
    else:
        case.query = {**query, "cursor": first["next_cursor"]}


def _keep_the_new_password_new(case):
    """A positive password change whose new password equals the current one
    (as the service compares them, in NFKC) breaks a rule of the description
    that JSON Schema cannot state: its last character is changed."""
    body = case.body
    if _is_negative(case) or not _is(case, "POST", "/users/me/password") or not isinstance(body, dict):
        return
    current, new = body.get("current_password"), body.get("new_password")
    if isinstance(current, str) and isinstance(new, str) and new and _nfkc(current) == _nfkc(new):
        last = "b" if _nfkc(new).endswith("a") else "a"
        case.body = {**body, "new_password": new[:-1] + last}


_COMMON_PASSWORDS = None


def _is_common(password):
    global _COMMON_PASSWORDS
    if _COMMON_PASSWORDS is None:
        with open(COMMON_PASSWORDS_FILE, encoding="utf-8") as lines:
            _COMMON_PASSWORDS = {line.rstrip("\n") for line in lines if not line.startswith("# ")}
    return password.lower() in _COMMON_PASSWORDS


def _letters_and_digits_variants(text):
    """The text's letters and digits, lower-cased, as the service searches a
    password for words (Rust's `char::is_alphanumeric`): Python's Unicode
    classes differ at the edges, so both readings are given."""
    python = "".join(c.lower() for c in text if c.isalnum())
    categories = "".join(c.lower() for c in text if unicodedata.category(c)[0] in "LN")
    return {python, categories}


def _breaks_unstated_password_rules(password, username):
    password = _nfkc(password)
    if not PASSWORD_MIN_LENGTH <= len(password) <= PASSWORD_MAX_LENGTH or _is_common(password):
        return True
    words = _letters_and_digits_variants(password)
    names = {SERVICE_NAME}
    if isinstance(username, str):
        names |= {name for name in _letters_and_digits_variants(username) if name}
    return any(name in word for word in words for name in names)


assert not _breaks_unstated_password_rules(ACCEPTABLE_PASSWORD, "a")


def _length_in_bounds(password):
    return PASSWORD_MIN_LENGTH <= len(password) <= PASSWORD_MAX_LENGTH


def _keep_the_length_as_sent(case, field):
    """A password whose length is in bounds as sent but not in NFKC, or the
    reverse, gets one of the same length that NFKC leaves as it is (see the
    module's description)."""
    body = case.body
    if not isinstance(body, dict) or not isinstance(body.get(field), str):
        return
    password = body[field]
    if _length_in_bounds(password) != _length_in_bounds(_nfkc(password)):
        repeats = len(password) // len(ACCEPTABLE_PASSWORD) + 1
        case.body = {**body, field: (ACCEPTABLE_PASSWORD * repeats)[: len(password)]}


def _keep_the_password_acceptable(case, field, username):
    """A positive case whose password breaks a rule the schema cannot state
    gets one that breaks none (see the module's description)."""
    body = case.body
    if _is_negative(case) or not isinstance(body, dict) or not isinstance(body.get(field), str):
        return
    if _breaks_unstated_password_rules(body[field], username):
        case.body = {**body, field: ACCEPTABLE_PASSWORD}


def _cbor(value):
    """CBOR (RFC 8949) of the few types a WebAuthn attestation holds."""

    def head(major, length):
        if length < 24:
            return bytes([major << 5 | length])
        for extra, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
            if length < 1 << (8 * size):
                return bytes([major << 5 | extra]) + length.to_bytes(size, "big")
        raise ValueError("too long")

    if isinstance(value, bool):
        return bytes([0xF5 if value else 0xF4])
    if isinstance(value, int):
        return head(0, value) if value >= 0 else head(1, -1 - value)
    if isinstance(value, bytes):
        return head(2, len(value)) + value
    if isinstance(value, str):
        encoded = value.encode("utf-8")
        return head(3, len(encoded)) + encoded
    if isinstance(value, dict):
        return head(5, len(value)) + b"".join(_cbor(k) + _cbor(v) for k, v in value.items())
    raise TypeError(type(value))


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _passkey_credential(options):
    """The answer of an authenticator to registration options: a new P-256
    key, user present and verified, attestation "none", made for
    WEBAUTHN_ORIGIN, as a browser's `PublicKeyCredential.toJSON()`."""
    from cryptography.hazmat.primitives.asymmetric import ec

    numbers = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
    key = {1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")}
    credential_id = secrets.token_bytes(16)
    rp_id_hash = hashlib.sha256(options["publicKey"]["rp"]["id"].encode()).digest()
    # Flags: user present (0x01), user verified (0x04), attested credential data (0x40).
    auth_data = (
        rp_id_hash
        + bytes([0x45])
        + (0).to_bytes(4, "big")
        + bytes(16)
        + len(credential_id).to_bytes(2, "big")
        + credential_id
        + _cbor(key)
    )
    client_data = json.dumps(
        {"type": "webauthn.create", "challenge": options["publicKey"]["challenge"], "origin": os.environ["WEBAUTHN_ORIGIN"]}
    ).encode()
    attestation = _cbor({"fmt": "none", "attStmt": {}, "authData": auth_data})
    return {
        "id": _b64url(credential_id),
        "rawId": _b64url(credential_id),
        "type": "public-key",
        "response": {"clientDataJSON": _b64url(client_data), "attestationObject": _b64url(attestation)},
        "clientExtensionResults": {},
    }


def _with_a_passkey_ceremony(case):
    """A positive registration answers the options of a ceremony its
    throwaway caller started: webauthn-rs accepts nothing else (the
    integration tests prove what it refuses)."""
    body = case.body
    key, _ = _header(case.headers, "Authorization")
    if _is_negative(case) or key is None or not isinstance(body, dict) or not isinstance(body.get("credential"), dict):
        return
    token = throwaway_login()
    case.headers[key] = f"Bearer {token}"
    options = _send("POST", "/users/me/passkeys/registration/options", None, (200,), token)
    case.body = {**body, "credential": _passkey_credential(options)}
    _PASSKEY_CASES.add(token)
    # A name the schema allows that the service refuses once trimmed (all
    # spaces, or a control character): a rule JSON Schema does not state.
    name = body.get("name")
    if isinstance(name, str):
        trimmed = name.strip()
        if not 1 <= len(trimmed) <= 64 or any(unicodedata.category(c) == "Cc" for c in trimmed):
            case.body["name"] = "Conformance"


@schemathesis.hook
def before_call(ctx, case, kwargs):
    if _is(case, "POST", "/users"):
        _keep_the_length_as_sent(case, "password")
        body = case.body
        _keep_the_password_acceptable(case, "password", body.get("username") if isinstance(body, dict) else None)
        _keep_the_email_acceptable(case)
        return
    if _is(case, "POST", "/auth/recovery"):
        _keep_the_email_acceptable(case)
        return
    if _is(case, "POST", "/auth/recovery/confirm"):
        body = case.body
        if not _is_negative(case) and isinstance(body, dict) and isinstance(body.get("code"), str):
            username, code = throwaway_with_recovery_code()
            name = {"email": f"{username}@example.org"} if "email" in body else {"username": username}
            rest = {k: v for k, v in body.items() if k not in ("username", "email", "code")}
            case.body = {**rest, **name, "code": code}
            _keep_the_length_as_sent(case, "new_password")
            _keep_the_password_acceptable(case, "new_password", username)
        return
    if _is(case, "POST", "/users/me/passkeys/registration"):
        _with_a_passkey_ceremony(case)
        return
    if _is(case, "POST", "/users/me/email/verify"):
        body = case.body
        key, _ = _header(case.headers, "Authorization")
        if not _is_negative(case) and key is not None and isinstance(body, dict) and isinstance(body.get("code"), str):
            token, code = throwaway_with_code()
            case.headers[key] = f"Bearer {token}"
            case.body = {**body, "code": code}
            return
    if (case.operation.method.upper(), case.operation.path) in FACTOR_ROUTES:
        _with_a_factor(case)
        sent_token = _bearer_token(_header(case.headers, "Authorization")[1])
        if case.operation.path == "/auth/mfa/verify" or sent_token in _FACTOR_CASES:
            return
    if _is(case, "POST", "/auth/refresh"):
        body = case.body
        if (
            not _is_negative(case)
            and isinstance(body, dict)
            and isinstance(body.get("refresh_token"), str)
            and not _keeps_generated(body["refresh_token"])
        ):
            case.body = {**body, "refresh_token": login()["refresh_token"]}
        return
    key, value = _header(case.headers, "Authorization")
    token = _bearer_token(value)
    field = _password_field(case)
    password = _THROWAWAYS.password(token)
    if field is not None and password is not None:
        # One request per throwaway user, so a case sent again gets a new one.
        if not _THROWAWAYS.first_sending(token):
            token = throwaway_login()
            case.headers[key] = f"Bearer {token}"
        # Negative cases too: the password field has no rule but its type, so
        # with a string there the case is negative elsewhere, such as a new
        # password that breaks the policy, which a wrong current one may hide.
        body = case.body
        if (
            isinstance(body, dict)
            and isinstance(body.get(field), str)
            # The old user's password: the case was sent before, with it substituted.
            and (body[field] == password or not _keeps_generated(body[field]))
        ):
            case.body = {**body, field: _THROWAWAYS.password(token)}
        if _is(case, "PUT", "/users/me/email"):
            _keep_the_email_acceptable(case)
        if _is(case, "POST", "/users/me/password"):
            _keep_the_length_as_sent(case, "new_password")
            _keep_the_password_acceptable(case, "new_password", _THROWAWAYS.username(token))
        _keep_the_new_password_new(case)
        return
    if key is not None and _SESSIONS.may_have_ended(token):
        case.headers[key] = f"Bearer {login()['access_token']}"
    if _is(case, "GET", "/users/me/activity"):
        _keep_the_cursor_genuine(case)


@schemathesis.hook
def after_call(ctx, case, response):
    # A refusal (4xx) ends nothing; a 5xx may have ended sessions before failing.
    if _ends_sessions(case) and not 400 <= response.status_code < 500:
        _SESSIONS.ended_some()


@schemathesis.check
def conformance_token_accepted(ctx, response, case):
    """A live access token that these hooks obtained is not refused."""
    token = _bearer_token(response.request.headers.get("Authorization"))
    if token in _PASSKEY_CASES:
        if response.status_code != 201:
            raise AssertionError(f"A passkey made for its ceremony was refused: {response.status_code} {_error_code(response)}")
        _PASSKEYS_REGISTERED.add(token)
        return None
    if case.operation.path == "/auth/mfa/verify":
        sent = _sent_json(response)
        code = sent.get("code") if isinstance(sent, dict) else None
        if isinstance(code, str) and code in _VERIFY_CODES and response.status_code != 200:
            raise AssertionError(f"A login with a factor and a right recovery code was refused: {response.status_code}")
        return None
    if token in _FACTOR_CASES:
        if response.status_code not in (200, 204):
            raise AssertionError(
                f"A right code of a throwaway user's factor was refused: {response.status_code} {_error_code(response)}"
            )
        return None
    if response.status_code == 401 and _error_code(response) == "invalid_code":
        # A wrong second-factor code, refused as such: the token was accepted.
        return None
    password = _THROWAWAYS.password(token)
    if password is not None:
        # 401 `invalid_credentials` refuses a wrong password, not the token;
        # the right one, or `invalid_token`, would refuse a live token.
        sent = _sent_json(response)
        given = sent.get(_password_field(case)) if isinstance(sent, dict) else None
        if response.status_code == 401 and not (
            isinstance(given, str) and given != password and _error_code(response) == "invalid_credentials"
        ):
            raise AssertionError(
                f"The service refused (401 {_error_code(response)}) a live access token of a fresh throwaway user"
                f"{' with its right password' if given == password else ''}: authenticated requests are not tested"
            )
        # Five wrong passwords are free, and each throwaway user gets one request.
        if response.status_code == 429:
            raise AssertionError("The service locked (429) a fresh throwaway user, who had no earlier failure")
        return None
    if response.status_code != 401:
        return None
    if token is not None and _SESSIONS.ours(token):
        raise AssertionError(
            "The service refused (401) a live access token of a fresh login of the conformance user: "
            "authenticated requests are not tested"
        )
    return None


@schemathesis.hook
def filter_body(ctx, body):
    if isinstance(body, (bytes, bytearray)):
        try:
            bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            return False
    username = os.environ.get(USERNAME_VARIABLE)
    if (
        username
        and ctx.operation is not None
        and ctx.operation.path == "/auth/login"
        and isinstance(body, dict)
        and isinstance(body.get("username"), str)
        and body["username"].strip().casefold() == username.casefold()
    ):
        return False
    return True
