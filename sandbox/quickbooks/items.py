"""Items: Service and NonInventory items with an income account; Name unique (6240)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox.quickbooks import errors
from sandbox.quickbooks.company import Company
from sandbox.quickbooks.entities import existing, merged, ref_value, require_object
from sandbox.quickbooks.formats import to_decimal

WRITABLE = frozenset(
    {"Name", "Description", "Active", "Taxable", "UnitPrice", "Type", "IncomeAccountRef", "Sku"}
)
TYPES = ("Service", "NonInventory")


def _validate(company: Company, item: dict[str, Any], own_id: str | None) -> None:
    name = item.get("Name")
    if not isinstance(name, str) or not name.strip():
        raise errors.required_param("Name")
    if len(name) > 100:
        raise errors.string_length("Name", 100, len(name))
    for other in company.entities["Item"].values():
        if other["Id"] != own_id and other["Name"].casefold() == name.strip().casefold():
            raise errors.validation(
                "6240",
                "Duplicate Name Exists Error",
                "The name supplied already exists. : Another product or service is already "
                f"using this name. Please use a different name. Id={other['Id']}",
            )
    kind = item.get("Type", "Service")
    if kind not in TYPES:
        raise errors.validation(
            "2170", "Invalid Enumeration", f"Invalid Enumeration : {kind}", "Type"
        )
    account_id = ref_value(item, "IncomeAccountRef")
    if account_id is None:
        raise errors.required_param("IncomeAccountRef")
    account = company.get("Account", account_id)
    if account is None or account["AccountType"] != "Income":
        raise errors.invalid_reference("IncomeAccountRef", account_id)


def _normalise(company: Company, item: dict[str, Any]) -> None:
    account = company.entities["Account"][str(ref_value(item, "IncomeAccountRef"))]
    item["Name"] = item["Name"].strip()
    item["FullyQualifiedName"] = item["Name"]
    item["Type"] = item.get("Type", "Service")
    item["Active"] = item.get("Active", True) is not False
    item["Taxable"] = bool(item.get("Taxable", False))
    item["UnitPrice"] = to_decimal(item.get("UnitPrice")) or Decimal(0)
    item["IncomeAccountRef"] = {"value": account["Id"], "name": account["Name"]}
    item["TrackQtyOnHand"] = False


def create(company: Company, body: object) -> dict[str, Any]:
    data = require_object(body, "Item")
    item = {k: v for k, v in data.items() if k in WRITABLE}
    _validate(company, item, None)
    _normalise(company, item)
    return company.insert("Item", item)


def update(company: Company, body: object) -> dict[str, Any]:
    data = require_object(body, "Item")
    entity = existing(company, "Item", data)
    result = merged(entity, data, WRITABLE)
    _validate(company, result, entity["Id"])
    _normalise(company, result)
    entity.clear()
    entity.update(result)
    company.touch("Item", entity)
    return entity
