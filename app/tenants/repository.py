"""All SQL about tenants. Lifecycle writes are single conditional statements so that
concurrent or reordered events cannot interleave a read and a write."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import dialect_insert
from app.tenants.models import Tenant
from app.timeutil import utc_now


async def get_by_client_key(session: AsyncSession, client_key: str) -> Tenant | None:
    result = await session.execute(select(Tenant).where(Tenant.client_key == client_key))
    return result.scalar_one_or_none()


async def get(session: AsyncSession, tenant_id: int) -> Tenant | None:
    return await session.get(Tenant, tenant_id)


async def upsert_installed(session: AsyncSession, values: dict[str, Any], event_iat: int) -> bool:
    """Insert or replace an installation unless a newer install event was already applied.

    Returns False when the event was stale and nothing changed.
    """
    now = utc_now()
    row = {
        **values,
        "installed": True,
        "enabled": True,
        "install_event_iat": event_iat,
        "enable_event_iat": event_iat,
        "installed_at": now,
        "uninstalled_at": None,
        "created_at": now,
        "updated_at": now,
    }
    statement = dialect_insert(session)(Tenant).values(**row)
    replaced = {k: statement.excluded[k] for k in row if k not in ("client_key", "created_at")}
    upsert = statement.on_conflict_do_update(
        index_elements=[Tenant.client_key],
        set_=replaced,
        where=Tenant.install_event_iat <= statement.excluded.install_event_iat,
    ).returning(Tenant.id)
    result = await session.execute(upsert)
    return result.scalar_one_or_none() is not None


async def mark_uninstalled(
    session: AsyncSession, client_key: str, event_iat: int, at: datetime
) -> bool:
    result = await session.execute(
        update(Tenant)
        .where(Tenant.client_key == client_key, Tenant.install_event_iat <= event_iat)
        .values(installed=False, install_event_iat=event_iat, uninstalled_at=at, updated_at=at)
        .returning(Tenant.id)
    )
    return result.scalar_one_or_none() is not None


async def set_enabled(
    session: AsyncSession, client_key: str, enabled: bool, event_iat: int
) -> bool:
    result = await session.execute(
        update(Tenant)
        .where(Tenant.client_key == client_key, Tenant.enable_event_iat <= event_iat)
        .values(enabled=enabled, enable_event_iat=event_iat, updated_at=utc_now())
        .returning(Tenant.id)
    )
    return result.scalar_one_or_none() is not None
