"""QuickBooks rules: connecting a company (OAuth), the connection's state, disconnecting,
the customer list, and which client is invoiced as which customer.

For other domains (invoice sync):

    api = await quickbooks.authorized_api(runtime, tenant_id)   # raises 409s when it can't
    try:
        invoice = await api.create_invoice(body, requestid=...)
    except QuickBooksError as exc:
        raise quickbooks.app_error(exc) from exc
"""

from __future__ import annotations

import hashlib
import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.billing import service as billing
from app.db import transaction
from app.errors import Conflict, NotFound, Unprocessable
from app.quickbooks import repository
from app.quickbooks.client import (
    InvalidGrantError,
    OAuthError,
    QuickBooksApi,
    QuickBooksError,
    TokenSet,
)
from app.quickbooks.errors import QuickBooksNotConnected, app_error
from app.quickbooks.models import (
    QuickBooksConnection,
    QuickBooksCustomer,
    QuickBooksCustomerLink,
    QuickBooksOAuthState,
)
from app.quickbooks.state import StateError, issue_state, state_key, verify_state
from app.quickbooks.tokens import (
    CONNECTED,
    DISCONNECTED,
    EXPIRED,
    ConnectionTokens,
    access_token_of,
    forget_tokens,
    locked_connection,
    refresh_token_of,
    require_live,
    seal_tokens,
)
from app.runtime import Runtime
from app.tenants import repository as tenants
from app.timeutil import utc_now

__all__ = [
    "CustomerLink",
    "app_error",
    "authorized_api",
    "client_links",
]

logger = logging.getLogger(__name__)

EXPIRING_WITHIN_DAYS = 14
CALLBACK_PATH = "/quickbooks/callback"
STATE_COOKIE_PREFIX = "w360_qbo_"


def redirect_uri(runtime: Runtime) -> str:
    return f"{runtime.settings.base_url}{CALLBACK_PATH}"


# --- for other domains -----------------------------------------------------------------------


async def authorized_api(runtime: Runtime, tenant_id: int) -> QuickBooksApi:
    """The tenant's QuickBooks company, ready to call (tokens refreshed as needed).

    Raises `QuickBooksNotConnected` / `QuickBooksReconnectRequired` (409s) when there is no
    usable connection; calls on the result raise `QuickBooksError`s (map with `app_error`),
    except that an `invalid_grant` met while refreshing raises `QuickBooksReconnectRequired`.
    """
    async with runtime.sessions() as session:
        row = require_live(await repository.connection(session, tenant_id))
        assert row.realm_id is not None
        realm_id = row.realm_id
    return runtime.quickbooks.api(realm_id, ConnectionTokens(runtime, tenant_id))


@dataclass(frozen=True, slots=True)
class CustomerLink:
    """How a client appears in QuickBooks. `active`/`currency` are None when the customer is
    not in the cached list (not read yet)."""

    customer_id: str
    display_name: str
    active: bool | None
    currency: str | None


async def client_links(
    session: AsyncSession, tenant_id: int, client_ids: list[int] | set[int] | tuple[int, ...]
) -> dict[int, CustomerLink]:
    """The QuickBooks customer of each of these clients that has one."""
    links: dict[int, CustomerLink] = {}
    for link, customer in await repository.links_with_customers(session, tenant_id, client_ids):
        links[link.client_id] = CustomerLink(
            customer_id=link.customer_id,
            display_name=customer.display_name if customer else link.display_name,
            active=customer.active if customer else None,
            currency=customer.currency if customer else None,
        )
    return links


# --- the connection's state ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConnectionView:
    connected: bool
    realm_id: str | None
    company_name: str | None
    connected_at: datetime | None
    expires_at: datetime | None
    days_left: int | None
    state: str


