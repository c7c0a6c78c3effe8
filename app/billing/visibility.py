"""Who sees money: a site may hide rates and amounts from people who may only read billing
data (`readers_see_money`, on by default). Hidden means hidden in the API, not only on the
pages: every rate and amount of every response comes back null.

One mechanism covers every route. Money leaves the API only through `MoneyOut` (schemas),
whose serializer asks `money_view.money_hidden()`; `money_visibility`, a dependency of every router
that answers with money, decides it once per request and says so in the `X-W360-Money`
header (`hidden`), so the pages can write "Hidden" rather than "—". The decision lives in
a context variable (`money_view`): a request is one task, and FastAPI serializes the
response in it.
"""

from __future__ import annotations

from fastapi import Depends, Response

from app.billing import repository
from app.billing.editor import can_edit_billing
from app.billing.money_view import hide_money
from app.dependencies import RuntimeDep, before_the_transaction
from app.errors import ServiceUnavailable
from app.tenants.auth import ApiContext

MONEY_HEADER = "X-W360-Money"


async def money_shown_to(runtime: RuntimeDep, context: ApiContext) -> bool:
    async with runtime.sessions() as session:
        if await repository.readers_see_money(session, context.tenant.id):
            return True
    try:
        return await can_edit_billing(runtime, context)
    except ServiceUnavailable:
        # Jira cannot say who this is now: reading goes on, with the money hidden (the safe
        # side), rather than every page failing while Jira is away.
        return False


@before_the_transaction
async def money_visibility(runtime: RuntimeDep, context: ApiContext, response: Response) -> None:
    hidden = not await money_shown_to(runtime, context)
    hide_money(hidden)
    if hidden:
        response.headers[MONEY_HEADER] = "hidden"


# For `APIRouter(dependencies=[MoneyVisibility])` and single routes.
MoneyVisibility = Depends(money_visibility)
