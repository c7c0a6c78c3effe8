"""The OAuth tokens Forge hands a remote beside the FIT, and the FIT's own header.

`x-forge-oauth-system` (the app system token) and `x-forge-oauth-user` are opaque bearer
tokens for `app.apiBaseUrl`. Forge documents one thing inside them: they are JWTs whose
`exp` says when they end (remote/calling-product-apis, "Token expiry"), so that a remote can
keep one until then. Nothing else of them is read, and they are never logged.
"""

from __future__ import annotations

import base64
import binascii
import json

SYSTEM_TOKEN_HEADER = "x-forge-oauth-system"  # noqa: S105 - a header name
USER_TOKEN_HEADER = "x-forge-oauth-user"  # noqa: S105 - a header name
MAX_TOKEN_LENGTH = 16_384
# What Forge guarantees a delivered system token still has (remote/essentials): the
# fallback when a token's own `exp` cannot be read.
GUARANTEED_SYSTEM_TOKEN_SECONDS = 2 * 3600

_BEARER = "bearer "


def bearer_token(authorization: str | None) -> str | None:
    """The token of `Authorization: Bearer <token>`; None for another scheme or none."""
    if authorization is None or authorization[: len(_BEARER)].lower() != _BEARER:
        return None
    token = authorization[len(_BEARER) :].strip()
    return token or None


def app_token(header: str | None) -> str | None:
    """A token header's value, tolerating a `Bearer ` prefix; None when absent or absurd."""
    if header is None:
        return None
    token = bearer_token(header) or header.strip()
    if not token or len(token) > MAX_TOKEN_LENGTH or any(c.isspace() for c in token):
        return None
    return token


def token_expiry(token: str, *, now: float) -> int:
    """When the token ends (epoch seconds): its `exp` (perhaps past), else what Forge
    guarantees of a token it delivers."""
    try:
        payload_b64 = token.split(".")[1]
        payload = json.loads(
            base64.b64decode(payload_b64 + "=" * (-len(payload_b64) % 4), altchars=b"-_")
        )
        exp = payload.get("exp") if isinstance(payload, dict) else None
    except (IndexError, ValueError, UnicodeDecodeError, binascii.Error):
        exp = None
    if isinstance(exp, int | float) and not isinstance(exp, bool):
        return int(exp)
    return int(now) + GUARANTEED_SYSTEM_TOKEN_SECONDS