def describe(row: QuickBooksConnection | None, now: datetime) -> ConnectionView:
    if row is None or row.status == DISCONNECTED or row.realm_id is None:
        return ConnectionView(False, None, None, None, None, None, DISCONNECTED)
    expiries = [e for e in (row.refresh_token_expires_at, row.refresh_token_hard_expires_at) if e]
    expires_at = min(expiries) if expiries else None
    days_left = None
    if expires_at is not None:
        days_left = max(0, math.floor((expires_at - now) / timedelta(days=1)))
    if (
        row.status == EXPIRED
        or row.refresh_token_encrypted is None
        or (expires_at is not None and expires_at <= now)
    ):
        state = EXPIRED
    elif days_left is not None and days_left < EXPIRING_WITHIN_DAYS:
        state = "expiring"
    else:
        state = CONNECTED
    return ConnectionView(
        connected=state in (CONNECTED, "expiring"),
        realm_id=row.realm_id,
        company_name=row.company_name,
        connected_at=row.connected_at,
        expires_at=expires_at,
        days_left=0 if state == EXPIRED else days_left,
        state=state,
    )


async def connection_view(
    runtime: Runtime, session: AsyncSession, tenant_id: int
) -> ConnectionView:
    return describe(await repository.connection(session, tenant_id), runtime.quickbooks.now())


async def disconnect(runtime: Runtime, tenant_id: int) -> ConnectionView:
    """Revoke the connection at Intuit and forget its tokens. The company stays remembered
    (with customer links) in case the same company is connected again."""
    async with locked_connection(runtime, tenant_id) as (_session, row):
        if row is None or row.status == DISCONNECTED:
            return describe(None, runtime.quickbooks.now())
        token = _token_for_revoke(runtime, row)
        if token is not None:
            try:
                await runtime.quickbooks.revoke(token)
            except QuickBooksError as exc:
                # The user asked to be disconnected: we forget the tokens anyway (they are
                # useless without us), and say so in the log for support.
                logger.warning(
                    "QuickBooks revoke failed for tenant %s (intuit_tid=%s): %s",
                    tenant_id,
                    exc.intuit_tid,
                    exc.message,
                )
        forget_tokens(row)
        row.status = DISCONNECTED
        row.refresh_token_expires_at = None
        row.refresh_token_hard_expires_at = None
        row.last_error = None
    return describe(None, runtime.quickbooks.now())


def _token_for_revoke(runtime: Runtime, row: QuickBooksConnection) -> str | None:
    try:
        return refresh_token_of(runtime.secrets, row) or access_token_of(runtime.secrets, row)
    except Exception:  # an unreadable token cannot be revoked; forgetting it is what's left
        logger.warning("stored QuickBooks token of tenant %s is unreadable", row.tenant_id)
        return None


# --- connecting (OAuth) ----------------------------------------------------------------------


def begin_connect(runtime: Runtime, tenant_id: int, account_id: str) -> tuple[str, str]:
    """Intuit's authorize URL for this tenant and user, and the state's nonce (which the
    route also puts in a cookie, so the callback must come back to the same browser)."""
    if not runtime.quickbooks.configured:
        raise Conflict(
            "QuickBooks is not set up on this Worklog360 server (W360_QBO_CLIENT_ID and "
            "W360_QBO_CLIENT_SECRET are missing). Ask whoever runs it.",
            code="quickbooks_not_configured",
        )
    state, nonce = issue_state(
        state_key(runtime.settings.effective_secret_key),
        tenant_id=tenant_id,
        account_id=account_id,
        now=runtime.quickbooks.now(),
    )
    return runtime.quickbooks.authorization_url(
        redirect_uri=redirect_uri(runtime), state=state
    ), nonce


@dataclass(frozen=True, slots=True)
class CallbackResult:
    """What the callback page shows: `outcome` is `connected` or an error code."""

    outcome: str
    status_code: int = 200
    company_name: str | None = None
    realm_id: str | None = None
    intuit_error: str | None = None

    @property
    def connected(self) -> bool:
        return self.outcome == CONNECTED


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


