"""Where an accounting integration (QuickBooks today, Xero tomorrow) plugs into billing.

Billing knows no provider: a provider registers itself when the app starts, and billing
asks it for what it shows beside a client or an invoice (the `quickbooks` block of the
API). With no provider registered the blocks are simply absent (null).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from sqlalchemy import Subquery
from sqlalchemy.ext.asyncio import AsyncSession

from app.billing.models import Client
from app.runtime import Runtime


@dataclass(frozen=True, slots=True)
class InvoiceStates:
    """A provider's view of the invoices it holds, as SQL that billing joins into the invoice
    list (to filter, sort and total in one query): `table` has one row per invoice the
    provider holds, with columns `tenant_id`, `invoice_id`, `status` (one of `statuses`),
    `paid_cents` and `balance_cents` (what is owed: 0 when the provider voided or deleted
    it) and `due_date` (the provider's, which may have been changed there). An invoice
    with no row has the status `not_held`."""

    table: Subquery
    statuses: tuple[str, ...]
    not_held: str


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

    def invoice_states(self, tenant_id: int, today: date) -> InvoiceStates: ...

    async def check_client_currency(
        self, session: AsyncSession, tenant_id: int, client: Client, currency: str
    ) -> None:
        """Raise an `AppError` when the client, invoiced in `currency`, could no longer be
        sent to this provider (its customer there bills in another currency)."""
        ...

    async def check_settings(
        self, runtime: Runtime, tenant_id: int, changes: Mapping[str, Any]
    ) -> None:
        """Raise an `AppError` for a setting of this provider's (such as the item invoice
        lines are billed as) that the provider does not know. May call the provider: no
        database transaction is open."""
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


async def check_client_currency(
    session: AsyncSession, tenant_id: int, client: Client, currency: str
) -> None:
    for provider in _providers:
        await provider.check_client_currency(session, tenant_id, client, currency)


async def check_settings(runtime: Runtime, tenant_id: int, changes: Mapping[str, Any]) -> None:
    for provider in _providers:
        await provider.check_settings(runtime, tenant_id, changes)


async def max_lines(session: AsyncSession, tenant_id: int) -> tuple[int, str] | None:
    """The tightest line limit of the providers the site uses (checked when finalizing: a
    finalized invoice can no longer be regrouped)."""
    limits = [
        limit
        for provider in _providers
        if (limit := await provider.max_lines(session, tenant_id)) is not None
    ]
    return min(limits) if limits else None


def invoice_states(tenant_id: int, today: date) -> InvoiceStates | None:
    """The first provider's invoice states (one provider holds a site's invoices)."""
    return _providers[0].invoice_states(tenant_id, today) if _providers else None
