"""Every SQL statement of the QuickBooks domain; each one filters on the tenant."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.quickbooks.models import (
    QuickBooksConnection,
    QuickBooksCustomer,
    QuickBooksCustomerLink,
    QuickBooksOAuthState,
)

# --- connections -----------------------------------------------------------------------------


async def connection(
    session: AsyncSession, tenant_id: int, *, for_update: bool = False
) -> QuickBooksConnection | None:
    statement = select(QuickBooksConnection).where(QuickBooksConnection.tenant_id == tenant_id)
    if for_update:
        statement = statement.with_for_update()
    result = await session.execute(statement.execution_options(populate_existing=True))
    return result.scalar_one_or_none()


async def live_connections(session: AsyncSession) -> Sequence[QuickBooksConnection]:
    """Every site's connection that is not disconnected (for the operators' figures: the
    one read across tenants, and it returns no token to anyone)."""
    result = await session.execute(
        select(QuickBooksConnection).where(QuickBooksConnection.status != "disconnected")
    )
    return result.scalars().all()


async def take_write_lock(session: AsyncSession, tenant_id: int) -> None:
    """SQLite has no row locks: a no-op write takes the database's write lock now, so that
    what is read next is the latest and stays so until commit."""
    await session.execute(
        update(QuickBooksConnection)
        .where(QuickBooksConnection.tenant_id == tenant_id)
        .values(token_generation=QuickBooksConnection.token_generation)
    )


async def lock_connection(session: AsyncSession, tenant_id: int) -> None:
    """Hold the tenant's connection row (PostgreSQL) or the database (SQLite) until commit."""
    if session.get_bind().dialect.name == "sqlite":
        await take_write_lock(session, tenant_id)
    else:
        await connection(session, tenant_id, for_update=True)


async def connection_by_realm(session: AsyncSession, realm_id: str) -> QuickBooksConnection | None:
    result = await session.execute(
        select(QuickBooksConnection).where(QuickBooksConnection.realm_id == realm_id)
    )
    return result.scalar_one_or_none()


async def live_connection_tenants(session: AsyncSession, refreshed_before: datetime) -> list[int]:
    """Connected tenants whose tokens were last refreshed before the moment given."""
    result = await session.execute(
        select(QuickBooksConnection.tenant_id)
        .where(
            QuickBooksConnection.status == "connected",
            QuickBooksConnection.refresh_token_encrypted.is_not(None),
            func.coalesce(QuickBooksConnection.refreshed_at, QuickBooksConnection.connected_at)
            < refreshed_before,
        )
        .order_by(QuickBooksConnection.tenant_id)
    )
    return list(result.scalars())


# --- OAuth states ----------------------------------------------------------------------------


async def oauth_state(session: AsyncSession, nonce: str) -> QuickBooksOAuthState | None:
    result = await session.execute(
        select(QuickBooksOAuthState)
        .where(QuickBooksOAuthState.nonce == nonce)
        .execution_options(populate_existing=True)
    )
    return result.scalar_one_or_none()


async def forget_oauth_states(session: AsyncSession, used_before: datetime) -> None:
    await session.execute(
        delete(QuickBooksOAuthState).where(QuickBooksOAuthState.used_at < used_before)
    )


# --- customers -------------------------------------------------------------------------------


async def customer(
    session: AsyncSession, tenant_id: int, customer_id: str
) -> QuickBooksCustomer | None:
    result = await session.execute(
        select(QuickBooksCustomer).where(
            QuickBooksCustomer.tenant_id == tenant_id, QuickBooksCustomer.id == customer_id
        )
    )
    return result.scalar_one_or_none()


async def customers(
    session: AsyncSession, tenant_id: int, *, search: str | None, offset: int, limit: int
) -> list[QuickBooksCustomer]:
    statement = select(QuickBooksCustomer).where(QuickBooksCustomer.tenant_id == tenant_id)
    if search:
        statement = statement.where(QuickBooksCustomer.search_key.contains(search, autoescape=True))
    result = await session.execute(
        statement.order_by(QuickBooksCustomer.search_key, QuickBooksCustomer.id)
        .offset(offset)
        .limit(limit)
    )
    return list(result.scalars())


