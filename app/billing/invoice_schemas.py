"""Invoice API shapes. Money and hours travel as strings with two decimals."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import BaseModel, Field, StringConstraints, model_validator

from app.billing.schemas import HoursOut, MoneyOut, Rate, _Input, _no_blank
from app.worklogs.schemas import Person

# QuickBooks keeps 4,000 characters of a line's description; we keep no more than it can.
MAX_DESCRIPTION = 4000
MAX_NOTES = 4000
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


class InvoiceGenerate(_Input):
    period_start: date
    period_end: date
    group_by: GroupBy = GroupBy.ISSUE

    @model_validator(mode="after")
    def _period(self) -> Self:
        if self.period_end < self.period_start:
            raise ValueError("period_end is before period_start")
        if (self.period_end - self.period_start).days > MAX_PERIOD_DAYS:
            raise ValueError("the period is longer than ten years")
        return self


class InvoicePatch(_Input):
    issue_date: date | None = None
    due_date: date | None = None
    notes: Notes = None

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("name issue_date, due_date or notes")
        for field in ("issue_date", "due_date"):
            if field in self.model_fields_set and getattr(self, field) is None:
                raise ValueError(f"{field} cannot be empty")
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
            raise ValueError("name description, hours or rate")
        for field in self.model_fields_set:
            if getattr(self, field) is None:
                raise ValueError(f"{field} cannot be empty")
        if self.description is not None:
            self.description = _no_blank(self.description)
        return self


class LineOut(BaseModel):
    id: int
    kind: str
    description: str
    actual_hours: MoneyOut
    hours: HoursOut
    rate: HoursOut
    amount: HoursOut
    worklog_ids: list[str]


class NamedRef(BaseModel):
    id: int
    name: str


class DriftOut(BaseModel):
    worklog_id: str
    change: str
    detected_at: datetime


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
    total: HoursOut
    created_at: datetime
    created_by: Person | None
    finalized_at: datetime | None
    finalized_by: Person | None
    # Filled in by the accounting integration (QuickBooks), null when there is none.
    quickbooks: dict[str, Any] | None = None


class InvoiceOut(InvoiceSummary):
    notes: str | None
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


class LinePageOut(BaseModel):
    items: list[LineOut]
    next_cursor: str | None


class InvoicePage(BaseModel):
    items: list[InvoiceSummary]
    next_cursor: str | None
