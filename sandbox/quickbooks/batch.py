"""`POST /batch`: up to 30 `BatchItemRequest`s, each a query or a create/update/delete
(with `optionsData: "void"` for a void), answered one `BatchItemResponse` per bId with the
entity, the `QueryResponse` or a per-item `Fault`. Items run in order."""

from __future__ import annotations

from typing import Any

from sandbox.quickbooks import errors, query
from sandbox.quickbooks.company import Company
from sandbox.quickbooks.entities import public
from sandbox.quickbooks.operations import WRITE_ENTITIES, write

MAX_ITEMS = 30
BID_MAX_WITH_REQUESTID = 10


def run(company: Company, body: object, *, with_requestid: bool) -> dict[str, Any]:
    if not isinstance(body, dict) or not isinstance(body.get("BatchItemRequest"), list):
        raise errors.required_param("BatchItemRequest")
    items: list[Any] = body["BatchItemRequest"]
    if len(items) > MAX_ITEMS:
        raise errors.business_validation(
            f"The batch has {len(items)} items: at most {MAX_ITEMS} are allowed."
        )
    seen: set[str] = set()
    for item in items:
        bid = str(item.get("bId", "")) if isinstance(item, dict) else ""
        if not bid:
            raise errors.required_param("bId")
        if bid in seen:
            raise errors.business_validation(f"Duplicate bId {bid} in the batch.")
        if with_requestid and len(bid) > BID_MAX_WITH_REQUESTID:
            raise errors.string_length("bId", BID_MAX_WITH_REQUESTID, len(bid))
        seen.add(bid)
    return {"BatchItemResponse": [_one(company, item) for item in items]}


def _one(company: Company, item: dict[str, Any]) -> dict[str, Any]:
    bid = str(item["bId"])
    try:
        if "Query" in item:
            return {"bId": bid, "QueryResponse": query.run(company, str(item["Query"]))}
        entity_type = next((t for t in WRITE_ENTITIES if t in item), None)
        if entity_type is None:
            raise errors.required_param("Query or an entity")
        operation = str(item.get("operation", "create"))
        if item.get("optionsData") == "void" and operation == "update":
            operation = "void"
        result = write(company, entity_type, operation, item[entity_type], include=None)
        deleted = result.get("status") == "Deleted"
        shown = result if deleted else public(company, entity_type, result)
        return {"bId": bid, entity_type: shown}
    except errors.QboFault as fault:
        return {"bId": bid, "Fault": fault.fault_json()}
