"""QuickBooks as billing's accounting provider: the `quickbooks` blocks beside clients and
invoices (app.billing.accounting). Registered once when the app starts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.billing.accounting import InvoiceStates
from app.billing.models import Client
from app.quickbooks import invoice_status, line_settings, repository, service
from app.quickbooks.invoice_sync import MAX_LINES
from app.runtime import Runtime


class QuickBooksAccounting:
    async def client_blocks(
        self, session: AsyncSession, tenant_id: int, client_ids: Sequence[int]
    ) -> dict[int, dict[str, Any] | None]:
        links = await service.client_links(session, tenant_id, list(client_ids))
        return {
            client_id: {
                "customer_id": link.customer_id,
                "display_name": link.display_name,
                "active": link.active,
            }
            for client_id, link in links.items()
        }

    async def invoice_blocks(
        self, session: AsyncSession, tenant_id: int, invoice_ids: Sequence[int]
    ) -> dict[int, dict[str, Any] | None]:
        return await invoice_status.invoice_blocks(session, tenant_id, invoice_ids)

    async def max_lines(self, session: AsyncSession, tenant_id: int) -> tuple[int, str] | None:
        if await repository.connection(session, tenant_id) is None:
            return None
        return MAX_LINES, "QuickBooks"

    def invoice_states(self, tenant_id: int, today: date) -> InvoiceStates:
        return invoice_status.invoice_states(tenant_id, today)

    async def check_client_currency(
        self, session: AsyncSession, tenant_id: int, client: Client, currency: str
    ) -> None:
        await service.check_currency_change(session, tenant_id, client, currency)

    async def check_settings(
        self, runtime: Runtime, tenant_id: int, changes: Mapping[str, Any]
    ) -> None:
        await line_settings.check_line_settings(runtime, tenant_id, changes)
