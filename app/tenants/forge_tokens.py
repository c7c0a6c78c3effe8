"""The Forge app system tokens Worklog360 calls Jira with, for sites on the Forge door.

Forge hands one over in `x-forge-oauth-system` with every call it makes (UI calls, events,
lifecycle events, scheduled triggers), and there is no endpoint to ask for one
(remote/calling-product-apis). So each token that lasts longer than the stored one replaces
it, in one conditional UPDATE, and Jira calls use the freshest one still valid. Tokens are
kept encrypted, bound to their installation, and never logged.

Of a token only its JWT `exp` is read (the docs say to treat the rest as opaque). A token
claiming to last longer than Forge's maximum of 4 hours is refused: a browser holding a UI
call's FIT (`requestRemote`) can send any header it likes, and a made-up token that outlived
every real one would otherwise win. A token Jira refuses (401) is forgotten, so a bad one
costs one failed call, after which the next real one is taken.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.crypto import SecretBox
from app.db import transaction
from app.runtime import Runtime
from app.sealed import SealedColumn
from app.tenants import forge_repository as repository
from app.tenants.models import ForgeInstallation
from connect.jira import JiraCredentialsUnavailableError
from forge.oauth import app_token, token_expiry

logger = logging.getLogger(__name__)

MAX_TOKEN_SECONDS = 4 * 3600  # "a max TTL of 4 hours" (remote/calling-product-apis)
CLOCK_SKEW_SECONDS = 60
# A token this close to its end is not started with: a call could outlive it.
USABLE_MARGIN_SECONDS = 60


def sealed_columns() -> tuple[SealedColumn, ...]:
    """An installation's app system token (for `rotate-secrets`)."""
    return (
        SealedColumn(
            ForgeInstallation,
            "system_token_encrypted",
            lambda row: _token_context(row.installation_id),
        ),
    )


def _token_context(installation_id: str) -> str:
    return f"forge:{installation_id}:system_token"


def system_token(secrets: SecretBox, installation: ForgeInstallation) -> str | None:
    """The stored app system token, if any (whether it is still valid is its expiry's say)."""
    if installation.system_token_encrypted is None:
        return None
    return secrets.decrypt(
        installation.system_token_encrypted,
        context=_token_context(installation.installation_id),
    )


def valid_token(secrets: SecretBox, installation: ForgeInstallation, *, now: float) -> str | None:
    """The installation's stored token while it is valid for a while yet."""
    expires = installation.system_token_expires_at
    if expires is None or expires.timestamp() - USABLE_MARGIN_SECONDS <= now:
        return None
    return system_token(secrets, installation)


def acceptable_expiry(token: str, *, now: float) -> float | None:
    """When a delivered token ends, if it is one to keep: unexpired, and no longer-lived
    than Forge makes them."""
    expires = float(token_expiry(token, now=now))
    if expires <= now or expires > now + MAX_TOKEN_SECONDS + CLOCK_SKEW_SECONDS:
        return None
    return expires


async def store(
    session: AsyncSession,
    secrets: SecretBox,
    installation: ForgeInstallation,
    token: str,
    *,
    now: float,
) -> bool:
    """Keep `token` for the installation if it lasts longer than the stored one."""
    expires = acceptable_expiry(token, now=now)
    if expires is None:
        logger.info(
            "forge installation=%s: a delivered system token was not kept (expired or too "
            "long-lived)",
            installation.installation_id,
        )
        return False
    return await repository.store_system_token(
        session,
        installation.id,
        secrets.encrypt(token, context=_token_context(installation.installation_id)),
        datetime.fromtimestamp(expires, UTC),
    )


async def keep_system_token(runtime: Runtime, installation_id: str, header: str | None) -> bool:
    """The token a call from Forge brought, kept if it lasts longer than the stored one.
    Cheap when it does not (the usual case: Forge delivers the same token for hours): no
    write, and no read either while this process remembers the stored token's expiry."""
    token = app_token(header)
    if token is None:
        return False
    now = runtime.clock()
    expires = acceptable_expiry(token, now=now)
    if expires is None:
        return False
    known = runtime.forge_token_expiry.get(installation_id)
    if known is not None and expires <= known:
        return False
    async with runtime.sessions() as session:
        row = await repository.installation(session, installation_id)
    if row is None or not row.installed:
        return False
    stored = row.system_token_expires_at
    if stored is not None and expires <= stored.timestamp():
        runtime.forge_token_expiry.put(installation_id, stored.timestamp())
        return False
    async with runtime.writer_lock.hold(), transaction(runtime.sessions) as session:
        saved = await store(session, runtime.secrets, row, token, now=now)
    if saved:
        runtime.forge_token_expiry.put(installation_id, expires)
        if row.tenant_id is not None:
            for hook in runtime.tenant_hooks.jira_reachable:
                await hook(row.tenant_id)
    else:
        runtime.forge_token_expiry.discard(installation_id)
    return saved


@dataclass(slots=True)
class HeldToken:
    installation_id: str
    row_id: int
    api_base_url: str
    cloud_id: str
    expires_at: datetime
    token: str = field(repr=False)


async def freshest(
    session: AsyncSession, secrets: SecretBox, tenant_id: int, *, now: float
) -> HeldToken | None:
    """The tenant's system token that lasts longest, if one is valid for a while yet."""
    valid_after = datetime.fromtimestamp(now + USABLE_MARGIN_SECONDS, UTC)
    row = await repository.freshest_token_holder(session, tenant_id, valid_after=valid_after)
    if row is None or row.system_token_expires_at is None:
        return None
    token = system_token(secrets, row)
    if token is None:
        return None
    return HeldToken(
        installation_id=row.installation_id,
        row_id=row.id,
        api_base_url=row.api_base_url,
        cloud_id=row.cloud_id,
        expires_at=row.system_token_expires_at,
        token=token,
    )


class StoredSystemTokens:
    """`connect.jira.BearerTokens` for one tenant: the freshest stored system token, asked
    for again as the one in hand nears its end (a backfill can outlast a token), and one Jira
    refused forgotten."""

    def __init__(self, runtime: Runtime, tenant_id: int, held: HeldToken | None) -> None:
        self._runtime = runtime
        self._tenant_id = tenant_id
        self._held = held

    async def token(self) -> str:
        held = self._held
        now = self._runtime.clock()
        if held is None or held.expires_at.timestamp() - USABLE_MARGIN_SECONDS <= now:
            held = self._held = await self._freshest()
        if held is None:
            raise JiraCredentialsUnavailableError(
                "Worklog360's access to this Jira site through its Forge app has lapsed; it "
                "resumes when Jira next calls Worklog360 with a new token."
            )
        return held.token

    async def refused(self, token: str) -> bool:
        held = self._held
        if held is not None and held.token == token:
            logger.info(
                "Jira refused the system token of forge installation=%s; forgetting it",
                held.installation_id,
            )
            runtime = self._runtime
            async with runtime.writer_lock.hold(), transaction(runtime.sessions) as session:
                await repository.forget_system_token(session, held.row_id, held.expires_at)
            runtime.forge_token_expiry.discard(held.installation_id)
        self._held = await self._freshest()
        return self._held is not None and self._held.token != token

    async def _freshest(self) -> HeldToken | None:
        async with self._runtime.sessions() as session:
            return await freshest(
                session, self._runtime.secrets, self._tenant_id, now=self._runtime.clock()
            )
