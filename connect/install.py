"""Signed install: verify the RS256 JWT on `installed` / `uninstalled` lifecycle callbacks.

With the `signed-install` API migration, Jira signs lifecycle callbacks with an Atlassian key.
The app reads `kid` from the header, fetches the PEM at `<keys_url>/<kid>`, and checks RS256,
`aud` (our base URL), `iss` (the payload's clientKey), `qsh` and `exp`. Keys never change
under a kid, so they are cached by kid; a kid that failed is not refetched for a minute, so a
flood of forged installs cannot turn us into a load generator against the key server.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from dataclasses import dataclass

import httpx
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from connect.errors import AuthenticationError, InstallKeyUnavailableError
from connect.qsh import query_string_hash
from connect.tokens import VerifiedClaims, _verified, decode_verified, read_unverified

INSTALL_ALGORITHM = "RS256"
# Atlassian's kids are UUID-like; anything else never reaches a URL we build.
_KID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_NEGATIVE_CACHE_SECONDS = 60.0


class InstallKeyStore:
    """Fetches and caches Atlassian's signed-install public keys by kid."""

    def __init__(self, keys_url: str, http: httpx.AsyncClient, *, max_keys: int = 256) -> None:
        self._keys_url = keys_url.rstrip("/")
        self._http = http
        self._max_keys = max_keys
        self._keys: OrderedDict[str, RSAPublicKey] = OrderedDict()
        self._failures: dict[str, float] = {}

    async def public_key(self, kid: str) -> RSAPublicKey:
        if not _KID_PATTERN.fullmatch(kid):
            raise AuthenticationError("The install token's key id is malformed.")
        cached = self._keys.get(kid)
        if cached is not None:
            self._keys.move_to_end(kid)
            return cached
        failed_at = self._failures.get(kid)
        if failed_at is not None and time.monotonic() - failed_at < _NEGATIVE_CACHE_SECONDS:
            raise InstallKeyUnavailableError("The install token's signing key is unknown.")
        key = await self._fetch(kid)
        self._keys[kid] = key
        if len(self._keys) > self._max_keys:
            self._keys.popitem(last=False)
        return key

    async def _fetch(self, kid: str) -> RSAPublicKey:
        try:
            response = await self._http.get(f"{self._keys_url}/{kid}", timeout=10.0)
        except httpx.HTTPError as exc:
            raise InstallKeyUnavailableError(
                "Atlassian's install key server could not be reached."
            ) from exc
        if response.status_code >= 500:
            # The key server is having trouble, not the kid: do not block it for a minute.
            raise InstallKeyUnavailableError("Atlassian's install key server is unavailable.")
        if response.status_code != 200:
            self._remember_failure(kid)
            raise InstallKeyUnavailableError("The install token's signing key is unknown.")
        try:
            key = load_pem_public_key(response.content)
        except ValueError as exc:
            self._remember_failure(kid)
            raise InstallKeyUnavailableError("The install signing key is not a PEM key.") from exc
        if not isinstance(key, RSAPublicKey):
            self._remember_failure(kid)
            raise InstallKeyUnavailableError("The install signing key is not an RSA key.")
        return key

    def _remember_failure(self, kid: str) -> None:
        if len(self._failures) > 4096:
            self._failures.clear()
        self._failures[kid] = time.monotonic()


@dataclass(frozen=True, slots=True)
class InstallRequest:
    """What identifies the lifecycle request being verified."""

    method: str
    path: str
    query: str
    client_key: str


def _audience(aud: object) -> str | None:
    """The first audience without its trailing slash, as ACE compares it."""
    first = aud[0] if isinstance(aud, list) and aud else aud
    return first.removesuffix("/") if isinstance(first, str) else None


async def verify_install_token(
    token: str,
    request: InstallRequest,
    *,
    keys: InstallKeyStore,
    app_base_url: str,
    now: float | None = None,
) -> VerifiedClaims:
    """Verify a signed-install JWT; any failure raises `AuthenticationError`."""
    unverified = read_unverified(token)
    if unverified.algorithm != INSTALL_ALGORITHM:
        raise AuthenticationError("Lifecycle callbacks must be signed with RS256.")
    if unverified.key_id is None:
        raise AuthenticationError("The install token has no key id.")
    public_key = await keys.public_key(unverified.key_id)
    claims = decode_verified(token, public_key, algorithm=INSTALL_ALGORITHM, now=now)
    if _audience(claims.get("aud")) != app_base_url.rstrip("/"):
        raise AuthenticationError("The install token is meant for another app.")
    if claims.get("iss") != request.client_key:
        raise AuthenticationError("The install token was issued for another site.")
    expected = query_string_hash(request.method, request.path, request.query, app_base_url)
    if claims.get("qsh") != expected:
        raise AuthenticationError("The install token was issued for another request.")
    return _verified(claims)
