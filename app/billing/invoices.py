"""Invoice rules: generate a draft from a budget, review it, finalize it (number + lock).

* A draft holds the budget's billable worklogs of a period that no other invoice holds,
  grouped into lines by issue, person or worklog, one line per distinct rate.
* Hours per line are the sum of each worklog's billed seconds (the tenant's rounding,
  worklog by worklog), to 2 places; amount = round_half_up(hours * rate, 2); the total is
  the sum of the lines.
* Finalizing takes the next number of the tenant's sequence and locks the invoice; from then
  on nothing of it changes (409 `invoice_locked`, and the database refuses it as well).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.billing import accounting, caps
from app.billing import invoice_repository as repo
from app.billing import repository as billing_repository
from app.billing.invoice_repository import (
    Drift,
    LineFigures,
    LineView,
    LineWorklog,
    RateLevel,
)
from app.billing.invoice_schemas import (
    MAX_CUSTOMER_MESSAGE,
    GroupBy,
    InvoiceGenerate,
    InvoicePatch,
    InvoiceStatus,
    LineIn,
    LinePatch,
)
from app.billing.line_builder import insert_worklog_lines
from app.billing.models import Budget, Client, Invoice, InvoiceLine
from app.billing.money import RoundingMode, line_amount
from app.billing.rates import RateSource
from app.billing.schemas import MAX_SEQUENCE
from app.billing.wording import worklog_text
from app.errors import Conflict, NotFound, Unprocessable
from app.timeutil import human_day, utc_now

MAX_NUMBER_LENGTH = 21  # QuickBooks' DocNumber


LINES_PAGE = 1000  # lines shown with an invoice; the rest are read page by page


@dataclass(frozen=True, slots=True)
class InvoiceView:
    invoice: Invoice
    client: Client
    budget: Budget
    lines: list[LineView]  # all of them, or the first page with `lines_next_cursor` set
    worklog_ids: dict[int, list[int]]  # by line id
    drift: list[Drift]
    figures: LineFigures
    lines_next_cursor: str | None
    cap_warnings: list[caps.CapWarning]


@dataclass(frozen=True, slots=True)
class LinePage:
    lines: list[LineView]
    worklog_ids: dict[int, list[int]]
    next_cursor: str | None


def locked(invoice: Invoice) -> Conflict:
    return Conflict(
        f"Invoice {invoice.number} is finalized and can no longer be changed.",
        code="invoice_locked",
    )


# --- generate --------------------------------------------------------------------------------


async def generate_invoice(
    session: AsyncSession, tenant_id: int, budget_id: int, data: InvoiceGenerate, *, by: str | None
) -> InvoiceView:
    # KEY SHARE: the budget cannot go while its invoice is made (see service.delete_budget).
    budget = await _budget(session, tenant_id, budget_id, lock="key_share")
    client = await _client(session, tenant_id, budget.client_id)
    settings = await billing_repository.settings(session, tenant_id)
    levels = await _rate_levels(session, budget, client, settings.default_hourly_rate)
    scope = await repo.budget_scope(session, budget, levels)
    if not scope.always_priced:
        unpriced = await repo.unpriced_worklog_ids(
            session, scope, data.period_start, data.period_end, limit=5
        )
        if unpriced:
            named = await billing_repository.worklog_descriptions(session, tenant_id, unpriced)
            shown = "; ".join(
                worklog_text(key, day, seconds)
                for key, day, seconds, _deleted in (named[i] for i in unpriced if i in named)
            )
            raise Unprocessable(
                f"Some worklogs have no rate (for example {shown}): set an hourly rate on the "
                f"budget, on the client or as the site default in Settings.",
                code="rate_missing",
            )
    today = utc_now().date()
    invoice = Invoice(
        tenant_id=tenant_id,
        client_id=client.id,
        budget_id=budget.id,
        status=InvoiceStatus.DRAFT.value,
        currency=client.currency,
        period_start=data.period_start,
        period_end=data.period_end,
        group_by=data.group_by.value,
        rounding_minutes=settings.rounding_minutes,
        rounding_mode=settings.rounding_mode,
        issue_date=today,
        due_date=today + timedelta(days=settings.default_due_days),
        total=Decimal("0.00"),
        created_by=by,
    )
    session.add(invoice)
    await session.flush()
    claimed = await repo.claim_worklogs(
        session,
        scope,
        invoice_id=invoice.id,
        period_start=data.period_start,
        period_end=data.period_end,
        group_by=data.group_by.value,
        rounding_minutes=settings.rounding_minutes,
        rounding_mode=RoundingMode(settings.rounding_mode),
    )
    if claimed == 0:
        # Raising rolls the whole transaction back: the empty draft is never seen.
        raise Unprocessable(
            f"There is nothing to invoice on '{budget.name}' from "
            f"{human_day(data.period_start)} to {human_day(data.period_end)}: no billable "
            "worklogs that are not already on an invoice.",
            code="nothing_to_invoice",
        )
    await insert_worklog_lines(session, tenant_id, invoice.id, data.group_by)
    figures = await repo.line_figures(session, tenant_id, invoice.id, worklogs=claimed)
    invoice.total = figures.amount
    await session.flush()
    # Nothing can have drifted yet: the worklogs were copied in this very transaction.
    invoice = await get_invoice(session, tenant_id, invoice.id)  # with the database's defaults
    return await _view(session, invoice, figures=figures, drift=[], all_lines=False)


@dataclass(frozen=True, slots=True)
class InvoicePreview:
    currency: str
    figures: LineFigures
    budget_name: str
    # The caps the draft would take its budget past, as Finalize would say.
    cap_warnings: list[caps.CapWarning]


async def preview_invoice(
    session: AsyncSession, tenant_id: int, budget_id: int, data: InvoiceGenerate
) -> InvoicePreview:
    """What Generate would make of the same request, and nothing made: the very same
    statements run inside a savepoint that is rolled back, so the figures cannot differ
    from the draft's (the same refusals too: nothing_to_invoice, rate_missing)."""
    savepoint = await session.begin_nested()
    try:
        view = await generate_invoice(session, tenant_id, budget_id, data, by=None)
        preview = InvoicePreview(
            currency=view.invoice.currency,
            figures=view.figures,
            budget_name=view.budget.name,
            cap_warnings=view.cap_warnings,
        )
    finally:
        await savepoint.rollback()
    return preview


