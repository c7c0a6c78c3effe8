"""What every entity shares: reading refs from a request body, the SyncToken check, sparse
versus full updates, and the public JSON of a stored entity (computed fields added, private
`_` keys dropped)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox.quickbooks import errors
from sandbox.quickbooks.company import Company

READ_ONLY = frozenset({"Id", "SyncToken", "MetaData", "domain", "sparse"})


def require_object(body: object, entity_type: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise errors.malformed_request(f"Request body must be a {entity_type} object")
    return body


def ref_value(body: dict[str, Any], name: str) -> str | None:
    ref = body.get(name)
    if isinstance(ref, dict) and ref.get("value") not in (None, ""):
        return str(ref["value"])
    if isinstance(ref, str | int) and not isinstance(ref, bool) and str(ref):
        return str(ref)
    return None


def existing(company: Company, entity_type: str, body: dict[str, Any]) -> dict[str, Any]:
    """The stored entity an update/void/delete names, after the SyncToken check."""
    entity_id = body.get("Id")
    if entity_id in (None, ""):
        raise errors.required_param("Id")
    entity = company.get(entity_type, entity_id)
    if entity is None:
        raise errors.object_not_found(entity_type, str(entity_id))
    if "SyncToken" not in body:
        raise errors.required_param("SyncToken")
    if str(body["SyncToken"]) != entity["SyncToken"]:
        raise errors.stale_object(entity_type, str(entity_id), body["SyncToken"])
    return entity


def merged(
    entity: dict[str, Any], body: dict[str, Any], writable: frozenset[str]
) -> dict[str, Any]:
    """The entity after an update: sparse keeps what the body leaves out, a full update
    clears every writable field the body does not send."""
    result = dict(entity)
    if body.get("sparse") is not True:
        for key in writable:
            result.pop(key, None)
    for key, value in body.items():
        if key in READ_ONLY:
            continue
        if key in writable:
            result[key] = value
    return result


def public(company: Company, entity_type: str, entity: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in entity.items() if not k.startswith("_")}
    if entity_type == "Customer":
        open_balance = sum(
            (
                inv["Balance"]
                for inv in company.entities["Invoice"].values()
                if inv["CustomerRef"]["value"] == entity["Id"]
            ),
            Decimal(0),
        )
        out["Balance"] = open_balance
        out["BalanceWithJobs"] = open_balance
    return out
