"""Status and payments of synced invoices, read back from QuickBooks without one read per
invoice (reads are metered: reference/quickbooks.md §8).

* `refresh_invoice`: one invoice now (the Refresh button): one read, plus one query for
  payments linked to it that we have not seen.
* `run_changes`: every synced invoice of a tenant's company, by change data capture —
  `GET /cdc?entities=Invoice,Payment&changedSince=…` answers every invoice and payment changed
  since the cursor (deleted ones too), up to 1000 of each per call; a type that comes back
  full is paged by query (1000 a page). So a run costs about ⌈changed / 1000⌉ + 1 calls
  however many invoices are synced. A cursor older than CDC's 30 days falls back to reading
  the synced invoices by id, 1000 a query.
  Webhooks only ask for a run (a burst of events is one run), and a periodic run catches
  what webhooks missed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.db import transaction
from app.errors import AppError, Conflict
from app.quickbooks import repository as connections
from app.quickbooks import service
from app.quickbooks import sync_repository as repo
from app.quickbooks.api_errors import ObjectNotFoundError, QuickBooksError, ServerError
from app.quickbooks.client import QUERY_PAGE_SIZE, QuickBooksApi
from app.quickbooks.errors import app_error
from app.quickbooks.invoice_status import (
    apply_invoice,
    is_deleted,
    last_updated,
    linked_payment_ids,
    mark_deleted,
    payment_rows,
)
from app.quickbooks.sync_repository import SYNCED
from app.runtime import Runtime

logger = logging.getLogger(__name__)

CDC_ENTITIES = ("Invoice", "Payment")
CDC_MAX_PER_ENTITY = 1000
# CDC looks back 30 days at most; keep a margin for the time the run takes.
CDC_WINDOW = timedelta(days=30) - timedelta(hours=1)
# Each run asks again for the last minutes of the previous one: a change committed at
# Intuit while we were reading, or a clock a little off, is not missed (applying twice is
# harmless).
CURSOR_OVERLAP = timedelta(minutes=2)
# Before any run, look back this far from the first sync.
FIRST_LOOK_BACK = timedelta(minutes=5)
APPLY_CHUNK = 1000
IDS_PER_QUERY = 1000


@dataclass(slots=True)
class Changes:
    """What QuickBooks reported, newest version of each entity by id."""

    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: int = 0

    def add(self, entity: str, rows: Iterable[dict[str, Any]]) -> None:
        target = self.invoices if entity == "Invoice" else self.payments
        for row in rows:
            if not isinstance(row, dict) or row.get("Id") is None:
                continue
            key = str(row["Id"])
            held = target.get(key)
            if held is None or _newer_or_same(row, held):
                target[key] = row


def _newer_or_same(row: dict[str, Any], held: dict[str, Any]) -> bool:
    if is_deleted(row):
        return True
    if is_deleted(held):
        return False
    new, old = last_updated(row), last_updated(held)
    if new is None or old is None:
        return True
    if new != old:
        return new > old
    return _sync_token(row) >= _sync_token(held)


def _sync_token(row: dict[str, Any]) -> int:
    try:
        return int(str(row.get("SyncToken", "0")))
    except ValueError:
        return 0


def _literal_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


# --- reading ---------------------------------------------------------------------------------


async def read_changes(api: QuickBooksApi, since: datetime) -> Changes:
    """Every Invoice and Payment changed since `since`, in as few calls as the API allows.

    One CDC call answers up to 1000 of each type, oldest first. A type that comes back full
    is paged by query from the second of the newest change CDC gave (times have one-second
    resolution, so that second is read again): 1000 a page, no further overlap, so a run
    costs at most ⌈changed / 1000⌉ + 1 calls for one busy type. Deletions are only told by
    CDC (and webhooks): one beyond CDC's first 1000 is seen when its webhook's run or a
    Refresh reads it.
    """
    changes = Changes()
    answer = await api.cdc(CDC_ENTITIES, since)
    changes.calls += 1
    for entity in CDC_ENTITIES:
        rows = answer.get(entity) or []
        changes.add(entity, rows)
        if len(rows) < CDC_MAX_PER_ENTITY:
            continue
        newest = max((t for t in map(last_updated, rows) if t is not None), default=since)
        statement = (
            f"SELECT * FROM {entity} WHERE MetaData.LastUpdatedTime >= "  # noqa: S608
            f"'{_literal_time(max(newest, since))}' ORDERBY Id"
        )
        changes.add(entity, await _query_pages(api, statement, entity, changes))
    return changes


async def _query_pages(
    api: QuickBooksApi, statement: str, entity: str, changes: Changes
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    start = 1
    while True:
        page = await api.query(f"{statement} STARTPOSITION {start} MAXRESULTS {QUERY_PAGE_SIZE}")
        changes.calls += 1
        found = list(page.get(entity) or [])
        rows.extend(found)
        if len(found) < QUERY_PAGE_SIZE:
            return rows
        start += QUERY_PAGE_SIZE


def _id_list(ids: Iterable[str]) -> str:
    # Ids are QuickBooks' own digits; anything else is left out rather than quoted.
    return ", ".join(f"'{i}'" for i in ids if i.isdigit())


async def read_by_ids(
    api: QuickBooksApi, entity: str, ids: list[str], changes: Changes
) -> set[str]:
    """Read these entities, 1000 a query; the ids QuickBooks no longer has."""
    missing: set[str] = set()
    wanted = [i for i in ids if i.isdigit()]
    for start in range(0, len(wanted), IDS_PER_QUERY):
        chunk = wanted[start : start + IDS_PER_QUERY]
        page = await api.query(
            f"SELECT * FROM {entity} WHERE Id IN ({_id_list(chunk)}) "  # noqa: S608
            f"MAXRESULTS {IDS_PER_QUERY}"
        )
        changes.calls += 1
        found = list(page.get(entity) or [])
        changes.add(entity, found)
        missing.update(set(chunk) - {str(row.get("Id")) for row in found})
    return missing


# --- applying --------------------------------------------------------------------------------


async def _unknown_payments(
    runtime: Runtime, tenant_id: int, changes: Changes, invoices: Iterable[dict[str, Any]]
) -> list[str]:
    linked: set[str] = set()
    for invoice in invoices:
        if not is_deleted(invoice):
            linked |= linked_payment_ids(invoice)
    linked -= set(changes.payments)
    if not linked:
        return []
    async with runtime.sessions() as session:
        known = await repo.known_payment_ids(session, tenant_id, linked)
    return sorted(linked - known, key=lambda i: (len(i), i))


async def apply_changes(
    runtime: Runtime, tenant_id: int, realm_id: str, changes: Changes, *, deleted: set[str]
) -> int:
    """Write what QuickBooks reported onto our synced invoices (short transactions, so the
    writer lock is never held for long). `deleted`: invoice ids a read found gone. Returns
    how many synced invoices were touched."""
    now = runtime.quickbooks.now()
    invoice_ids = sorted(set(changes.invoices) | deleted, key=lambda i: (len(i), i))
    touched = 0
    for start in range(0, len(invoice_ids), APPLY_CHUNK):
        chunk = invoice_ids[start : start + APPLY_CHUNK]
        async with runtime.writer_lock.hold(), transaction(runtime.sessions) as session:
            rows = await repo.syncs_by_qbo_id(session, tenant_id, realm_id, chunk)
            held = await repo.payment_ids_of_invoices(
                session, tenant_id, [row.invoice_id for row in rows.values()]
            )
            unlinked: list[tuple[int, str]] = []
            for qbo_id, row in rows.items():
                if row.state != SYNCED:
                    continue
                touched += 1
                invoice = changes.invoices.get(qbo_id)
                linked: set[str] | None = None
                if qbo_id in deleted or invoice is None or is_deleted(invoice):
                    mark_deleted(row, now, last_updated(invoice) if invoice else None)
                    linked = set()
                elif apply_invoice(row, invoice, now):
                    linked = linked_payment_ids(invoice)
                if linked is not None:
                    unlinked += [
                        (row.invoice_id, p) for p in held.get(row.invoice_id, ()) if p not in linked
                    ]
            await repo.forget_invoice_payments(session, tenant_id, unlinked)
    if changes.payments:
        await _apply_payments(runtime, tenant_id, realm_id, changes)
    return touched


async def _apply_payments(
    runtime: Runtime, tenant_id: int, realm_id: str, changes: Changes
) -> None:
    payments = list(changes.payments.values())
    for start in range(0, len(payments), APPLY_CHUNK):
        chunk = payments[start : start + APPLY_CHUNK]
        async with runtime.writer_lock.hold(), transaction(runtime.sessions) as session:
            await repo.forget_payments(session, tenant_id, [str(p["Id"]) for p in chunk])
            linked = {
                str(link.get("TxnId"))
                for p in chunk
                if not is_deleted(p)
                for line in p.get("Line") or []
                if isinstance(line, dict)
                for link in line.get("LinkedTxn") or []
                if isinstance(link, dict) and link.get("TxnType") == "Invoice"
            }
            rows = await repo.syncs_by_qbo_id(session, tenant_id, realm_id, linked)
            by_qbo_id = {
                qbo_id: row.invoice_id
                for qbo_id, row in rows.items()
                if row.state == SYNCED and not row.deleted
            }
            rows_to_add = [
                r for p in chunk if not is_deleted(p) for r in payment_rows(tenant_id, p, by_qbo_id)
            ]
            await repo.add_payments(session, rows_to_add)


# --- one invoice now -------------------------------------------------------------------------


async def refresh_invoice(runtime: Runtime, tenant_id: int, invoice_id: int) -> None:
    """Read the invoice's status and payments from QuickBooks now."""
    async with runtime.sessions() as session:
        row = await repo.sync_of(session, tenant_id, invoice_id)
    if row is None or row.state != SYNCED or row.qbo_id is None or row.realm_id is None:
        raise Conflict(
            "This invoice is not in QuickBooks yet: sync it first (Sync with QB).",
            code="quickbooks_not_synced",
        )
    api = await service.authorized_api(runtime, tenant_id)
    if api.realm_id != row.realm_id:
        raise Conflict(
            "This invoice was synced to another QuickBooks company than the one connected "
            "now, so its status cannot be read. Reconnect that company in Settings → "
            "Integrations to follow it.",
            code="quickbooks_other_company",
        )
    changes = Changes()
    deleted: set[str] = set()
    try:
        try:
            invoice = await api.read_invoice(row.qbo_id)
        except ObjectNotFoundError:
            deleted.add(row.qbo_id)
        else:
            changes.add("Invoice", [invoice])
            missing = await _unknown_payments(runtime, tenant_id, changes, [invoice])
            if missing:
                await read_by_ids(api, "Payment", missing, changes)
    except QuickBooksError as exc:
        raise app_error(exc) from exc
    await apply_changes(runtime, tenant_id, row.realm_id, changes, deleted=deleted)


