"""How Jira authenticates an app's REST call: `Authorization: JWT <HS256 token>` with
`iss` = the key of an app installed (and enabled) on this site, signed with that
installation's shared secret, unexpired, and bound by its qsh to this very request."""

from __future__ import annotations

import hmac

import jwt

from sandbox.jira.errors import unauthorized
from sandbox.jira.models import Installation
from sandbox.jira.signing import query_hash
from sandbox.jira.site import Site

CLOCK_SKEW_SECONDS = 30


def authenticate_app(
    site: Site, method: str, raw_path: str, raw_query: str, authorization: str | None, now: float
) -> Installation:
    if not authorization or authorization[:4].lower() != "jwt ":
        raise unauthorized(
            "You are not authenticated. Authentication required to perform this operation."
        )
    token = authorization[4:].strip()
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise unauthorized("Failed to parse the JWT.") from exc
    if header.get("alg") != "HS256":
        raise unauthorized("JWT must be signed with HS256.")
    installation = site.installations.get(str(unverified.get("iss")))
    if installation is None or not installation.installed:
        raise unauthorized("Unknown or uninstalled app in the JWT issuer.")
    if not installation.enabled:
        raise unauthorized("The app in the JWT issuer is disabled.")
    try:
        claims = jwt.decode(
            token,
            installation.shared_secret.encode("utf-8"),
            algorithms=["HS256"],
            options={
                "require": ["iss", "iat", "exp", "qsh"],
                "verify_exp": False,
                "verify_iat": False,
            },
        )
    except jwt.PyJWTError as exc:
        raise unauthorized("JWT signature verification failed.") from exc
    exp, iat = claims["exp"], claims["iat"]
    if not isinstance(exp, int | float) or not isinstance(iat, int | float):
        raise unauthorized("JWT iat and exp must be numbers.")
    if now > exp + CLOCK_SKEW_SECONDS:
        raise unauthorized("JWT has expired.")
    if iat > now + CLOCK_SKEW_SECONDS:
        raise unauthorized("JWT was issued in the future.")
    expected = query_hash(method, raw_path, raw_query, site.context_path)
    if not hmac.compare_digest(str(claims["qsh"]), expected):
        raise unauthorized("JWT query string hash does not match the request.")
    return installation
