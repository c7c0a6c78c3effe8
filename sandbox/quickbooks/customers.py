"""Customers: DisplayName unique per company (6240), a fixed currency, Active instead of
delete."""

from __future__ import annotations

from typing import Any

from sandbox.quickbooks import errors
from sandbox.quickbooks.company import Company, currency_ref
from sandbox.quickbooks.entities import existing, merged, ref_value, require_object

WRITABLE = frozenset(
    {
        "DisplayName",
        "GivenName",
        "FamilyName",
        "MiddleName",
        "Title",
        "Suffix",
        "CompanyName",
        "PrintOnCheckName",
        "PrimaryEmailAddr",
        "PrimaryPhone",
        "BillAddr",
        "ShipAddr",
        "Notes",
        "Active",
        "Taxable",
        "CurrencyRef",
        "PreferredDeliveryMethod",
        "SalesTermRef",
    }
)
NAME_PARTS = ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")


def _display_name(body: dict[str, Any]) -> str:
    name = body.get("DisplayName")
    if isinstance(name, str) and name.strip():
        return name.strip()
    parts = [str(body[p]).strip() for p in NAME_PARTS if body.get(p)]
    if parts:
        return " ".join(parts)
    if isinstance(body.get("CompanyName"), str) and body["CompanyName"].strip():
        return str(body["CompanyName"]).strip()
    raise errors.required_param("DisplayName")


def _check_unique(company: Company, name: str, own_id: str | None) -> None:
    if len(name) > 500:
        raise errors.string_length("DisplayName", 500, len(name))
    for other in company.entities["Customer"].values():
        if other["Id"] != own_id and other["DisplayName"].casefold() == name.casefold():
            raise errors.validation(
                "6240",
                "Duplicate Name Exists Error",
                "The name supplied already exists. : Another customer is already using this "
                f"name. Please use a different name. Id={other['Id']}",
            )


def _currency(company: Company, body: dict[str, Any]) -> str:
    home = company.preferences.home_currency
    code = ref_value(body, "CurrencyRef") or home
    if code != home and not company.preferences.multicurrency:
        raise errors.business_validation(
            "Multicurrency is not enabled for this company: the customer must use the home "
            f"currency {home}.",
            "CurrencyRef",
        )
    return code


def create(company: Company, body: object) -> dict[str, Any]:
    data = require_object(body, "Customer")
    name = _display_name(data)
    _check_unique(company, name, None)
    code = _currency(company, data)
    entity: dict[str, Any] = {k: v for k, v in data.items() if k in WRITABLE}
    entity.update(
        {
            "DisplayName": name,
            "FullyQualifiedName": name,
            "PrintOnCheckName": data.get("PrintOnCheckName") or data.get("CompanyName") or name,
            "Active": data.get("Active", True) is not False,
            "Taxable": bool(data.get("Taxable", False)),
            "Job": False,
            "BillWithParent": False,
            "PreferredDeliveryMethod": data.get("PreferredDeliveryMethod", "Print"),
            "CurrencyRef": currency_ref(code),
        }
    )
    return company.insert("Customer", entity)


def update(company: Company, body: object) -> dict[str, Any]:
    data = require_object(body, "Customer")
    entity = existing(company, "Customer", data)
    result = merged(entity, data, WRITABLE)
    name = _display_name(result)
    _check_unique(company, name, entity["Id"])
    code = ref_value(result, "CurrencyRef") or entity["CurrencyRef"]["value"]
    if code != entity["CurrencyRef"]["value"]:
        raise errors.business_validation(
            "You can't change the currency of a customer.", "CurrencyRef"
        )
    result.update(
        {
            "DisplayName": name,
            "FullyQualifiedName": name,
            "Active": result.get("Active", True) is not False,
            "CurrencyRef": entity["CurrencyRef"],
        }
    )
    entity.clear()
    entity.update(result)
    company.touch("Customer", entity)
    return entity
