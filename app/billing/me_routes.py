"""Who is calling and what they may do, so pages show each control only to those who may
use it. The API still refuses everyone else on every write."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from app.billing.editor import can_edit_billing
from app.billing.visibility import money_shown_to
from app.dependencies import RuntimeDep
from app.tenants.auth import ApiContext
from app.tenants.permissions import is_site_admin

router = APIRouter(prefix="/api", tags=["billing"])


class MeOut(BaseModel):
    account_id: str | None
    can_edit_billing: bool
    # Connecting and disconnecting QuickBooks needs Jira's ADMINISTER permission.
    can_manage_quickbooks: bool
    # False when the site hides rates and amounts from readers and this is one.
    can_see_money: bool


@router.get("/me")
async def read_me(runtime: RuntimeDep, context: ApiContext) -> MeOut:
    # The same checks as the routes' (no transaction held while asking Jira); a reader is
    # an answer here, not an error. Jira not answering stays a 503.
    return MeOut(
        account_id=context.account_id,
        can_edit_billing=await can_edit_billing(runtime, context),
        can_manage_quickbooks=await is_site_admin(runtime, context),
        can_see_money=await money_shown_to(runtime, context),
    )
