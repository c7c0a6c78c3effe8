"""All SQL about tenants. Lifecycle writes are single conditional statements so that
concurrent or reordered events cannot interleave a read and a write."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import dialect_insert
from app.tenants.models import ForgeInstallation, Tenant
from app.timeutil import utc_now


async def get_by_client_key(session: AsyncSession, client_key: str) -> Tenant | None:
    result = await session.execute(select(Tenant).where(Tenant.client_key == client_key))
    return result.scalar_one_or_none()


async def get(session: AsyncSession, tenant_id: int) -> Tenant | None:
    return await session.get(Tenant, tenant_id)


def installed_through_either_door() -> ColumnElement[bool]:
    """A site has the app: its Connect app is installed and enabled, or a Forge installation
    of it is live. What anything working for a site (jobs, QuickBooks) asks, rather than
    `Tenant.connect_active`."""
    return or_(
        and_(Tenant.installed.is_(True), Tenant.enabled.is_(True)),
        exists().where(
            ForgeInstallation.tenant_id == Tenant.id, ForgeInstallation.installed.is_(True)
        ),
    )


async def installed(session: AsyncSession, tenant_id: int) -> bool:
    result = await session.execute(
        select(Tenant.id).where(Tenant.id == tenant_id, installed_through_either_door())
    )
    return result.scalar_one_or_none() is not None


async def installed_tenant_ids(session: AsyncSession) -> list[int]:
    result = await session.execute(
        select(Tenant.id).where(installed_through_either_door()).order_by(Tenant.id)
    )
    return list(result.scalars())


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


async def attach_connect(
    session: AsyncSession, tenant_id: int, values: dict[str, Any], event_iat: int
) -> bool:
    """Give a site first seen through Forge its Connect installation. False when another
    request gave it one first (the caller then upserts by clientKey as usual)."""
    now = utc_now()
    result = await session.execute(
        update(Tenant)
        .where(Tenant.id == tenant_id, Tenant.client_key.is_(None))
        .values(
            **values,
            installed=True,
            enabled=True,
            install_event_iat=event_iat,
            enable_event_iat=event_iat,
            installed_at=now,
            uninstalled_at=None,
            updated_at=now,
        )
        .returning(Tenant.id)
    )
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


def _nothing_installed() -> ColumnElement[bool]:
    """Uninstalled through every door: the Connect app (if any) uninstalled, not merely
    disabled, and no live Forge installation."""
    return and_(
        Tenant.installed.is_(False),
        ~exists().where(
            ForgeInstallation.tenant_id == Tenant.id, ForgeInstallation.installed.is_(True)
        ),
    )


def _last_uninstalled_at() -> Any:
    """When the site last lost the app: its Connect uninstall or its last Forge one."""
    forge = (
        select(func.max(ForgeInstallation.uninstalled_at))
        .where(ForgeInstallation.tenant_id == Tenant.id)
        .scalar_subquery()
    )
    return func.coalesce(
        case((forge > Tenant.uninstalled_at, forge), else_=Tenant.uninstalled_at), forge
    )


async def departed_before(session: AsyncSession, cutoff: datetime) -> list[int]:
    """Sites uninstalled through every door since before `cutoff`."""
    result = await session.execute(
        select(Tenant.id)
        .where(_nothing_installed(), _last_uninstalled_at() < cutoff)
        .order_by(Tenant.id)
    )
    return list(result.scalars())


async def purge(session: AsyncSession, tenant_id: int, cutoff: datetime) -> bool:
    """Delete the site and, by cascade, every row of its data (finalized invoices too: the
    lock triggers let those go only with their site). Checked again in the statement, so a
    reinstall racing the purge keeps everything."""
    result = await session.execute(
        delete(Tenant)
        .where(Tenant.id == tenant_id, _nothing_installed(), _last_uninstalled_at() < cutoff)
        .returning(Tenant.id)
    )
    return result.scalar_one_or_none() is not None


async def purge_unplaced_installations(session: AsyncSession, cutoff: datetime) -> int:
    """Forge installations never placed on a site (no data of their own), long uninstalled."""
    result = await session.execute(
        delete(ForgeInstallation)
        .where(
            ForgeInstallation.tenant_id.is_(None),
            ForgeInstallation.installed.is_(False),
            ForgeInstallation.uninstalled_at < cutoff,
        )
        .returning(ForgeInstallation.id)
    )
    return len(result.all())
