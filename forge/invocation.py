"""Verifying a Forge Invocation Token (FIT): what Forge sends a remote as
`Authorization: Bearer <FIT>` on every UI call, event, lifecycle event and scheduled trigger.

The contract (Forge docs, remote/essentials): RS256, signed with a key of Forge's JWKS,
`iss` = `forge/invocation-token`, `aud` = the app's id (`ari:cloud:ecosystem::app/<uuid>`),
`iat`/`nbf`/`exp` (a FIT lives about 25 s), and the claims `app.id`, `app.installationId`,
`app.apiBaseUrl`, `app.installation.contexts[]`, `context.cloudId`/`siteUrl` and `principal`
(UI calls only), `icLabel` (Isolated Cloud only).

Order matters: the algorithm is pinned and the `icLabel` checked against
`^[a-z0-9_-]{1,50}$` before anything of the token chooses a key or shapes a URL; nothing of
the payload is trusted before the signature holds. Times allow 10 s of clock skew: a FIT
lives 25 s, so the 30 s Connect allows would more than double its life.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import jwt

from forge.errors import (
    InvalidIcLabelError,
    InvalidSignatureError,
    IsolatedCloudNotConfiguredError,
    MalformedTokenError,
    MissingClaimError,
    TokenExpiredError,
    TokenNotYetValidError,
    UnacceptedAlgorithmError,
    WrongAudienceError,
    WrongIssuerError,
)
from forge.jwks import DEFAULT_JWKS_URL, JwksKeyStore

ISSUER = "forge/invocation-token"
ALGORITHM = "RS256"
APP_ID_PREFIX = "ari:cloud:ecosystem::app/"
IC_LABEL_PLACEHOLDER = "{IC_LABEL}"
LEEWAY_SECONDS = 10.0
TRIGGER_MODULE_TYPE = "core:endpoint"
"""`app.module.type` of events, lifecycle events and scheduled triggers; a UI call carries
the UI module's type (`jira:globalPage`, …)."""

_IC_LABEL = re.compile(r"[a-z0-9_-]{1,50}")
_APP_UUID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
_CLOUD_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_PRINTABLE = re.compile(r"[\x21-\x7e]+")
MAX_TOKEN_LENGTH = 16_384


def normalise_app_id(value: str) -> str:
    """`ari:cloud:ecosystem::app/<uuid>` from that or a bare `<uuid>` (as ACE accepts)."""
    candidate = value.strip()
    uuid = candidate.removeprefix(APP_ID_PREFIX)
    if not _APP_UUID.fullmatch(uuid):
        raise ValueError(
            "a Forge app id is 'ari:cloud:ecosystem::app/<uuid>' (manifest.yml's app.id)"
        )
    return APP_ID_PREFIX + uuid.lower()


def valid_ic_label(label: object) -> bool:
    return isinstance(label, str) and _IC_LABEL.fullmatch(label) is not None


@dataclass(frozen=True, slots=True)
class InvocationClaims:
    """What a verified FIT says. `principal` is the Atlassian account id of the person
    behind a UI call; None for events, lifecycle events and scheduled triggers."""

    app_id: str
    app_version: str | None
    installation_id: str
    api_base_url: str
    cloud_id: str
    site_url: str | None
    principal: str | None
    module_type: str | None
    module_key: str | None
    environment_type: str | None
    environment_id: str | None
    license_active: bool | None
    ic_label: str | None
    issued_at: int
    expires_at: int
    token_id: str | None
    raw: Mapping[str, Any] = field(repr=False)

    @property
    def is_trigger(self) -> bool:
        """Sent by Forge itself (event, lifecycle, schedule), not on behalf of a UI call."""
        return self.principal is None and self.module_type == TRIGGER_MODULE_TYPE


