"""Connect installation lifecycle and request authentication for tenants.

Lifecycle events are idempotent and order-safe: each carries the `iat` of its verified JWT,
and an event older than the one last applied to the same fact (installed, enabled) changes
nothing. `uninstalled` keeps the tenant's data for a reinstall; its tokens stop working.

A site that reached us first through the Forge door (`app.tenants.forge_service`) is the
same tenant when its Connect app installs: matched by the Forge installationId Jira adds to
the `installed` payload of a Connect app adopted into Forge, else by the site's URL.
"""

from __future__ import annotations

import fnmatch
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from app.crypto import SecretBox
from app.errors import AppError, Forbidden
from app.runtime import Runtime
from app.sealed import SealedColumn
from app.tenants import forge_repository, repository
from app.tenants.models import Tenant
from app.tenants.schemas import LifecyclePayload
from app.timeutil import utc_now
from connect.errors import (
    AuthenticationError,
    InactiveInstallationError,
    UnknownInstallationError,
)
from connect.tokens import SYMMETRIC_ALGORITHM, VerifiedClaims, read_unverified, verify_symmetric
from forge.invocation import InvocationClaims

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TenantRef:
    """What a request needs to know about its tenant: immutable, safe to cache and share.
    `installed`/`enabled` are the Connect door's; a site only on Forge has no clientKey."""

    id: int
    client_key: str | None
    base_url: str | None
    installed: bool
    enabled: bool
    cloud_id: str | None = None

    @property
    def connect_active(self) -> bool:
        return self.installed and self.enabled


def tenant_ref(tenant: Tenant) -> TenantRef:
    return TenantRef(
        id=tenant.id,
        client_key=tenant.client_key,
        base_url=tenant.base_url,
        installed=tenant.installed,
        enabled=tenant.enabled,
        cloud_id=tenant.cloud_id,
    )


@dataclass(frozen=True, slots=True)
class _Credentials:
    tenant: TenantRef
    shared_secret: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class CallerContext:
    """Who is calling the API: the tenant (Jira site) and, when a person is signed in,
    their Atlassian account id; through which door (the same for every route)."""

    tenant: TenantRef
    account_id: str | None
    door: Literal["connect", "forge"]


@dataclass(frozen=True, slots=True)
class ConnectContext(CallerContext):
    """A caller Jira signed for with the installation's shared secret (Connect JWT)."""

    claims: VerifiedClaims


@dataclass(frozen=True, slots=True)
class ForgeContext(CallerContext):
    """A caller Forge vouched for with an invocation token (`principal` is the account).
    `user_token` is the person's own token for Jira (`x-forge-oauth-user`), when Forge sent
    one."""

    invocation: InvocationClaims
    user_token: str | None = field(default=None, repr=False)


def sealed_columns() -> tuple[SealedColumn, ...]:
    """A Connect site's shared secret (for `rotate-secrets`)."""
    return (
        SealedColumn(
            Tenant, "shared_secret_encrypted", lambda row: _secret_context(row.client_key)
        ),
    )


def _secret_context(client_key: str) -> str:
    return f"tenant:{client_key}:shared_secret"


def shared_secret(secrets: SecretBox, tenant: Tenant) -> str:
    if tenant.client_key is None or tenant.shared_secret_encrypted is None:
        raise ValueError(f"tenant {tenant.id} has no Connect installation")
    return secrets.decrypt(
        tenant.shared_secret_encrypted, context=_secret_context(tenant.client_key)
    )


def _host_allowed(base_url: str, allowed_hosts: tuple[str, ...]) -> bool:
    host = (base_url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]).lower()
    return any(fnmatch.fnmatchcase(host, pattern.lower()) for pattern in allowed_hosts)


def check_installation_payload(
    payload: LifecyclePayload, *, app_key: str, allowed_hosts: tuple[str, ...]
) -> None:
    if payload.key != app_key:
        raise AppError(
            f"This callback is for app '{payload.key}', not '{app_key}'.", code="wrong_app_key"
        )
    if not _host_allowed(str(payload.base_url), allowed_hosts):
        raise Forbidden(
            "Installations from this Jira host are not accepted.", code="jira_host_not_allowed"
        )


