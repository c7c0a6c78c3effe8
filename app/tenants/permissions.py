"""Who may change billing data: Jira's ADMINISTER global permission, or membership of the
tenant's billing group. Asked of Jira as the app (through whichever door `app.tenants.jira`
picks: a site with only the Forge app is asked through api.atlassian.com with its system
token), remembered for at most five minutes."""

from __future__ import annotations

from app.errors import Forbidden, ServiceUnavailable
from app.runtime import Runtime
from app.tenants.jira import WAITING_FOR_JIRA, jira_access
from app.tenants.service import CallerContext
from connect.jira import JiraError

ADMINISTER = "ADMINISTER"


async def require_billing_editor(
    runtime: Runtime, context: CallerContext, billing_group: str | None
) -> None:
    if not await _allowed(runtime, context, group=billing_group):
        group = f" or members of the '{billing_group}' group" if billing_group else ""
        raise Forbidden(
            f"Only Jira administrators{group} can change billing data.", code="not_allowed"
        )


async def is_site_admin(runtime: Runtime, context: CallerContext) -> bool:
    """Whether the caller has ADMINISTER, as a yes or no: a caller whose permissions cannot
    be asked yet is not one (Jira not answering is still a 503)."""
    try:
        return await _allowed(runtime, context, group=None)
    except Forbidden:
        return False


async def require_site_admin(runtime: Runtime, context: CallerContext) -> None:
    """Jira's ADMINISTER global permission (connecting and disconnecting QuickBooks)."""
    if not await _allowed(runtime, context, group=None):
        raise Forbidden(
            "Only Jira administrators can connect or disconnect QuickBooks.", code="not_allowed"
        )


async def _allowed(runtime: Runtime, context: CallerContext, *, group: str | None) -> bool:
    account_id = context.account_id
    if account_id is None:
        return False
    key = (context.tenant.id, account_id, group)
    cached = runtime.permission_cache.get(key)
    if cached is not None:
        return bool(cached)
    async with runtime.sessions() as session:
        access = await jira_access(runtime, session, context.tenant.id)
    jira = access.client
    if jira is None:
        if access.waiting:
            # Refusing is safe, guessing would not be; this passes within the hour.
            raise ServiceUnavailable(
                f"{WAITING_FOR_JIRA} Your Jira permissions cannot be checked until then.",
                code="waiting_for_jira",
            )
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
