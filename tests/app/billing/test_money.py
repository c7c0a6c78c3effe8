"""The money rules hold for every input, not just the examples we thought of."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given
from hypothesis import strategies as st

from app.billing.invoice_repository import _cents
from app.billing.money import RoundingMode, billed_seconds, hours, line_amount, money
from app.billing.money_view import shown_money

seconds = st.integers(min_value=0, max_value=30 * 24 * 3600)
steps = st.sampled_from([1, 5, 6, 10, 15, 30, 60])
rates = st.decimals(min_value=0, max_value=Decimal("100000"), places=2)


@given(seconds, steps)
def test_rounding_up_never_bills_less_and_lands_on_a_step(logged: int, minutes: int) -> None:
    billed = billed_seconds(logged, minutes, RoundingMode.UP)
    assert billed % (minutes * 60) == 0
    assert logged <= billed < logged + minutes * 60


@given(seconds, steps)
def test_rounding_to_nearest_moves_at_most_half_a_step(logged: int, minutes: int) -> None:
    billed = billed_seconds(logged, minutes, RoundingMode.NEAREST)
    assert billed % (minutes * 60) == 0
    assert abs(billed - logged) <= minutes * 30


@given(seconds, steps)
def test_no_rounding_bills_what_was_logged(logged: int, minutes: int) -> None:
    assert billed_seconds(logged, minutes, RoundingMode.NONE) == logged


@given(seconds, rates)
def test_a_line_is_exactly_hours_times_rate_rounded_half_up(logged: int, rate: Decimal) -> None:
    billed_hours = hours(logged)
    amount = line_amount(billed_hours, rate)
    assert amount == (billed_hours * rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert amount.as_tuple().exponent == -2
    assert billed_hours == (Decimal(logged) / 3600).quantize(Decimal("0.01"), ROUND_HALF_UP)


def test_the_worked_examples() -> None:
    assert billed_seconds(7 * 60 + 30, 15, RoundingMode.NEAREST) == 15 * 60  # 7.5 min: half up
    assert billed_seconds(7 * 60, 15, RoundingMode.NEAREST) == 0
    assert billed_seconds(61, 15, RoundingMode.UP) == 15 * 60
    assert hours(5400) == Decimal("1.50") and hours(1) == Decimal("0.00")
    assert hours(18) == Decimal("0.01")  # 0.005 h rounds half up
    assert line_amount(Decimal("1.50"), Decimal("99.99")) == Decimal("149.99")  # 149.985
    assert money("2.675") == Decimal("2.68")  # half up, where binary floats give 2.67


def test_every_amount_read_back_or_written_out_rounds_half_up() -> None:
    """One rounding for money everywhere: an amount read back from the database (SQLite's
    floats) and an amount the API writes both round a half cent up, as `money` does."""
    assert _cents(Decimal("0.125")) == money(Decimal("0.125")) == Decimal("0.13")
    assert _cents(0.3000000000000000444) == Decimal("0.30")
    assert shown_money(Decimal("2.345")) == "2.35"
    assert shown_money(None) is None
