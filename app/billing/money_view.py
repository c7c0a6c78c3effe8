"""Whether money is hidden from the caller of this request (decided by
`app.billing.visibility`, read by `MoneyOut`'s serializer). Kept apart, importing
nothing, so the schemas can read it without importing the request machinery."""

from __future__ import annotations

from contextvars import ContextVar
from decimal import ROUND_HALF_UP, Decimal

_hidden: ContextVar[bool] = ContextVar("w360_money_hidden", default=False)


def money_hidden() -> bool:
    return _hidden.get()


def hide_money(hidden: bool) -> None:
    # Set on every request that answers with money, never left over from an earlier one:
    # one task may serve several requests (an ASGI transport in-process, as in tests).
    _hidden.set(hidden)


def shown_money(value: Decimal | None) -> str | None:
    """An amount as the API writes it ("270.00"), or None when this caller may not see money:
    the one place money leaves the API (app.billing.visibility)."""
    if value is None or money_hidden():
        return None
    return f"{value.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):.2f}"
