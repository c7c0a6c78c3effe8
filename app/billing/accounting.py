"""Where an accounting integration (QuickBooks today, Xero tomorrow) plugs into billing.

Billing knows no provider: a provider registers itself when the app starts, and billing
asks it for what it shows beside a client or an invoice (the `quickbooks` block of the
API). With no provider registered the blocks are simply absent (null).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession


class AccountingProvider(Protocol):
    async def client_blocks(
        self, session: AsyncSession, tenant_id: int, client_ids: Sequence[int]
    ) -> dict[int, dict[str, Any] | None]: ...

    async def invoice_blocks(
        self, session: AsyncSession, tenant_id: int, invoice_ids: Sequence[int]
    ) -> dict[int, dict[str, Any] | None]: ...

    async def max_lines(self, session: AsyncSession, tenant_id: int) -> tuple[int, str] | None:
        """The most lines an invoice may have to be sent to this provider, and its name;
        None when the site does not use it."""
        ...


_providers: list[AccountingProvider] = []


def register(provider: AccountingProvider) -> None:
    """Idempotent: an app built twice in one process (tests) registers once."""
    if not any(type(p) is type(provider) for p in _providers):
        _providers.append(provider)


async def client_blocks(
    session: AsyncSession, tenant_id: int, client_ids: Sequence[int]
) -> dict[int, dict[str, Any] | None]:
    blocks: dict[int, dict[str, Any] | None] = {}
    for provider in _providers:
        blocks.update(await provider.client_blocks(session, tenant_id, client_ids))
    return blocks


async def invoice_blocks(
    session: AsyncSession, tenant_id: int, invoice_ids: Sequence[int]
) -> dict[int, dict[str, Any] | None]:
    blocks: dict[int, dict[str, Any] | None] = {}
    for provider in _providers:
        blocks.update(await provider.invoice_blocks(session, tenant_id, invoice_ids))
    return blocks


async def max_lines(session: AsyncSession, tenant_id: int) -> tuple[int, str] | None:
    """The tightest line limit of the providers the site uses (checked when finalizing: a
    finalized invoice can no longer be regrouped)."""
    limits = [
        limit
        for provider in _providers
        if (limit := await provider.max_lines(session, tenant_id)) is not None
    ]
    return min(limits) if limits else None
