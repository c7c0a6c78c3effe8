"""The money and hours rules, in one place. Decimal only; never float.

* amounts have 2 places, rounded half up;
* hours are seconds / 3600 to 2 places, half up;
* a line's amount is exactly round_half_up(hours * rate, 2), so QuickBooks' own check
  Amount = Qty * UnitPrice holds for what we send.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from enum import StrEnum

from sqlalchemy import ColumnElement
from sqlalchemy.orm import InstrumentedAttribute

from app.quantities import CENT, hours

__all__ = [
    "CENT",
    "MAX_RATE",
    "RoundingMode",
    "billed_seconds",
    "billed_seconds_sql",
    "hours",
    "line_amount",
    "money",
    "money_text",
]

MAX_RATE = Decimal("100000.00")  # an hourly rate above this is a typo, not a price


class RoundingMode(StrEnum):
    NONE = "none"
    UP = "up"
    NEAREST = "nearest"


def money(value: Decimal | int | str) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


# Symbols people read without the code; any other currency is written with its code.
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹"}


def money_text(value: Decimal, currency: str) -> str:
    """An amount as a sentence shows it: $78,063.00, €1,200.50, CHF 950.00."""
    amount = f"{money(value):,.2f}"
    if amount.startswith("-"):
        return "-" + money_text(-value, currency)
    symbol = _SYMBOLS.get(currency.upper())
    return f"{symbol}{amount}" if symbol else f"{currency.upper()} {amount}"


def line_amount(billed_hours: Decimal, rate: Decimal) -> Decimal:
    return (billed_hours * rate).quantize(CENT, rounding=ROUND_HALF_UP)


def billed_seconds(seconds: int, rounding_minutes: int, mode: RoundingMode) -> int:
    """One worklog's billable seconds under the tenant's rounding rule.

    `up` rounds each worklog up to the next multiple of the step; `nearest` to the closest
    one, halves up (7.5 minutes on a 15-minute step is 15, 7 minutes is 0).
    """
    if mode is RoundingMode.NONE or rounding_minutes <= 0 or seconds <= 0:
        return seconds
    step = rounding_minutes * 60
    if mode is RoundingMode.UP:
        return int((Decimal(seconds) / step).to_integral_value(ROUND_CEILING)) * step
    return int((Decimal(seconds) / step).to_integral_value(ROUND_HALF_UP)) * step


def billed_seconds_sql(
    seconds: ColumnElement[int] | InstrumentedAttribute[int],
    rounding_minutes: int,
    mode: RoundingMode,
) -> ColumnElement[int] | InstrumentedAttribute[int]:
    """`billed_seconds` as SQL over a column, for invoices generated inside the database.

    Integer arithmetic only, so SQLite and PostgreSQL agree with the Python rule exactly
    (tests compare the two): up is ceil(s / step), nearest is floor((2s + step) / 2step).
    """
    if mode is RoundingMode.NONE or rounding_minutes <= 0:
        return seconds
    step = rounding_minutes * 60
    if mode is RoundingMode.UP:
        return ((seconds + (step - 1)) // step) * step
    return ((seconds * 2 + step) // (2 * step)) * step
