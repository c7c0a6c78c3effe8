"""Connect webhooks: queued in a per-site outbox that tests flush explicitly, after looking
at it and, if they like, dropping, duplicating or reordering deliveries (real webhooks can be
lost, repeated or arrive out of order)."""

from __future__ import annotations

import copy
import itertools
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from sandbox.jira.models import Installation, Worklog
from sandbox.jira.representations import webhook_worklog_json
from sandbox.jira.signing import query_hash_for_url, sign_hs256

if TYPE_CHECKING:
    from sandbox.jira.site import Site

TOKEN_LIFETIME_SECONDS = 180


@dataclass(slots=True)
class WebhookDelivery:
    id: int
    app_key: str
    event: str
    url: str
    payload: dict[str, Any]

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "app_key": self.app_key,
            "event": self.event,
            "url": self.url,
            "payload": self.payload,
        }


@dataclass(slots=True)
class DeliveryResult:
    delivery: WebhookDelivery
    status_code: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(slots=True)
class WebhookOutbox:
    pending: list[WebhookDelivery] = field(default_factory=list)
    delivered: list[DeliveryResult] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def queue(
        self,
        site: Site,
        installation: Installation,
        event: str,
        url: str,
        worklog: Worklog,
        now_ms: int,
    ) -> WebhookDelivery:
        # The payload is a snapshot: a later edit must not change what this event said.
        payload = {
            "timestamp": now_ms,
            "webhookEvent": event,
            "worklog": webhook_worklog_json(site, worklog),
        }
        delivery = WebhookDelivery(
            id=next(self._ids),
            app_key=installation.app_key,
            event=event,
            url=installation.app_base_url + url,
            payload=payload,
        )
        self.pending.append(delivery)
        return delivery

    def __len__(self) -> int:
        return len(self.pending)

    def find(self, delivery_id: int) -> WebhookDelivery:
        for delivery in self.pending:
            if delivery.id == delivery_id:
                return delivery
        raise KeyError(f"No pending webhook delivery {delivery_id}")

    def drop(self, delivery_id: int) -> WebhookDelivery:
        delivery = self.find(delivery_id)
        self.pending.remove(delivery)
        return delivery

    def duplicate(self, delivery_id: int, *, at_end: bool = False) -> WebhookDelivery:
        """A second copy of a delivery (same payload), right after it or at the end."""
        original = self.find(delivery_id)
        twin = WebhookDelivery(
            id=next(self._ids),
            app_key=original.app_key,
            event=original.event,
            url=original.url,
            payload=copy.deepcopy(original.payload),
        )
        index = len(self.pending) if at_end else self.pending.index(original) + 1
        self.pending.insert(index, twin)
        return twin

    def reorder(self, delivery_ids: list[int]) -> None:
        """Put the pending deliveries in this order (it must name each of them once)."""
        if sorted(delivery_ids) != sorted(d.id for d in self.pending):
            raise ValueError("reorder must list every pending delivery exactly once")
        by_id = {d.id: d for d in self.pending}
        self.pending[:] = [by_id[i] for i in delivery_ids]

    def reverse(self) -> None:
        self.pending.reverse()

    def clear(self) -> None:
        self.pending.clear()

    def take_all(self) -> list[WebhookDelivery]:
        taken, self.pending[:] = list(self.pending), []
        return taken


def webhook_request(
    delivery: WebhookDelivery, installation: Installation, now: float
) -> tuple[dict[str, str], bytes]:
    """Headers and body of one delivery, signed as Jira signs webhooks: HS256 with the
    installation's secret, `iss` = clientKey, and the real qsh of the POST."""
    issued = int(now)
    token = sign_hs256(
        {
            "iss": installation.client_key,
            "iat": issued,
            "exp": issued + TOKEN_LIFETIME_SECONDS,
            "qsh": query_hash_for_url("POST", delivery.url, installation.app_base_url),
        },
        installation.shared_secret,
    )
    headers = {
        "Authorization": f"JWT {token}",
        "Content-Type": "application/json",
        "User-Agent": "Atlassian Webhook HTTP Client",
    }
    return headers, json.dumps(delivery.payload).encode("utf-8")


async def send(
    http: httpx.AsyncClient, delivery: WebhookDelivery, installation: Installation, now: float
) -> DeliveryResult:
    headers, body = webhook_request(delivery, installation, now)
    try:
        response = await http.post(delivery.url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return DeliveryResult(delivery, None, f"{type(exc).__name__}: {exc}")
    return DeliveryResult(delivery, response.status_code)
