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
from urllib.parse import urlencode

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.billing import service as billing
from app.billing.models import Client
from app.db import transaction
from app.errors import Conflict, NotFound, Unauthorized, Unprocessable
from app.quickbooks import repository
from app.quickbooks.api_errors import InvalidGrantError, OAuthError, QuickBooksError
from app.quickbooks.client import QuickBooksApi, TokenSet
from app.quickbooks.errors import QuickBooksNotConnected, app_error
from app.quickbooks.models import (
    QuickBooksConnection,
    QuickBooksConnectLink,
    QuickBooksCustomer,
    QuickBooksCustomerLink,
    QuickBooksOAuthState,
)
from app.quickbooks.state import (
    LinkClaims,
    PdfLinkClaims,
    StateError,
    issue_connect_link_token,
    issue_state,
    link_key,
    state_key,
    verify_connect_link,
    verify_state,
)
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


def _require_configured(runtime: Runtime) -> None:
    if not runtime.quickbooks.configured:
        raise Conflict(
            "QuickBooks is not set up on this Worklog360 server (W360_QBO_CLIENT_ID and "
            "W360_QBO_CLIENT_SECRET are missing). Ask whoever runs it.",
            code="quickbooks_not_configured",
        )


@dataclass(frozen=True, slots=True)
class ConnectLink:
    url: str
    expires_at: datetime


LINK_PROBLEMS = {
    "link_invalid": (
        "This Connect to QuickBooks link was not made by Worklog360, or was altered, so it "
        "was refused. Nothing was changed."
    ),
    "link_expired": "This Connect to QuickBooks link expired: each link works for 5 minutes.",
}


def issue_connect_link(runtime: Runtime, tenant_id: int, account_id: str) -> ConnectLink:
    """A link that starts connecting QuickBooks for this tenant and person, once, within
    minutes: the Forge door's way to Intuit (a Forge page has no Jira token to put in a URL;
    the Connect door's `?jwt=` stays)."""
    _require_configured(runtime)
    token, expires_at = issue_connect_link_token(
        link_key(runtime.settings.effective_secret_key),
        tenant_id=tenant_id,
        account_id=account_id,
        now=runtime.quickbooks.now(),
    )
    url = f"{runtime.settings.base_url.rstrip('/')}/quickbooks/connect?{urlencode({'link': token})}"
    return ConnectLink(url=url, expires_at=expires_at)


async def redeem_connect_link(runtime: Runtime, token: str) -> tuple[int, str]:
    """The tenant and person a link was made for, recording it as used (committed at once,
    so a second use is refused in every process)."""
    try:
        claims = verify_connect_link(
            link_key(runtime.settings.effective_secret_key), token, now=runtime.quickbooks.now()
        )
    except StateError as exc:
        raise Unauthorized(LINK_PROBLEMS[exc.code], code=exc.code) from exc
    await use_link(
        runtime,
        claims,
        uninstalled="Worklog360 is no longer installed on the Jira site this link was made "
        "for, so QuickBooks cannot be connected to it.",
        used="This Connect to QuickBooks link was already used: each link opens QuickBooks "
        "once, so that a copied link cannot connect a company to your site.",
    )
    return claims.tenant_id, claims.account_id


async def use_link(
    runtime: Runtime, claims: LinkClaims | PdfLinkClaims, *, uninstalled: str, used: str
) -> None:
    """Record a verified link as used (committed at once, so a second use is refused in every
    process): 409 `link_used` the second time, 409 `tenant_inactive` for a site that
    uninstalled the app since the link was made."""
    try:
        async with transaction(runtime.sessions) as session:
            if not await tenants.installed(session, claims.tenant_id):
                raise Conflict(uninstalled, code="tenant_inactive")
            session.add(
                QuickBooksConnectLink(
                    nonce=claims.nonce,
                    tenant_id=claims.tenant_id,
                    account_id=claims.account_id,
                    used_at=runtime.quickbooks.now(),
                )
            )
            await session.flush()
    except IntegrityError as exc:
        raise Conflict(used, code="link_used") from exc


def begin_connect(runtime: Runtime, tenant_id: int, account_id: str) -> tuple[str, str]:
    """Intuit's authorize URL for this tenant and user, and the state's nonce (which the
    route also puts in a cookie, so the callback must come back to the same browser)."""
    _require_configured(runtime)
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
            if not await tenants.installed(session, tenant_id):
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
        # A company stays with a site while it is connected or waiting for a reconnect; a
        # site that disconnected it or left Jira (through both doors) lets it go.
        if (
            holder is not None
            and holder.tenant_id != tenant_id
            and holder.status != DISCONNECTED
            and await tenants.installed(session, holder.tenant_id)
        ):
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
        home = await _home_currency(api) if any(_currency_of(c) is None for c in found) else None
    except QuickBooksError as exc:
        raise app_error(exc) from exc
    rows = [_customer_row(c, home) for c in found]
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


