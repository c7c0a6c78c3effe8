"""Who may change billing data: Jira administrators and the site's billing group.

A dependency, resolved before the request's own transaction opens: on a cache miss the
check asks Jira, and on SQLite a write transaction holds the one writer lock, so a slow
Jira would otherwise hold up every other write on the site's database."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.billing import repository
from app.dependencies import RuntimeDep, before_the_transaction
from app.errors import Forbidden
from app.tenants.auth import ApiContext
from app.tenants.permissions import require_billing_editor


@before_the_transaction
async def billing_editor(runtime: RuntimeDep, context: ApiContext) -> None:
    async with runtime.sessions() as session:
        group = await repository.billing_group(session, context.tenant.id)
    await require_billing_editor(runtime, context, group)


async def can_edit_billing(runtime: RuntimeDep, context: ApiContext) -> bool:
    """The same check as a yes or no (Jira not answering is still a 503)."""
    try:
        await billing_editor(runtime, context)
    except Forbidden:
        return False
    return True


BillingEditor = Annotated[None, Depends(billing_editor)]
