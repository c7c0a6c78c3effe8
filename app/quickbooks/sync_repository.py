"""Every SQL statement of invoice sync and status; each one filters on the tenant."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import dialect_insert
from app.quickbooks.models import (
    QuickBooksConnection,
    QuickBooksInvoicePayment,
    QuickBooksInvoiceSync,
    QuickBooksRealmState,
)

# Bound parameters per IN list: well under every backend's limit.
IN_CHUNK = 500

SYNCED = "synced"
SYNCING = "syncing"
FAILED = "failed"

# A claim older than this belongs to a request that died: the next click takes it over
# (and looks the DocNumber up before creating). Longer than a create with all its retries.
# Only claims written before migration 0021 go by it; newer ones carry their own expiry.
CLAIM_TIMEOUT = timedelta(minutes=5)


def claim_is_live(row: QuickBooksInvoiceSync, now: datetime) -> bool:
    """A sync is running: its process holds the claim and has beaten lately. A process that
    died (kill -9, OOM, a lost machine) stops beating, and its claim lapses within
    W360_QBO_SYNC_CLAIM_STALE_SECONDS rather than after CLAIM_TIMEOUT."""
    if row.state != SYNCING or row.claimed_at is None:
        return False
    # An expiry before the claim's own start was left by an earlier claim: this one was
    # taken by a release before 0021 (a rolling upgrade), which knows only CLAIM_TIMEOUT.
    if row.claim_expires_at is not None and row.claim_expires_at > row.claimed_at:
        return row.claim_expires_at > now
    return row.claimed_at > now - CLAIM_TIMEOUT


async def beat_claim(
    session: AsyncSession,
    tenant_id: int,
    invoice_id: int,
    claim: str,
    expires_at: datetime,
) -> bool:
    """Move a live claim's expiry on; False when it is no longer this claim's."""
    result = await session.execute(
        update(QuickBooksInvoiceSync)
        .where(
            QuickBooksInvoiceSync.tenant_id == tenant_id,
            QuickBooksInvoiceSync.invoice_id == invoice_id,
            QuickBooksInvoiceSync.claim == claim,
            QuickBooksInvoiceSync.state == SYNCING,
        )
        .values(claim_expires_at=expires_at)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


_T = TypeVar("_T")


def _chunks(values: Sequence[_T], size: int = IN_CHUNK) -> Iterable[Sequence[_T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


# --- invoice syncs ---------------------------------------------------------------------------


async def sync_of(
    session: AsyncSession, tenant_id: int, invoice_id: int, *, for_update: bool = False
) -> QuickBooksInvoiceSync | None:
    statement = select(QuickBooksInvoiceSync).where(
        QuickBooksInvoiceSync.tenant_id == tenant_id,
        QuickBooksInvoiceSync.invoice_id == invoice_id,
    )
    if for_update:
        statement = statement.with_for_update()
    result = await session.execute(statement.execution_options(populate_existing=True))
    return result.scalar_one_or_none()


async def insert_claim_if_absent(
    session: AsyncSession,
    *,
    tenant_id: int,
    invoice_id: int,
    claim: str,
    claimed_at: datetime,
    claimed_by: str,
    claim_expires_at: datetime,
    realm_id: str,
    customer_id: str,
) -> None:
    """The first claim of an invoice; a no-op when a row exists (another claim won)."""
    upsert = dialect_insert(session)
    await session.execute(
        upsert(QuickBooksInvoiceSync)
        .values(
            tenant_id=tenant_id,
            invoice_id=invoice_id,
            state=SYNCING,
            attempt=1,
            outcome_unknown=True,
            claim=claim,
            claimed_at=claimed_at,
            claimed_by=claimed_by,
            claim_expires_at=claim_expires_at,
            realm_id=realm_id,
            customer_id=customer_id,
            sent=False,
            voided=False,
            deleted=False,
            updated_at=claimed_at,
        )
        .on_conflict_do_nothing(index_elements=["tenant_id", "invoice_id"])
    )


async def syncs_of_invoices(
    session: AsyncSession, tenant_id: int, invoice_ids: Sequence[int]
) -> dict[int, QuickBooksInvoiceSync]:
    found: dict[int, QuickBooksInvoiceSync] = {}
    for chunk in _chunks(list(invoice_ids)):
        result = await session.execute(
            select(QuickBooksInvoiceSync).where(
                QuickBooksInvoiceSync.tenant_id == tenant_id,
                QuickBooksInvoiceSync.invoice_id.in_(chunk),
            )
        )
        found.update({row.invoice_id: row for row in result.scalars()})
    return found


async def syncs_by_qbo_id(
    session: AsyncSession, tenant_id: int, realm_id: str, qbo_ids: Iterable[str]
) -> dict[str, QuickBooksInvoiceSync]:
    """The synced invoices of this company among these QuickBooks invoice ids."""
    found: dict[str, QuickBooksInvoiceSync] = {}
    for chunk in _chunks(sorted(set(qbo_ids))):
        result = await session.execute(
            select(QuickBooksInvoiceSync)
            .where(
                QuickBooksInvoiceSync.tenant_id == tenant_id,
                QuickBooksInvoiceSync.realm_id == realm_id,
                QuickBooksInvoiceSync.qbo_id.in_(chunk),
            )
            .execution_options(populate_existing=True)
        )
        found.update({row.qbo_id: row for row in result.scalars() if row.qbo_id is not None})
    return found


async def live_qbo_ids(session: AsyncSession, tenant_id: int, realm_id: str) -> list[str]:
    """QuickBooks ids of the company's synced invoices not known to be deleted."""
    result = await session.execute(
        select(QuickBooksInvoiceSync.qbo_id)
        .where(
            QuickBooksInvoiceSync.tenant_id == tenant_id,
            QuickBooksInvoiceSync.realm_id == realm_id,
            QuickBooksInvoiceSync.state == SYNCED,
            QuickBooksInvoiceSync.deleted.is_(False),
            QuickBooksInvoiceSync.qbo_id.is_not(None),
        )
        .order_by(QuickBooksInvoiceSync.invoice_id)
    )
    return [str(qbo_id) for qbo_id in result.scalars()]


