"""Budget caps: what an invoice does to its budget's hours and money caps.

A cap counts the budget's finalized invoices and the invoice at hand (a draft counts as if
finalized now; a finalized invoice counts those finalized before it). Drafts do not count:
they bill nothing until finalized, and two drafts may hold alternatives. Hours are billed
hours; the money cap is in the client's currency, and only invoices in that currency count.

Generating a draft over a cap only warns; finalizing one is refused (409 `over_budget_cap`)
unless the request says the cap may be passed on purpose (`accept_over_cap`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from app.billing import invoice_repository as repo
from app.billing.models import Budget, Client, Invoice
from app.billing.money import CENT, money, money_text
from app.errors import Conflict


class CapKind(StrEnum):
    HOURS = "hours"
    AMOUNT = "amount"


@dataclass(frozen=True, slots=True)
class CapWarning:
    kind: CapKind
    currency: str | None  # the money cap's; None for hours
    cap: Decimal
    invoiced_before: Decimal
    this_invoice: Decimal
    after: Decimal
    over: Decimal

    def text(self, value: Decimal) -> str:
        if self.currency is None:
            return f"{value.quantize(CENT):,.2f} hours"
        return money_text(value, self.currency)

    def sentence(self, budget_name: str) -> str:
        cap = (
            f"{self.cap.quantize(CENT):,.2f}-hour cap"
            if self.currency is None
            else f"{self.text(self.cap)} cap"
        )
        return (
            f"This invoice brings {budget_name} to {self.text(self.after)} of its {cap} "
            f"({self.text(self.over)} over): {self.text(self.invoiced_before)} on its "
            f"finalized invoices plus {self.text(self.this_invoice)} on this one."
        )


async def cap_warnings(
    session: AsyncSession,
    invoice: Invoice,
    budget: Budget,
    client: Client,
    *,
    hours: Decimal,
    amount: Decimal,
) -> list[CapWarning]:
    """The caps this invoice takes its budget past, with the figures; empty when none."""
    finalized_before = None
    if invoice.finalized_at is not None:
        finalized_before = (invoice.finalized_at, invoice.id)
    return await caps_passed(
        session,
        budget,
        client,
        currency=invoice.currency,
        hours=hours,
        amount=amount,
        finalized_before=finalized_before,
    )


async def caps_passed(
    session: AsyncSession,
    budget: Budget,
    client: Client,
    *,
    currency: str,
    hours: Decimal,
    amount: Decimal,
    finalized_before: tuple[datetime, int] | None = None,
) -> list[CapWarning]:
    """The caps that `hours` and `amount` (in `currency`) would take the budget past on top
    of its finalized invoices (those finalized before (finalized_at, id), if given): for an
    invoice, or for one not made yet (a preview of Generate)."""
    if budget.hours_cap is None and budget.amount_cap is None:
        return []
    hours_before, amount_before = await repo.cap_usage(
        session,
        budget.tenant_id,
        budget.id,
        currency=currency,
        finalized_before=finalized_before,
    )
    warnings = []
    if budget.hours_cap is not None:
        warning = _past(CapKind.HOURS, None, money(budget.hours_cap), hours_before, hours)
        if warning:
            warnings.append(warning)
    # A cap in another currency cannot be compared: the client's currency changed after
    # the invoice was made.
    if budget.amount_cap is not None and currency == client.currency:
        cap = money(budget.amount_cap)
        warning = _past(CapKind.AMOUNT, currency, cap, amount_before, amount)
        if warning:
            warnings.append(warning)
    return warnings


def _past(
    kind: CapKind, currency: str | None, cap: Decimal, before: Decimal, this: Decimal
) -> CapWarning | None:
    after = before + this
    if this <= 0 or after <= cap:
        return None
    return CapWarning(kind, currency, cap, before, this, after, after - cap)


def over_cap(budget: Budget, warnings: list[CapWarning]) -> Conflict:
    figures = " ".join(w.sentence(budget.name) for w in warnings)
    return Conflict(
        f"{figures} Confirm that this invoice may go over the budget's cap to finalize it, "
        f"or take lines off the draft to stay within it.",
        code="over_budget_cap",
    )