# --- every invoice of a company --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunResult:
    calls: int
    invoices: int
    payments: int
    full_sweep: bool


async def run_changes(runtime: Runtime, tenant_id: int) -> RunResult | None:
    """Bring every synced invoice of the tenant's company level with QuickBooks. None when
    there is nothing to follow (no connection, nothing synced)."""
    try:
        api = await service.authorized_api(runtime, tenant_id)
    except AppError as exc:
        logger.info("QuickBooks changes for tenant %s skipped: %s", tenant_id, exc.message)
        return None
    realm_id = api.realm_id
    async with runtime.sessions() as session:
        state = await repo.realm_state(session, tenant_id, realm_id)
        since = state.changes_since if state is not None else None
        if since is None:
            first = await repo.first_synced_at(session, tenant_id, realm_id)
            if first is None:
                return None
            since = first - FIRST_LOOK_BACK
    started = runtime.quickbooks.now()
    try:
        result = await _read_and_apply(runtime, api, tenant_id, since, started)
    except QuickBooksError as exc:
        await _record_run(runtime, tenant_id, realm_id, error=str(app_error(exc).message))
        logger.warning(
            "QuickBooks changes for tenant %s failed (intuit_tid=%s): %s",
            tenant_id,
            exc.intuit_tid,
            exc.message,
        )
        raise
    await _record_run(
        runtime, tenant_id, realm_id, since=started - CURSOR_OVERLAP, calls=result.calls
    )
    return result


