"""QuickBooks webhooks: the signature, the two payload formats, and what a delivery does.

`intuit-signature` is base64(HMAC-SHA256(verifier token, raw body)); it is checked on the
bytes as received, before any parsing, in constant time. Payloads come as the legacy
`{"eventNotifications": [...]}` or as a CloudEvents array (Intuit's migration,
reference/quickbooks.md §7); one delivery may name several companies, so events are routed
one by one, never by request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from typing import Any

from app.errors import ServiceUnavailable, Unauthorized, Unprocessable
from app.quickbooks import changes, jobs
from app.runtime import Runtime

logger = logging.getLogger(__name__)

# What a delivery may be about that Worklog360 follows: its invoices and their payments.
FOLLOWED_ENTITIES = frozenset({"Invoice", "Payment"})

# CloudEvents name entities in lower case (`qbo.invoice.updated.v1`).
_ENTITIES = {"invoice": "Invoice", "payment": "Payment", "customer": "Customer", "item": "Item"}


async def receive(runtime: Runtime, body: bytes, signature: str | None) -> None:
    """Verified, routed to tenants and queued: Intuit wants a 200 within 3 seconds, and the
    work (one change-data-capture run per company, however many events) runs after."""
    token = runtime.settings.qbo.webhook_verifier_token
    if token is None:
        raise ServiceUnavailable(
            "QuickBooks webhooks are not set up on this server (W360_QBO_WEBHOOK_VERIFIER_TOKEN).",
            code="quickbooks_webhooks_not_configured",
        )
    if not signature_valid(token.get_secret_value(), body, signature):
        raise Unauthorized("The intuit-signature header does not match.", code="invalid_signature")
    try:
        events = notifications(json.loads(body))
    except ValueError as exc:
        raise Unprocessable(
            "The webhook is not a QuickBooks notification.", code="invalid_payload"
        ) from exc
    realms = {e.realm_id for e in events if e.entity in FOLLOWED_ENTITIES}
    if not realms:
        return
    async with runtime.sessions() as session:
        tenants = await changes.tenants_of_realms(session, realms)
    for tenant_id in sorted(set(tenants.values())):
        await jobs.request_changes(runtime, tenant_id)
    logger.info("QuickBooks webhook: %d events for %d companies", len(events), len(tenants))


@dataclass(frozen=True, slots=True)
class Notification:
    realm_id: str
    entity: str
    entity_id: str
    operation: str


def signature_valid(verifier_token: str, body: bytes, signature: str | None) -> bool:
    if not signature:
        return False
    expected = base64.b64encode(
        hmac.new(verifier_token.encode("utf-8"), body, hashlib.sha256).digest()
    )
    return hmac.compare_digest(expected, signature.strip().encode("ascii", "replace"))


def notifications(payload: Any) -> list[Notification]:
    """The events of either format; ValueError when it is neither."""
    if isinstance(payload, list):
        return [n for event in payload if (n := _cloud_event(event)) is not None]
    if isinstance(payload, dict) and isinstance(payload.get("eventNotifications"), list):
        return _legacy(payload["eventNotifications"])
    raise ValueError("neither a CloudEvents array nor eventNotifications")


def _cloud_event(event: Any) -> Notification | None:
    if not isinstance(event, dict):
        return None
    parts = str(event.get("type") or "").split(".")
    realm_id, entity_id = event.get("intuitaccountid"), event.get("intuitentityid")
    if len(parts) < 3 or parts[0] != "qbo" or not realm_id or not entity_id:
        return None
    entity = _ENTITIES.get(parts[1].lower(), parts[1])
    return Notification(str(realm_id), entity, str(entity_id), parts[2])


def _legacy(notes: list[Any]) -> list[Notification]:
    found: list[Notification] = []
    for note in notes:
        if not isinstance(note, dict) or not note.get("realmId"):
            continue
        change = note.get("dataChangeEvent")
        entities = change.get("entities") if isinstance(change, dict) else None
        for entity in entities if isinstance(entities, list) else []:
            if isinstance(entity, dict) and entity.get("name") and entity.get("id"):
                found.append(
                    Notification(
                        str(note["realmId"]),
                        str(entity["name"]),
                        str(entity["id"]),
                        str(entity.get("operation") or "").lower(),
                    )
                )
    return found