async def complete_connect(
    runtime: Runtime,
    *,
    state: str | None,
    code: str | None,
    realm_id: str | None,
    error: str | None,
    state_cookies: set[str],
) -> CallbackResult:
    """Intuit's redirect back: check the state, exchange the code once, store the company."""
    if not state:
        return CallbackResult("state_missing", 400)
    try:
        claims = verify_state(
            state_key(runtime.settings.effective_secret_key), state, now=runtime.quickbooks.now()
        )
    except StateError as exc:
        return CallbackResult(exc.code, 400)
    if claims.nonce not in state_cookies:
        # Login CSRF: a state someone else started must not connect their company here.
        return CallbackResult("state_other_browser", 403)
    if error:
        return CallbackResult(
            "access_denied" if error == "access_denied" else "intuit_error", 400, intuit_error=error
        )
    if not code or not realm_id:
        return CallbackResult("callback_incomplete", 400)
    if len(realm_id) > 32 or not realm_id.isdigit():
        return CallbackResult("callback_incomplete", 400)

    claimed = await _claim_state(
        runtime, claims.nonce, claims.tenant_id, claims.account_id, code, realm_id
    )
    if claimed is not None:
        return claimed
    try:
        result = await _connect(runtime, claims.tenant_id, claims.account_id, code, realm_id)
    except Exception:
        # Record an outcome all the same: a reload must not show "connecting…" for ever.
        logger.exception("QuickBooks callback failed for tenant %s", claims.tenant_id)
        result = CallbackResult("quickbooks_unavailable", 503)
    async with transaction(runtime.sessions) as session:
        used = await repository.oauth_state(session, claims.nonce)
        if used is not None:
            used.outcome = result.outcome
    return result


async def _claim_state(
    runtime: Runtime, nonce: str, tenant_id: int, account_id: str, code: str, realm_id: str
) -> CallbackResult | None:
    """Record the state as used (committed at once, so every process sees it). None when this
    request won it; otherwise what the earlier use of the same redirect showed."""
    try:
        async with transaction(runtime.sessions) as session:
            tenant = await tenants.get(session, tenant_id)
            if tenant is None or not tenant.active:
                return CallbackResult("tenant_inactive", 400)
            session.add(
                QuickBooksOAuthState(
                    nonce=nonce,
                    tenant_id=tenant_id,
                    account_id=account_id,
                    code_digest=_digest(code),
                    realm_id=realm_id,
                    used_at=runtime.quickbooks.now(),
                )
            )
            await session.flush()
        return None
    except IntegrityError:
        pass
    async with runtime.sessions() as session:
        used = await repository.oauth_state(session, nonce)
        if used is None or used.code_digest != _digest(code) or used.realm_id != realm_id:
            return CallbackResult("state_used", 400)
        if used.outcome is None:
            return CallbackResult("in_progress", 202)
        if used.outcome != CONNECTED:
            return CallbackResult(used.outcome, 400)
        row = await repository.connection(session, tenant_id)
        return CallbackResult(
            CONNECTED,
            company_name=row.company_name if row is not None else None,
            realm_id=realm_id,
        )


async def _connect(
    runtime: Runtime, tenant_id: int, account_id: str, code: str, realm_id: str
) -> CallbackResult:
    async with runtime.sessions() as session:
        holder = await repository.connection_by_realm(session, realm_id)
        if holder is not None and holder.tenant_id != tenant_id:
            other = await tenants.get(session, holder.tenant_id)
            # A company stays with a site while it is connected or waiting for a reconnect;
            # a site that disconnected it or left Jira lets it go.
            if holder.status != DISCONNECTED and other is not None and other.active:
                return CallbackResult("realm_in_use", 409, realm_id=realm_id)
    try:
        tokens = await runtime.quickbooks.exchange_code(code, redirect_uri=redirect_uri(runtime))
    except InvalidGrantError:
        return CallbackResult("code_rejected", 400)
    except OAuthError as exc:
        return CallbackResult("intuit_error", 400, intuit_error=exc.error)
    except QuickBooksError as exc:
        logger.warning("QuickBooks code exchange failed (intuit_tid=%s)", exc.intuit_tid)
        return CallbackResult("quickbooks_unavailable", 503)

    try:
        replaced = await _store_connection(runtime, tenant_id, account_id, realm_id, tokens)
    except IntegrityError:
        # Another site took the company in the meantime: give these tokens back.
        await _revoke_quietly(runtime, tokens.refresh_token)
        return CallbackResult("realm_in_use", 409, realm_id=realm_id)
    if replaced is not None:
        await _revoke_quietly(runtime, replaced)

    company_name = await _read_company_name(runtime, tenant_id)
    return CallbackResult(CONNECTED, company_name=company_name, realm_id=realm_id)


