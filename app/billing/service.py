"""Billing rules: settings and clients (budgets, rates and invoices build on these)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.billing import repository
from app.billing.models import BillingSettings, Client
from app.billing.money import RoundingMode
from app.billing.schemas import ClientIn, ClientPatch, SettingsPatch
from app.errors import Conflict, NotFound, Unprocessable


async def get_settings(session: AsyncSession, tenant_id: int) -> BillingSettings:
    return await repository.settings(session, tenant_id)


async def update_settings(
    session: AsyncSession, tenant_id: int, patch: SettingsPatch
) -> BillingSettings:
    current = await repository.settings(session, tenant_id, for_update=True)
    changes = patch.model_dump(exclude_unset=True)
    for field in (
        "invoice_number_prefix",
        "next_invoice_number",
        "rounding_minutes",
        "rounding_mode",
        "default_due_days",
    ):
        if field in changes and changes[field] is None:
            raise Unprocessable(f"'{field}' cannot be empty.", code="invalid_request")
    mode = RoundingMode(changes.get("rounding_mode", current.rounding_mode))
    minutes = changes.get("rounding_minutes", current.rounding_minutes)
    if mode is not RoundingMode.NONE and minutes == 0:
        raise Unprocessable(
            f"Rounding '{mode.value}' needs rounding_minutes above 0.", code="invalid_rounding"
        )
    for field, value in changes.items():
        setattr(current, field, value.value if isinstance(value, RoundingMode) else value)
    await session.flush()
    return current


async def get_client(session: AsyncSession, tenant_id: int, client_id: int) -> Client:
    client = await repository.client(session, tenant_id, client_id)
    if client is None:
        raise NotFound(f"There is no client {client_id}.", code="client_not_found")
    return client


async def list_clients(
    session: AsyncSession, tenant_id: int, *, cursor: str | None, limit: int, query: str | None
) -> tuple[list[Client], str | None]:
    after = _cursor_id(cursor)
    rows = await repository.clients(
        session, tenant_id, after_id=after, limit=limit + 1, query=query
    )
    if len(rows) > limit:
        return rows[:limit], str(rows[limit - 1].id)
    return rows, None


def _cursor_id(cursor: str | None) -> int:
    if cursor is None:
        return 0
    if not cursor.isdigit():
        raise Unprocessable("The cursor is not one this API gave out.", code="invalid_cursor")
    return int(cursor)


async def create_client(session: AsyncSession, tenant_id: int, data: ClientIn) -> Client:
    await _check_name_free(session, tenant_id, data.name, keep=None)
    client = Client(
        tenant_id=tenant_id,
        name=data.name,
        name_key=data.name.casefold(),
        currency=data.currency,
        hourly_rate=data.hourly_rate,
        billing_email=data.billing_email,
        address=data.address,
    )
    session.add(client)
    await session.flush()
    return client


async def update_client(
    session: AsyncSession, tenant_id: int, client_id: int, patch: ClientPatch
) -> Client:
    client = await get_client(session, tenant_id, client_id)
    changes = patch.model_dump(exclude_unset=True)
    if "name" in changes:
        if changes["name"] is None:
            raise Unprocessable("A client needs a name.", code="invalid_request")
        await _check_name_free(session, tenant_id, changes["name"], keep=client.id)
        client.name_key = changes["name"].casefold()
    if "currency" in changes and changes["currency"] is None:
        raise Unprocessable("A client needs a currency.", code="invalid_request")
    for field, value in changes.items():
        setattr(client, field, value)
    await session.flush()
    return client


async def delete_client(session: AsyncSession, tenant_id: int, client_id: int) -> None:
    client = await get_client(session, tenant_id, client_id)
    await session.delete(client)
    await session.flush()


async def _check_name_free(
    session: AsyncSession, tenant_id: int, name: str, *, keep: int | None
) -> None:
    existing = await repository.client_by_name(session, tenant_id, name)
    if existing is not None and existing.id != keep:
        raise Conflict(
            f"A client named '{existing.name}' already exists.", code="client_name_taken"
        )
