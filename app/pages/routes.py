"""Iframe pages. Each is authenticated with the page JWT Jira appends to the URL (real qsh).

The page itself holds no session: its scripts ask `AP.context.getToken()` for a fresh
context token before each API call (Jira's iframes block third-party cookies).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from app.billing.schemas import billable_currencies
from app.dependencies import RuntimeDep
from app.settings import PROJECT_ROOT
from app.surface import SURFACE
from app.tenants.auth import PageContext

router = APIRouter(prefix="/pages", tags=["pages"], include_in_schema=False)
templates = Jinja2Templates(directory=PROJECT_ROOT / "templates")


@dataclass(frozen=True, slots=True)
class Page:
    template: str
    title: str
    heading: str


PAGES = {
    "worklogs": Page("worklogs.html", "Worklogs", "Worklogs"),
    "clients": Page("clients.html", "Manage → Clients", "Clients"),
    "budgets": Page("budgets.html", "Budgets", "Budgets"),
    "invoices": Page("invoices.html", "Financials → Invoices", "Invoices"),
    "settings/integrations": Page(
        "settings_integrations.html", "Settings → Integrations", "Settings"
    ),
    "issue-glance": Page("issue_glance.html", "Worklog360", "Worklog360"),
}

# The module key of each page: scripts move between pages with
# AP.navigator.go("addonmodule", {moduleKey}), as Jira wants.
MODULE_KEYS = SURFACE.page_modules()


def _render(request: Request, runtime: RuntimeDep, context: PageContext, name: str) -> HTMLResponse:
    page = PAGES[name]
    return templates.TemplateResponse(
        request,
        page.template,
        {
            "title": page.title,
            "heading": page.heading,
            "page_key": name,
            "api_base": runtime.settings.base_url,
            "static_base": f"{runtime.settings.base_url}/static",
            "modules_json": json.dumps(MODULE_KEYS),
            "all_js_url": runtime.settings.connect_all_js_url,
            "host_base_url": context.tenant.base_url,
            "account_id": context.account_id,
            "query": dict(request.query_params),
            # The Currency picker: ISO 4217 money, not free text.
            "currencies": billable_currencies() if page.template == "clients.html" else [],
        },
        headers={"Cache-Control": "no-store"},
    )


@router.get("/worklogs", response_class=HTMLResponse)
async def worklogs(request: Request, runtime: RuntimeDep, context: PageContext) -> HTMLResponse:
    return _render(request, runtime, context, "worklogs")


@router.get("/clients", response_class=HTMLResponse)
async def clients(request: Request, runtime: RuntimeDep, context: PageContext) -> HTMLResponse:
    return _render(request, runtime, context, "clients")


@router.get("/budgets", response_class=HTMLResponse)
async def budgets(request: Request, runtime: RuntimeDep, context: PageContext) -> HTMLResponse:
    return _render(request, runtime, context, "budgets")


@router.get("/invoices", response_class=HTMLResponse)
async def invoices(request: Request, runtime: RuntimeDep, context: PageContext) -> HTMLResponse:
    return _render(request, runtime, context, "invoices")


@router.get("/settings/integrations", response_class=HTMLResponse)
async def settings_integrations(
    request: Request, runtime: RuntimeDep, context: PageContext
) -> HTMLResponse:
    return _render(request, runtime, context, "settings/integrations")


@router.get("/issue-glance", response_class=HTMLResponse)
async def issue_glance(request: Request, runtime: RuntimeDep, context: PageContext) -> HTMLResponse:
    return _render(request, runtime, context, "issue-glance")