async def _store_connection(
    runtime: Runtime, tenant_id: int, account_id: str, realm_id: str, tokens: TokenSet
) -> str | None:
    """Save the new tokens (committed before anything else happens). Returns the refresh
    token of a different company this tenant was connected to, to revoke."""
    now = runtime.quickbooks.now()
    replaced: str | None = None
    async with locked_connection(runtime, tenant_id) as (session, row):
        holder = await repository.connection_by_realm(session, realm_id)
        if holder is not None and holder.tenant_id != tenant_id:
            holder.realm_id = None
            forget_tokens(holder)
            holder.status = DISCONNECTED
            await session.flush()
        if row is None:
            row = QuickBooksConnection(tenant_id=tenant_id, token_generation=0)
            session.add(row)
        elif row.realm_id is not None and row.realm_id != realm_id:
            if row.status != DISCONNECTED:
                replaced = refresh_token_of(runtime.secrets, row)
            # Customers and links belong to the previous company.
            await repository.forget_customers(session, tenant_id)
            row.customers_refreshed_at = None
            row.company_name = None
        row.realm_id = realm_id
        row.environment = runtime.settings.qbo.environment
        row.connected_by = account_id
        row.connected_at = now
        row.refresh_token_hard_expires_at = None
        seal_tokens(runtime.secrets, row, tokens, now=now)
        await session.flush()
    return replaced


async def _read_company_name(runtime: Runtime, tenant_id: int) -> str | None:
    api = await authorized_api(runtime, tenant_id)
    try:
        info = await api.company_info()
    except QuickBooksError as exc:
        # Connected all the same; the name is filled in on a later read.
        logger.warning("CompanyInfo read failed (intuit_tid=%s): %s", exc.intuit_tid, exc.message)
        return None
    name = str(info.get("CompanyName") or info.get("LegalName") or "") or None
    async with transaction(runtime.sessions) as session:
        row = await repository.connection(session, tenant_id)
        if row is not None:
            row.company_name = name
    return name


async def _revoke_quietly(runtime: Runtime, token: str) -> None:
    try:
        await runtime.quickbooks.revoke(token)
    except QuickBooksError as exc:
        logger.warning("QuickBooks revoke failed (intuit_tid=%s): %s", exc.intuit_tid, exc.message)


# --- customers -------------------------------------------------------------------------------


def search_key(text: str) -> str:
    """What customer search compares: case-folded, typographic apostrophes made plain."""
    return text.replace("\u2019", "'").replace("\u2018", "'").replace("\u02bc", "'").casefold()


async def refresh_customers(runtime: Runtime, tenant_id: int) -> int:
    """Read every customer (inactive ones too, page by page) into the tenant's cache."""
    api = await authorized_api(runtime, tenant_id)
    try:
        found = await api.customers(include_inactive=True)
    except QuickBooksError as exc:
        raise app_error(exc) from exc
    rows = [_customer_row(c) for c in found]
    async with transaction(runtime.sessions) as session:
        # Two refreshes at once would each delete and re-insert the same rows: take turns.
        await repository.lock_connection(session, tenant_id)
        await repository.replace_customers(session, tenant_id, rows)
        await repository.rename_links(
            session, tenant_id, {str(r["id"]): str(r["display_name"]) for r in rows}
        )
        row = await repository.connection(session, tenant_id)
        if row is not None:
            row.customers_refreshed_at = runtime.quickbooks.now()
    return len(rows)


def _customer_row(customer: dict[str, Any]) -> dict[str, object]:
    name = str(customer.get("DisplayName") or customer.get("FullyQualifiedName") or "")
    currency = customer.get("CurrencyRef")
    return {
        "id": str(customer["Id"]),
        "display_name": name,
        "search_key": search_key(name),
        "currency": str(currency["value"])[:3] if isinstance(currency, dict) else None,
        "active": bool(customer.get("Active", True)),
    }