async def _read_and_apply(
    runtime: Runtime, api: QuickBooksApi, tenant_id: int, since: datetime, now: datetime
) -> RunResult:
    deleted: set[str] = set()
    full_sweep = since < now - CDC_WINDOW
    changes = Changes()
    if not full_sweep:
        try:
            changes = await read_changes(api, since)
        except ServerError as exc:
            # QBO answers a changedSince beyond its window with a SystemFault (10000).
            if "changedSince" not in exc.message and "fixed days" not in exc.message:
                raise
            full_sweep = True
    if full_sweep:
        changes = Changes()
        async with runtime.sessions() as session:
            ids = await repo.live_qbo_ids(session, tenant_id, api.realm_id)
        deleted = await read_by_ids(api, "Invoice", ids, changes)
    missing = await _unknown_payments(runtime, tenant_id, changes, changes.invoices.values())
    if missing:
        await read_by_ids(api, "Payment", missing, changes)
    touched = await apply_changes(runtime, tenant_id, api.realm_id, changes, deleted=deleted)
    return RunResult(changes.calls, touched, len(changes.payments), full_sweep)


async def _record_run(
    runtime: Runtime,
    tenant_id: int,
    realm_id: str,
    *,
    since: datetime | None = None,
    calls: int | None = None,
    error: str | None = None,
) -> None:
    async with runtime.writer_lock.hold(), transaction(runtime.sessions) as session:
        state = await repo.ensure_realm_state(session, tenant_id, realm_id)
        state.changes_checked_at = runtime.quickbooks.now()
        state.last_error = error
        if calls is not None:
            state.last_calls = calls
        # Two runs may overlap (two workers): the cursor only moves forward.
        if since is not None and (state.changes_since is None or since > state.changes_since):
            state.changes_since = since


# --- who needs a run -------------------------------------------------------------------------


async def tenants_to_follow(runtime: Runtime) -> list[int]:
    async with runtime.sessions() as session:
        return await repo.tenants_with_live_syncs(session)


async def tenants_of_realms(session: AsyncSession, realm_ids: Iterable[str]) -> dict[str, int]:
    """The tenant connected to each of these companies (webhooks name realms)."""
    found: dict[str, int] = {}
    for realm_id in set(realm_ids):
        row = await connections.connection_by_realm(session, realm_id)
        if row is not None and row.status == "connected":
            found[realm_id] = row.tenant_id
    return found
