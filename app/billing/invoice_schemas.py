"""Invoice API shapes. Money and hours travel as strings with two decimals."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from app import validation_errors
from app.billing.schemas import HoursOut, MoneyOut, OptionalHoursOut, Rate, _Input, _no_blank
from app.tenants.schemas import Person

# QuickBooks keeps 4,000 characters of a line's description; we keep no more than it can.
MAX_DESCRIPTION = 4000
MAX_NOTES = 4000
# The notes are printed on the invoice as QuickBooks' CustomerMemo, which holds 1,000
# characters: longer notes are refused with a message (the service's), never cut.
MAX_CUSTOMER_MESSAGE = 1000
MAX_INTERNAL_NOTE = 4000
# A line may bill up to this many hours: more is a typo, and QBO's Qty has its limits too.
MAX_LINE_HOURS = Decimal("100000.00")
# A longest period one invoice may cover; longer is almost always a typo in a year.
MAX_PERIOD_DAYS = 3660


class GroupBy(StrEnum):
    ISSUE = "issue"
    AUTHOR = "author"
    WORKLOG = "worklog"


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    FINALIZED = "finalized"


Description = Annotated[str, StringConstraints(min_length=1, max_length=MAX_DESCRIPTION)]
LineHours = Annotated[Decimal, Field(ge=0, le=MAX_LINE_HOURS, decimal_places=2)]
Notes = Annotated[str | None, StringConstraints(max_length=MAX_NOTES)]
InternalNote = Annotated[str | None, StringConstraints(max_length=MAX_INTERNAL_NOTE)]


class InvoiceGenerate(_Input):
    period_start: date
    period_end: date
    group_by: GroupBy = GroupBy.ISSUE

    @model_validator(mode="after")
    def _period(self) -> Self:
        if self.period_end < self.period_start:
            raise ValueError(
                "The period ends before it starts: choose an end on or after the start"
            )
        if (self.period_end - self.period_start).days > MAX_PERIOD_DAYS:
            raise ValueError("The period is longer than ten years: choose a shorter one")
        return self


class InvoicePatch(_Input):
    issue_date: date | None = None
    due_date: date | None = None
    notes: Notes = None
    internal_note: InternalNote = None

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if not self.model_fields_set:
            raise ValueError(
                "Nothing to change: change the issue date, the due date, the notes or the "
                "internal note"
            )
        for field in ("issue_date", "due_date"):
            if field in self.model_fields_set and getattr(self, field) is None:
                raise ValueError(f"{validation_errors.label(field)} cannot be empty: fill it in")
        return self


class LineIn(_Input):
    description: Description
    hours: LineHours
    rate: Rate

    @model_validator(mode="after")
    def _described(self) -> Self:
        self.description = _no_blank(self.description)
        return self


class LinePatch(_Input):
    description: Description | None = None
    hours: LineHours | None = None
    rate: Rate | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("Nothing to change: change the description, the hours or the rate")
        for field in self.model_fields_set:
            if getattr(self, field) is None:
                raise ValueError(f"{validation_errors.label(field)} cannot be empty: fill it in")
        if self.description is not None:
            self.description = _no_blank(self.description)
        return self


class FinalizeIn(_Input):
    # The total the person saw in the Finalize confirmation: finalizing refuses (409
    # `invoice_total_changed`) when the draft's total is another by then, so the total
    # confirmed is the total locked.
    expected_total: (
        Annotated[Decimal, Field(ge=0, decimal_places=2, allow_inf_nan=False)] | None
    ) = None
    # Finalizing an invoice that takes its budget past a cap is refused unless this says
    # the person saw the figures and means it (409 `over_budget_cap` otherwise).
    accept_over_cap: bool = False


class LineOut(BaseModel):
    id: int
    kind: str
    description: str
    actual_hours: OptionalHoursOut
    hours: HoursOut
    rate: MoneyOut
    amount: MoneyOut
    worklog_ids: list[str]


class NamedRef(BaseModel):
    id: int
    name: str


class DriftOut(BaseModel):
    worklog_id: str
    change: str
    detected_at: datetime
    # The worklog as people know it: its issue, who logged it, the day, and its time as
    # invoiced (`hours`) and as Jira has it now (`hours_now`, null once deleted).
    issue_key: str | None
    author: Person
    started_on: date
    hours: HoursOut
    hours_now: HoursOut | None


class LineWorklogOut(BaseModel):
    id: str
    issue_key: str | None
    issue_summary: str | None
    author: Person
    started: str  # as logged, with the offset Jira records with it
    started_on: date
    actual_hours: HoursOut
    hours: HoursOut  # billed, after the invoice's rounding
    comment: str
    deleted_in_jira: bool


class LineWorklogPageOut(BaseModel):
    items: list[LineWorklogOut]
    next_cursor: str | None


class AccountingPayment(BaseModel):
    model_config = ConfigDict(extra="allow")

    amount: MoneyOut = None


class AccountingBlock(BaseModel):
    """The accounting integration's block of an invoice (its fields are the provider's):
    typed only where it carries money, which readers may not be shown."""

    model_config = ConfigDict(extra="allow")

    total: MoneyOut = None
    paid: MoneyOut = None
    balance: MoneyOut = None
    payments: list[AccountingPayment] = []


class InvoiceSummary(BaseModel):
    id: int
    number: str | None
    status: InvoiceStatus
    client: NamedRef
    budget: NamedRef
    currency: str
    period_start: date
    period_end: date
    group_by: GroupBy
    issue_date: date
    due_date: date
    total: MoneyOut
    created_at: datetime
    created_by: Person | None
    finalized_at: datetime | None
    finalized_by: Person | None
    # Filled in by the accounting integration (QuickBooks), null when there is none.
    quickbooks: AccountingBlock | None = None


class CapWarningOut(BaseModel):
    kind: str  # `hours` or `amount`
    currency: str | None  # the amount cap's (the client's); null for hours
    cap: HoursOut
    invoiced_before: HoursOut
    this_invoice: HoursOut
    after: HoursOut
    over: HoursOut
    message: str


class InvoiceOut(InvoiceSummary):
    notes: str | None
    internal_note: str | None
    rounding_minutes: int
    rounding_mode: str
    actual_hours: HoursOut
    hours: HoursOut
    # The first LINES_PAGE lines; when there are more, `lines_next_cursor` reads the rest
    # from GET /api/invoices/{id}/lines.
    lines: list[LineOut]
    line_count: int
    worklog_count: int
    lines_next_cursor: str | None
    drift: list[DriftOut]
    # The budget caps this invoice takes past (a draft as if finalized now), with figures.
    cap_warnings: list[CapWarningOut]


class InvoicePreviewOut(BaseModel):
    """What Generate would make of the same request (nothing is made)."""

    line_count: int
    worklog_count: int
    hours: HoursOut
    actual_hours: HoursOut
    total: MoneyOut
    currency: str
    cap_warnings: list[CapWarningOut]


class LinePageOut(BaseModel):
    items: list[LineOut]
    next_cursor: str | None


class InvoiceListItemOut(InvoiceSummary):
    # What is paid and owed: the accounting provider's figures once it holds the invoice,
    # else nothing paid and the whole total owed; null for a draft.
    paid: MoneyOut
    balance: MoneyOut
    # Whole days past the due date (the provider's when it holds the invoice) of a
    # finalized invoice with something owed; null otherwise.
    days_overdue: int | None


class CurrencyTotalsOut(BaseModel):
    currency: str
    count: int
    total: MoneyOut
    paid: MoneyOut
    balance: MoneyOut
    overdue: MoneyOut


class InvoicePage(BaseModel):
    items: list[InvoiceListItemOut]
    next_cursor: str | None
    # Every invoice the filter finds (not just this page), per currency.
    totals: list[CurrencyTotalsOut]
