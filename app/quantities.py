"""Quantities shown and billed alike: hours are seconds / 3600 to 2 places, half up.

In its own module because both the mirror (showing a worklog) and billing (pricing it) need
the one rule, and the mirror may not import billing."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
SECONDS_PER_HOUR = Decimal(3600)


def hours(seconds: int) -> Decimal:
    return (Decimal(seconds) / SECONDS_PER_HOUR).quantize(CENT, rounding=ROUND_HALF_UP)
