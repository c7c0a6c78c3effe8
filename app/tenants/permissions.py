"""Who may change billing data: Jira's ADMINISTER global permission, or membership of the
tenant's billing group. Asked of Jira as the app, remembered for at most five minutes."""

from __future__ import annotations

from app.errors import Forbidden, ServiceUnavailable
from app.runtime import Runtime
from app.tenants.jira import jira_for_tenant
from app.tenants.service import ConnectContext
from connect.jira import JiraError

ADMINISTER = "ADMINISTER"


async def require_billing_editor(
    runtime: Runtime, context: ConnectContext, billing_group: str | None
) -> None:
    if not await _allowed(runtime, context, group=billing_group):
        group = f" or members of the '{billing_group}' group" if billing_group else ""
        raise Forbidden(
            f"Only Jira administrators{group} can change billing data.", code="not_allowed"
        )


async def require_site_admin(runtime: Runtime, context: ConnectContext) -> None:
    """Jira's ADMINISTER global permission (connecting and disconnecting QuickBooks)."""
    if not await _allowed(runtime, context, group=None):
        raise Forbidden(
            "Only Jira administrators can connect or disconnect QuickBooks.", code="not_allowed"
        )


async def _allowed(runtime: Runtime, context: ConnectContext, *, group: str | None) -> bool:
    account_id = context.account_id
    if account_id is None:
        return False
    key = (context.tenant.id, account_id, group)
    cached = runtime.permission_cache.get(key)
    if cached is not None:
        return bool(cached)
    async with runtime.sessions() as session:
        jira = await jira_for_tenant(runtime, session, context.tenant.id)
    if jira is None:
        return False
    try:
        allowed = await jira.has_global_permission(account_id, ADMINISTER)
        if not allowed and group:
            allowed = group in await jira.user_group_names(account_id)
    except JiraError as exc:
        raise ServiceUnavailable(
            "Jira did not answer when checking your permissions; try again in a moment.",
            code="jira_unavailable",
        ) from exc
    runtime.permission_cache.put(key, allowed)
    return allowed
