"""All SQL about Forge installations and the sites they belong to. Lifecycle writes are
single conditional statements, so that events racing, repeated or reordered cannot undo
each other: an installationId once uninstalled stays uninstalled."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import dialect_insert
from app.tenants.models import ForgeInstallation, Tenant
from app.timeutil import utc_now


async def installation(session: AsyncSession, installation_id: str) -> ForgeInstallation | None:
    # populate_existing: the upserts above are not ORM updates, so a row this session
    # already holds must be read afresh.
    result = await session.execute(
        select(ForgeInstallation)
        .where(ForgeInstallation.installation_id == installation_id)
        .execution_options(populate_existing=True)
    )
    return result.scalar_one_or_none()


async def record_installed(
    session: AsyncSession, values: dict[str, Any], event_iat: int
) -> ForgeInstallation | None:
    """Insert the installation, or bring a live one up to date. None when the id was
    uninstalled (or replaced) before: it is never installed again."""
    now = utc_now()
    row = {
        **values,
        "installed": True,
        "install_event_iat": event_iat,
        "installed_at": now,
        "uninstalled_at": None,
        "created_at": now,
        "updated_at": now,
    }
    statement = dialect_insert(session)(ForgeInstallation).values(**row)
    current = ForgeInstallation.__table__.c
    excluded = statement.excluded
    upsert = statement.on_conflict_do_update(
        index_elements=[ForgeInstallation.installation_id],
        set_={
            "app_version": excluded.app_version,
            "environment_type": excluded.environment_type,
            "environment_id": excluded.environment_id,
            "api_base_url": excluded.api_base_url,
            # A lifecycle event does not say the site's URL: keep what a UI call told us.
            "site_url": case(
                (excluded.site_url.is_(None), current.site_url), else_=excluded.site_url
            ),
            "install_event_iat": case(
                (
                    excluded.install_event_iat > current.install_event_iat,
                    excluded.install_event_iat,
                ),
                else_=current.install_event_iat,
            ),
            "updated_at": excluded.updated_at,
        },
        where=current.installed.is_(True),
    ).returning(ForgeInstallation.id)
    if (await session.execute(upsert)).scalar_one_or_none() is None:
        return None
    return await installation(session, str(values["installation_id"]))


def _same_site_and_environment(row: ForgeInstallation) -> Any:
    return and_(
        ForgeInstallation.cloud_id == row.cloud_id,
        ForgeInstallation.environment_id.is_not_distinct_from(row.environment_id),
        ForgeInstallation.id != row.id,
        ForgeInstallation.installed.is_(True),
    )


async def supersede(session: AsyncSession, row: ForgeInstallation, at: datetime) -> bool:
    """One installation per site and environment is live: the one installed last. Returns
    False, and marks `row` replaced, when a newer one is already there."""
    newer = await session.execute(
        select(
            exists().where(
                _same_site_and_environment(row),
                ForgeInstallation.install_event_iat > row.install_event_iat,
            )
        )
    )
    if newer.scalar_one():
        await _retire(session, ForgeInstallation.id == row.id, at)
        return False
    await _retire(
        session,
        and_(
            _same_site_and_environment(row),
            ForgeInstallation.install_event_iat <= row.install_event_iat,
        ),
        at,
    )
    return True


async def _retire(session: AsyncSession, where: Any, at: datetime) -> None:
    await session.execute(
        update(ForgeInstallation)
        .where(where)
        .values(
            installed=False,
            uninstalled_at=at,
            system_token_encrypted=None,
            system_token_expires_at=None,
            updated_at=at,
        )
    )


async def record_uninstalled(
    session: AsyncSession, values: dict[str, Any], event_iat: int, at: datetime
) -> None:
    """Uninstalled for good, even if this is the first we hear of it (a tombstone, so that
    a late `installed` of the same id cannot bring it back)."""
    row = {
        **values,
        "installed": False,
        "install_event_iat": event_iat,
        "installed_at": at,
        "uninstalled_at": at,
        "created_at": at,
        "updated_at": at,
    }
    statement = dialect_insert(session)(ForgeInstallation).values(**row)
    current = ForgeInstallation.__table__.c
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[ForgeInstallation.installation_id],
            set_={
                "installed": False,
                "uninstalled_at": case(
                    (current.uninstalled_at.is_(None), statement.excluded.uninstalled_at),
                    else_=current.uninstalled_at,
                ),
                "system_token_encrypted": None,
                "system_token_expires_at": None,
                "updated_at": statement.excluded.updated_at,
            },
        )
    )


async def store_system_token(
    session: AsyncSession, installation_row_id: int, ciphertext: str, expires_at: datetime
) -> bool:
    """Keep the token that lasts longest; an installation that is gone keeps none."""
    result = await session.execute(
        update(ForgeInstallation)
        .where(
            ForgeInstallation.id == installation_row_id,
            ForgeInstallation.installed.is_(True),
            (ForgeInstallation.system_token_expires_at.is_(None))
            | (ForgeInstallation.system_token_expires_at < expires_at),
        )
        .values(system_token_encrypted=ciphertext, system_token_expires_at=expires_at)
        .returning(ForgeInstallation.id)
    )
    return result.scalar_one_or_none() is not None


async def forget_system_token(
    session: AsyncSession, installation_row_id: int, expires_at: datetime
) -> None:
    """Jira refused the token: drop it, unless a newer one has replaced it meanwhile."""
    await session.execute(
        update(ForgeInstallation)
        .where(
            ForgeInstallation.id == installation_row_id,
            ForgeInstallation.system_token_expires_at == expires_at,
        )
        .values(system_token_encrypted=None, system_token_expires_at=None)
    )


async def freshest_token_holder(
    session: AsyncSession, tenant_id: int, *, valid_after: datetime
) -> ForgeInstallation | None:
    """The tenant's live installation whose system token lasts longest, if still valid
    after `valid_after`."""
    result = await session.execute(
        select(ForgeInstallation)
        .where(
            ForgeInstallation.tenant_id == tenant_id,
            ForgeInstallation.installed.is_(True),
            ForgeInstallation.system_token_encrypted.is_not(None),
            ForgeInstallation.system_token_expires_at > valid_after,
        )
        .order_by(ForgeInstallation.system_token_expires_at.desc(), ForgeInstallation.id)
        .limit(1)
        .execution_options(populate_existing=True)
    )
    return result.scalar_one_or_none()


async def live_installation(session: AsyncSession, tenant_id: int) -> ForgeInstallation | None:
    """One live Forge installation of the tenant (the latest installed), token or not."""
    result = await session.execute(
        select(ForgeInstallation)
        .where(ForgeInstallation.tenant_id == tenant_id, ForgeInstallation.installed.is_(True))
        .order_by(ForgeInstallation.install_event_iat.desc(), ForgeInstallation.id.desc())
        .limit(1)
    )
    return result.scalar_one_or_none()


# --- which tenant is the site ---------------------------------------------------------------


async def tenant_by_cloud_id(session: AsyncSession, cloud_id: str) -> Tenant | None:
    result = await session.execute(select(Tenant).where(Tenant.cloud_id == cloud_id))
    return result.scalar_one_or_none()


async def tenant_linked_to(session: AsyncSession, installation_id: str) -> Tenant | None:
    """The Connect tenant whose `installed` payload named this Forge installation."""
    result = await session.execute(
        select(Tenant)
        .where(Tenant.linked_forge_installation_id == installation_id)
        .order_by(Tenant.id)
        .limit(1)
    )
    return result.scalar_one_or_none()


async def tenant_by_site_url(session: AsyncSession, site_url: str) -> Tenant | None:
    """A tenant of that URL not yet known by any cloudId: the Connect side of the site."""
    result = await session.execute(
        select(Tenant)
        .where(Tenant.base_url == site_url, Tenant.cloud_id.is_(None))
        .order_by(Tenant.installed.desc(), Tenant.id)
        .limit(1)
    )
    return result.scalar_one_or_none()


async def create_site(session: AsyncSession, cloud_id: str, site_url: str | None) -> Tenant:
    """A tenant for a site known only through Forge (or the one another request made)."""
    now = utc_now()
    statement = dialect_insert(session)(Tenant).values(
        cloud_id=cloud_id,
        base_url=site_url,
        product_type="jira",
        installed=False,
        enabled=False,
        install_event_iat=0,
        enable_event_iat=0,
        created_at=now,
        updated_at=now,
    )
    await session.execute(statement.on_conflict_do_nothing(index_elements=[Tenant.cloud_id]))
    tenant = await tenant_by_cloud_id(session, cloud_id)
    assert tenant is not None
    return tenant


async def name_site(session: AsyncSession, tenant_id: int, cloud_id: str) -> bool:
    """Give a tenant its cloudId unless it has one, or another tenant has this one."""
    taken = exists().where(Tenant.cloud_id == cloud_id)
    result = await session.execute(
        update(Tenant)
        .where(Tenant.id == tenant_id, Tenant.cloud_id.is_(None), ~taken)
        .values(cloud_id=cloud_id, updated_at=utc_now())
        .returning(Tenant.id)
    )
    return result.scalar_one_or_none() is not None


async def learn_site_url(session: AsyncSession, tenant_id: int, site_url: str) -> None:
    await session.execute(
        update(Tenant)
        .where(Tenant.id == tenant_id, Tenant.base_url.is_(None))
        .values(base_url=site_url, updated_at=utc_now())
    )


async def attach(session: AsyncSession, installation_row_id: int, tenant_id: int) -> None:
    await session.execute(
        update(ForgeInstallation)
        .where(ForgeInstallation.id == installation_row_id)
        .values(tenant_id=tenant_id, updated_at=utc_now())
    )


# --- from the Connect side -------------------------------------------------------------------


async def site_without_connect(
    session: AsyncSession, *, installation_id: str | None, base_url: str
) -> int | None:
    """The tenant a Connect install belongs to when the site came through Forge first:
    the one of the Forge installation Jira named, else the one of the same URL."""
    if installation_id is not None:
        result = await session.execute(
            select(Tenant.id)
            .join(ForgeInstallation, ForgeInstallation.tenant_id == Tenant.id)
            .where(
                ForgeInstallation.installation_id == installation_id,
                Tenant.client_key.is_(None),
            )
        )
        found = result.scalar_one_or_none()
        if found is not None:
            return found
    result = await session.execute(
        select(Tenant.id)
        .where(Tenant.client_key.is_(None), Tenant.base_url == base_url)
        .order_by(Tenant.id)
        .limit(1)
    )
    return result.scalar_one_or_none()


async def adopt_installation(session: AsyncSession, installation_id: str, tenant_id: int) -> None:
    """A Forge installation not yet placed on a site goes to the Connect tenant that named
    it, which takes its cloudId."""
    result = await session.execute(
        update(ForgeInstallation)
        .where(
            ForgeInstallation.installation_id == installation_id,
            ForgeInstallation.tenant_id.is_(None),
        )
        .values(tenant_id=tenant_id, updated_at=utc_now())
        .returning(ForgeInstallation.cloud_id)
    )
    cloud_id = result.scalar_one_or_none()
    if cloud_id is not None:
        await name_site(session, tenant_id, cloud_id)
