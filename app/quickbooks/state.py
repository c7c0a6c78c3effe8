"""The OAuth `state`: a short-lived token we sign, naming the tenant and the user who asked to
connect, and a nonce that the callback accepts once (recorded in the database, so in every
process). The signing key is derived from W360_SECRET_KEY, apart from the at-rest key."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

STATE_LIFETIME = timedelta(minutes=10)
_ISSUER = "worklog360"
_AUDIENCE = "quickbooks-oauth-state"
_ALGORITHM = "HS256"


class StateError(Exception):
    """`code` is `state_invalid` (forged, altered, not ours) or `state_expired`."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True, slots=True)
class OAuthState:
    tenant_id: int
    account_id: str
    nonce: str
    expires_at: datetime


def state_key(secret_key: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"worklog360/quickbooks-oauth-state",
        info=b"hs256/v1",
    ).derive(secret_key.encode("utf-8"))


def issue_state(key: bytes, *, tenant_id: int, account_id: str, now: datetime) -> tuple[str, str]:
    """The signed state and its nonce."""
    nonce = secrets.token_urlsafe(24)
    token = jwt.encode(
        {
            "iss": _ISSUER,
            "aud": _AUDIENCE,
            "tid": tenant_id,
            "sub": account_id,
            "jti": nonce,
            "iat": int(now.timestamp()),
            "exp": int((now + STATE_LIFETIME).timestamp()),
        },
        key,
        algorithm=_ALGORITHM,
    )
    return token, nonce


def verify_state(key: bytes, token: str, *, now: datetime) -> OAuthState:
    try:
        # Expiry is checked below against the app's clock, not PyJWT's.
        claims = jwt.decode(
            token,
            key,
            algorithms=[_ALGORITHM],
            audience=_AUDIENCE,
            issuer=_ISSUER,
            options={"verify_exp": False, "verify_iat": False, "require": ["exp", "jti"]},
        )
    except jwt.PyJWTError as exc:
        raise StateError("state_invalid") from exc
    tenant_id, account_id, nonce, exp = (
        claims.get("tid"),
        claims.get("sub"),
        claims.get("jti"),
        claims.get("exp"),
    )
    if not (
        isinstance(tenant_id, int)
        and isinstance(account_id, str)
        and isinstance(nonce, str)
        and 16 <= len(nonce) <= 64
        and isinstance(exp, int)
    ):
        raise StateError("state_invalid")
    if now.timestamp() >= exp:
        raise StateError("state_expired")
    return OAuthState(
        tenant_id=tenant_id,
        account_id=account_id,
        nonce=nonce,
        expires_at=datetime.fromtimestamp(exp, tz=now.tzinfo),
    )