def _currency_of(customer: dict[str, Any]) -> str | None:
    currency = customer.get("CurrencyRef")
    if isinstance(currency, dict) and currency.get("value"):
        return str(currency["value"])[:3].upper()
    return None


async def _home_currency(api: QuickBooksApi) -> str | None:
    """A company without multicurrency bills every customer in its home currency."""
    prefs = (await api.preferences()).get("CurrencyPrefs")
    home = prefs.get("HomeCurrency") if isinstance(prefs, dict) else None
    if isinstance(home, dict) and home.get("value"):
        return str(home["value"])[:3].upper()
    return None


def _customer_row(customer: dict[str, Any], home_currency: str | None) -> dict[str, object]:
    name = str(customer.get("DisplayName") or customer.get("FullyQualifiedName") or "")
    return {
        "id": str(customer["Id"]),
        "display_name": name,
        "search_key": search_key(name),
        "currency": _currency_of(customer) or home_currency,
        "active": bool(customer.get("Active", True)),
    }


@dataclass(frozen=True, slots=True)
class CustomerChoice:
    """A customer as the picker offers it: with the client it is linked to, if any."""

    customer: QuickBooksCustomer
    linked_client_id: int | None = None
    linked_client_name: str | None = None


async def list_customers(
    runtime: Runtime,
    tenant_id: int,
    *,
    query: str | None,
    refresh: bool,
    cursor: str | None,
    limit: int,
) -> tuple[list[CustomerChoice], str | None]:
    """The cached customers matching `query` (read from QuickBooks first when asked, or when
    the list was never read), each with the client already linked to it."""
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
        page = found[:limit]
        holders = await repository.clients_of_customers(session, tenant_id, [c.id for c in page])
        names = await billing.client_names(session, tenant_id, set(holders.values()))
    next_cursor = str(offset + limit) if len(found) > limit else None
    choices = [CustomerChoice(c, holders.get(c.id), names.get(holders.get(c.id, 0))) for c in page]
    return choices, next_cursor


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
    # Locked: a currency change and a link at once must not both pass their checks.
    client = await billing.get_client(session, tenant_id, client_id, lock="update")
    customer_id = customer_id.strip()
    connection = await repository.connection(session, tenant_id)
    if connection is None or connection.status == DISCONNECTED:
        raise QuickBooksNotConnected()
    customer = await repository.customer(session, tenant_id, customer_id)
    if customer is None:
        raise NotFound(
            "That QuickBooks customer is not in the customer list read from QuickBooks. "
            "Missing customer? Create it in QuickBooks if need be, then click Refresh "
            "customers and choose it.",
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
    if customer.currency is not None and customer.currency != client.currency:
        # QuickBooks invoices a customer in its own currency only: every invoice of this
        # client would be refused at sync.
        raise Conflict(
            f"{client.name} bills in {client.currency}, but the QuickBooks customer "
            f"{customer.display_name} is in {customer.currency}: choose a {client.currency} "
            f"customer, or change the client's currency.",
            code="currency_mismatch",
        )
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


async def check_currency_change(
    session: AsyncSession, tenant_id: int, client: Client, currency: str
) -> None:
    """A linked client keeps its customer's currency: QuickBooks would refuse its invoices."""
    link = (await client_links(session, tenant_id, [client.id])).get(client.id)
    if link is None or link.currency is None or link.currency == currency:
        return
    raise Conflict(
        f"{client.name} is linked to the QuickBooks customer {link.display_name}, which is "
        f"in {link.currency}, and QuickBooks invoices a customer in its own currency only: "
        f"keep {link.currency}, or unlink the customer first (Edit → QuickBooks → Unlink) "
        f"and link one in {currency}.",
        code="currency_mismatch",
    )


async def unlink_customer(session: AsyncSession, tenant_id: int, client_id: int) -> None:
    client = await billing.get_client(session, tenant_id, client_id)
    await repository.unlink(session, tenant_id, client.id)


# --- upkeep ----------------------------------------------------------------------------------


async def forget_used_states(runtime: Runtime) -> None:
    async with transaction(runtime.sessions) as session:
        await repository.forget_oauth_states(session, runtime.quickbooks.now() - timedelta(days=1))