async def _rate_levels(
    session: AsyncSession, budget: Budget, client: Client, site_default: Decimal | None
) -> tuple[RateLevel, ...]:
    """The budget's, the client's and the site's rates, each with its dated rates."""
    tenant_id = budget.tenant_id

    async def dated(
        level: billing_repository.DatedLevel, owner: int
    ) -> tuple[tuple[date, Decimal], ...]:
        found = await billing_repository.dated_rates(session, tenant_id, level, [owner])
        return tuple(found.get(owner, []))

    return (
        RateLevel(RateSource.BUDGET, budget.hourly_rate, await dated("budget", budget.id)),
        RateLevel(RateSource.CLIENT, client.hourly_rate, await dated("client", client.id)),
        RateLevel(
            RateSource.SITE_DEFAULT, site_default, await dated("site", billing_repository.SITE)
        ),
    )


# --- read -----------------------------------------------------------------------------------


async def get_invoice(
    session: AsyncSession, tenant_id: int, invoice_id: int, *, for_update: bool = False
) -> Invoice:
    invoice = await repo.invoice(session, tenant_id, invoice_id, for_update=for_update)
    if invoice is None:
        raise NotFound(
            "This invoice is not on this site (it may have been deleted): open the Invoices "
            "list to see the current ones.",
            code="invoice_not_found",
        )
    return invoice


async def invoice_people(session: AsyncSession, tenant_id: int, invoice_id: int) -> tuple[str, ...]:
    """Who made and who finalized the invoice (account ids), or nothing for an unknown one."""
    invoice = await repo.invoice(session, tenant_id, invoice_id)
    if invoice is None:
        return ()
    return tuple(p for p in (invoice.created_by, invoice.finalized_by) if p)


async def view_invoice(
    session: AsyncSession,
    tenant_id: int,
    invoice_id: int,
    *,
    all_lines: bool = False,
    figures: LineFigures | None = None,
) -> InvoiceView:
    """The invoice with its figures (summed again unless the caller just did) and its first
    page of lines (every line with `all_lines`, for sending it elsewhere): an invoice may
    have tens of thousands."""
    invoice = await get_invoice(session, tenant_id, invoice_id)
    return await _view(
        session,
        invoice,
        figures=figures or await repo.line_figures(session, tenant_id, invoice.id),
        drift=await repo.drift(session, tenant_id, invoice.id),
        all_lines=all_lines,
    )


async def _view(
    session: AsyncSession,
    invoice: Invoice,
    *,
    figures: LineFigures,
    drift: list[Drift],
    all_lines: bool,
) -> InvoiceView:
    tenant_id = invoice.tenant_id
    page = await _line_page(session, invoice, after=None, limit=None if all_lines else LINES_PAGE)
    client = await _client(session, tenant_id, invoice.client_id)
    budget = await _budget(session, tenant_id, invoice.budget_id)
    return InvoiceView(
        invoice=invoice,
        client=client,
        budget=budget,
        lines=page.lines,
        worklog_ids=page.worklog_ids,
        drift=drift,
        figures=figures,
        lines_next_cursor=page.next_cursor,
        cap_warnings=await caps.cap_warnings(
            session, invoice, budget, client, hours=figures.hours, amount=figures.amount
        ),
    )


