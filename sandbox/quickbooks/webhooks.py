"""QBO webhooks: change events queued per connected app in an outbox that tests flush
explicitly (or the sandbox flushes at once, for the demo). A flush sends one POST per app,
in the app's format — legacy `eventNotifications` or a CloudEvents array — signed with
`intuit-signature` = base64(HMAC-SHA256(verifier token, raw body))."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import itertools
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from sandbox.quickbooks.authority import OAuthClient, WebhookFormat

CLOUD_EVENT_VERBS = {
    "Create": "created",
    "Update": "updated",
    "Delete": "deleted",
    "Void": "voided",
    "Emailed": "emailed",
    "Merge": "merged",
}


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    realm_id: str
    entity: str
    entity_id: str
    operation: str
    at: datetime
    id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass(slots=True)
class WebhookDelivery:
    id: int
    client_id: str
    url: str
    format: WebhookFormat
    body: bytes
    signature: str
    events: list[WebhookEvent]

    @property
    def headers(self) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            "intuit-signature": self.signature,
            "User-Agent": "Intuit-Webhooks",
        }

    def payload(self) -> Any:
        return json.loads(self.body)


@dataclass(slots=True)
class DeliveryResult:
    delivery: WebhookDelivery
    status_code: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _timestamp(moment: datetime, digits: int = 3) -> str:
    text = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
    return text[: 20 + digits] + "Z"


def legacy_payload(events: list[WebhookEvent]) -> dict[str, Any]:
    by_realm: dict[str, list[WebhookEvent]] = {}
    for event in events:
        by_realm.setdefault(event.realm_id, []).append(event)
    return {
        "eventNotifications": [
            {
                "realmId": realm_id,
                "dataChangeEvent": {
                    "entities": [
                        {
                            "name": e.entity,
                            "id": e.entity_id,
                            "operation": e.operation,
                            "lastUpdated": _timestamp(e.at),
                        }
                        for e in realm_events
                    ]
                },
            }
            for realm_id, realm_events in by_realm.items()
        ]
    }


def _verb(operation: str) -> str:
    return CLOUD_EVENT_VERBS.get(operation, operation.lower())


def cloud_events_payload(events: list[WebhookEvent]) -> list[dict[str, Any]]:
    return [
        {
            "specversion": "1.0",
            "id": e.id,
            "source": "intuit.sandbox",
            "type": f"qbo.{e.entity.lower()}.{_verb(e.operation)}.v1",
            "datacontenttype": "application/json",
            "time": _timestamp(e.at, 6),
            "intuitentityid": e.entity_id,
            "intuitaccountid": e.realm_id,
            "data": {},
        }
        for e in events
    ]


def sign(verifier_token: str, body: bytes) -> str:
    digest = hmac.new(verifier_token.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class WebhookOutbox:
    def __init__(self) -> None:
        self.pending: dict[str, list[WebhookEvent]] = {}
        self.delivered: list[DeliveryResult] = []
        self._ids = itertools.count(1)

    def queue(self, client_id: str, event: WebhookEvent) -> None:
        self.pending.setdefault(client_id, []).append(event)

    def events(self, client_id: str | None = None) -> list[WebhookEvent]:
        if client_id is not None:
            return list(self.pending.get(client_id, []))
        return [e for events in self.pending.values() for e in events]

    def __len__(self) -> int:
        return sum(len(v) for v in self.pending.values())

    def drop(self, event_id: str) -> None:
        for events in self.pending.values():
            events[:] = [e for e in events if e.id != event_id]

    def duplicate(self, event_id: str) -> None:
        for events in self.pending.values():
            for index, event in enumerate(events):
                if event.id == event_id:
                    events.insert(index + 1, copy.copy(event))
                    return

    def reverse(self) -> None:
        for events in self.pending.values():
            events.reverse()

    def clear(self) -> None:
        self.pending.clear()

    def take(self, client: OAuthClient) -> WebhookDelivery | None:
        events = self.pending.pop(client.client_id, [])
        if not events or not client.webhook_url:
            return None
        payload: Any = (
            legacy_payload(events)
            if client.webhook_format == "legacy"
            else cloud_events_payload(events)
        )
        body = json.dumps(payload, separators=(",", ":")).encode()
        return WebhookDelivery(
            id=next(self._ids),
            client_id=client.client_id,
            url=client.webhook_url,
            format=client.webhook_format,
            body=body,
            signature=sign(client.verifier_token or "", body),
            events=events,
        )


async def send(http: httpx.AsyncClient, delivery: WebhookDelivery) -> DeliveryResult:
    try:
        response = await http.post(delivery.url, content=delivery.body, headers=delivery.headers)
    except httpx.HTTPError as exc:
        return DeliveryResult(delivery, None, f"{type(exc).__name__}: {exc}")
    return DeliveryResult(delivery, response.status_code)
