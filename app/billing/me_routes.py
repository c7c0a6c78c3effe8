"""Who is calling, and whether they may change billing data, so pages can show editing
controls only to billing editors. The API still refuses readers on every write."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from app.billing.editor import billing_editor
from app.dependencies import RuntimeDep
from app.errors import Forbidden
from app.tenants.auth import ApiContext

router = APIRouter(prefix="/api", tags=["billing"])


class MeOut(BaseModel):
    account_id: str | None
    can_edit_billing: bool


@router.get("/me")
async def read_me(runtime: RuntimeDep, context: ApiContext) -> MeOut:
    # The same check as the BillingEditor dependency (no transaction held while asking
    # Jira); a reader is an answer here, not an error. Jira not answering stays a 503.
    try:
        await billing_editor(runtime, context)
    except Forbidden:
        can_edit = False
    else:
        can_edit = True
    return MeOut(account_id=context.account_id, can_edit_billing=can_edit)