async def line_page(
    session: AsyncSession, tenant_id: int, invoice_id: int, *, cursor: str | None, limit: int
) -> LinePage:
    invoice = await get_invoice(session, tenant_id, invoice_id)
    return await _line_page(session, invoice, after=_after(cursor), limit=limit)


async def _line_page(
    session: AsyncSession, invoice: Invoice, *, after: tuple[int, int] | None, limit: int | None
) -> LinePage:
    tenant_id, invoice_id = invoice.tenant_id, invoice.id
    lines = await repo.lines(
        session, tenant_id, invoice_id, after=after, limit=None if limit is None else limit + 1
    )
    next_cursor = None
    if limit is not None and len(lines) > limit:
        lines = lines[:limit]
        next_cursor = f"{lines[-1].position}.{lines[-1].id}"
    ids = await repo.worklog_ids_by_line(
        session,
        tenant_id,
        invoice_id,
        lines,
        all_worklog_lines=after is None and not next_cursor,
        by_worklog=invoice.group_by == GroupBy.WORKLOG.value,
    )
    return LinePage(lines=lines, worklog_ids=ids, next_cursor=next_cursor)


_LINE_CURSOR = re.compile(r"^(-?\d{1,10})\.(\d{1,10})$")
# Microseconds since 1970 (before 10000 AD) and a worklog id (Jira's are 64-bit).
_WORKLOG_CURSOR = re.compile(r"^(-?\d{1,18})\.(\d{1,18})$")


@dataclass(frozen=True, slots=True)
class LineWorklogPage:
    worklogs: list[LineWorklog]
    next_cursor: str | None


async def line_worklog_page(
    session: AsyncSession,
    tenant_id: int,
    invoice_id: int,
    line_id: int,
    *,
    cursor: str | None,
    limit: int,
) -> LineWorklogPage:
    """The worklogs a line bills, in the order they were done; none for a line added by
    hand. Another tenant's invoice or line is not found."""
    invoice = await get_invoice(session, tenant_id, invoice_id)
    line = await _line(session, tenant_id, invoice.id, line_id)
    after = None
    if cursor is not None:
        match = _WORKLOG_CURSOR.match(cursor)
        if match is None:
            raise Unprocessable("The cursor is not one this API gave out.", code="invalid_cursor")
        micros, worklog_id = int(match.group(1)), int(match.group(2))
        after = (_EPOCH + timedelta(microseconds=micros), worklog_id)
    found = await repo.line_worklogs(session, line, after=after, limit=limit + 1)
    next_cursor = None
    if len(found) > limit:
        found = found[:limit]
        last = found[-1]
        micros = (last.started_at - _EPOCH) // timedelta(microseconds=1)
        next_cursor = f"{micros}.{last.worklog_id}"
    return LineWorklogPage(found, next_cursor)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _after(cursor: str | None) -> tuple[int, int] | None:
    if cursor is None:
        return None
    match = _LINE_CURSOR.match(cursor)
    if match is None:
        raise Unprocessable("The cursor is not one this API gave out.", code="invalid_cursor")
    return int(match.group(1)), int(match.group(2))


# --- review a draft --------------------------------------------------------------------------


async def _draft(session: AsyncSession, tenant_id: int, invoice_id: int) -> Invoice:
    """The invoice, locked for this transaction, if it may still change."""
    invoice = await get_invoice(session, tenant_id, invoice_id, for_update=True)
    if invoice.status != InvoiceStatus.DRAFT.value:
        raise locked(invoice)
    return invoice


async def update_invoice(
    session: AsyncSession, tenant_id: int, invoice_id: int, patch: InvoicePatch
) -> InvoiceView:
    invoice = await _draft(session, tenant_id, invoice_id)
    changes = patch.model_dump(exclude_unset=True)
    issue_date = changes.get("issue_date", invoice.issue_date)
    due_date = changes.get("due_date", invoice.due_date)
    if due_date < issue_date:
        raise Unprocessable(
            f"The due date {due_date} is before the issue date {issue_date}.",
            code="invalid_due_date",
        )
    if "notes" in changes:
        _check_customer_message(changes["notes"])
    for field, value in changes.items():
        setattr(invoice, field, value)
    await session.flush()
    return await view_invoice(session, tenant_id, invoice.id)