async def first_synced_at(session: AsyncSession, tenant_id: int, realm_id: str) -> datetime | None:
    result = await session.execute(
        select(func.min(QuickBooksInvoiceSync.synced_at)).where(
            QuickBooksInvoiceSync.tenant_id == tenant_id,
            QuickBooksInvoiceSync.realm_id == realm_id,
            QuickBooksInvoiceSync.state == SYNCED,
        )
    )
    value: datetime | None = result.scalar_one_or_none()
    return value


async def tenants_with_live_syncs(session: AsyncSession) -> list[int]:
    """Connected tenants with at least one synced invoice of their current company that is
    not deleted in QuickBooks: the ones worth a change-data-capture run."""
    result = await session.execute(
        select(QuickBooksConnection.tenant_id)
        .where(
            QuickBooksConnection.status == "connected",
            select(QuickBooksInvoiceSync.invoice_id)
            .where(
                QuickBooksInvoiceSync.tenant_id == QuickBooksConnection.tenant_id,
                QuickBooksInvoiceSync.realm_id == QuickBooksConnection.realm_id,
                QuickBooksInvoiceSync.state == SYNCED,
                QuickBooksInvoiceSync.deleted.is_(False),
            )
            .exists(),
        )
        .order_by(QuickBooksConnection.tenant_id)
    )
    return list(result.scalars())


# --- payments --------------------------------------------------------------------------------


