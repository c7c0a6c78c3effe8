"""Billing's API shapes. Money travels as a string with two decimals; input may be a string
or a JSON number with at most two decimals, never more precision than a cent."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Self

import pycountry
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    model_validator,
)

from app.billing.models import BillingSettings, Client
from app.billing.money import MAX_RATE, RoundingMode
from app.billing.money_view import shown_money
from app.billing.rates import RateSource
from app.ids import RowId
from app.worklogs.schemas import WorklogOut

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PREFIX = re.compile(r"^[A-Za-z0-9\-_/.#]*$")
# QuickBooks' DocNumber holds 21 characters: a prefix of at most 12 and a sequence of at most
# 9 digits can never make a longer invoice number.
MAX_PREFIX = 12
MAX_SEQUENCE = 999_999_999


# ISO 4217 codes that are not money anyone is invoiced in: no currency, testing, precious
# metals, supranational units of account and bond markets, and funds codes.
NOT_BILLABLE = frozenset(
    {"XXX", "XTS", "XAU", "XAG", "XPD", "XPT", "XDR", "XBA", "XBB", "XBC", "XBD", "XSU", "XUA"}
    | {"BOV", "CHE", "CHW", "CLF", "COU", "MXV", "USN", "UYI", "UYW"}
)


def billable_currencies() -> list[tuple[str, str]]:
    """Every ISO 4217 code a client may be invoiced in, with its name, by code."""
    return sorted(
        (c.alpha_3, c.name) for c in pycountry.currencies if c.alpha_3 not in NOT_BILLABLE
    )


def _currency(code: str) -> str:
    code = code.strip().upper()
    if len(code) != 3 or pycountry.currencies.get(alpha_3=code) is None:
        raise ValueError(f"{code} is not a currency code: use ISO 4217, like EUR or USD")
    if code in NOT_BILLABLE:
        raise ValueError(
            f"{code} is an ISO 4217 code but not a currency a client is invoiced in:"
            " use a money code, like EUR or USD"
        )
    return code


def _email(value: str | None) -> str | None:
    if value is None or value.strip() == "":
        return None
    value = value.strip()
    if not _EMAIL.fullmatch(value):
        raise ValueError("enter an email address, like billing@example.com")
    return value


def _no_blank(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("fill it in")
    return value


def _hours_text(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


Rate = Annotated[
    Decimal,
    Field(ge=0, le=MAX_RATE, decimal_places=2, allow_inf_nan=False),
]
MoneyOut = Annotated[Decimal | None, PlainSerializer(shown_money, return_type=str | None)]
OptionalHoursOut = Annotated[Decimal | None, PlainSerializer(_hours_text, return_type=str | None)]
Currency = Annotated[str, AfterValidator(_currency)]
Email = Annotated[str | None, Field(max_length=254), AfterValidator(_email)]
Name = Annotated[str, StringConstraints(max_length=200), AfterValidator(_no_blank)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ClientIn(_Input):
    name: Name
    currency: Currency
    hourly_rate: Rate | None = None
    billing_email: Email = None
    address: Annotated[str | None, Field(max_length=2000)] = None


class ClientPatch(_Input):
    name: Name | None = None
    currency: Currency | None = None
    hourly_rate: Rate | None = None
    billing_email: Email = None
    address: Annotated[str | None, Field(max_length=2000)] = None


class QuickBooksCustomerLink(BaseModel):
    customer_id: str
    display_name: str | None
    # False when the customer was made inactive in QuickBooks: syncing to it is refused.
    active: bool | None = None


class ClientOut(BaseModel):
    id: int
    name: str
    currency: str
    hourly_rate: MoneyOut
    billing_email: str | None
    address: str | None
    quickbooks: QuickBooksCustomerLink | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, client: Client) -> ClientOut:
        return cls(
            id=client.id,
            name=client.name,
            currency=client.currency,
            hourly_rate=client.hourly_rate,
            billing_email=client.billing_email,
            address=client.address,
            quickbooks=None,
            created_at=client.created_at,
            updated_at=client.updated_at,
        )


class ClientPage(BaseModel):
    items: list[ClientOut]
    next_cursor: str | None


class SettingsOut(BaseModel):
    invoice_number_prefix: str
    next_invoice_number: int
    rounding_minutes: int
    rounding_mode: RoundingMode
    default_hourly_rate: MoneyOut
    default_due_days: int
    billing_group: str | None
    quickbooks_item_id: str | None
    quickbooks_tax_code_id: str | None
    readers_see_money: bool

    @classmethod
    def of(cls, settings: BillingSettings) -> SettingsOut:
        return cls(
            invoice_number_prefix=settings.invoice_number_prefix,
            next_invoice_number=settings.next_invoice_number,
            rounding_minutes=settings.rounding_minutes,
            rounding_mode=RoundingMode(settings.rounding_mode),
            default_hourly_rate=settings.default_hourly_rate,
            default_due_days=settings.default_due_days,
            billing_group=settings.billing_group,
            quickbooks_item_id=settings.quickbooks_item_id,
            quickbooks_tax_code_id=settings.quickbooks_tax_code_id,
            readers_see_money=settings.readers_see_money,
        )


def _prefix(value: str | None) -> str | None:
    if value is not None and not _PREFIX.fullmatch(value):
        raise ValueError("use only letters, digits and - _ / . # (no spaces)")
    return value


class SettingsPatch(_Input):
    invoice_number_prefix: Annotated[
        str | None, Field(max_length=MAX_PREFIX), AfterValidator(_prefix)
    ] = None
    next_invoice_number: Annotated[int | None, Field(ge=1, le=MAX_SEQUENCE)] = None
    rounding_minutes: Annotated[int | None, Field(ge=0, le=240)] = None
    rounding_mode: RoundingMode | None = None
    default_hourly_rate: Rate | None = None
    default_due_days: Annotated[int | None, Field(ge=0, le=365)] = None
    billing_group: Annotated[str | None, Field(max_length=255)] = None
    quickbooks_item_id: Annotated[str | None, Field(max_length=64)] = None
    quickbooks_tax_code_id: Annotated[str | None, Field(max_length=64)] = None
    readers_see_money: bool | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("Nothing to change: change at least one setting")
        return self


class BudgetKind(StrEnum):
    TIME_AND_MATERIALS = "time_and_materials"
    RETAINER = "retainer"


# Jira project keys: an upper-case letter, then upper-case letters, digits or underscores.
ProjectKey = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]{0,254}$")]
Hours = Annotated[Decimal, Field(ge=0, le=Decimal("1000000"), decimal_places=2)]
Amount = Annotated[Decimal, Field(ge=0, le=Decimal("1000000000"), decimal_places=2)]
ProjectKeys = Annotated[list[ProjectKey], Field(min_length=1, max_length=50)]


def _check_period(starts_on: date | None, ends_on: date | None) -> None:
    if starts_on and ends_on and ends_on < starts_on:
        raise ValueError(
            "The budget ends before it starts: choose an end date on or after the start, or "
            "leave the end date empty for an open budget"
        )


class BudgetIn(_Input):
    client_id: RowId
    name: Name
    kind: BudgetKind = BudgetKind.TIME_AND_MATERIALS
    project_keys: ProjectKeys
    hourly_rate: Rate | None = None
    hours_cap: Hours | None = None
    amount_cap: Amount | None = None
    starts_on: date
    ends_on: date | None = None

    @model_validator(mode="after")
    def _period(self) -> Self:
        _check_period(self.starts_on, self.ends_on)
        return self


class BudgetPatch(_Input):
    name: Name | None = None
    kind: BudgetKind | None = None
    project_keys: ProjectKeys | None = None
    hourly_rate: Rate | None = None
    hours_cap: Hours | None = None
    amount_cap: Amount | None = None
    starts_on: date | None = None
    ends_on: date | None = None


HoursOut = Annotated[Decimal, PlainSerializer(lambda v: f"{v:.2f}", return_type=str)]


class BudgetOut(BaseModel):
    id: int
    client_id: int
    name: str
    kind: BudgetKind
    project_keys: list[str]
    hourly_rate: MoneyOut
    hours_cap: OptionalHoursOut
    amount_cap: MoneyOut
    starts_on: date
    ends_on: date | None
    hours_logged: HoursOut
    hours_billable: HoursOut
    hours_remaining: OptionalHoursOut
    hours_invoiced: HoursOut
    amount_invoiced: MoneyOut
    amount_remaining: MoneyOut
    created_at: datetime
    updated_at: datetime


class BudgetPage(BaseModel):
    items: list[BudgetOut]
    next_cursor: str | None


class JiraProjectOut(BaseModel):
    key: str
    name: str


class JiraProjectList(BaseModel):
    """The site's Jira projects Worklog360 can see, by key (a budget covers some of them)."""

    items: list[JiraProjectOut]