def _check_customer_message(notes: str | None) -> None:
    if notes is not None and len(notes) > MAX_CUSTOMER_MESSAGE:
        raise Unprocessable(
            f"The notes are {len(notes):,} characters long, and QuickBooks prints at most "
            f"{MAX_CUSTOMER_MESSAGE:,} on the invoice (its message to the customer). Shorten "
            f"them by {len(notes) - MAX_CUSTOMER_MESSAGE:,}; what is only for your team can go "
            "in the internal note, which is never sent.",
            code="notes_too_long",
        )


async def add_line(
    session: AsyncSession, tenant_id: int, invoice_id: int, data: LineIn
) -> InvoiceView:
    invoice = await _draft(session, tenant_id, invoice_id)
    position = await session.scalar(
        select(func.coalesce(func.max(InvoiceLine.position), 0)).where(
            InvoiceLine.tenant_id == tenant_id, InvoiceLine.invoice_id == invoice.id
        )
    )
    session.add(
        InvoiceLine(
            tenant_id=tenant_id,
            invoice_id=invoice.id,
            position=int(position or 0) + 1,
            kind="manual",
            description=data.description,
            hours=data.hours,
            rate=data.rate,
            amount=line_amount(data.hours, data.rate),
        )
    )
    await session.flush()
    return await _retotal(session, invoice)


async def update_line(
    session: AsyncSession, tenant_id: int, invoice_id: int, line_id: int, patch: LinePatch
) -> InvoiceView:
    invoice = await _draft(session, tenant_id, invoice_id)
    line = await _line(session, tenant_id, invoice.id, line_id)
    for field, value in patch.model_dump(exclude_unset=True).items():
        setattr(line, field, value)
    line.amount = line_amount(Decimal(line.hours), Decimal(line.rate))
    await session.flush()
    return await _retotal(session, invoice)


async def delete_line(
    session: AsyncSession, tenant_id: int, invoice_id: int, line_id: int
) -> InvoiceView:
    """Removes the line; its worklogs are free again for another invoice."""
    invoice = await _draft(session, tenant_id, invoice_id)
    line = await _line(session, tenant_id, invoice.id, line_id)
    await repo.release_line_worklogs(session, line)
    await session.delete(line)
    await session.flush()
    return await _retotal(session, invoice)


async def _line(
    session: AsyncSession, tenant_id: int, invoice_id: int, line_id: int
) -> InvoiceLine:
    line = await repo.line(session, tenant_id, invoice_id, line_id)
    if line is None:
        raise NotFound(
            "That line is not on this invoice (it may have been removed): reload the invoice to "
            "see its lines.",
            code="invoice_line_not_found",
        )
    return line


async def _retotal(session: AsyncSession, invoice: Invoice) -> InvoiceView:
    figures = await repo.line_figures(session, invoice.tenant_id, invoice.id)
    invoice.total = figures.amount
    await session.flush()
    return await view_invoice(session, invoice.tenant_id, invoice.id, figures=figures)


async def delete_invoice(session: AsyncSession, tenant_id: int, invoice_id: int) -> None:
    """Deletes a draft; its worklogs are free again."""
    invoice = await _draft(session, tenant_id, invoice_id)
    await repo.delete_invoice(session, tenant_id, invoice.id)


# --- finalize --------------------------------------------------------------------------------