async def record_installed(
    session: AsyncSession,
    secrets: SecretBox,
    payload: LifecyclePayload,
    claims: VerifiedClaims,
) -> bool:
    """Create or replace the installation (a reinstall brings a new shared secret). A site
    first seen through the Forge door gets its Connect installation on the same tenant."""
    if payload.shared_secret is None:
        raise AppError(
            "The installed callback carries no sharedSecret.", code="missing_shared_secret"
        )
    base_url = str(payload.base_url).rstrip("/")
    values: dict[str, object] = {
        "client_key": payload.client_key,
        "shared_secret_encrypted": secrets.encrypt(
            payload.shared_secret, context=_secret_context(payload.client_key)
        ),
        "base_url": base_url,
        "display_url": str(payload.display_url).rstrip("/") if payload.display_url else None,
        "product_type": payload.product_type,
        "description": payload.description,
        "oauth_client_id": payload.oauth_client_id,
        "service_entitlement_number": payload.service_entitlement_number,
    }
    if payload.installation_id is not None:
        values["linked_forge_installation_id"] = payload.installation_id
    applied = False
    if await repository.get_by_client_key(session, payload.client_key) is None:
        site = await forge_repository.site_without_connect(
            session, installation_id=payload.installation_id, base_url=base_url
        )
        if site is not None:
            applied = await repository.attach_connect(session, site, values, claims.issued_at)
    if not applied:
        applied = await repository.upsert_installed(session, values, claims.issued_at)
    if applied and payload.installation_id is not None:
        tenant = await repository.get_by_client_key(session, payload.client_key)
        assert tenant is not None
        await forge_repository.adopt_installation(session, payload.installation_id, tenant.id)
    logger.info("installed client_key=%s applied=%s", payload.client_key, applied)
    return applied


async def record_uninstalled(
    session: AsyncSession, client_key: str, claims: VerifiedClaims, at: datetime | None = None
) -> bool:
    """`at`: the runtime's clock (the retention of the site's data counts from it)."""
    applied = await repository.mark_uninstalled(
        session, client_key, claims.issued_at, at or utc_now()
    )
    logger.info("uninstalled client_key=%s applied=%s", client_key, applied)
    return applied


async def record_enabled(
    session: AsyncSession, client_key: str, enabled: bool, claims: VerifiedClaims
) -> bool:
    applied = await repository.set_enabled(session, client_key, enabled, claims.issued_at)
    logger.info("enabled=%s client_key=%s applied=%s", enabled, client_key, applied)
    return applied


async def authenticate(
    runtime: Runtime,
    token: str,
    *,
    expected_qsh: str | None,
    accept_context_qsh: bool,
    require_active: bool = True,
) -> ConnectContext:
    """Verify a token Jira signed with an installation's shared secret.

    The issuer is read unverified only to find whose secret to verify with; nothing else
    from the token is trusted before the signature holds.
    """
    unverified = read_unverified(token)
    if unverified.algorithm != SYMMETRIC_ALGORITHM:
        raise AuthenticationError("The JWT is signed with an algorithm we do not accept.")
    credentials = await _credentials(runtime, unverified.issuer)
    if credentials is None:
        raise UnknownInstallationError("The app is not installed on this Jira site.")
    claims = verify_symmetric(
        unverified,
        credentials.shared_secret,
        expected_qsh=expected_qsh,
        accept_context_qsh=accept_context_qsh,
        now=runtime.clock(),
    )
    tenant = credentials.tenant
    if require_active and not tenant.connect_active:
        state = "uninstalled" if not tenant.installed else "disabled"
        raise InactiveInstallationError(f"The app is {state} on this Jira site.")
    return ConnectContext(tenant=tenant, account_id=claims.subject, door="connect", claims=claims)


async def _credentials(runtime: Runtime, client_key: str) -> _Credentials | None:
    cache = runtime.tenant_auth_cache
    cached: _Credentials | None = cache.get(client_key)
    if cached is not None:
        return cached
    async with runtime.sessions() as session:
        tenant = await repository.get_by_client_key(session, client_key)
    if tenant is None:
        return None
    credentials = _Credentials(
        tenant=tenant_ref(tenant), shared_secret=shared_secret(runtime.secrets, tenant)
    )
    cache.put(client_key, credentials)
    return credentials


async def forget_credentials(runtime: Runtime, client_key: str) -> None:
    """After a lifecycle change this process must not go on using what it cached. Called
    before the commit and again after it (as a background task), so that a request racing
    the change cannot cache the old row for the cache's lifetime. Async only so that it
    runs on the event loop, where the cache lives."""
    runtime.tenant_auth_cache.discard(client_key)


def check_lifecycle_issuer(context: ConnectContext, payload: LifecyclePayload) -> None:
    """A site may only switch itself on or off: the body must name the token's issuer."""
    if payload.client_key != context.tenant.client_key:
        raise Forbidden("The callback names another Jira site.", code="client_key_mismatch")


async def announce_enabled(runtime: Runtime, tenant_id: int) -> None:
    for hook in runtime.tenant_hooks.enabled:
        await hook(tenant_id)
