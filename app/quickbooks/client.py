"""QuickBooks Online over HTTP: Intuit's OAuth 2.0 endpoints and the Accounting API v3.

Generic (it knows no billing): `QuickBooksClient` is one per process and wraps the runtime's
long-lived `httpx.AsyncClient`; `client.api(realm_id, tokens)` gives a `QuickBooksApi` bound
to one company, which asks a `TokenSource` for its bearer token.

* `minorversion=75` on every API call; `requestid` on writes (callers pass a stable one for
  creates, so a retried create is answered from Intuit's replay cache, never made twice).
* JSON is parsed with `parse_float=Decimal`: amounts never pass through a float.
* Faults become typed errors (app.quickbooks.api_errors), each with Intuit's `code`,
  `detail` and the response's `intuit_tid`.
* Retries: 429 (Intuit did not process it) always; 5xx and lost connections only when the
  call may be repeated (reads, queries, writes with a `requestid`); a connection never made
  always. `Retry-After` is honoured; otherwise capped exponential backoff with full jitter.
* Per realm: at most 10 calls in flight and fewer than 500 a minute (Intuit's limits;
  app.quickbooks.realm_gate in this process, app.quickbooks.call_budget across processes).
* A 401 asks the token source for a new token once, then retries once.
* Logs carry the `intuit_tid` Intuit support asks for, never a token.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import random as _random
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

import httpx
from authlib.oauth2.rfc6749.parameters import (  # type: ignore[import-untyped]
    prepare_grant_uri,
    prepare_token_request,
)

from app.quickbooks.api_errors import (
    InvalidGrantError,
    OAuthError,
    QuickBooksError,
    QuickBooksValidationError,
    ServerError,
    ThrottledError,
    UnavailableError,
    error_for,
)
from app.quickbooks.realm_gate import CallBook, RealmGate
from app.timeutil import utc_now
from connect.retry import RetryPolicy

logger = logging.getLogger(__name__)

MINOR_VERSION = "75"
ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"
MAX_CONCURRENT_PER_REALM = 10
# Intuit allows 500 a minute per realm; stay under it so a retry or a second worker fits.
MAX_CALLS_PER_MINUTE = 450
QUERY_PAGE_SIZE = 1000
BATCH_MAX_ITEMS = 30
REQUESTID_MAX = 50
BATCH_REQUESTID_MAX = 36
MAX_RETRY_AFTER_SECONDS = 120.0

_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def parse_json(response: httpx.Response) -> Any:
    """QuickBooks JSON with every number that has a fraction as a `Decimal`."""
    if not response.content:
        return None
    return json.loads(response.content, parse_float=Decimal)


def dump_json(body: Any) -> bytes:
    """JSON for QuickBooks, with `Decimal` amounts written digit for digit (never via float)."""
    numbers: list[str] = []
    # A marker no string of the body can contain by accident.
    nonce = secrets.token_hex(8)

    def mark(value: Any) -> Any:
        if isinstance(value, Decimal):
            numbers.append(format(value, "f"))
            return f"\x00{nonce}:{len(numbers) - 1}\x00"
        if isinstance(value, dict):
            return {k: mark(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [mark(v) for v in value]
        return value

    text = json.dumps(mark(body), ensure_ascii=False, separators=(",", ":"))
    marker = re.compile(r'"\\u0000' + nonce + r':(\d+)\\u0000"')
    text = marker.sub(lambda m: numbers[int(m.group(1))], text)
    return text.encode("utf-8")


def quote_query_value(value: str) -> str:
    """A string literal for QBO's query language: backslash-escaped apostrophes (a raw `'`
    ends the literal; reference/quickbooks.md §4)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


# --- tokens ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TokenSet:
    """What Intuit's token endpoint answered, with lifetimes made absolute."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    access_expires_at: datetime
    refresh_expires_at: datetime
    refresh_hard_expires_at: datetime | None
    intuit_tid: str | None


class TokenSource(Protocol):
    """Where a `QuickBooksApi` gets its bearer token (the app keeps them in the database)."""

    async def access_token(self) -> str: ...

    async def renew_access_token(self, rejected: str) -> str:
        """Called once after a 401 to `rejected`: a token that works, refreshed if needed."""
        ...


@dataclass(frozen=True, slots=True)
class QuickBooksEndpoints:
    authorize_url: str
    token_url: str
    revoke_url: str
    api_base_url: str


# --- the client ------------------------------------------------------------------------------


class QuickBooksClient:
    """Intuit OAuth and the Accounting API for every realm; one instance per process."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        endpoints: QuickBooksEndpoints,
        *,
        client_id: str | None,
        client_secret: str | None,
        max_attempts: int = 5,
        base_delay: float = 0.5,
        max_delay: float = 30.0,
        max_retry_after: float = MAX_RETRY_AFTER_SECONDS,
        max_concurrency_per_realm: int = MAX_CONCURRENT_PER_REALM,
        max_calls_per_minute: int = MAX_CALLS_PER_MINUTE,
        timeout_seconds: float | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        random: Callable[[], float] = _random.random,
        clock: Callable[[], datetime] = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self.endpoints = endpoints
        self._client_id = client_id
        self._client_secret = client_secret
        # Retry-After HTTP-dates are read against the injected clock, like token lifetimes.
        self._retry = RetryPolicy(
            max_attempts,
            base_delay,
            max_delay,
            max_retry_after,
            sleep,
            random,
            lambda: self.clock().timestamp(),
        )
        self._max_concurrency = max_concurrency_per_realm
        self._max_per_minute = max_calls_per_minute
        # Per call, over the shared client's default (Jira's calls keep theirs).
        self._timeout = (
            httpx.Timeout(timeout_seconds, connect=min(10.0, timeout_seconds))
            if timeout_seconds is not None
            else None
        )
        self._sleep = sleep
        self._monotonic = monotonic
        # "Now" for token lifetimes; tests point it at the emulator's clock.
        self.clock = clock
        self._gates: dict[str, RealmGate] = {}
        self._refresh_locks: dict[str, asyncio.Lock] = {}
        # The company-wide budget shared by every process (app.quickbooks.call_budget),
        # when the runtime gives one; else this process's gate alone keeps the pace.
        self.shared_budget: CallBook | None = None

    @property
    def configured(self) -> bool:
        return bool(self._client_id and self._client_secret)

    def now(self) -> datetime:
        return self.clock()

    def refresh_lock(self, key: str) -> asyncio.Lock:
        """One lock per key (a realm, a tenant): single-flights token refreshes in-process."""
        lock = self._refresh_locks.get(key)
        if lock is None:
            lock = self._refresh_locks[key] = asyncio.Lock()
        return lock

    def retry_after(self, response: httpx.Response) -> float | None:
        """The answer's `Retry-After` in seconds from the injected clock's now."""
        return self._retry.retry_after(response.headers.get("Retry-After"))

    def api(self, realm_id: str, tokens: TokenSource) -> QuickBooksApi:
        return QuickBooksApi(self, realm_id, tokens)

    async def _wait_for_turn(self, realm_id: str, gate: RealmGate) -> Any:
        """The shared budget's booking (None: this process's own gate was waited for)."""
        booking = None if self.shared_budget is None else await self.shared_budget.reserve(realm_id)
        if booking is None:
            await gate.wait_for_turn()
        elif booking.wait > 0:
            await self._sleep(booking.wait)
        return booking

    def _gate(self, realm_id: str) -> RealmGate:
        gate = self._gates.get(realm_id)
        if gate is None:
            gate = self._gates[realm_id] = RealmGate(
                self._max_concurrency, self._max_per_minute, self._sleep, self._monotonic
            )
        return gate

    # --- OAuth -------------------------------------------------------------------------------

    def authorization_url(self, *, redirect_uri: str, state: str) -> str:
        self._require_credentials()
        uri: str = prepare_grant_uri(
            self.endpoints.authorize_url,
            client_id=self._client_id,
            response_type="code",
            redirect_uri=redirect_uri,
            scope=ACCOUNTING_SCOPE,
            state=state,
        )
        return uri

    async def exchange_code(self, code: str, *, redirect_uri: str) -> TokenSet:
        """Trade an authorization code for tokens. Never repeated once it may have reached
        Intuit: a code used twice revokes what it gave."""
        body = prepare_token_request("authorization_code", code=code, redirect_uri=redirect_uri)
        return await self._token_call(body, "exchange the authorization code")

    async def refresh(self, refresh_token: str) -> TokenSet:
        """A new access token and (rotated) refresh token. Not repeated once it may have
        reached Intuit either: the old refresh token dies as the new one is issued."""
        body = prepare_token_request("refresh_token", refresh_token=refresh_token)
        return await self._token_call(body, "refresh the access token")

    async def revoke(self, token: str) -> None:
        """Revoke a refresh (or access) token and with it the whole connection."""
        response = await self._send(
            "POST",
            self.endpoints.revoke_url,
            label="revoke",
            headers={**self._basic(), "Content-Type": "application/json"},
            content=json.dumps({"token": token}).encode(),
            repeatable=True,
        )
        if response.is_success:
            return
        raise self._oauth_error(response, "revoke the connection")

    async def _token_call(self, body: str, purpose: str) -> TokenSet:
        response = await self._send(
            "POST",
            self.endpoints.token_url,
            label="token",
            headers={
                **self._basic(),
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
            content=body.encode(),
            repeatable=False,
        )
        tid = response.headers.get("intuit_tid")
        if not response.is_success:
            raise self._oauth_error(response, purpose)
        data = parse_json(response)
        if not isinstance(data, dict) or not data.get("access_token"):
            raise OAuthError(
                f"Intuit's answer to {purpose} had no access token.",
                error="invalid_response",
                status=response.status_code,
                intuit_tid=tid,
            )
        now = self.now()
        hard = data.get("x_refresh_token_hard_expires_in")
        return TokenSet(
            access_token=str(data["access_token"]),
            refresh_token=str(data["refresh_token"]),
            access_expires_at=now + timedelta(seconds=int(data.get("expires_in", 3600))),
            refresh_expires_at=now
            + timedelta(seconds=int(data.get("x_refresh_token_expires_in", 8_640_000))),
            refresh_hard_expires_at=now + timedelta(seconds=int(hard)) if hard else None,
            intuit_tid=tid,
        )

    def _oauth_error(self, response: httpx.Response, purpose: str) -> QuickBooksError:
        tid = response.headers.get("intuit_tid")
        try:
            data = response.json()
        except ValueError:
            data = None
        error = str(data.get("error")) if isinstance(data, dict) and data.get("error") else ""
        description = str(data.get("error_description") or "") if isinstance(data, dict) else ""
        status = response.status_code
        if not error:
            cls = ServerError if status >= 500 else ThrottledError if status == 429 else None
            if cls is not None:
                return cls(
                    f"Intuit answered {status} when asked to {purpose}.",
                    status=status,
                    intuit_tid=tid,
                )
            error = "invalid_request"
        message = f"Intuit refused to {purpose}: {error}" + (
            f" ({description})" if description else ""
        )
        oauth_cls = InvalidGrantError if error == "invalid_grant" else OAuthError
        return oauth_cls(message, error=error, status=status, detail=description, intuit_tid=tid)

    def _basic(self) -> dict[str, str]:
        self._require_credentials()
        raw = f"{self._client_id}:{self._client_secret}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}

    def _require_credentials(self) -> None:
        if not self.configured:
            raise OAuthError(
                "QuickBooks is not configured: set W360_QBO_CLIENT_ID and W360_QBO_CLIENT_SECRET.",
                error="not_configured",
            )

    # --- sending -----------------------------------------------------------------------------

    async def _send(
        self,
        method: str,
        url: str,
        *,
        label: str,
        headers: Mapping[str, str],
        params: Mapping[str, str] | None = None,
        content: bytes | None = None,
        repeatable: bool,
        realm_id: str | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        """One call with retries; returns the last response (success or not). With `stream`,
        a successful response's body is left unread: the caller reads and closes it."""
        attempt = 0
        while True:
            attempt += 1
            request = self._http.build_request(
                method,
                url,
                params=params,
                content=content,
                headers=headers,
                timeout=self._timeout or httpx.USE_CLIENT_DEFAULT,
            )
            try:
                if realm_id is None:
                    response = await self._http.send(request, stream=stream)
                else:
                    gate = self._gate(realm_id)
                    async with gate.semaphore:
                        booking = await self._wait_for_turn(realm_id, gate)
                        try:
                            response = await self._http.send(request, stream=stream)
                        finally:
                            if booking is not None and self.shared_budget is not None:
                                await self.shared_budget.answered(realm_id, booking)
                if stream and not response.is_success:
                    # An error's body is small and read as JSON; the stream is not needed.
                    try:
                        await response.aread()
                    finally:
                        await response.aclose()
            except httpx.TransportError as exc:
                retryable = repeatable or isinstance(exc, _NEVER_SENT)
                delay = self._retry.delay(attempt, None) if retryable else None
                if delay is None:
                    raise UnavailableError(
                        f"QuickBooks could not be reached for {method} {label} "
                        f"({type(exc).__name__})."
                    ) from exc
                logger.info("QuickBooks unreachable for %s; retrying in %.2f s", label, delay)
                await self._retry.wait(delay)
                continue
            tid = response.headers.get("intuit_tid")
            logger.info(
                "QuickBooks %s %s -> %s intuit_tid=%s", method, label, response.status_code, tid
            )
            if response.is_success:
                return response
            status = response.status_code
            if status == 429 or (repeatable and status >= 500):
                delay = self._retry.delay(
                    attempt, self._retry.retry_after(response.headers.get("Retry-After"))
                )
                if delay is not None:
                    logger.info(
                        "QuickBooks answered %s to %s (intuit_tid=%s); retrying in %.2f s",
                        status,
                        label,
                        tid,
                        delay,
                    )
                    await self._retry.wait(delay)
                    continue
            return response


class QuickBooksApi:
    """The Accounting API of one company (realm)."""

    def __init__(self, client: QuickBooksClient, realm_id: str, tokens: TokenSource) -> None:
        self._client = client
        self.realm_id = realm_id
        self._tokens = tokens

    def _url(self, path: str) -> str:
        return f"{self._client.endpoints.api_base_url}/v3/company/{self.realm_id}/{path}"

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        text_body: str | None = None,
        requestid: str | None = None,
        repeatable: bool | None = None,
    ) -> Any:
        """Send a call to `/v3/company/{realm}/{path}`; the parsed JSON, or a typed error.

        `repeatable` defaults to true for GET and for writes carrying a `requestid` (Intuit
        answers a repeated requestid with the first answer)."""
        method = method.upper()
        query = {**(params or {}), "minorversion": MINOR_VERSION}
        if requestid is not None:
            if len(requestid) > REQUESTID_MAX:
                raise ValueError(f"requestid is longer than {REQUESTID_MAX} characters")
            query["requestid"] = requestid
        if repeatable is None:
            repeatable = method == "GET" or requestid is not None
        headers = {"Accept": "application/json"}
        content: bytes | None = None
        if json_body is not None:
            headers["Content-Type"] = "application/json"
            content = dump_json(json_body)
        elif text_body is not None:
            headers["Content-Type"] = "application/text"
            content = text_body.encode("utf-8")
        label = f"/{path.split('?', 1)[0]}"
        token = await self._tokens.access_token()
        renewed = False
        while True:
            response = await self._client._send(
                method,
                self._url(path),
                label=label,
                headers={**headers, "Authorization": f"Bearer {token}"},
                params=query,
                content=content,
                repeatable=repeatable,
                realm_id=self.realm_id,
            )
            if response.status_code == 401 and not renewed:
                # Expired early, or refreshed by another worker: get a good token, once.
                renewed = True
                token = await self._tokens.renew_access_token(token)
                continue
            if not response.is_success:
                retry_after = self._client.retry_after(response)
                raise error_for(response, f"{method} {label}", retry_after)
            return parse_json(response)

    async def open_stream(self, path: str, *, accept: str) -> httpx.Response:
        """GET `/v3/company/{realm}/{path}` as `accept` (a PDF), the body left unread: the
        caller streams it on and must `aclose()` it. Errors are raised as for `request`."""
        label = f"/{path.split('?', 1)[0]}"
        token = await self._tokens.access_token()
        renewed = False
        while True:
            response = await self._client._send(
                "GET",
                self._url(path),
                label=label,
                headers={"Accept": accept, "Authorization": f"Bearer {token}"},
                params={"minorversion": MINOR_VERSION},
                repeatable=True,
                realm_id=self.realm_id,
                stream=True,
            )
            if response.status_code == 401 and not renewed:
                renewed = True
                token = await self._tokens.renew_access_token(token)
                continue
            if not response.is_success:
                raise error_for(response, f"GET {label}", self._client.retry_after(response))
            return response

    # --- reads -------------------------------------------------------------------------------

    async def query(self, statement: str) -> dict[str, Any]:
        """One page of `SELECT …`: the `QueryResponse` (entity name → list, startPosition…)."""
        body = await self.request("POST", "query", text_body=statement, repeatable=True)
        response = body.get("QueryResponse") if isinstance(body, dict) else None
        return response if isinstance(response, dict) else {}

    async def query_all(
        self, statement: str, entity: str, *, page_size: int = QUERY_PAGE_SIZE
    ) -> list[dict[str, Any]]:
        """Every row of `statement` (no STARTPOSITION/MAXRESULTS of its own), page by page."""
        rows: list[dict[str, Any]] = []
        start = 1
        while True:
            page = await self.query(f"{statement} STARTPOSITION {start} MAXRESULTS {page_size}")
            found = page.get(entity) or []
            rows.extend(found)
            if len(found) < page_size:
                return rows
            start += page_size

    async def company_info(self) -> dict[str, Any]:
        body = await self.request("GET", f"companyinfo/{self.realm_id}")
        return dict(body["CompanyInfo"])

    async def preferences(self) -> dict[str, Any]:
        body = await self.request("GET", "preferences")
        return dict(body["Preferences"])

    async def read(self, entity: str, entity_id: str) -> dict[str, Any]:
        body = await self.request("GET", f"{entity.lower()}/{entity_id}")
        return dict(body[entity])

    async def customers(self, *, include_inactive: bool = True) -> list[dict[str, Any]]:
        """Every customer; inactive ones too unless asked not to (QBO hides them by default)."""
        where = " WHERE Active IN (true, false)" if include_inactive else ""
        # QBO's query language, not SQL: nothing of the caller's goes into it here.
        return await self.query_all(f"SELECT * FROM Customer{where}", "Customer")  # noqa: S608

    async def service_items(self) -> list[dict[str, Any]]:
        """Every active product or service of type Service (QBO hides inactive ones)."""
        return await self.query_all("SELECT * FROM Item WHERE Type = 'Service'", "Item")

    async def tax_codes(self) -> list[dict[str, Any]]:
        """The company's own sales tax codes (a US company's lines use QBO's TAX/NON)."""
        return await self.query_all("SELECT * FROM TaxCode", "TaxCode")

    async def cdc(
        self, entities: Iterable[str], changed_since: datetime
    ) -> dict[str, list[dict[str, Any]]]:
        """Change data capture: entity name → changed (or `status: Deleted`) objects."""
        body = await self.request(
            "GET",
            "cdc",
            params={
                "entities": ",".join(entities),
                "changedSince": changed_since.isoformat(timespec="seconds"),
            },
        )
        changes: dict[str, list[dict[str, Any]]] = {}
        for block in (body or {}).get("CDCResponse") or []:
            for response in block.get("QueryResponse") or []:
                for name, value in response.items():
                    if isinstance(value, list):
                        changes.setdefault(name, []).extend(value)
        return changes

    # --- writes ------------------------------------------------------------------------------

    async def create(
        self, entity: str, body: Mapping[str, Any], *, requestid: str | None = None
    ) -> dict[str, Any]:
        """Create an entity. Pass a `requestid` stable across retries of the same create."""
        answer = await self.request(
            "POST", entity.lower(), json_body=dict(body), requestid=requestid
        )
        return dict(answer[entity])

    async def sparse_update(
        self,
        entity: str,
        entity_id: str,
        sync_token: str,
        changes: Mapping[str, Any],
        *,
        requestid: str | None = None,
    ) -> dict[str, Any]:
        """Change only `changes` (a full update would blank every field left out)."""
        body = {**changes, "Id": entity_id, "SyncToken": sync_token, "sparse": True}
        answer = await self.request("POST", entity.lower(), json_body=body, requestid=requestid)
        return dict(answer[entity])

    async def create_invoice(self, invoice: Mapping[str, Any], *, requestid: str) -> dict[str, Any]:
        return await self.create("Invoice", invoice, requestid=requestid)

    async def read_invoice(self, invoice_id: str) -> dict[str, Any]:
        return await self.read("Invoice", invoice_id)

    async def update_invoice(
        self,
        invoice_id: str,
        sync_token: str,
        changes: Mapping[str, Any],
        *,
        requestid: str | None = None,
    ) -> dict[str, Any]:
        return await self.sparse_update(
            "Invoice", invoice_id, sync_token, changes, requestid=requestid
        )

    async def find_invoices_by_doc_number(self, doc_number: str) -> list[dict[str, Any]]:
        page = await self.query(
            f"SELECT * FROM Invoice WHERE DocNumber = {quote_query_value(doc_number)}"  # noqa: S608
        )
        return list(page.get("Invoice") or [])

    async def find_item(self, name: str) -> dict[str, Any] | None:
        """An active item by its exact name."""
        # QBO's query language; the name is an escaped literal.
        page = await self.query(f"SELECT * FROM Item WHERE Name = {quote_query_value(name)}")  # noqa: S608
        found = page.get("Item") or []
        return dict(found[0]) if found else None

    async def create_service_item(
        self, name: str, income_account_id: str, *, requestid: str | None = None
    ) -> dict[str, Any]:
        return await self.create(
            "Item",
            {"Name": name, "Type": "Service", "IncomeAccountRef": {"value": income_account_id}},
            requestid=requestid,
        )

    async def find_or_create_service_item(
        self, name: str, *, requestid: str | None = None
    ) -> dict[str, Any]:
        """The service item called `name`, created (against the first income account, the
        one named "Services" if there is one) when the company has none."""
        item = await self.find_item(name)
        if item is not None:
            return item
        page = await self.query("SELECT * FROM Account WHERE AccountType = 'Income'")
        accounts = page.get("Account") or []
        if not accounts:
            raise QuickBooksValidationError(
                "The QuickBooks company has no income account to book services against.",
                code="6000",
            )
        account = next((a for a in accounts if a.get("Name") == "Services"), accounts[0])
        return await self.create_service_item(name, str(account["Id"]), requestid=requestid)

    async def batch(
        self, items: list[dict[str, Any]], *, requestid: str | None = None
    ) -> list[dict[str, Any]]:
        """Up to 30 operations in one call; each answer carries its `bId` and either the
        entity, a `QueryResponse` or its own `Fault`."""
        if len(items) > BATCH_MAX_ITEMS:
            raise ValueError(f"A batch holds at most {BATCH_MAX_ITEMS} items")
        if requestid is not None and len(requestid) > BATCH_REQUESTID_MAX:
            raise ValueError(f"A batch requestid is at most {BATCH_REQUESTID_MAX} characters")
        answer = await self.request(
            "POST",
            "batch",
            json_body={"BatchItemRequest": items},
            requestid=requestid,
            # Reads-only batches may be repeated; writes only with a requestid.
            repeatable=requestid is not None or all("Query" in i for i in items),
        )
        return list((answer or {}).get("BatchItemResponse") or [])