async def finalize_invoice(
    session: AsyncSession,
    tenant_id: int,
    invoice_id: int,
    *,
    by: str | None,
    expected_total: Decimal | None = None,
    accept_over_cap: bool = False,
) -> InvoiceView:
    """Number and lock the invoice. Idempotent: finalizing a finalized invoice returns it.

    The invoice row is locked first, then the settings row that holds the sequence, so
    concurrent calls for one invoice queue on the invoice (and find it finalized), and
    calls for different invoices take numbers one after another: no duplicates, no gaps.
    The budget's caps are checked under that settings lock too, so two drafts finalized at
    once cannot pass a cap together that each stays within alone.
    """
    invoice = await get_invoice(session, tenant_id, invoice_id, for_update=True)
    if invoice.status == InvoiceStatus.FINALIZED.value:
        return await view_invoice(session, tenant_id, invoice.id)
    figures = await repo.line_figures(session, tenant_id, invoice.id)
    if figures.lines == 0:
        raise Unprocessable(
            "The invoice has no lines: add a line or delete the draft.", code="invoice_empty"
        )
    # A draft from before the notes had a limit: once locked they could never be shortened.
    _check_customer_message(invoice.notes)
    if expected_total is not None and figures.amount != expected_total:
        raise Conflict(
            f"The draft's total is {figures.amount:,.2f} {invoice.currency} now, not the "
            f"{expected_total:,.2f} {invoice.currency} you confirmed: it was changed meanwhile "
            "(in another tab or by someone else). Nothing was finalized; check the lines, "
            "then click Finalize Invoice again.",
            code="invoice_total_changed",
        )
    await _fits_accounting(session, invoice, figures.lines)
    settings = await billing_repository.settings(session, tenant_id, for_update=True)
    if not accept_over_cap:
        budget = await _budget(session, tenant_id, invoice.budget_id)
        client = await _client(session, tenant_id, invoice.client_id)
        warnings = await caps.cap_warnings(
            session, invoice, budget, client, hours=figures.hours, amount=figures.amount
        )
        if warnings:
            raise caps.over_cap(budget, warnings)
    sequence = settings.next_invoice_number
    number = f"{settings.invoice_number_prefix}{sequence}"
    if sequence > MAX_SEQUENCE:
        raise Unprocessable(
            f"The invoice numbers have run out: {sequence} is past {MAX_SEQUENCE}. Start a new "
            f"series in Settings (a new prefix, and the next number back at 1).",
            code="invoice_number_too_long",
        )
    if len(number) > MAX_NUMBER_LENGTH:
        raise Unprocessable(
            f"The next invoice number {number} is longer than QuickBooks accepts "
            f"({MAX_NUMBER_LENGTH} characters): shorten the prefix in Settings.",
            code="invoice_number_too_long",
        )
    if await repo.number_taken(session, tenant_id, number):
        raise Conflict(
            f"Invoice number {number} is already used: set the next invoice number in "
            f"Settings past the highest one issued.",
            code="invoice_number_taken",
        )
    invoice.status = InvoiceStatus.FINALIZED.value
    invoice.number = number
    invoice.sequence = sequence
    invoice.finalized_at = utc_now()
    invoice.finalized_by = by
    settings.next_invoice_number = sequence + 1
    await session.flush()
    return await view_invoice(session, tenant_id, invoice.id, figures=figures)


async def _fits_accounting(session: AsyncSession, invoice: Invoice, count: int) -> None:
    """Checked before the invoice is locked: once finalized it can no longer be regrouped."""
    limit = await accounting.max_lines(session, invoice.tenant_id)
    if limit is None:
        return
    most, provider = limit
    if count > most:
        raise Conflict(
            f"This invoice has {count} lines and {provider} takes at most {most}: delete the "
            f"draft and generate it again grouped by issue or by person, then finalize.",
            code="too_many_lines",
        )


# --- what other billing rules ask -------------------------------------------------------------


async def ensure_not_invoiced(
    session: AsyncSession, tenant_id: int, worklog_ids: list[int]
) -> None:
    """Worklogs on an invoice keep their budget, rate and billable flag: 409 otherwise."""
    held = await repo.invoices_of_worklogs(session, tenant_id, worklog_ids)
    if not held:
        return
    worklog_id, invoice = held[0]
    named = await billing_repository.worklog_descriptions(session, tenant_id, [worklog_id])
    key, day, seconds, _deleted = named.get(worklog_id, (None, None, 0, False))
    what = worklog_text(key, day, seconds) if day is not None else "A selected worklog"
    more = len(held) - 1
    if more:
        what += f" (and {more} more selected worklog{'s' if more > 1 else ''})"
    if invoice.status == InvoiceStatus.FINALIZED.value:
        message = (
            f"{what} is on invoice {invoice.number}, which is finalized: its budget, rate and "
            f"billable flag stay as invoiced."
        )
    else:
        budget = await billing_repository.budget(session, tenant_id, invoice.budget_id)
        of = f" of the budget '{budget.name}'" if budget else ""
        message = (
            f"{what} is on a draft invoice{of}: remove its line from the draft, or delete the "
            f"draft (Financials / Invoices), then change it."
        )
    raise Conflict(message, code="worklog_invoiced")


async def _budget(
    session: AsyncSession, tenant_id: int, budget_id: int, *, lock: billing_repository.Lock = None
) -> Budget:
    budget = await billing_repository.budget(session, tenant_id, budget_id, lock=lock)
    if budget is None:
        raise NotFound(
            "This budget is not on this site (it may have been deleted): open Budgets to see "
            "the current ones.",
            code="budget_not_found",
        )
    return budget


async def _client(session: AsyncSession, tenant_id: int, client_id: int) -> Client:
    client = await billing_repository.client(session, tenant_id, client_id)
    if client is None:
        raise NotFound(
            "This client is not on this site (it may have been deleted): open Manage → "
            "Clients to see the current ones.",
            code="client_not_found",
        )
    return client
