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


@dataclass(frozen=True, slots=True)
class _Signed:
    tenant_id: int
    account_id: str
    nonce: str
    exp: int
    claims: dict[str, object]


def _verify_signed(
    key: bytes, token: str, *, audience: str, now: datetime, invalid: str, expired: str
) -> _Signed:
    """The tenant, person, nonce and expiry of a token this app signed for `audience`, checked
    against the app's clock (not PyJWT's); StateError `invalid` or `expired` otherwise."""
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[_ALGORITHM],
            audience=audience,
            issuer=_ISSUER,
            options={"verify_exp": False, "verify_iat": False, "require": ["exp", "jti"]},
        )
    except jwt.PyJWTError as exc:
        raise StateError(invalid) from exc
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
        raise StateError(invalid)
    if now.timestamp() >= exp:
        raise StateError(expired)
    return _Signed(tenant_id, account_id, nonce, exp, claims)


def verify_state(key: bytes, token: str, *, now: datetime) -> OAuthState:
    signed = _verify_signed(
        key, token, audience=_AUDIENCE, now=now, invalid="state_invalid", expired="state_expired"
    )
    return OAuthState(
        tenant_id=signed.tenant_id,
        account_id=signed.account_id,
        nonce=signed.nonce,
        expires_at=datetime.fromtimestamp(signed.exp, tz=now.tzinfo),
    )


# --- links opened outside Jira ("Connect to QuickBooks", the invoice PDF) -------------------

# Long enough to agree to Jira's "open an external link?" and for the tab to open; short
# enough that a link found later (history, a screenshot) is dead. Used once either way.
LINK_LIFETIME = timedelta(minutes=5)
_LINK_AUDIENCE = "quickbooks-connect-link"


@dataclass(frozen=True, slots=True)
class LinkClaims:
    tenant_id: int
    account_id: str
    nonce: str


def link_key(secret_key: str) -> bytes:
    """Apart from the OAuth state's key: neither token can pass for the other."""
    return HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"worklog360/quickbooks-connect-link",
        info=b"hs256/v1",
    ).derive(secret_key.encode("utf-8"))


def _issue_link(
    key: bytes,
    *,
    audience: str,
    tenant_id: int,
    account_id: str,
    now: datetime,
    **extra: object,
) -> tuple[str, datetime]:
    expires_at = now + LINK_LIFETIME
    token = jwt.encode(
        {
            "iss": _ISSUER,
            "aud": audience,
            "tid": tenant_id,
            "sub": account_id,
            "jti": secrets.token_urlsafe(24),
            "iat": int(now.timestamp()),
            "exp": int(expires_at.timestamp()),
            **extra,
        },
        key,
        algorithm=_ALGORITHM,
    )
    return token, expires_at


def issue_connect_link_token(
    key: bytes, *, tenant_id: int, account_id: str, now: datetime
) -> tuple[str, datetime]:
    """The signed token of a link for one tenant and one person, and when it expires."""
    return _issue_link(
        key, audience=_LINK_AUDIENCE, tenant_id=tenant_id, account_id=account_id, now=now
    )


def verify_connect_link(key: bytes, token: str, *, now: datetime) -> LinkClaims:
    """Raises StateError `link_invalid` or `link_expired`."""
    signed = _verify_signed(
        key, token, audience=_LINK_AUDIENCE, now=now, invalid="link_invalid", expired="link_expired"
    )
    return LinkClaims(tenant_id=signed.tenant_id, account_id=signed.account_id, nonce=signed.nonce)


# --- invoice PDF links (opened outside Jira, like the connect link) ---------------------------

_PDF_AUDIENCE = "quickbooks-invoice-pdf-link"


@dataclass(frozen=True, slots=True)
class PdfLinkClaims:
    tenant_id: int
    account_id: str
    nonce: str
    invoice_id: int


def issue_pdf_link_token(
    key: bytes, *, tenant_id: int, account_id: str, invoice_id: int, now: datetime
) -> tuple[str, datetime]:
    """A link to one invoice's PDF, for one tenant and one person."""
    return _issue_link(
        key,
        audience=_PDF_AUDIENCE,
        tenant_id=tenant_id,
        account_id=account_id,
        now=now,
        inv=invoice_id,
    )


def verify_pdf_link(key: bytes, token: str, *, now: datetime) -> PdfLinkClaims:
    """Raises StateError `link_invalid` or `link_expired`."""
    signed = _verify_signed(
        key, token, audience=_PDF_AUDIENCE, now=now, invalid="link_invalid", expired="link_expired"
    )
    invoice_id = signed.claims.get("inv")
    if not isinstance(invoice_id, int):
        raise StateError("link_invalid")
    return PdfLinkClaims(signed.tenant_id, signed.account_id, signed.nonce, invoice_id)
