"""QuickBooks tokens that never get lost.

* Access tokens are refreshed 5 minutes before they expire, and once after a 401.
* A refresh runs with the connection row locked — `SELECT … FOR UPDATE` on PostgreSQL; on
  SQLite the app's cross-process writer lock plus the database's own write lock — after an
  in-process lock per tenant, so one refresh happens per realm however many requests, workers
  or processes need one. The row is read again under the lock: another worker may have
  refreshed already, and its token is used instead of spending the (rotated) refresh token.
* The rotated refresh token is committed, in that transaction of its own, before the new
  access token is handed to anyone.
* `invalid_grant` marks the connection `expired`: only a reconnect helps.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.crypto import SecretBox
from app.quickbooks import repository
from app.quickbooks.api_errors import InvalidGrantError, QuickBooksError
from app.quickbooks.client import TokenSet
from app.quickbooks.errors import QuickBooksNotConnected, QuickBooksReconnectRequired, app_error
from app.quickbooks.models import QuickBooksConnection
from app.runtime import Runtime
from app.sealed import SealedColumn

logger = logging.getLogger(__name__)

ACCESS_TOKEN_MARGIN = timedelta(minutes=5)

CONNECTED = "connected"
EXPIRED = "expired"
DISCONNECTED = "disconnected"


def sealed_columns() -> tuple[SealedColumn, ...]:
    """The connection's tokens, bound to tenant and realm (for `rotate-secrets`)."""
    return (
        SealedColumn(
            QuickBooksConnection,
            "access_token_encrypted",
            lambda row: _context(row.tenant_id, row.realm_id, "access_token"),
        ),
        SealedColumn(
            QuickBooksConnection,
            "refresh_token_encrypted",
            lambda row: _context(row.tenant_id, row.realm_id, "refresh_token"),
        ),
    )


def _context(tenant_id: int, realm_id: str, kind: str) -> str:
    # Bound to tenant and realm: a ciphertext copied to another row does not decrypt.
    return f"quickbooks:{tenant_id}:{realm_id}:{kind}"


def seal_tokens(
    secrets: SecretBox, row: QuickBooksConnection, tokens: TokenSet, *, now: datetime
) -> None:
    """Store a token set on the row (encrypted) with its expiry times."""
    assert row.realm_id is not None
    row.access_token_encrypted = secrets.encrypt(
        tokens.access_token, context=_context(row.tenant_id, row.realm_id, "access_token")
    )
    row.refresh_token_encrypted = secrets.encrypt(
        tokens.refresh_token, context=_context(row.tenant_id, row.realm_id, "refresh_token")
    )
    row.access_token_expires_at = tokens.access_expires_at
    row.refresh_token_expires_at = tokens.refresh_expires_at
    if tokens.refresh_hard_expires_at is not None:
        row.refresh_token_hard_expires_at = tokens.refresh_hard_expires_at
    row.token_generation = (row.token_generation or 0) + 1
    row.refreshed_at = now
    row.status = CONNECTED
    row.last_error = None
    row.last_intuit_tid = tokens.intuit_tid


def forget_tokens(row: QuickBooksConnection) -> None:
    row.access_token_encrypted = None
    row.refresh_token_encrypted = None
    row.access_token_expires_at = None


def access_token_of(secrets: SecretBox, row: QuickBooksConnection) -> str | None:
    if row.access_token_encrypted is None or row.realm_id is None:
        return None
    return secrets.decrypt(
        row.access_token_encrypted, context=_context(row.tenant_id, row.realm_id, "access_token")
    )


def refresh_token_of(secrets: SecretBox, row: QuickBooksConnection) -> str | None:
    if row.refresh_token_encrypted is None or row.realm_id is None:
        return None
    return secrets.decrypt(
        row.refresh_token_encrypted,
        context=_context(row.tenant_id, row.realm_id, "refresh_token"),
    )


def require_live(row: QuickBooksConnection | None) -> QuickBooksConnection:
    """The connection if its tokens may be used, else the error that says what to do."""
    if row is None or row.status == DISCONNECTED or row.realm_id is None:
        raise QuickBooksNotConnected()
    if row.status == EXPIRED or row.refresh_token_encrypted is None:
        raise QuickBooksReconnectRequired()
    return row


