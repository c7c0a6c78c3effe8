"""Change data capture: every entity of the asked types changed since `changedSince`
(full payloads; deleted ones as `{"Id", "status": "Deleted", "MetaData"}`), at most 1000 per
type, for changes within the last 30 days."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sandbox.quickbooks import errors
from sandbox.quickbooks.company import Company
from sandbox.quickbooks.entities import public
from sandbox.quickbooks.formats import parse_datetime

CDC_ENTITIES = ("Customer", "Item", "Invoice", "Payment", "Account")
WINDOW = timedelta(days=30)
MAX_PER_ENTITY = 1000


def run(company: Company, entities: str | None, changed_since: str | None) -> dict[str, Any]:
    """The `CDCResponse` list of one CDC call."""
    if not entities:
        raise errors.required_param("entities")
    if not changed_since:
        raise errors.required_param("changedSince")
    since = parse_datetime(changed_since)
    if since is None:
        raise errors.malformed_request(f"Invalid changedSince: {changed_since}")
    if since < company.now() - WINDOW:
        raise errors.QboFault(
            400,
            errors.FaultError(
                "An application error has occurred while processing your request",
                f"System Failure Error: Operation cdc with changedSince date {changed_since} "
                "which is older than fixed days is not supported.",
                "10000",
            ),
            type="SystemFault",
        )
    names = [n.strip() for n in entities.split(",") if n.strip()]
    responses: list[dict[str, Any]] = []
    for name in names:
        entity_type = next((t for t in CDC_ENTITIES if t.lower() == name.lower()), None)
        if entity_type is None:
            raise errors.invalid_query(f"Entity {name} is not supported by change data capture")
        changed = [
            (e["_updated"], public(company, entity_type, e))
            for e in company.entities[entity_type].values()
            if e["_updated"] >= since
        ]
        changed += [
            (t["_updated"], {k: v for k, v in t.items() if not k.startswith("_")})
            for t in company.tombstones[entity_type].values()
            if t["_updated"] >= since
        ]
        changed.sort(key=lambda pair: pair[0])
        rows = [row for _, row in changed[:MAX_PER_ENTITY]]
        block: dict[str, Any] = {"startPosition": 1, "maxResults": len(rows)}
        if rows:
            block = {entity_type: rows, **block}
        responses.append(block)
    return {"CDCResponse": [{"QueryResponse": responses}]}
