"""Whether money is hidden from the caller of this request (decided by
`app.billing.visibility`, read by `MoneyOut`'s serializer). Kept apart, importing
nothing, so the schemas can read it without importing the request machinery."""

from __future__ import annotations

from contextvars import ContextVar

_hidden: ContextVar[bool] = ContextVar("w360_money_hidden", default=False)


def money_hidden() -> bool:
    return _hidden.get()


def hide_money(hidden: bool) -> None:
    # Set on every request that answers with money, never left over from an earlier one:
    # one task may serve several requests (an ASGI transport in-process, as in tests).
    _hidden.set(hidden)