async def payments_of_invoices(
    session: AsyncSession, tenant_id: int, invoice_ids: Sequence[int]
) -> dict[int, list[QuickBooksInvoicePayment]]:
    found: dict[int, list[QuickBooksInvoicePayment]] = {}
    for chunk in _chunks(list(invoice_ids)):
        result = await session.execute(
            select(QuickBooksInvoicePayment)
            .where(
                QuickBooksInvoicePayment.tenant_id == tenant_id,
                QuickBooksInvoicePayment.invoice_id.in_(chunk),
            )
            .order_by(QuickBooksInvoicePayment.paid_on, QuickBooksInvoicePayment.payment_id)
        )
        for payment in result.scalars():
            found.setdefault(payment.invoice_id, []).append(payment)
    return found


async def known_payment_ids(
    session: AsyncSession, tenant_id: int, payment_ids: Iterable[str]
) -> set[str]:
    known: set[str] = set()
    for chunk in _chunks(sorted(set(payment_ids))):
        result = await session.execute(
            select(QuickBooksInvoicePayment.payment_id).where(
                QuickBooksInvoicePayment.tenant_id == tenant_id,
                QuickBooksInvoicePayment.payment_id.in_(chunk),
            )
        )
        known.update(result.scalars())
    return known


async def forget_payments(
    session: AsyncSession, tenant_id: int, payment_ids: Iterable[str]
) -> None:
    for chunk in _chunks(sorted(set(payment_ids))):
        await session.execute(
            delete(QuickBooksInvoicePayment).where(
                QuickBooksInvoicePayment.tenant_id == tenant_id,
                QuickBooksInvoicePayment.payment_id.in_(chunk),
            )
        )


async def payment_ids_of_invoices(
    session: AsyncSession, tenant_id: int, invoice_ids: Sequence[int]
) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    for chunk in _chunks(list(invoice_ids)):
        result = await session.execute(
            select(QuickBooksInvoicePayment.invoice_id, QuickBooksInvoicePayment.payment_id).where(
                QuickBooksInvoicePayment.tenant_id == tenant_id,
                QuickBooksInvoicePayment.invoice_id.in_(chunk),
            )
        )
        for invoice_id, payment_id in result.all():
            found.setdefault(invoice_id, set()).add(payment_id)
    return found


async def forget_invoice_payments(
    session: AsyncSession, tenant_id: int, pairs: Sequence[tuple[int, str]]
) -> None:
    """Drop these (invoice, payment) rows: payments QuickBooks no longer links to the invoice
    (voided, deleted, unapplied)."""
    for invoice_id, payment_id in pairs:
        await session.execute(
            delete(QuickBooksInvoicePayment).where(
                QuickBooksInvoicePayment.tenant_id == tenant_id,
                QuickBooksInvoicePayment.invoice_id == invoice_id,
                QuickBooksInvoicePayment.payment_id == payment_id,
            )
        )


async def add_payments(session: AsyncSession, rows: Sequence[dict[str, object]]) -> None:
    if rows:
        await session.execute(insert(QuickBooksInvoicePayment), list(rows))


# --- realm state -----------------------------------------------------------------------------


async def realm_state(
    session: AsyncSession, tenant_id: int, realm_id: str
) -> QuickBooksRealmState | None:
    """The company's remembered state; a state of another company the tenant was connected
    to before is dropped (its cursor and item mean nothing here)."""
    result = await session.execute(
        select(QuickBooksRealmState)
        .where(QuickBooksRealmState.tenant_id == tenant_id)
        .execution_options(populate_existing=True)
    )
    state = result.scalar_one_or_none()
    if state is not None and state.realm_id != realm_id:
        await session.delete(state)
        await session.flush()
        return None
    return state


async def ensure_realm_state(
    session: AsyncSession, tenant_id: int, realm_id: str
) -> QuickBooksRealmState:
    state = await realm_state(session, tenant_id, realm_id)
    if state is None:
        state = QuickBooksRealmState(tenant_id=tenant_id, realm_id=realm_id)
        session.add(state)
        await session.flush()
    return state
