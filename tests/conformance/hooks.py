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
  would lock it, and these hooks' own logins with it.
"""

import json
import os
import threading
import time
import urllib.error
import urllib.request
import zlib

import schemathesis

BASE_URL_VARIABLE = "CONFORMANCE_BASE_URL"
USERNAME_VARIABLE = "CONFORMANCE_USERNAME"
PASSWORD_VARIABLE = "CONFORMANCE_PASSWORD"

# The security scheme of openapi.yaml that takes the access token.
BEARER_SCHEME = "bearer"
# The User-Agent of the hooks' logins, listed by `GET /auth/sessions`.
USER_AGENT = "api-conformance-hooks"
# Logins refused with 429 (locked) or 503 are retried after their Retry-After.
LOGIN_ATTEMPTS = 5
LOGIN_TIMEOUT_SECONDS = 60
MAX_RETRY_AFTER_SECONDS = 30


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


def login():
    """A new session of the conformance user: the login answer as a dict."""
    base_url = _setting(BASE_URL_VARIABLE).rstrip("/")
    username = _setting(USERNAME_VARIABLE)
    body = json.dumps({"username": username, "password": _setting(PASSWORD_VARIABLE)}).encode()
    for attempt in range(1, LOGIN_ATTEMPTS + 1):
        request = urllib.request.Request(
            f"{base_url}/auth/login",
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
        if status != 200:
            raise RuntimeError(
                f"POST {base_url}/auth/login as {username!r} answered {status}: {answer[:300]!r}"
            )
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
                f"POST {base_url}/auth/login answered 200 without a string access_token and refresh_token: "
                f"{answer[:300]!r}"
            )
        _SESSIONS.issued(tokens["access_token"])
        return tokens
    raise AssertionError("unreachable")


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


def _requires_bearer(ctx):
    operation = ctx.operation
    requirements = operation.definition.raw.get("security", operation.schema.raw_schema.get("security", []))
    return any(isinstance(requirement, dict) and BEARER_SCHEME in requirement for requirement in requirements)


def _is(case, method, path):
    return case.operation.method.upper() == method and case.operation.path == path


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


def _keeps_generated_refresh_token(token):
    # One in four, chosen by the generated value, so that a replayed case is chosen the same way.
    return zlib.crc32(token.encode("utf-8", "surrogatepass")) % 4 == 0


@schemathesis.hook
def before_call(ctx, case, kwargs):
    if _is(case, "POST", "/auth/refresh"):
        body = case.body
        if (
            not _is_negative(case)
            and isinstance(body, dict)
            and isinstance(body.get("refresh_token"), str)
            and not _keeps_generated_refresh_token(body["refresh_token"])
        ):
            case.body = {**body, "refresh_token": login()["refresh_token"]}
        return
    key, value = _header(case.headers, "Authorization")
    if key is not None and _SESSIONS.may_have_ended(_bearer_token(value)):
        case.headers[key] = f"Bearer {login()['access_token']}"


@schemathesis.hook
def after_call(ctx, case, response):
    # A refusal (4xx) ends nothing; a 5xx may have ended sessions before failing.
    if _ends_sessions(case) and not 400 <= response.status_code < 500:
        _SESSIONS.ended_some()


@schemathesis.check
def conformance_token_accepted(ctx, response, case):
    """A live access token that these hooks obtained is not refused."""
    if response.status_code != 401:
        return None
    token = _bearer_token(response.request.headers.get("Authorization"))
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