class MemberRate(_Input):
    account_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    hourly_rate: Rate
    effective_from: date


class MemberRateOut(BaseModel):
    account_id: str
    hourly_rate: MoneyOut
    effective_from: date


class RateCard(BaseModel):
    items: list[MemberRateOut]


class RateChange(_Input):
    """A budget's, a client's or the site's rate from a day on (its base rate before)."""

    effective_from: date
    hourly_rate: Rate


RateChanges = Annotated[list[RateChange], Field(max_length=200)]


class RateChangeOut(BaseModel):
    effective_from: date
    hourly_rate: MoneyOut


class RateChangeList(BaseModel):
    items: list[RateChangeOut]


class AssignmentIn(_Input):
    budget_id: RowId
    worklog_ids: Annotated[
        list[Annotated[str, StringConstraints(pattern=r"^\d{1,18}$")]],
        Field(min_length=1, max_length=1000),
    ]


class UnassignmentIn(_Input):
    budget_id: RowId | None = None
    worklog_ids: Annotated[
        list[Annotated[str, StringConstraints(pattern=r"^\d{1,18}$")]],
        Field(min_length=1, max_length=1000),
    ]


class AssignmentOut(BaseModel):
    budget_id: int | None
    worklog_ids: list[str]


class WorklogInvoice(BaseModel):
    """The invoice holding a worklog: `number` once finalized, null on a draft. Either way
    the worklog keeps its budget, rate and billable flag (409 `worklog_invoiced`)."""

    id: int
    number: str | None
    status: str


class PricedWorklogOut(WorklogOut):
    """A worklog as the Worklogs page shows it: with its budget and the rate it bills at."""

    budget_id: int | None
    rate: MoneyOut
    rate_source: RateSource | None
    invoice_id: int | None
    invoice: WorklogInvoice | None


class WorklogTotalsOut(BaseModel):
    """Every worklog `GET /api/worklogs` lists for the same filters, over all its pages:
    hours are the sum of their seconds in hours (2 places); billable hours those of the
    worklogs marked billable. Asked on its own, so the list's first page never waits on
    a count of the whole filter."""

    worklogs: int
    hours: HoursOut
    billable_hours: HoursOut


class PricedWorklogPage(BaseModel):
    items: list[PricedWorklogOut]
    next_cursor: str | None


class WorklogPatch(_Input):
    billable: bool | None = None
    rate_override: Rate | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("Nothing to change: set billable or the rate")
        if "billable" in self.model_fields_set and self.billable is None:
            raise ValueError("Billable must be true or false")
        return self