async def list_customers(
    runtime: Runtime,
    tenant_id: int,
    *,
    query: str | None,
    refresh: bool,
    cursor: str | None,
    limit: int,
) -> tuple[list[QuickBooksCustomer], str | None]:
    """The cached customers matching `query` (read from QuickBooks first when asked, or when
    the list was never read)."""
    offset = _offset(cursor)
    async with runtime.sessions() as session:
        row = require_live(await repository.connection(session, tenant_id))
        never_read = row.customers_refreshed_at is None
    if refresh or never_read:
        await refresh_customers(runtime, tenant_id)
    async with runtime.sessions() as session:
        found = await repository.customers(
            session,
            tenant_id,
            search=search_key(query.strip()) if query and query.strip() else None,
            offset=offset,
            limit=limit + 1,
        )
    next_cursor = str(offset + limit) if len(found) > limit else None
    return found[:limit], next_cursor


def _offset(cursor: str | None) -> int:
    if cursor is None or cursor == "":
        return 0
    if not cursor.isdigit() or len(cursor) > 9:
        raise Unprocessable("The cursor is not one this list gave.", code="invalid_cursor")
    return int(cursor)


# --- links -----------------------------------------------------------------------------------


async def link_customer(
    session: AsyncSession, tenant_id: int, client_id: int, customer_id: str, account_id: str | None
) -> tuple[QuickBooksCustomerLink, QuickBooksCustomer]:
    """Invoice this client as that QuickBooks customer: one customer per client and one
    client per customer."""
    client = await billing.get_client(session, tenant_id, client_id)
    customer_id = customer_id.strip()
    connection = await repository.connection(session, tenant_id)
    if connection is None or connection.status == DISCONNECTED:
        raise QuickBooksNotConnected()
    customer = await repository.customer(session, tenant_id, customer_id)
    if customer is None:
        raise NotFound(
            f"There is no QuickBooks customer {customer_id} in the customer list. Missing "
            "customer? Refresh the list, or create the customer in QuickBooks first.",
            code="quickbooks_customer_not_found",
        )
    if not customer.active:
        raise Unprocessable(
            f"The QuickBooks customer '{customer.display_name}' is inactive. Make it active "
            "in QuickBooks, refresh the customer list, and link it again.",
            code="quickbooks_customer_inactive",
        )
    holder = await repository.link_of_customer(session, tenant_id, customer_id)
    if holder is not None and holder.client_id != client.id:
        raise await _already_linked(session, tenant_id, customer, holder.client_id)
    link = await repository.link_of_client(session, tenant_id, client.id)
    if link is not None and link.customer_id == customer_id:
        return link, customer
    try:
        async with session.begin_nested():
            if link is None:
                link = QuickBooksCustomerLink(tenant_id=tenant_id, client_id=client.id)
                session.add(link)
            link.customer_id = customer.id
            link.display_name = customer.display_name
            link.linked_by = account_id
            link.linked_at = utc_now()
            await session.flush()
    except IntegrityError as exc:
        # Someone linked the customer to another client at the same moment.
        holder = await repository.link_of_customer(session, tenant_id, customer_id)
        raise await _already_linked(
            session, tenant_id, customer, holder.client_id if holder else None
        ) from exc
    return link, customer


async def _already_linked(
    session: AsyncSession, tenant_id: int, customer: QuickBooksCustomer, client_id: int | None
) -> Conflict:
    other = ""
    if client_id is not None:
        try:
            other = f" '{(await billing.get_client(session, tenant_id, client_id)).name}'"
        except NotFound:
            other = ""
    return Conflict(
        f"The QuickBooks customer '{customer.display_name}' is already linked to the client"
        f"{other}. Unlink it there first: a customer is linked to one client only.",
        code="customer_already_linked",
    )


async def unlink_customer(session: AsyncSession, tenant_id: int, client_id: int) -> None:
    client = await billing.get_client(session, tenant_id, client_id)
    await repository.unlink(session, tenant_id, client.id)


# --- upkeep ----------------------------------------------------------------------------------


async def forget_used_states(runtime: Runtime) -> None:
    async with transaction(runtime.sessions) as session:
        await repository.forget_oauth_states(session, runtime.quickbooks.now() - timedelta(days=1))
