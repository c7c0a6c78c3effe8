"""All SQL of billing. Every query names the tenant."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.billing.models import BillingSettings, Client


def _insert(session: AsyncSession) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


async def settings(
    session: AsyncSession, tenant_id: int, *, for_update: bool = False
) -> BillingSettings:
    """The tenant's settings row, created with the defaults on first use."""
    await session.execute(
        _insert(session)(BillingSettings).values(tenant_id=tenant_id).on_conflict_do_nothing()
    )
    query = select(BillingSettings).where(BillingSettings.tenant_id == tenant_id)
    if for_update:
        query = query.with_for_update()
    result = await session.execute(query.execution_options(populate_existing=True))
    return result.scalar_one()


async def client(session: AsyncSession, tenant_id: int, client_id: int) -> Client | None:
    result = await session.execute(
        select(Client).where(Client.tenant_id == tenant_id, Client.id == client_id)
    )
    return result.scalar_one_or_none()


async def client_by_name(session: AsyncSession, tenant_id: int, name: str) -> Client | None:
    result = await session.execute(
        select(Client).where(Client.tenant_id == tenant_id, Client.name_key == name.casefold())
    )
    return result.scalar_one_or_none()


async def clients(
    session: AsyncSession, tenant_id: int, *, after_id: int, limit: int, query: str | None
) -> list[Client]:
    statement = select(Client).where(Client.tenant_id == tenant_id, Client.id > after_id)
    if query:
        statement = statement.where(Client.name_key.contains(query.casefold(), autoescape=True))
    result = await session.execute(statement.order_by(Client.id).limit(limit))
    return list(result.scalars())
