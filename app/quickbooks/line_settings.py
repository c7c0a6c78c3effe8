"""What Worklog360's invoice lines are in QuickBooks: the service item they are billed as
and the tax code they carry. Both are the company's own, so the Settings page offers them
from the company's lists (names shown, ids stored), and an id typed or sent by hand is
checked against QuickBooks before it is saved: a wrong one would otherwise surface only when
an invoice is synced."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.errors import Unprocessable
from app.quickbooks.api_errors import ObjectNotFoundError, QuickBooksError
from app.quickbooks.client import QuickBooksApi
from app.quickbooks.errors import QuickBooksNotConnected, app_error
from app.quickbooks.service import authorized_api
from app.runtime import Runtime

# QBO's pseudo tax codes of a US company's lines: taxable or not (it works out the tax).
US_TAX_CODES = (("TAX", "Taxable"), ("NON", "Not taxable"))
ITEM_FIELD = "quickbooks_item_id"
TAX_CODE_FIELD = "quickbooks_tax_code_id"


@dataclass(frozen=True, slots=True)
class Choice:
    id: str
    name: str
    description: str | None


@dataclass(frozen=True, slots=True)
class TaxCodes:
    codes: list[Choice]
    # True outside the US: QuickBooks refuses an invoice line without a tax code.
    required: bool


def _choice(entity: Mapping[str, Any], name_field: str = "Name") -> Choice:
    name = str(entity.get(name_field) or entity.get("FullyQualifiedName") or entity["Id"])
    description = entity.get("Description")
    return Choice(
        id=str(entity["Id"]),
        name=name,
        description=str(description) if description and description != name else None,
    )


async def _api(runtime: Runtime, tenant_id: int, what: str) -> QuickBooksApi:
    try:
        return await authorized_api(runtime, tenant_id)
    except QuickBooksNotConnected as exc:
        raise QuickBooksNotConnected(
            f"QuickBooks is not connected, so its {what} cannot be read. A Jira administrator "
            "can connect it in Settings → Integrations."
        ) from exc


async def _us_company(api: QuickBooksApi) -> bool:
    info = await api.company_info()
    address = info.get("CompanyAddr")
    country = info.get("Country") or (address.get("Country") if isinstance(address, dict) else "")
    return str(country or "US").upper() in ("US", "USA", "UNITED STATES")


async def service_items(runtime: Runtime, tenant_id: int) -> list[Choice]:
    api = await _api(runtime, tenant_id, "products and services")
    try:
        found = await api.service_items()
    except QuickBooksError as exc:
        raise app_error(exc) from exc
    return sorted((_choice(i) for i in found), key=lambda c: c.name.casefold())


async def tax_codes(runtime: Runtime, tenant_id: int) -> TaxCodes:
    api = await _api(runtime, tenant_id, "tax codes")
    try:
        us = await _us_company(api)
        found = await api.tax_codes()
    except QuickBooksError as exc:
        raise app_error(exc) from exc
    own = sorted(
        (_choice(c) for c in found if c.get("Active") is not False and not c.get("Hidden")),
        key=lambda c: c.name.casefold(),
    )
    if not us:
        return TaxCodes(own, required=True)
    pseudo = [Choice(code, code, text) for code, text in US_TAX_CODES]
    return TaxCodes(pseudo + [c for c in own if c.id not in dict(US_TAX_CODES)], required=False)


async def check_line_settings(runtime: Runtime, tenant_id: int, changes: Mapping[str, Any]) -> None:
    """Refuse a service item or tax code id the QuickBooks company does not have (active)."""
    item_id = _given(changes, ITEM_FIELD)
    tax_code_id = _given(changes, TAX_CODE_FIELD)
    if item_id is None and tax_code_id is None:
        return
    what = "products and services" if item_id is not None else "tax codes"
    api = await _api(runtime, tenant_id, what)
    try:
        if item_id is not None:
            await _check_item(api, item_id)
        if tax_code_id is not None:
            await _check_tax_code(api, tax_code_id)
    except QuickBooksError as exc:
        raise app_error(exc) from exc


def _given(changes: Mapping[str, Any], field: str) -> str | None:
    value = changes.get(field)
    return value.strip() if isinstance(value, str) and value.strip() else None


async def _read(api: QuickBooksApi, entity: str, entity_id: str) -> dict[str, Any] | None:
    if not entity_id.isalnum():
        return None  # no QuickBooks id has other characters; never put them in a URL
    try:
        return await api.read(entity, entity_id)
    except ObjectNotFoundError:
        return None


async def _check_item(api: QuickBooksApi, item_id: str) -> None:
    item = await _read(api, "Item", item_id)
    if item is None:
        raise Unprocessable(
            f"QuickBooks has no product or service with id {item_id}: choose the service "
            "item from the list.",
            code="quickbooks_item_not_found",
        )
    if item.get("Active") is False or item.get("Type") != "Service":
        kind = "inactive" if item.get("Active") is False else f"a {item.get('Type')} item"
        raise Unprocessable(
            f"'{item.get('Name')}' is {kind} in QuickBooks, and invoice lines need an active "
            "service: choose the service item from the list.",
            code="quickbooks_item_unusable",
        )


async def _check_tax_code(api: QuickBooksApi, code: str) -> None:
    us = await _us_company(api)
    if us and code in dict(US_TAX_CODES):
        return
    found = await _read(api, "TaxCode", code)
    if found is None or found.get("Active") is False:
        state = "no tax code" if found is None else "only an inactive tax code"
        raise Unprocessable(
            f"QuickBooks has {state} with id {code}: choose the tax code from the list.",
            code="quickbooks_tax_code_not_found",
        )
