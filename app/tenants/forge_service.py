"""The Forge door: Forge installations, their lifecycle, and who a Forge caller is.

A Forge installation belongs to a site (a tenant) keyed by its `cloudId`, which never
changes; its `installationId` changes on every reinstall and is kept. A site that also has
the Connect app is the same tenant, found by the Forge installationId Jira put in the Connect
`installed` payload (a Connect app adopted into Forge), else by the site's URL (Connect
`baseUrl` = FIT `context.siteUrl`).

Lifecycle is idempotent and safe when late, twice or out of order, by installationId rather
than by time (Forge retries an event up to four times over four minutes, each time with a
new token, so a token's `iat` says little about when the event happened):

* `installed`/`upgraded` of a live installation updates it; of an id that was uninstalled or
  replaced, changes nothing (a reinstall is a new id, so nothing is lost by that);
* `preUninstall` retires the id for good, even before its `installed` arrives;
* a new installation of a site and environment replaces the older one, whose late events
  are then ignored; the tenant, and so its data, stays.

A UI call from an installation we have not heard of is taken as its late `installed`: the
install event may still be on its way, or lost after Forge's retries.

Where the site is: a lifecycle event names the site only by cloudId, so once it is recorded
the site's URL is asked of Jira itself (`GET {apiBaseUrl}/rest/api/3/serverInfo` with the
system token) and the installation placed on its tenant, the one of the same site through
the Connect door if there is one; then the backfill starts, as a Connect install's does.
Until then nothing is stored for it: there is no tenant to store it for.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from app.crypto import SecretBox
from app.db import transaction
from app.errors import Unauthorized
from app.runtime import Runtime
from app.tenants import forge_repository as repository
from app.tenants import forge_tokens
from app.tenants.forge_tokens import system_token
from app.tenants.models import ForgeInstallation, Tenant
from app.tenants.service import ForgeContext, TenantRef, announce_enabled, tenant_ref
from app.timeutil import utc_now
from connect.jira import JiraError, StaticBearerTokens
from forge.invocation import InvocationClaims, normalise_site_url
from forge.oauth import app_token

logger = logging.getLogger(__name__)

INSTALLED = "avi:forge:installed:app"
UPGRADED = "avi:forge:upgraded:app"


@dataclass(frozen=True, slots=True)
class ForgeSite:
    """What an API call needs to know about the installation it comes from (cached)."""

    installed: bool
    cloud_id: str
    tenant: TenantRef | None


__all__ = ["ForgeSite", "api_caller", "place_installation", "system_token", "trigger_site"]


def _values(claims: InvocationClaims) -> dict[str, Any]:
    return {
        "installation_id": claims.installation_id,
        "cloud_id": claims.cloud_id,
        "app_version": claims.app_version,
        "environment_type": claims.environment_type,
        "environment_id": claims.environment_id,
        "api_base_url": claims.api_base_url,
        "site_url": claims.site_url,
    }


async def record_installed(
    session: AsyncSession,
    secrets: SecretBox,
    claims: InvocationClaims,
    token: str | None,
    *,
    now: float,
    find_or_create_site: bool = False,
) -> bool:
    """`installed` / `upgraded` (or a first call): False when the id is no longer live.
    `now` is what the token's expiry is read against (the runtime's clock)."""
    at = utc_now()
    row = await repository.record_installed(session, _values(claims), claims.issued_at)
    if row is None:
        logger.info("forge installed installation=%s ignored: uninstalled", claims.installation_id)
        return False
    if not await repository.supersede(session, row, at):
        logger.info("forge installed installation=%s ignored: replaced", claims.installation_id)
        return False
    if token is not None:
        await forge_tokens.store(session, secrets, row, token, now=now)
    tenant_id = await _place(
        session, row, claims.cloud_id, claims.site_url, create=find_or_create_site
    )
    logger.info(
        "forge installed installation=%s cloud=%s tenant=%s",
        claims.installation_id,
        claims.cloud_id,
        tenant_id,
    )
    return True


async def record_uninstalled(
    session: AsyncSession, claims: InvocationClaims, at: datetime | None = None
) -> None:
    """`at`: the runtime's clock (the retention of the site's data counts from it)."""
    await repository.record_uninstalled(session, _values(claims), claims.issued_at, at or utc_now())
    logger.info("forge uninstalled installation=%s", claims.installation_id)


async def _place(
    session: AsyncSession,
    row: ForgeInstallation,
    cloud_id: str,
    site_url: str | None,
    *,
    create: bool,
) -> int | None:
    """The tenant of the installation's site, found (or made, once the site's URL is known
    and no tenant has it) and linked."""
    if row.tenant_id is not None:
        if site_url is not None:
            await repository.learn_site_url(session, row.tenant_id, site_url)
        return row.tenant_id
    tenant = await _site(session, cloud_id, row.installation_id, site_url)
    if tenant is None and create:
        tenant = await repository.create_site(session, cloud_id, site_url)
    if tenant is None:
        return None  # a lifecycle event names no URL: placed when the site is known
    await repository.name_site(session, tenant.id, cloud_id)
    if site_url is not None:
        await repository.learn_site_url(session, tenant.id, site_url)
    await repository.attach(session, row.id, tenant.id)
    return tenant.id


async def _site(
    session: AsyncSession, cloud_id: str, installation_id: str, site_url: str | None
) -> Tenant | None:
    found = await repository.tenant_by_cloud_id(session, cloud_id)
    if found is None:
        found = await repository.tenant_linked_to(session, installation_id)
    if found is None and site_url is not None:
        found = await repository.tenant_by_site_url(session, site_url)
    return found


async def place_installation(runtime: Runtime, installation_id: str) -> int | None:
    """Put a live installation on its site's tenant, asking Jira for the site's URL first if
    it is not placed yet; then the site's backfill starts (as when a Connect app is
    enabled). The tenant's id, or None when it cannot be placed now (no valid token yet, or
    Jira did not answer: the next trigger, event or UI call tries again)."""
    if installation_id in runtime.forge_placing:
        return None
    runtime.forge_placing.add(installation_id)
    try:
        return await _place_installation(runtime, installation_id)
    finally:
        runtime.forge_placing.discard(installation_id)


async def _place_installation(runtime: Runtime, installation_id: str) -> int | None:
    async with runtime.sessions() as session:
        row = await repository.installation(session, installation_id)
    if row is None or not row.installed:
        return None
    tenant_id = row.tenant_id
    if tenant_id is None:
        token = forge_tokens.valid_token(runtime.secrets, row, now=runtime.clock())
        if token is None:
            logger.info("forge installation=%s not placed yet: no valid token", installation_id)
            return None
        site_url = await _site_url_from_jira(runtime, row, token)
        if site_url is None:
            return None
        async with runtime.writer_lock.hold(), transaction(runtime.sessions) as session:
            row = await repository.installation(session, installation_id)
            if row is None or not row.installed:
                return None
            tenant_id = await _place(session, row, row.cloud_id, site_url, create=True)
        await forget_site(runtime, installation_id)
        logger.info("forge installation=%s placed on tenant=%s", installation_id, tenant_id)
    if tenant_id is not None:
        await announce_enabled(runtime, tenant_id)
    return tenant_id


async def _site_url_from_jira(runtime: Runtime, row: ForgeInstallation, token: str) -> str | None:
    jira = runtime.jira.with_bearer(
        row.api_base_url, f"forge:{row.cloud_id}", StaticBearerTokens(token)
    )
    try:
        info = await jira.server_info()
    except JiraError as exc:
        # Forge says an app's permissions can lag at install (401/403): a later call retries.
        logger.info(
            "forge installation=%s: Jira did not say the site's URL: %s",
            row.installation_id,
            exc.message,
        )
        return None
    base_url = info.get("baseUrl") if isinstance(info, dict) else None
    if not isinstance(base_url, str) or len(base_url) > 255:
        return None
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return normalise_site_url(base_url)


# --- who is calling --------------------------------------------------------------------------


async def api_caller(
    runtime: Runtime,
    claims: InvocationClaims,
    *,
    system_token: str | None = None,
    user_token: str | None = None,
) -> ForgeContext:
    """The tenant and person of a verified UI call, or a 401 saying why not. The call's app
    system token (`x-forge-oauth-system`) is kept when it is fresher than the stored one;
    its user token (`x-forge-oauth-user`) goes with the context, to act as the person."""
    if claims.principal is None:
        raise Unauthorized(
            "Only a person using Worklog360 in Jira can call its API; this Forge call has no "
            "signed-in user.",
            code="forge_principal_missing",
        )
    site = runtime.forge_sites.get(claims.installation_id)
    # An event may have cached the installation before its site was known: a UI call, which
    # names the site's URL, places it.
    if site is None or (site.installed and site.tenant is None):
        site = await _site_of_call(runtime, claims)
        runtime.forge_sites.put(claims.installation_id, site)
    if not site.installed:
        raise Unauthorized(
            "Worklog360 was uninstalled from this Jira site; a Jira admin can install it "
            "again from the Forge install link.",
            code="installation_inactive",
        )
    if site.cloud_id != claims.cloud_id or site.tenant is None:
        raise Unauthorized(
            "This Forge installation belongs to another Jira site.", code="site_mismatch"
        )
    await forge_tokens.keep_system_token(runtime, claims.installation_id, system_token)
    return ForgeContext(
        tenant=site.tenant,
        account_id=claims.principal,
        door="forge",
        invocation=claims,
        user_token=app_token(user_token),
    )


async def trigger_site(runtime: Runtime, claims: InvocationClaims) -> ForgeSite:
    """The installation a call from Forge itself (event, schedule) comes from. One we have
    not heard of is taken as its late `installed`, not yet placed on a site."""
    cached: ForgeSite | None = runtime.forge_sites.get(claims.installation_id)
    if cached is not None:
        return cached
    async with runtime.sessions() as session:
        site = await _read_site(session, claims.installation_id)
    if site is None:
        async with runtime.writer_lock.hold(), transaction(runtime.sessions) as session:
            await record_installed(session, runtime.secrets, claims, None, now=runtime.clock())
            site = await _read_site(session, claims.installation_id)
        assert site is not None
    runtime.forge_sites.put(claims.installation_id, site)
    return site


async def _site_of_call(runtime: Runtime, claims: InvocationClaims) -> ForgeSite:
    async with runtime.sessions() as session:
        site = await _read_site(session, claims.installation_id)
    settled = site is not None and (
        not site.installed
        or (site.tenant is not None and (site.tenant.base_url or claims.site_url is None))
    )
    if site is not None and settled:
        return site
    # The first call of an installation, or of a site not yet placed: write once.
    async with runtime.writer_lock.hold(), transaction(runtime.sessions) as session:
        await record_installed(
            session,
            runtime.secrets,
            claims,
            None,
            now=runtime.clock(),
            find_or_create_site=True,
        )
        placed = await _read_site(session, claims.installation_id)
    assert placed is not None
    if placed.tenant is not None and (site is None or site.tenant is None):
        await announce_enabled(runtime, placed.tenant.id)  # placed just now: its backfill
    return placed


async def _read_site(session: AsyncSession, installation_id: str) -> ForgeSite | None:
    row = await repository.installation(session, installation_id)
    if row is None:
        return None
    tenant = None
    if row.tenant_id is not None:
        found = await session.get(Tenant, row.tenant_id, populate_existing=True)
        tenant = tenant_ref(found) if found is not None else None
    return ForgeSite(installed=row.installed, cloud_id=row.cloud_id, tenant=tenant)


async def forget_site(runtime: Runtime, installation_id: str) -> None:
    """Async so that it runs on the event loop, where the cache lives (as the Connect one)."""
    runtime.forge_sites.discard(installation_id)
