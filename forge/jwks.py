"""Forge's signing keys, read from a JWKS URL and kept in memory.

Keys are looked up by `kid`. The set is read on first use; after that, a kid we do not hold
triggers one refetch, and a URL is refetched at most once per `refetch_interval` (60 s by
default): a flood of tokens with made-up kids costs Forge's CDN one request a minute, not
one per token, while a key Forge has just rotated in is learnt at once. Concurrent
verifications that miss share the one fetch in flight. A fetch replaces the whole set, so a
key Forge stopped publishing stops verifying at the next rotation.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from jwt.algorithms import RSAAlgorithm

from forge.errors import SigningKeysUnavailableError, UnknownSigningKeyError

logger = logging.getLogger(__name__)

DEFAULT_JWKS_URL = "https://forge.cdn.prod.atlassian-dev.net/.well-known/jwks.json"
REFETCH_INTERVAL_SECONDS = 60.0
# After a failed fetch (the CDN down, a bad answer) a retry may come sooner: waiting a whole
# minute would refuse every call until then, while one request per 5 s hammers nobody.
RETRY_AFTER_FAILURE_SECONDS = 5.0
MAX_KEYS_PER_SET = 64
MIN_RSA_BITS = 2048


@dataclass(slots=True)
class _KeySet:
    keys: dict[str, RSAPublicKey] = field(default_factory=dict)
    loaded: bool = False
    next_fetch_at: float | None = None  # None: a fetch may start now
    in_flight: asyncio.Future[None] | None = None


class JwksKeyStore:
    """One per process, shared by every verification. `clock` is monotonic seconds."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        refetch_interval: float = REFETCH_INTERVAL_SECONDS,
        retry_after_failure: float = RETRY_AFTER_FAILURE_SECONDS,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._refetch_interval = refetch_interval
        self._retry_after_failure = retry_after_failure
        self._timeout = timeout
        self._clock = clock
        self._sets: dict[str, _KeySet] = {}

    async def signing_key(self, jwks_url: str, kid: str) -> RSAPublicKey:
        key_set = self._sets.setdefault(jwks_url, _KeySet())
        key = key_set.keys.get(kid)
        if key is not None:
            return key
        if key_set.in_flight is None:
            if key_set.next_fetch_at is not None and self._clock() < key_set.next_fetch_at:
                if not key_set.loaded:
                    raise SigningKeysUnavailableError("Forge's signing keys could not be read.")
                raise UnknownSigningKeyError("The token is signed with a key Forge does not list.")
            key_set.in_flight = asyncio.ensure_future(self._refresh(jwks_url, key_set))
            key_set.in_flight.add_done_callback(_consume_exception)
        # shield: a caller that gives up must not cancel the fetch the others wait for.
        await asyncio.shield(key_set.in_flight)
        key = key_set.keys.get(kid)
        if key is None:
            raise UnknownSigningKeyError("The token is signed with a key Forge does not list.")
        return key

    async def _refresh(self, jwks_url: str, key_set: _KeySet) -> None:
        try:
            key_set.keys = await self._fetch(jwks_url)
        except SigningKeysUnavailableError:
            key_set.next_fetch_at = self._clock() + self._retry_after_failure
            raise
        else:
            # The first read is not a refetch: the first unknown kid after it may refetch.
            refetched, key_set.loaded = key_set.loaded, True
            key_set.next_fetch_at = self._clock() + self._refetch_interval if refetched else None
        finally:
            key_set.in_flight = None

    async def _fetch(self, jwks_url: str) -> dict[str, RSAPublicKey]:
        try:
            response = await self._http.get(
                jwks_url, timeout=self._timeout, headers={"Accept": "application/json"}
            )
        except httpx.HTTPError as exc:
            logger.warning("Forge JWKS %s could not be reached: %s", jwks_url, type(exc).__name__)
            raise SigningKeysUnavailableError("Forge's signing keys could not be read.") from exc
        if response.status_code != 200:
            logger.warning("Forge JWKS %s answered %s", jwks_url, response.status_code)
            raise SigningKeysUnavailableError("Forge's signing keys could not be read.")
        try:
            document = json.loads(response.content)
        except ValueError as exc:
            raise SigningKeysUnavailableError("Forge's signing keys are not JSON.") from exc
        keys = parse_key_set(document)
        logger.info("Forge JWKS %s read: %d signing keys", jwks_url, len(keys))
        return keys


def parse_key_set(document: object) -> dict[str, RSAPublicKey]:
    """The RS256 signing keys of a JWKS document by kid; other keys are skipped."""
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise SigningKeysUnavailableError("Forge's signing keys are not a JWKS key set.")
    keys: dict[str, RSAPublicKey] = {}
    for entry in entries[:MAX_KEYS_PER_SET]:
        parsed = _signing_key(entry)
        if parsed is not None:
            keys[parsed[0]] = parsed[1]
    return keys


def _signing_key(entry: Any) -> tuple[str, RSAPublicKey] | None:
    if not isinstance(entry, dict) or entry.get("kty") != "RSA":
        return None
    kid = entry.get("kid")
    if not isinstance(kid, str) or not kid:
        return None
    if entry.get("use", "sig") != "sig" or entry.get("alg", "RS256") != "RS256":
        return None
    public = {k: entry[k] for k in ("kty", "n", "e") if k in entry}  # never a private part
    try:
        key = RSAAlgorithm.from_jwk(public)
    except (ValueError, TypeError, KeyError):
        return None
    if isinstance(key, RSAPrivateKey):  # pragma: no cover - only n and e were passed
        key = key.public_key()
    if not isinstance(key, RSAPublicKey) or key.key_size < MIN_RSA_BITS:
        return None
    return kid, key


def _consume_exception(future: asyncio.Future[None]) -> None:
    # Every waiter sees the error; this only keeps asyncio quiet when none is left.
    if not future.cancelled():
        future.exception()
