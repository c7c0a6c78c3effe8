"""The Jira client for a tenant: which door's credentials its calls go with, decided here.

* A site whose Connect app is installed and enabled is called as that app (a JWT signed with
  its shared secret), also when it has the Forge app too. Nothing changes for an existing
  site when its admins add the Forge app, and a shared secret never lapses, where a Forge
  token lasts hours and comes only with Forge's own calls.
* Otherwise, a site with a live Forge installation is called through `app.apiBaseUrl`
  (`https://api.atlassian.com/ex/jira/{cloudId}`) with the freshest stored app system token.
  When none is valid the site is *waiting for Jira*: nothing is wrong, nothing fails; it
  resumes when Forge next calls with a token (the hourly scheduled trigger at the latest).
* `jira_as_person` acts as the signed-in person instead, with the user token
  (`x-forge-oauth-user`) of their Forge UI call.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from app.runtime import Runtime
from app.tenants import forge_repository, forge_tokens
from app.tenants import repository as tenants
from app.tenants.service import CallerContext, ForgeContext, shared_secret
from connect.jira import JiraSite, SiteJiraClient, StaticBearerTokens

WAITING_FOR_JIRA = (
    "Waiting for Jira: Worklog360's access to this site through its Forge app has lapsed. "
    "Nothing is lost; it carries on by itself when Jira next calls it, within the hour."
)


@dataclass(frozen=True, slots=True)
class JiraAccess:
    """How a tenant's Jira can be called now. `client` None and `waiting` True: the site has
    the Forge app, but no valid token until Forge brings a new one."""

    client: SiteJiraClient | None
    door: str | None = None
    waiting: bool = False


async def jira_access(runtime: Runtime, session: AsyncSession, tenant_id: int) -> JiraAccess:
    tenant = await tenants.get(session, tenant_id)
    if tenant is None:
        return JiraAccess(None)
    if tenant.connect_active and tenant.client_key is not None and tenant.base_url:
        site = JiraSite(
            base_url=tenant.base_url,
            client_key=tenant.client_key,
            shared_secret=shared_secret(runtime.secrets, tenant),
        )
        return JiraAccess(runtime.jira.for_site(site), "connect")
    held = await forge_tokens.freshest(session, runtime.secrets, tenant_id, now=runtime.clock())
    if held is None:
        live = await forge_repository.live_installation(session, tenant_id)
        return JiraAccess(None, "forge", waiting=live is not None)
    return JiraAccess(_forge_client(runtime, tenant_id, held, held.api_base_url), "forge")


def _forge_client(
    runtime: Runtime, tenant_id: int, held: forge_tokens.HeldToken, base_url: str
) -> SiteJiraClient:
    return runtime.jira.with_bearer(
        base_url,
        f"forge:{held.cloud_id}",
        forge_tokens.StoredSystemTokens(runtime, tenant_id, held),
    )


# Atlassian's personal data reporting API, as each door's app calls it.
CONNECT_REPORT_ACCOUNTS_PATH = "/rest/atlassian-connect/1/report-accounts"
FORGE_REPORT_ACCOUNTS_PATH = "/app/report-accounts/"


@dataclass(frozen=True, slots=True)
class PersonalDataReporter:
    """Where a site's accounts are reported: the Connect app on the site's own URL (a JWT
    with the request's qsh), or the Forge app on Atlassian's API gateway
    (`https://api.atlassian.com/app/report-accounts/`, the app system token)."""

    client: SiteJiraClient
    path: str


async def personal_data_reporter(
    runtime: Runtime, session: AsyncSession, tenant_id: int
) -> PersonalDataReporter | None:
    """None when nothing may call Atlassian for the site now (as `jira_for_tenant`)."""
    access = await jira_access(runtime, session, tenant_id)
    if access.client is None:
        return None
    if access.door == "connect":
        return PersonalDataReporter(access.client, CONNECT_REPORT_ACCOUNTS_PATH)
    held = await forge_tokens.freshest(session, runtime.secrets, tenant_id, now=runtime.clock())
    if held is None:
        return None
    parts = urlsplit(held.api_base_url)
    gateway = f"{parts.scheme}://{parts.netloc}"
    return PersonalDataReporter(
        _forge_client(runtime, tenant_id, held, gateway), FORGE_REPORT_ACCOUNTS_PATH
    )


async def jira_for_tenant(
    runtime: Runtime, session: AsyncSession, tenant_id: int
) -> SiteJiraClient | None:
    """None when nothing may call Jira for the tenant now: gone, uninstalled (or disabled)
    through both doors, or waiting for a Forge token."""
    return (await jira_access(runtime, session, tenant_id)).client


def jira_as_person(runtime: Runtime, context: CallerContext) -> SiteJiraClient | None:
    """Jira as the person behind a Forge UI call, with their own token (what they may do in
    Jira, and authored by them); None when the call brought no user token."""
    if not isinstance(context, ForgeContext) or context.user_token is None:
        return None
    invocation = context.invocation
    return runtime.jira.with_bearer(
        invocation.api_base_url,
        f"forge-user:{invocation.cloud_id}:{context.account_id}",
        StaticBearerTokens(context.user_token),
    )
