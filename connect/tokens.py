"""Connect JWTs: verify what Jira sends us (HS256), sign what we send Jira.

Verification pins the algorithm before any key is touched (no `none`, no HS/RS confusion),
requires `exp` and `iat`, allows ±30 s of clock skew (atlassian-connect-spring-boot's leeway;
ACE's zero leeway is a known source of "reload the page" errors), and checks the qsh.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import jwt

from connect.errors import AuthenticationError, TokenExpiredError
from connect.qsh import CONTEXT_QSH, query_string_hash

LEEWAY_SECONDS = 30
OUTBOUND_LIFETIME_SECONDS = 180
SYMMETRIC_ALGORITHM = "HS256"


@dataclass(frozen=True, slots=True)
class UnverifiedToken:
    """A token split and decoded once, nothing trusted yet: its issuer and `kid` serve only
    to find the key; `verify_symmetric` then checks it without parsing it again."""

    algorithm: str
    issuer: str
    key_id: str | None
    claims: Mapping[str, Any] = field(repr=False)
    signing_input: bytes = field(repr=False)
    signature: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class VerifiedClaims:
    issuer: str
    subject: str | None
    qsh: str
    issued_at: int
    expires_at: int
    raw: Mapping[str, Any]

    @property
    def is_context_token(self) -> bool:
        return self.qsh == CONTEXT_QSH


def _b64url(segment: str) -> bytes:
    # Strict: a character outside the base64url alphabet makes the token malformed instead
    # of being skipped, so no two spellings of one token exist.
    return base64.b64decode(segment + "=" * (-len(segment) % 4), altchars=b"-_", validate=True)


def read_unverified(token: str) -> UnverifiedToken:
    """Header algorithm, `kid` and issuer of a token, without trusting any of them."""
    try:
        header_b64, claims_b64, signature_b64 = token.split(".")
        header = json.loads(_b64url(header_b64))
        claims = json.loads(_b64url(claims_b64))
        signature = _b64url(signature_b64)
    except (ValueError, UnicodeDecodeError, binascii.Error) as exc:
        raise AuthenticationError("The JWT is malformed.") from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise AuthenticationError("The JWT is malformed.")
    issuer = claims.get("iss")
    if not isinstance(issuer, str) or not issuer:
        raise AuthenticationError("The JWT has no issuer.")
    algorithm = header.get("alg")
    kid = header.get("kid")
    return UnverifiedToken(
        algorithm=algorithm if isinstance(algorithm, str) else "",
        issuer=issuer,
        key_id=kid if isinstance(kid, str) and kid else None,
        claims=claims,
        signing_input=f"{header_b64}.{claims_b64}".encode("ascii"),
        signature=signature,
    )


def decode_verified(
    token: str,
    key: Any,
    *,
    algorithm: str,
    now: float | None = None,
) -> dict[str, Any]:
    """Signature, `exp` and `iat` (both required, ±leeway) with one pinned algorithm."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            leeway=LEEWAY_SECONDS,
            options={
                "require": ["exp", "iat", "iss"],
                # Audiences are compared by the caller where they matter (signed install).
                "verify_aud": False,
                # We check time ourselves below so that `now` can be injected in tests.
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.MissingRequiredClaimError as exc:
        raise AuthenticationError(f"The JWT lacks the '{exc.claim}' claim.") from exc
    except jwt.InvalidAlgorithmError as exc:
        raise AuthenticationError("The JWT is signed with an algorithm we do not accept.") from exc
    except jwt.PyJWTError as exc:
        raise AuthenticationError("The JWT signature is invalid.") from exc
    _check_times(claims, time.time() if now is None else now)
    return claims


def _check_times(claims: Mapping[str, Any], now: float) -> None:
    exp, iat = _number(claims.get("exp")), _number(claims.get("iat"))
    if exp is None or iat is None:
        raise AuthenticationError("The JWT's exp and iat must be numbers.")
    if now >= exp + LEEWAY_SECONDS:
        raise TokenExpiredError("The JWT has expired; reload the page and try again.")
    if iat > now + LEEWAY_SECONDS:
        raise AuthenticationError("The JWT was issued in the future; check the clock.")
    nbf = _number(claims.get("nbf"))
    if nbf is not None and nbf > now + LEEWAY_SECONDS:
        raise AuthenticationError("The JWT is not valid yet.")


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def verify_symmetric(
    token: str | UnverifiedToken,
    shared_secret: str,
    *,
    expected_qsh: str | None,
    accept_context_qsh: bool = False,
    now: float | None = None,
) -> VerifiedClaims:
    """Verify a token Jira signed with the installation's shared secret.

    `expected_qsh` is the hash of the request being served; `accept_context_qsh` lets a
    context token (qsh `context-qsh`) through instead. A route that takes context tokens only
    passes `expected_qsh=None` and `accept_context_qsh=True`.

    HS256 is checked here directly (one parse, one HMAC, a constant-time compare) rather
    than through PyJWT, whose generic path costs ten times as much on the busiest route;
    the algorithm is pinned before the key is used, as with PyJWT.
    """
    parsed = token if isinstance(token, UnverifiedToken) else read_unverified(token)
    if parsed.algorithm != SYMMETRIC_ALGORITHM:
        raise AuthenticationError("The JWT is signed with an algorithm we do not accept.")
    expected = hmac.new(shared_secret.encode("utf-8"), parsed.signing_input, hashlib.sha256)
    if not hmac.compare_digest(expected.digest(), parsed.signature):
        raise AuthenticationError("The JWT signature is invalid.")
    claims = parsed.claims
    for required in ("exp", "iat", "iss"):
        if required not in claims:
            raise AuthenticationError(f"The JWT lacks the '{required}' claim.")
    _check_times(claims, time.time() if now is None else now)
    qsh = claims.get("qsh")
    if not isinstance(qsh, str) or not qsh:
        raise AuthenticationError("The JWT has no query string hash.")
    if qsh == CONTEXT_QSH:
        if not accept_context_qsh:
            raise AuthenticationError("A context token is not accepted here.")
    elif expected_qsh is None or not hmac.compare_digest(qsh, expected_qsh):
        raise AuthenticationError("The JWT was issued for another request.")
    return _verified(claims)


def _verified(claims: Mapping[str, Any]) -> VerifiedClaims:
    subject = claims.get("sub")
    return VerifiedClaims(
        issuer=str(claims["iss"]),
        subject=subject if isinstance(subject, str) and subject else None,
        qsh=str(claims.get("qsh", "")),
        issued_at=int(claims["iat"]),
        expires_at=int(claims["exp"]),
        raw=dict(claims),
    )


def sign_symmetric(
    claims: Mapping[str, Any],
    shared_secret: str,
    *,
    lifetime_seconds: int = OUTBOUND_LIFETIME_SECONDS,
    now: float | None = None,
) -> str:
    """An HS256 token with `iat`/`exp` filled in (3 minutes by default, like ACE)."""
    issued = int(time.time() if now is None else now)
    payload = {"iat": issued, "exp": issued + lifetime_seconds, **claims}
    return jwt.encode(payload, shared_secret.encode("utf-8"), algorithm=SYMMETRIC_ALGORITHM)


def sign_request(
    method: str,
    url: str,
    *,
    issuer: str,
    shared_secret: str,
    base_url: str | None = None,
    extra_claims: Mapping[str, Any] | None = None,
    lifetime_seconds: int = OUTBOUND_LIFETIME_SECONDS,
    now: float | None = None,
) -> str:
    """A qsh-bound token for one request (`url` may be absolute; its query is hashed)."""
    parts = urlsplit(url)
    claims: dict[str, Any] = {
        "iss": issuer,
        "qsh": query_string_hash(method, parts.path, parts.query, base_url),
    }
    if extra_claims:
        claims.update(extra_claims)
    return sign_symmetric(claims, shared_secret, lifetime_seconds=lifetime_seconds, now=now)
