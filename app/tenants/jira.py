"""The Jira client for a tenant, built from its stored installation."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.runtime import Runtime
from app.tenants import repository as tenants
from app.tenants.service import shared_secret
from connect.jira import JiraSite, SiteJiraClient


async def jira_for_tenant(
    runtime: Runtime, session: AsyncSession, tenant_id: int
) -> SiteJiraClient | None:
    """None when the tenant is gone, uninstalled or disabled: nothing may call Jira for it."""
    tenant = await tenants.get(session, tenant_id)
    if tenant is None or not tenant.active:
        return None
    return runtime.jira.for_site(
        JiraSite(
            base_url=tenant.base_url,
            client_key=tenant.client_key,
            shared_secret=shared_secret(runtime.secrets, tenant),
        )
    )