class InvocationTokenVerifier:
    """Verifies FITs for one Forge app. `clock` is wall-clock epoch seconds (tests move it)."""

    def __init__(
        self,
        *,
        app_id: str,
        keys: JwksKeyStore,
        jwks_url: str = DEFAULT_JWKS_URL,
        isolated_cloud_jwks_url_template: str | None = None,
        leeway_seconds: float = LEEWAY_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app_id = normalise_app_id(app_id)
        if isolated_cloud_jwks_url_template is not None and (
            IC_LABEL_PLACEHOLDER not in isolated_cloud_jwks_url_template
        ):
            raise ValueError(f"the Isolated Cloud JWKS URL template needs {IC_LABEL_PLACEHOLDER}")
        self._keys = keys
        self._jwks_url = jwks_url
        self._ic_template = isolated_cloud_jwks_url_template
        self._leeway = leeway_seconds
        self._clock = clock

    async def verify(self, token: str) -> InvocationClaims:
        """The token's claims, or an `InvocationTokenError` saying why it is refused."""
        header, unverified = _split(token)
        if header.get("alg") != ALGORITHM:
            raise UnacceptedAlgorithmError("The Forge invocation token must be signed with RS256.")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid or len(kid) > 256 or not _PRINTABLE.fullmatch(kid):
            raise MalformedTokenError("The Forge invocation token has no usable key id.")
        jwks_url = self._jwks_url_for(unverified)
        key = await self._keys.signing_key(jwks_url, kid)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                # Checked below, with our clock and our messages.
                options={
                    "verify_aud": False,
                    "verify_iss": False,
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.InvalidSignatureError as exc:
            raise InvalidSignatureError("The Forge invocation token's signature is wrong.") from exc
        except jwt.PyJWTError as exc:
            raise MalformedTokenError("The Forge invocation token is malformed.") from exc
        self._check_registered_claims(claims)
        return _claims(claims, self.app_id)

    def _jwks_url_for(self, unverified: Mapping[str, Any]) -> str:
        if "icLabel" not in unverified:
            return self._jwks_url
        label = unverified["icLabel"]
        if not valid_ic_label(label):
            raise InvalidIcLabelError("The Forge invocation token's icLabel is not valid.")
        if self._ic_template is None:
            raise IsolatedCloudNotConfiguredError(
                "The Forge invocation token comes from an Isolated Cloud this server does not "
                "serve."
            )
        assert isinstance(label, str)
        return self._ic_template.replace(IC_LABEL_PLACEHOLDER, label)

    def _check_registered_claims(self, claims: Mapping[str, Any]) -> None:
        for name in ("iss", "aud", "exp", "iat"):
            if name not in claims:
                raise MissingClaimError(f"The Forge invocation token lacks the '{name}' claim.")
        if claims["iss"] != ISSUER:
            raise WrongIssuerError("The token was not issued by Forge for an invocation.")
        audience = claims["aud"]
        audiences = audience if isinstance(audience, list) else [audience]
        if self.app_id not in audiences:
            raise WrongAudienceError("The Forge invocation token is meant for another app.")
        now = self._clock()
        exp, iat, nbf = _number(claims["exp"]), _number(claims["iat"]), claims.get("nbf", 0)
        if exp is None or iat is None or _number(nbf) is None:
            raise MalformedTokenError("The Forge invocation token's times must be numbers.")
        if now >= exp + self._leeway:
            raise TokenExpiredError("The Forge invocation token has expired.")
        not_before = max(iat, _number(nbf) or 0.0)
        if not_before > now + self._leeway:
            raise TokenNotYetValidError(
                "The Forge invocation token is not valid yet; check this server's clock."
            )


def _b64url(segment: str) -> bytes:
    return base64.b64decode(segment + "=" * (-len(segment) % 4), altchars=b"-_", validate=True)


def _split(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and payload, decoded but trusted for nothing but choosing how to verify."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise MalformedTokenError("The Forge invocation token is malformed.")
    try:
        header_b64, payload_b64, _signature = token.split(".")
        header = json.loads(_b64url(header_b64))
        payload = json.loads(_b64url(payload_b64))
    except (ValueError, UnicodeDecodeError, binascii.Error) as exc:
        raise MalformedTokenError("The Forge invocation token is malformed.") from exc
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise MalformedTokenError("The Forge invocation token is malformed.")
    return header, payload


def _object(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _text(value: object, *, max_length: int = 255) -> str | None:
    if isinstance(value, str) and value and len(value) <= max_length:
        return value
    return None


def _required_text(value: object, name: str, *, max_length: int = 255) -> str:
    text = _text(value, max_length=max_length)
    if text is None:
        raise MissingClaimError(f"The Forge invocation token lacks the '{name}' claim.")
    return text


def _http_url(value: object, name: str) -> str:
    url = _required_text(value, name, max_length=512)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise MalformedTokenError(f"The Forge invocation token's '{name}' is not a URL.")
    return url.rstrip("/")


def normalise_site_url(url: str) -> str:
    """`https://acme.atlassian.net` however the host is cased or slashed."""
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/")
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{path}"


def _cloud_id(app: Mapping[str, Any], context: Mapping[str, Any], api_base_url: str) -> str:
    """`context.cloudId` on UI calls; else the installation context Forge routes API calls
    to (`app.installation.contexts[]`, present on every invocation)."""
    candidates: list[object] = [context.get("cloudId")]
    installation = app.get("installation")
    contexts = installation.get("contexts") if isinstance(installation, dict) else None
    if isinstance(contexts, list):
        entries = [c for c in contexts if isinstance(c, dict)]
        same_api = [c for c in entries if str(c.get("apiBaseUrl", "")).rstrip("/") == api_base_url]
        candidates += [c.get("cloudId") for c in same_api + entries]
    for candidate in candidates:
        if isinstance(candidate, str) and _CLOUD_ID.fullmatch(candidate):
            return candidate
    raise MissingClaimError("The Forge invocation token names no Jira site (cloudId).")


def _claims(claims: Mapping[str, Any], app_id: str) -> InvocationClaims:
    app = claims.get("app")
    if not isinstance(app, dict):
        raise MissingClaimError("The Forge invocation token lacks the 'app' claim.")
    if app.get("id") != app_id:
        raise WrongAudienceError("The Forge invocation token is meant for another app.")
    context = _object(claims.get("context"))
    api_base_url = _http_url(app.get("apiBaseUrl"), "app.apiBaseUrl")
    site_url = context.get("siteUrl")
    module, environment = _object(app.get("module")), _object(app.get("environment"))
    license_ = _object(app.get("license"))
    active = license_.get("active")
    principal = claims.get("principal")
    if principal is not None and _text(principal, max_length=128) is None:
        raise MalformedTokenError("The Forge invocation token's principal is not an account id.")
    return InvocationClaims(
        app_id=app_id,
        app_version=_text(app.get("appVersion"), max_length=64),
        installation_id=_required_text(app.get("installationId"), "app.installationId"),
        api_base_url=api_base_url,
        cloud_id=_cloud_id(app, context, api_base_url),
        site_url=(
            normalise_site_url(_http_url(site_url, "context.siteUrl"))
            if site_url is not None
            else None
        ),
        principal=principal,
        module_type=_text(module.get("type"), max_length=128),
        module_key=_text(module.get("key"), max_length=255),
        environment_type=_text(environment.get("type"), max_length=32),
        environment_id=_text(environment.get("id")),
        license_active=active if isinstance(active, bool) else None,
        ic_label=claims.get("icLabel"),
        issued_at=int(claims["iat"]),
        expires_at=int(claims["exp"]),
        token_id=_text(claims.get("jti")),
        raw=dict(claims),
    )