async def replace_customers(
    session: AsyncSession, tenant_id: int, rows: Sequence[dict[str, object]]
) -> None:
    await session.execute(
        delete(QuickBooksCustomer).where(QuickBooksCustomer.tenant_id == tenant_id)
    )
    for start in range(0, len(rows), 500):
        session.add_all(
            QuickBooksCustomer(tenant_id=tenant_id, **row) for row in rows[start : start + 500]
        )
        await session.flush()


async def forget_customers(session: AsyncSession, tenant_id: int) -> None:
    await session.execute(
        delete(QuickBooksCustomer).where(QuickBooksCustomer.tenant_id == tenant_id)
    )
    await session.execute(
        delete(QuickBooksCustomerLink).where(QuickBooksCustomerLink.tenant_id == tenant_id)
    )


# --- links -----------------------------------------------------------------------------------


async def link_of_client(
    session: AsyncSession, tenant_id: int, client_id: int
) -> QuickBooksCustomerLink | None:
    result = await session.execute(
        select(QuickBooksCustomerLink).where(
            QuickBooksCustomerLink.tenant_id == tenant_id,
            QuickBooksCustomerLink.client_id == client_id,
        )
    )
    return result.scalar_one_or_none()


async def link_of_customer(
    session: AsyncSession, tenant_id: int, customer_id: str
) -> QuickBooksCustomerLink | None:
    result = await session.execute(
        select(QuickBooksCustomerLink).where(
            QuickBooksCustomerLink.tenant_id == tenant_id,
            QuickBooksCustomerLink.customer_id == customer_id,
        )
    )
    return result.scalar_one_or_none()


async def clients_of_customers(
    session: AsyncSession, tenant_id: int, customer_ids: Iterable[str]
) -> dict[str, int]:
    """customer id → the client linked to it, for those of `customer_ids` that have one."""
    ids = list(customer_ids)
    if not ids:
        return {}
    result = await session.execute(
        select(QuickBooksCustomerLink.customer_id, QuickBooksCustomerLink.client_id).where(
            QuickBooksCustomerLink.tenant_id == tenant_id,
            QuickBooksCustomerLink.customer_id.in_(ids),
        )
    )
    return {customer_id: client_id for customer_id, client_id in result.all()}


async def links_with_customers(
    session: AsyncSession, tenant_id: int, client_ids: Iterable[int]
) -> list[tuple[QuickBooksCustomerLink, QuickBooksCustomer | None]]:
    ids = list(client_ids)
    if not ids:
        return []
    result = await session.execute(
        select(QuickBooksCustomerLink, QuickBooksCustomer)
        .outerjoin(
            QuickBooksCustomer,
            (QuickBooksCustomer.tenant_id == QuickBooksCustomerLink.tenant_id)
            & (QuickBooksCustomer.id == QuickBooksCustomerLink.customer_id),
        )
        .where(
            QuickBooksCustomerLink.tenant_id == tenant_id,
            QuickBooksCustomerLink.client_id.in_(ids),
        )
    )
    return [(link, customer) for link, customer in result.all()]


async def rename_links(session: AsyncSession, tenant_id: int, names: dict[str, str]) -> None:
    """Keep the names stored on links in step with the customer list just read."""
    links = await session.execute(
        select(QuickBooksCustomerLink).where(QuickBooksCustomerLink.tenant_id == tenant_id)
    )
    for link in links.scalars():
        name = names.get(link.customer_id)
        if name is not None and name != link.display_name:
            link.display_name = name
    await session.flush()


async def unlink(session: AsyncSession, tenant_id: int, client_id: int) -> bool:
    result = await session.execute(
        delete(QuickBooksCustomerLink).where(
            QuickBooksCustomerLink.tenant_id == tenant_id,
            QuickBooksCustomerLink.client_id == client_id,
        )
    )
    return bool(getattr(result, "rowcount", 0))