@asynccontextmanager
async def locked_connection(
    runtime: Runtime, tenant_id: int
) -> AsyncIterator[tuple[AsyncSession, QuickBooksConnection | None]]:
    """The tenant's connection row, locked against every other writer (in this process and
    others) until the block ends; committed if it ends normally.

    It takes `runtime.writer_lock` (SQLite): never call QuickBooks while holding that lock,
    since a token refresh would wait for it."""
    async with (
        runtime.quickbooks.refresh_lock(f"tenant:{tenant_id}"),
        runtime.writer_lock.hold(),
        runtime.sessions() as session,
    ):
        try:
            await repository.lock_connection(session, tenant_id)
            row = await repository.connection(session, tenant_id, for_update=True)
            yield session, row
        except BaseException:
            await session.rollback()
            raise
        await session.commit()


@dataclass(frozen=True, slots=True)
class _Snapshot:
    realm_id: str
    access_token: str | None
    access_expires_at: datetime | None


async def refresh_now(
    runtime: Runtime, tenant_id: int, *, unless_refreshed_since: datetime | None = None
) -> bool:
    """Refresh the tenant's tokens (the daily keep-alive). False if another worker did it
    after `unless_refreshed_since`."""
    async with locked_connection(runtime, tenant_id) as (session, row):
        row = require_live(row)
        if (
            unless_refreshed_since is not None
            and row.refreshed_at is not None
            and row.refreshed_at >= unless_refreshed_since
        ):
            return False
        await _refresh_locked(runtime, session, row)
        return True


async def _refresh_locked(
    runtime: Runtime, session: AsyncSession, row: QuickBooksConnection
) -> str:
    """Spend the refresh token and commit what Intuit gave back before anyone uses it."""
    refresh_token = refresh_token_of(runtime.secrets, row)
    if refresh_token is None:
        raise QuickBooksReconnectRequired()
    try:
        tokens = await runtime.quickbooks.refresh(refresh_token)
    except InvalidGrantError as exc:
        logger.warning(
            "QuickBooks refused the refresh token of tenant %s (realm %s, intuit_tid=%s): %s",
            row.tenant_id,
            row.realm_id,
            exc.intuit_tid,
            exc.error,
        )
        row.status = EXPIRED
        forget_tokens(row)
        row.last_error = exc.detail or exc.error
        row.last_intuit_tid = exc.intuit_tid
        await session.commit()
        raise QuickBooksReconnectRequired() from exc
    except QuickBooksError as exc:
        # Nothing changed at Intuit that we know of: keep the current tokens for a retry.
        raise app_error(exc) from exc
    seal_tokens(runtime.secrets, row, tokens, now=runtime.quickbooks.now())
    await session.commit()
    logger.info(
        "QuickBooks tokens refreshed for tenant %s (realm %s, intuit_tid=%s)",
        row.tenant_id,
        row.realm_id,
        tokens.intuit_tid,
    )
    return tokens.access_token


class ConnectionTokens:
    """A `TokenSource` backed by the tenant's connection row."""

    def __init__(self, runtime: Runtime, tenant_id: int) -> None:
        self._runtime = runtime
        self._tenant_id = tenant_id

    async def _snapshot(self) -> _Snapshot:
        async with self._runtime.sessions() as session:
            row = require_live(await repository.connection(session, self._tenant_id))
            assert row.realm_id is not None
            return _Snapshot(
                row.realm_id,
                access_token_of(self._runtime.secrets, row),
                row.access_token_expires_at,
            )

    def _fresh(self, expires_at: datetime | None) -> bool:
        return expires_at is not None and expires_at > self._runtime.quickbooks.now() + (
            ACCESS_TOKEN_MARGIN
        )

    async def access_token(self) -> str:
        snapshot = await self._snapshot()
        if snapshot.access_token is not None and self._fresh(snapshot.access_expires_at):
            return snapshot.access_token
        return await self._refresh(rejected=None)

    async def renew_access_token(self, rejected: str) -> str:
        return await self._refresh(rejected=rejected)

    async def _refresh(self, *, rejected: str | None) -> str:
        async with locked_connection(self._runtime, self._tenant_id) as (session, row):
            row = require_live(row)
            current = access_token_of(self._runtime.secrets, row)
            if current is not None:
                # Another request or worker may have refreshed while we waited for the lock.
                if rejected is None and self._fresh(row.access_token_expires_at):
                    return current
                if rejected is not None and current != rejected:
                    return current
            return await _refresh_locked(self._runtime, session, row)
