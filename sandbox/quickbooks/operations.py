"""Which write an `operation` names for an entity type: create (or update when the body has
an Id), update, void, delete — the same dispatch for single requests and batch items."""

from __future__ import annotations

from typing import Any

from sandbox.quickbooks import customers, errors, invoices, items, payments
from sandbox.quickbooks.company import Company

WRITE_ENTITIES = ("Customer", "Item", "Invoice", "Payment")


def write(
    company: Company, entity_type: str, operation: str | None, body: object, *, include: str | None
) -> dict[str, Any]:
    operation = (operation or "create").lower()
    includes = {p.strip().lower() for p in (include or "").split(",") if p.strip()}
    if entity_type == "Invoice":
        allow_duplicate = "allowduplicatedocnum" in includes
        if operation in ("create", "update"):
            if operation == "update" or (isinstance(body, dict) and body.get("Id")):
                return invoices.update(company, body, allow_duplicate=allow_duplicate)
            return invoices.create(company, body, allow_duplicate=allow_duplicate)
        if operation == "void":
            return invoices.void(company, body)
        if operation == "delete":
            return invoices.delete(company, body)
    elif entity_type == "Payment":
        if (operation == "update" and "void" in includes) or operation == "void":
            return payments.void(company, body)
        if operation == "create" and not (isinstance(body, dict) and body.get("Id")):
            return payments.create(company, body)
        if operation == "delete":
            return payments.delete(company, body)
    elif entity_type in ("Customer", "Item"):
        has_id = isinstance(body, dict) and bool(body.get("Id"))
        if operation in ("create", "update") and (has_id or operation == "create"):
            if entity_type == "Customer":
                return (
                    customers.update(company, body) if has_id else customers.create(company, body)
                )
            return items.update(company, body) if has_id else items.create(company, body)
        if operation == "delete":
            raise errors.validation(
                "500",
                "Unsupported Operation",
                f"Operation Delete is not supported for {entity_type}: make it inactive.",
            )
    raise errors.validation(
        "500",
        "Unsupported Operation",
        f"Operation {operation} is not supported for {entity_type}.",
    )
